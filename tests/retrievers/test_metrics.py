from __future__ import annotations

import pytest

from kqa.kb.types import Evidence, Question
from kqa.eval.retrieval_metrics import RetrievalScores, hit_at_k, recall_at_k, reciprocal_rank, score_retriever


def test_recall_hit_and_reciprocal_rank_by_hand():
    ranked = ["passage:a", "passage:b", "passage:c", "passage:d"]
    assert recall_at_k(ranked, ["passage:c"], k=2) == 0.0
    assert recall_at_k(ranked, ["passage:c"], k=3) == 1.0
    assert recall_at_k(ranked, ["passage:b", "passage:z"], k=4) == 0.5
    assert recall_at_k(ranked, ["passage:a", "passage:d"], k=4) == 1.0
    assert hit_at_k(ranked, ["passage:b", "passage:z"], k=4) == 1.0
    assert hit_at_k(ranked, ["passage:z"], k=4) == 0.0
    assert reciprocal_rank(ranked, ["passage:c", "passage:d"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, ["passage:d"], k=3) == 0.0
    assert reciprocal_rank([], ["passage:a"]) == 0.0
    with pytest.raises(ValueError):
        recall_at_k(ranked, [], k=3)


class ScriptedRetriever:
    name = "scripted"

    def __init__(self, rankings: dict[str, list[str]]):
        self.rankings = rankings

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        return [Evidence(id=i, text=i, source="corpus", score=None) for i in self.rankings[question][:k]]

    def retrieve_many(self, questions, k: int = 5):
        return [self.retrieve(q, k) for q in questions]


def test_score_retriever_averages_over_questions_with_gold():
    retriever = ScriptedRetriever({
        "q1": ["passage:a", "passage:b"],          # gold first: rr 1, recall 1
        "q2": ["passage:x", "passage:y", "passage:g"],  # gold third: rr 1/3
        "q3": ["passage:x", "passage:p"],          # two gold, one found at 2: recall 0.5, rr 1/2
        "q4": ["passage:x"],                       # gold missing
    })
    questions = [
        Question(id="1", question="q1", answers=("A",), gold_passages=("passage:a",)),
        Question(id="2", question="q2", answers=("A",), gold_passages=("passage:g",)),
        Question(id="3", question="q3", answers=("A",), gold_passages=("passage:p", "passage:q")),
        Question(id="4", question="q4", answers=("A",), gold_passages=("passage:m",)),
        Question(id="5", question="no gold", answers=("A",)),  # skipped: nothing to score against
    ]
    scores = score_retriever(retriever, questions, k=3)
    assert scores == RetrievalScores(
        retriever="scripted", k=3, questions=4,
        recall=pytest.approx((1 + 1 + 0.5 + 0) / 4),
        hit_rate=pytest.approx(3 / 4),
        mrr=pytest.approx((1 + 1 / 3 + 1 / 2 + 0) / 4),
    )
    assert score_retriever(retriever, questions, k=1).hit_rate == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="gold"):
        score_retriever(retriever, questions[4:], k=3)
