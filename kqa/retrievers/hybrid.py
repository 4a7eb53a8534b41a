"""Hybrid retrieval: several retrievers' rankings fused by reciprocal rank fusion.

Reciprocal rank fusion (Cormack, Clarke & Buettcher 2009): an item's fused score is the sum, over the
rankings it appears in, of ``weight / (k_rrf + rank)`` with ranks counted from 1 and ``k_rrf = 60`` as in the
paper. Only ranks matter, so BM25 scores and cosine similarities need no calibration against each other.
The typical pair is dense + BM25: dense finds paraphrases, BM25 finds rare exact words (names, numbers).

>>> hybrid = HybridRetriever([dense, bm25])  # doctest: +SKIP
>>> hybrid.retrieve("What is the capital of Peru?", k=5)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses

from collections.abc import Sequence

from kqa.kb.types import Evidence
from kqa.retrievers.base import Retriever

K_RRF = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Evidence]],
    *,
    k_rrf: int = K_RRF,
    weights: Sequence[float] | None = None,
    k: int | None = None,
) -> list[Evidence]:
    """The items of all ``rankings`` (each best first) ordered by fused score, which each Evidence carries.

    Ties break by the best rank an item reached, then by the order of ``rankings``; an item's text and
    source come from the first ranking that holds it.
    """
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[str, float] = {}
    first: dict[str, Evidence] = {}
    tiebreak: dict[str, tuple[int, int]] = {}  # (best rank, index of the ranking that first held it)
    for which, (ranking, weight) in enumerate(zip(rankings, weights)):
        seen: set[str] = set()
        for rank, evidence in enumerate(ranking, start=1):
            if evidence.id in seen:  # a ranking that repeats an id counts it once, at its best rank
                continue
            seen.add(evidence.id)
            fused[evidence.id] = fused.get(evidence.id, 0.0) + weight / (k_rrf + rank)
            first.setdefault(evidence.id, evidence)
            best = tiebreak.get(evidence.id, (rank, which))
            tiebreak[evidence.id] = min(best, (rank, which))
    order = sorted(fused, key=lambda eid: (-fused[eid], tiebreak[eid]))
    if k is not None:
        order = order[:k]
    return [dataclasses.replace(first[eid], score=fused[eid]) for eid in order]


class HybridRetriever:
    """Fuses the top ``depth`` of each retriever by reciprocal rank fusion and keeps the top k."""

    name = "hybrid"

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        *,
        k_rrf: int = K_RRF,
        weights: Sequence[float] | None = None,
        depth: int = 20,
    ):
        if not retrievers:
            raise ValueError("HybridRetriever needs at least one retriever")
        if weights is not None and len(weights) != len(retrievers):
            raise ValueError(f"{len(weights)} weights for {len(retrievers)} retrievers")
        self.retrievers = list(retrievers)
        self.k_rrf = k_rrf
        self.weights = None if weights is None else list(weights)
        self.depth = depth  # how deep each retriever's list goes into the fusion; RRF needs more than k

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        return self.retrieve_many([question], k=k)[0]

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[Evidence]]:
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        depth = max(k, self.depth)
        per_retriever = [retriever.retrieve_many(questions, k=depth) for retriever in self.retrievers]
        return [
            reciprocal_rank_fusion([lists[i] for lists in per_retriever], k_rrf=self.k_rrf, weights=self.weights, k=k)
            for i in range(len(questions))
        ]

    def __repr__(self) -> str:
        return f"HybridRetriever({', '.join(r.name for r in self.retrievers)}, k_rrf={self.k_rrf})"
