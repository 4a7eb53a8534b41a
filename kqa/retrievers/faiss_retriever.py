"""Dense passage retrieval: passages embedded once into a FAISS index, questions embedded and searched.

Three index kinds, all inner product over L2-normalised vectors (so cosine similarity):

- ``flat``: exact search (IndexFlatIP). The default; a few thousand passages search in well under a ms.
- ``hnsw``: a graph index (Malkov & Yashunin 2016), approximate, for millions of passages in memory.
- ``ivfpq``: inverted lists over product-quantised codes (Jegou et al. 2011), approximate and compressed,
  for tens of millions of passages on disk. PQ codes of 48 bytes order close neighbours badly (recall@10
  0.33 against exact search on a clustered 1M-vector corpus at nprobe 16, docs/scale.md), so by default the
  float vectors are kept beside the index, memory-mapped, and the top ``rerank`` candidates (400) are
  re-scored exactly (``rerank_exact``). The re-rank pays only with enough lists probed, so ``nprobe``
  defaults to an eighth of the lists (at least 16): at 1M vectors, 1,024 lists, that is nprobe 128 and
  recall@10 0.88 at 6.3 ms p50, where nprobe 16 / rerank 100 gave 0.49 (the curve: docs/scale.md).
  ``rerank=0`` keeps only the codes.

Passages longer than the embedder's window (MiniLM reads 256 word pieces; most Factbook passages are
longer) are embedded as overlapping windows of ``window_words`` words, each with the title in front, and a
passage scores the best of its windows (as "MaxP" in Dai & Callan 2019). On the Factbook pack this raised
hit@5 from 0.804 to 0.836 and MRR@5 from 0.672 to 0.716 over embedding whole (truncated) passages.

``FaissRetriever.build_or_load`` caches the index under ``cache_dir`` keyed by model id, kind and a hash of
the indexed text (see ``_cache``), memory-maps it on load, and rebuilds a cache entry that is truncated or
corrupt. This module does not read passages (``kb.corpus``) or write answers (``readers``).

>>> retriever = FaissRetriever.build_or_load(passages, load_embedder(), cache_dir)  # doctest: +SKIP
>>> retriever.retrieve("What is the capital of Peru?", k=3)[0].id  # doctest: +SKIP
'passage:pe/government/0'
"""

from __future__ import annotations

import dataclasses
import io
import logging
import json
import math
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kqa.kb.cache import private_dir
from kqa.kb.errors import KqaError
from kqa.kb.jsonl import atomic_write_bytes, atomic_write_text
from kqa.kb.progress import progress_task
from kqa.kb.types import Evidence, Passage
from kqa.retrievers.base import passage_evidence
from kqa.retrievers import _cache
from kqa.models.embedder import Encoder, passage_text

log = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
VECTORS_FILE = "vectors.npy"  # ivfpq with rerank: the float vectors, read memory-mapped
KINDS = ("flat", "hnsw", "ivfpq")
DEFAULT_RERANK = 400  # ivfpq: candidates re-scored with the float vectors (0: none, only the PQ codes kept)
_FORMAT = 1  # bump when what is stored changes, so old cache entries are ignored (an ivfpq entry's key names
# its ``rerank``, so entries from before vectors.npy are not read as having it)


def open_vectors(path: Path, *, mmap: bool = True) -> np.ndarray:
    """The float vectors a re-rank reads, memory-mapped with random-access advice: each question reads a
    hundred scattered rows, and the kernel's read-ahead would pull in (and keep resident) a window around each."""
    import mmap as mm

    vectors = np.load(path, mmap_mode="r" if mmap else None)
    handle = getattr(vectors, "_mmap", None)
    if handle is not None and hasattr(mm, "MADV_RANDOM"):
        handle.madvise(mm.MADV_RANDOM)
    return vectors


def rerank_exact(
    vectors: np.ndarray, queries: np.ndarray, rows: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Re-score each query's candidate ``rows`` ((q, c) from an approximate search, -1 for none) by the exact
    inner product with ``vectors`` (an (n, dim) array, memory-mapped or not); the best ``k``, as FAISS
    returns them: ``(scores, rows)``, each (q, k), padded with -inf / -1.

    >>> v = np.eye(3, dtype=np.float32)
    >>> rerank_exact(v, np.array([[0.1, 0.9, 0.0]], np.float32), np.array([[0, 1, -1]]), 2)[1].tolist()
    [[1, 0]]
    """
    out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_rows = np.full((len(queries), k), -1, dtype=np.int64)
    for i, (query, candidates) in enumerate(zip(queries, rows)):
        candidates = np.unique(candidates[candidates >= 0])  # sorted: the reads go forward through the file
        if not candidates.size:
            continue
        scores = np.asarray(vectors[candidates], dtype=np.float32) @ query
        best = np.argsort(-scores, kind="stable")[:k]
        out_scores[i, : best.size], out_rows[i, : best.size] = scores[best], candidates[best]
    return out_scores, out_rows


def build_index(
    vectors: np.ndarray,
    *,
    kind: str = "flat",
    hnsw_m: int = 32,
    ef_construction: int = 200,
    ef_search: int = 128,
    nlist: int | None = None,
    pq_m: int | None = None,
    nprobe: int | None = None,
) -> Any:
    """A FAISS inner-product index over ``vectors`` ((n, dim) float32, L2-normalised)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
    elif kind == "ivfpq":
        # Rules of thumb from the FAISS wiki: about sqrt(n) lists with >= 39 training points each; PQ codes
        # of 8 bits need >= 256 training points per sub-quantizer, so tiny corpora get fewer bits.
        nlist = nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))
        pq_m = pq_m or _pq_subquantizers(dim)
        if dim % pq_m:
            raise ValueError(f"pq_m={pq_m} must divide the vector dimension {dim}")
        nbits = 8 if n >= 256 else max(1, int(math.log2(max(n, 2))))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, pq_m, nbits, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
    else:
        raise KqaError(f"unknown FAISS index kind {kind!r}: use one of {', '.join(KINDS)}")
    if n:
        index.add(vectors)
    set_search_params(index, ef_search=ef_search, nprobe=nprobe)
    return index


def set_search_params(index: Any, *, ef_search: int = 128, nprobe: int | None = None) -> None:
    """Search-time knobs, which FAISS does not keep on disk for every kind. ``nprobe`` None: an eighth of the
    inverted lists, at least 16."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = ef_search
    ivf = faiss.try_extract_index_ivf(index) if hasattr(faiss, "try_extract_index_ivf") else None
    if ivf is not None:
        ivf.nprobe = min(nprobe or max(16, ivf.nlist // 8), ivf.nlist)


# Whole passages by default: windows of 120 words (stride 90) raise hit@5 on the Factbook test split from
# 0.804 to 0.836 but embed about twice the text, and embedding is what the index build spends its time on.
DEFAULT_WINDOW_WORDS: int | None = None

def passage_windows(
    passages: Sequence[Passage],
    *,
    format_passage: Callable[[Passage], str] = passage_text,
    window_words: int | None = DEFAULT_WINDOW_WORDS,
    window_stride: int = 90,
) -> tuple[list[str], list[str], np.ndarray]:
    """What gets embedded: ``(keys, texts, owner)``, one entry per window, ``owner[i]`` the row of the
    passage that window ``i`` comes from. ``window_words=None`` embeds each passage whole.

    >>> passage_windows([Passage("x/0", "Peru", "", "a b c d e")], window_words=3, window_stride=2)[1]
    ['Peru\\na b c', 'Peru\\nc d e']
    """
    if window_words is not None and not 0 < window_stride <= window_words:
        raise ValueError(f"need 0 < window_stride ({window_stride}) <= window_words ({window_words})")
    keys, texts, owner = [], [], []
    for row, passage in enumerate(passages):
        words = passage.text.split()
        if window_words is None or len(words) <= window_words:
            pieces = [passage.text]
        else:
            starts = range(0, len(words) - window_words + window_stride, window_stride)
            pieces = [" ".join(words[start : start + window_words]) for start in starts]
        for number, piece in enumerate(pieces):
            keys.append(f"{passage.id}#{number}")
            texts.append(format_passage(dataclasses.replace(passage, text=piece)))
            owner.append(row)
    return keys, texts, np.asarray(owner, dtype=np.int64)


RESUME_CHUNK = 4096  # texts embedded between two checkpoints of a cached build (rounded to whole batches)


def encode_resumable(
    encoder: Encoder,
    texts: Sequence[str],
    partial: Path,
    *,
    key: Mapping[str, Any],
    batch_size: int = 16,
    chunk: int | None = None,
    show_progress: bool = False,
) -> np.ndarray:
    """``encoder.encode(texts)``, embedded ``chunk`` texts at a time (default ``RESUME_CHUNK``) with each chunk
    saved under ``partial`` (a folder only this user writes), so a build that is stopped (a time limit,
    Ctrl-C) resumes at its last whole chunk instead of starting again (the WordNet pack's 114,038 passages
    took 530 s on two cores; a loaded machine or a bigger corpus takes much longer).

    Chunks follow the order ``SentenceEncoder`` batches in (longest text first, a whole number of batches
    each), so every batch holds the same texts as in one ``encode`` call and the vectors are the same. Saved
    chunks are reused only while ``key`` (what the index is built from: model, corpus hash ...), the batch
    size, the chunk size and the encoder's precision all match; anything else starts over. A corpus of one
    chunk is embedded in one call and nothing is saved. The caller removes ``partial`` once the index is
    written. Returns (len(texts), dim) float32."""
    chunk = max(1, (chunk or RESUME_CHUNK) // batch_size) * batch_size
    if len(texts) <= chunk:
        return np.ascontiguousarray(encoder.encode(texts, batch_size=batch_size, show_progress=show_progress),
                                    dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # as SentenceEncoder.encode sorts; stable
    spans = [order[start : start + chunk] for start in range(0, len(order), chunk)]
    state = json.dumps({**key, "batch_size": batch_size, "chunk": chunk, "texts": len(texts),
                        "precision": getattr(encoder, "precision", None)}, sort_keys=True, default=str)
    state_file = partial / "state.json"
    if partial.exists() and not (state_file.is_file() and state_file.read_text(encoding="utf-8") == state):
        shutil.rmtree(partial)  # another corpus, model or setting: nothing in it can be reused
    private_dir(partial)
    atomic_write_text(state_file, state)
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    with progress_task("embedding passages", len(texts), show=show_progress) as task:
        for number, rows in enumerate(spans):
            path = partial / f"part-{number:05d}.npy"
            vectors = None
            if path.is_file():
                try:
                    vectors = np.load(path, allow_pickle=False)  # a folder only this user writes
                except (OSError, ValueError):
                    vectors = None
                if vectors is not None and (vectors.shape != (len(rows), encoder.dim) or vectors.dtype != np.float32):
                    vectors = None
            if vectors is None:
                vectors = np.asarray(encoder.encode([texts[i] for i in rows], batch_size=batch_size), dtype=np.float32)
                buffer = io.BytesIO()
                np.save(buffer, vectors, allow_pickle=False)
                atomic_write_bytes(path, buffer.getvalue())
            out[rows] = vectors
            task.advance(len(rows))
    return out


def _rerank_param(kind: str, index_params: dict[str, Any]) -> int:
    """Pops ``rerank`` from ``index_params``: the candidates an ivfpq search re-scores (default 400)."""
    rerank = index_params.pop("rerank", DEFAULT_RERANK if kind == "ivfpq" else 0)
    if rerank and kind != "ivfpq":
        raise KqaError(f"rerank applies to the ivfpq index only, not {kind!r}")
    if not isinstance(rerank, int) or rerank < 0:
        raise KqaError(f"rerank must be a whole number of candidates >= 0, not {rerank!r}")
    return rerank


def _pq_subquantizers(dim: int) -> int:
    for m in (48, 32, 24, 16, 12, 8, 4, 2, 1):  # 8 dims per code byte for 384-d MiniLM
        if dim % m == 0 and dim // m >= 4:
            return m
    return 1


class FaissRetriever:
    """Top-k passages by inner product between the question's vector and each passage's vector."""

    name = "dense"

    def __init__(
        self,
        passages: Sequence[Passage],
        encoder: Encoder,
        index: Any,
        *,
        kind: str = "flat",
        batch_size: int = 16,
        owner: np.ndarray | None = None,
        cache_hit: bool = False,
        cache_path: Path | None = None,
        vectors: np.ndarray | None = None,
        rerank: int = 0,
    ):
        # owner[i]: the passage row of vector i (a window of it); None when each passage is one vector.
        owner = np.arange(len(passages)) if owner is None else np.asarray(owner)
        if index.ntotal != len(owner):
            raise ValueError(f"the index holds {index.ntotal} vectors for {len(owner)} passage windows")
        self.passages = list(passages)
        self.owner = owner
        self.encoder = encoder
        self.index = index
        self.kind = kind
        self.batch_size = batch_size
        self.cache_hit = cache_hit  # True when build_or_load read the index from disk instead of building it
        self.cache_path = cache_path
        # ivfpq: the float vectors (memory-mapped when loaded) and how many candidates to re-score with them
        self.vectors = vectors if rerank else None
        self.rerank = rerank if vectors is not None else 0

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        encoder: Encoder,
        *,
        kind: str = "flat",
        format_passage: Callable[[Passage], str] = passage_text,
        window_words: int | None = DEFAULT_WINDOW_WORDS,
        window_stride: int = 90,
        batch_size: int = 16,
        show_progress: bool = False,
        **index_params: Any,
    ) -> FaissRetriever:
        """Embed every passage and index it in memory (nothing is written)."""
        _, texts, owner = passage_windows(passages, format_passage=format_passage, window_words=window_words,
                                          window_stride=window_stride)
        vectors = encoder.encode(texts, batch_size=batch_size, show_progress=show_progress)
        rerank = _rerank_param(kind, index_params)
        index = build_index(vectors, kind=kind, **index_params)
        return cls(passages, encoder, index, kind=kind, batch_size=batch_size, owner=owner,
                   vectors=np.ascontiguousarray(vectors, dtype=np.float32) if rerank else None, rerank=rerank)

    @classmethod
    def build_or_load(
        cls,
        passages: Sequence[Passage],
        encoder: Encoder,
        cache_dir: Path | str | None = None,
        *,
        kind: str = "flat",
        format_passage: Callable[[Passage], str] = passage_text,
        window_words: int | None = DEFAULT_WINDOW_WORDS,
        window_stride: int = 90,
        batch_size: int = 16,
        show_progress: bool = False,
        mmap: bool = True,
        verify_checksums: bool = True,
        **index_params: Any,
    ) -> FaissRetriever:
        """Load the cached index for these passages, this encoder and this kind from ``cache_dir``, or build
        it and cache it there (``cache_dir/faiss-<model>-<kind>-<hash12>/``). FAISS's reader is not made for
        hostile files, so ``cache_dir`` must be a folder only this user writes (``kb.cache.private_dir``
        checks it), never a shared pack's; ``None`` builds the index in memory and writes nothing.

        Search-time parameters (``ef_search``, ``nprobe``) apply whether the index was built or loaded;
        build-time ones (``hnsw_m``, ``nlist``, ``pq_m``, ``rerank`` ...) are part of the cache key. An
        ``ivfpq`` entry with ``rerank`` (default 400) also holds the float vectors, opened memory-mapped."""
        import faiss

        if kind not in KINDS:
            raise KqaError(f"unknown FAISS index kind {kind!r}: use one of {', '.join(KINDS)}")
        keys, texts, owner = passage_windows(passages, format_passage=format_passage, window_words=window_words,
                                             window_stride=window_stride)
        corpus_hash = _cache.content_hash(keys, texts)  # what was embedded, windows included
        search_params = {key: index_params.pop(key) for key in ("ef_search", "nprobe") if key in index_params}
        rerank = _rerank_param(kind, index_params)  # checked for every kind, part of the key for ivfpq
        if kind == "ivfpq":
            index_params["rerank"] = rerank
        build_params = {key: index_params[key] for key in sorted(index_params)}
        expect = {
            "format": _FORMAT,
            "model_id": encoder.model_id,
            "dim": encoder.dim,
            "kind": kind,
            "build_params": build_params,
            "corpus_hash": corpus_hash,
            "passages": len(passages),
            "vectors": len(texts),
        }
        params_tag = "" if not build_params else "-" + _cache.content_hash(["p"], [repr(build_params)])[:6]
        if cache_dir is None:
            return cls.build(passages, encoder, kind=kind, format_passage=format_passage, window_words=window_words,
                             window_stride=window_stride, batch_size=batch_size, show_progress=show_progress,
                             **build_params, **search_params)
        folder = private_dir(cache_dir) / f"faiss-{_cache.slug(encoder.model_id)}-{kind}{params_tag}-{corpus_hash[:12]}"

        if _cache.check_entry(folder, expect=expect, verify_checksums=verify_checksums) is not None:
            rerank = build_params.get("rerank", 0)
            try:
                index = faiss.read_index(str(folder / INDEX_FILE), faiss.IO_FLAG_MMAP if mmap else 0)
                vectors = open_vectors(folder / VECTORS_FILE, mmap=mmap) if rerank else None
            except (RuntimeError, ValueError, OSError) as err:  # passed the size check but cannot be parsed
                log.warning("cached index %s is unreadable (%s); rebuilding", folder, str(err).splitlines()[0])
            else:
                if index.ntotal == len(texts) and index.d == encoder.dim and (
                        vectors is None or vectors.shape == (len(texts), encoder.dim)):
                    set_search_params(index, **search_params)
                    return cls(passages, encoder, index, kind=kind, batch_size=batch_size, owner=owner,
                               cache_hit=True, cache_path=folder, vectors=vectors, rerank=rerank)
                log.warning("cached index %s does not match the corpus; rebuilding", folder)
        elif folder.exists():
            log.warning("cached index %s is incomplete or corrupt; rebuilding", folder)

        start = time.perf_counter()
        partial = folder.with_name(f".{folder.name}.partial")
        vectors = encode_resumable(encoder, texts, partial, key=expect, batch_size=batch_size,
                                   show_progress=show_progress)
        params = {key: value for key, value in build_params.items() if key != "rerank"}
        index = build_index(vectors, kind=kind, **params, **search_params)
        built = {**expect, "build_seconds": round(time.perf_counter() - start, 2),  # for the construction table
                 "precision": getattr(encoder, "precision", "fp32")}
        rerank = build_params.get("rerank", 0)

        def write(tmp: Path) -> None:
            faiss.write_index(index, str(tmp / INDEX_FILE))
            if rerank:
                np.save(tmp / VECTORS_FILE, vectors)

        _cache.write_entry(folder, write, meta=built)
        shutil.rmtree(partial, ignore_errors=True)
        return cls(passages, encoder, index, kind=kind, batch_size=batch_size, owner=owner,
                   cache_hit=False, cache_path=folder, vectors=vectors if rerank else None, rerank=rerank)

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        return self.retrieve_many([question], k=k)[0]

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[Evidence]]:
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        if not questions:
            return []
        vectors = self.encoder.encode(list(questions), batch_size=self.batch_size)  # (q, dim) float32
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        k = min(k, len(self.passages))
        windowed = len(self.owner) > len(self.passages)
        depth = min(len(self.owner), 4 * k if windowed else k)
        while True:
            if self.rerank:  # PQ candidates, re-scored with the float vectors
                _, candidates = self.index.search(vectors, min(len(self.owner), max(self.rerank, depth)))
                scores, rows = rerank_exact(self.vectors, vectors, candidates, depth)
            else:
                scores, rows = self.index.search(vectors, depth)  # (q, depth) window scores and rows, best first
            results = [self._best_passages(score_row, row_row, k) for score_row, row_row in zip(scores, rows)]
            # A passage scores its best window; go deeper if several windows of one passage filled the list.
            if depth >= len(self.owner) or all(len(found) == k for found in results):
                return results
            depth = min(len(self.owner), 4 * depth)

    def _best_passages(self, scores: np.ndarray, rows: np.ndarray, k: int) -> list[Evidence]:
        found: list[Evidence] = []
        seen: set[int] = set()
        for score, row in zip(scores.tolist(), rows.tolist()):
            if row < 0:  # FAISS pads with -1 when an approximate index finds fewer than asked
                continue
            passage_row = int(self.owner[row])
            if passage_row not in seen:
                seen.add(passage_row)
                found.append(passage_evidence(self.passages[passage_row], score))
                if len(found) == k:
                    break
        return found

    def __repr__(self) -> str:
        return f"FaissRetriever({len(self.passages)} passages, {self.encoder.model_id}, {self.kind})"

