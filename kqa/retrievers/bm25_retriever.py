"""Sparse passage retrieval: BM25 (Robertson & Zaragoza 2009) over words, with bm25s.

Passages are indexed as ``"title\\ntext"``, like the dense retriever, lower-cased, English stopwords removed
and, when PyStemmer is installed, Snowball-stemmed (so "mines" matches "mining"). The index is cached on disk
the same way as the FAISS one (``cache_dir/bm25-<stem>-<hash12>/``, see ``_cache``) and memory-mapped on load.
A passage that shares no word with the question is never returned, so fewer than k may come back.

>>> retriever = BM25Retriever.build_or_load(passages, cache_dir)  # doctest: +SKIP
>>> retriever.retrieve("capital of Peru", k=1)[0].id  # doctest: +SKIP
'passage:pe/government/0'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kqa.kb.cache import private_dir
from kqa.kb.errors import KqaError
from kqa.kb.types import Evidence, Passage
from kqa.retrievers.base import passage_evidence
from kqa.retrievers import _cache
from kqa.models.embedder import passage_text

log = logging.getLogger(__name__)

_FORMAT = 1  # bump when what is stored changes, so old cache entries are ignored


def _stemmer(stem: bool | None) -> Any:
    """A PyStemmer English stemmer, or None. ``stem=None`` stems when PyStemmer is installed."""
    if stem is False:
        return None
    try:
        import Stemmer
    except ImportError:
        if stem:
            raise KqaError("BM25 stemming needs PyStemmer: pip install PyStemmer (or pass stem=False)") from None
        return None
    return Stemmer.Stemmer("english")


def _tokenizer(stemmer: Any) -> Any:
    from bm25s.tokenization import Tokenizer

    return Tokenizer(lower=True, stopwords="en", stemmer=stemmer)


class BM25Retriever:
    """Top-k passages by BM25 score between the question's words and each passage's words."""

    name = "bm25"

    def __init__(
        self,
        passages: Sequence[Passage],
        index: Any,
        tokenizer: Any,
        *,
        cache_hit: bool = False,
        cache_path: Path | None = None,
    ):
        self.passages = list(passages)
        self.index = index  # bm25s.BM25
        self.tokenizer = tokenizer  # bm25s.tokenization.Tokenizer holding the corpus vocabulary
        self.cache_hit = cache_hit  # True when build_or_load read the index from disk instead of building it
        self.cache_path = cache_path

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        *,
        stem: bool | None = None,
        format_passage: Callable[[Passage], str] = passage_text,
        k1: float = 1.5,
        b: float = 0.75,
    ) -> BM25Retriever:
        """Tokenise and index every passage in memory (nothing is written)."""
        import bm25s

        tokenizer = _tokenizer(_stemmer(stem))
        # A Tokenized tuple (ids and vocabulary) rather than bare ids, so bm25s keeps a vocabulary it can save.
        tokens = tokenizer.tokenize([format_passage(p) for p in passages], return_as="tuple", show_progress=False)
        index = bm25s.BM25(k1=k1, b=b)
        index.index(tokens, show_progress=False)
        return cls(passages, index, tokenizer)

    @classmethod
    def build_or_load(
        cls,
        passages: Sequence[Passage],
        cache_dir: Path | str | None = None,
        *,
        stem: bool | None = None,
        format_passage: Callable[[Passage], str] = passage_text,
        k1: float = 1.5,
        b: float = 0.75,
        mmap: bool = True,
        verify_checksums: bool = True,
    ) -> BM25Retriever:
        """Load the cached BM25 index for these passages from ``cache_dir`` (a folder only this user writes,
        see ``kb.cache``), or build it and cache it there; ``None`` builds it in memory and writes nothing."""
        import bm25s

        if cache_dir is None:
            return cls.build(passages, stem=stem, format_passage=format_passage, k1=k1, b=b)
        stemmer = _stemmer(stem)
        texts = [format_passage(p) for p in passages]
        corpus_hash = _cache.content_hash((p.id for p in passages), texts)
        stem_tag = "stem" if stemmer is not None else "nostem"
        expect = {
            "format": _FORMAT,
            "stem": stem_tag,
            "k1": k1,
            "b": b,
            "corpus_hash": corpus_hash,
            "passages": len(passages),
            "bm25s": bm25s.__version__,
        }
        folder = private_dir(cache_dir) / f"bm25-{stem_tag}-{corpus_hash[:12]}"

        if _cache.check_entry(folder, expect=expect, verify_checksums=verify_checksums) is not None:
            try:
                index = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
                tokenizer = _tokenizer(stemmer)
                tokenizer.load_vocab(str(folder))
            except (OSError, ValueError, KeyError) as err:
                log.warning("cached BM25 index %s is unreadable (%s); rebuilding", folder, err)
            else:
                return cls(passages, index, tokenizer, cache_hit=True, cache_path=folder)
        elif folder.exists():
            log.warning("cached BM25 index %s is incomplete or corrupt; rebuilding", folder)

        start = time.perf_counter()
        built = cls.build(passages, stem=stem, format_passage=format_passage, k1=k1, b=b)
        build_seconds = round(time.perf_counter() - start, 2)  # for the construction table

        def write(tmp: Path) -> None:
            built.index.save(str(tmp), show_progress=False)
            built.tokenizer.save_vocab(str(tmp))

        _cache.write_entry(folder, write, meta={**expect, "build_seconds": build_seconds})
        return cls(passages, built.index, built.tokenizer, cache_hit=False, cache_path=folder)

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        return self.retrieve_many([question], k=k)[0]

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[Evidence]]:
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        if not questions:
            return []
        # Words the corpus never uses are dropped (update_vocab=False); a question left with none scores 0.
        query_ids = self.tokenizer.tokenize(list(questions), update_vocab=False, return_as="ids", show_progress=False)
        rows, scores = self.index.retrieve(query_ids, k=min(k, len(self.passages)), show_progress=False)
        return [
            [passage_evidence(self.passages[row], score) for row, score in zip(row_row, score_row) if score > 0]
            for row_row, score_row in zip(np.asarray(rows).tolist(), np.asarray(scores).tolist())
        ]

    def __repr__(self) -> str:
        return f"BM25Retriever({len(self.passages)} passages)"

