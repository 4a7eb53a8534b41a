"""How well a retriever ranks the gold passages: recall@k, hit rate@k and MRR@k.

For one question with ranked evidence ids and a set of gold ids:

- recall@k: the share of gold ids in the top k (a comparison question may need two passages);
- hit@k: 1 if any gold id is in the top k, else 0 ("top-k accuracy" in DPR, Karpukhin et al. 2020);
- reciprocal rank: 1 / the rank of the first gold id, 0 if none is in the top k (averaged, MRR@k).

``score_retriever`` averages these over the questions that have gold passages. It does not time anything and
does not judge answers (that is the readers' and the apps' business).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kqa.kb.types import Question
from kqa.retrievers.base import Retriever


def recall_at_k(ranked_ids: Sequence[str], gold_ids: Sequence[str], k: int) -> float:
    """Share of ``gold_ids`` found among the first ``k`` of ``ranked_ids``.

    >>> recall_at_k(["a", "b", "c"], ["c", "d"], k=3)
    0.5
    """
    gold = set(gold_ids)
    if not gold:
        raise ValueError("recall needs at least one gold id")
    return len(gold.intersection(ranked_ids[:k])) / len(gold)


def hit_at_k(ranked_ids: Sequence[str], gold_ids: Sequence[str], k: int) -> float:
    """1.0 if any of ``gold_ids`` is among the first ``k`` of ``ranked_ids``, else 0.0."""
    gold = set(gold_ids)
    return 1.0 if any(rid in gold for rid in ranked_ids[:k]) else 0.0


def reciprocal_rank(ranked_ids: Sequence[str], gold_ids: Sequence[str], k: int | None = None) -> float:
    """1 / (rank of the first gold id, from 1) within the first ``k``; 0.0 if there is none.

    >>> reciprocal_rank(["a", "b", "c"], ["c"])
    0.3333333333333333
    """
    gold = set(gold_ids)
    for rank, rid in enumerate(ranked_ids[:k] if k is not None else ranked_ids, start=1):
        if rid in gold:
            return 1.0 / rank
    return 0.0


@dataclass(frozen=True)
class RetrievalScores:
    """A retriever's figures over a question set, averaged per question."""

    retriever: str  # the retriever's name: "dense", "bm25", "hybrid"
    k: int
    questions: int  # how many questions were scored (those with gold passages)
    recall: float  # mean recall@k
    hit_rate: float  # mean hit@k
    mrr: float  # mean reciprocal rank within the top k


def score_retriever(retriever: Retriever, questions: Sequence[Question], *, k: int = 5) -> RetrievalScores:
    """Run ``retriever.retrieve_many`` over the questions that carry ``gold_passages`` and average."""
    scored = [q for q in questions if q.gold_passages]
    if not scored:
        raise ValueError("none of these questions has gold passages to score against")
    rankings = retriever.retrieve_many([q.question for q in scored], k=k)
    recall = hits = rr = 0.0
    for question, evidence in zip(scored, rankings, strict=True):
        ids = [e.id for e in evidence]
        recall += recall_at_k(ids, question.gold_passages, k)
        hits += hit_at_k(ids, question.gold_passages, k)
        rr += reciprocal_rank(ids, question.gold_passages, k)
    n = len(scored)
    return RetrievalScores(retriever=retriever.name, k=k, questions=n, recall=recall / n, hit_rate=hits / n, mrr=rr / n)
