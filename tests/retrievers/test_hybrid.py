from __future__ import annotations

import pytest

from kqa.kb.types import Evidence
from kqa.retrievers.hybrid import HybridRetriever, reciprocal_rank_fusion


def ranking(*ids: str, source: str = "corpus") -> list[Evidence]:
    return [Evidence(id=i, text=f"text of {i}", source=source, score=10.0 - n) for n, i in enumerate(ids)]


def test_rrf_scores_by_hand():
    fused = reciprocal_rank_fusion([ranking("a", "b", "c"), ranking("c", "a", "d")], k_rrf=60)
    scores = {e.id: e.score for e in fused}
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["d"] == pytest.approx(1 / 63)
    assert [e.id for e in fused] == ["a", "c", "b", "d"]
    assert fused[0].text == "text of a" and fused[0].source == "corpus"


def test_rrf_agreement_beats_one_first_place():
    # "b" is second in both lists; "a" and "c" are each first in one list and absent from the other.
    fused = reciprocal_rank_fusion([ranking("a", "b"), ranking("c", "b")], k_rrf=60)
    assert fused[0].id == "b"
    assert fused[0].score == pytest.approx(2 / 62)


def test_rrf_ties_break_by_best_rank_then_list_order():
    fused = reciprocal_rank_fusion([ranking("a", "b"), ranking("b", "a")], k_rrf=60)
    assert fused[0].score == pytest.approx(fused[1].score)
    assert [e.id for e in fused] == ["a", "b"]  # both reach rank 1; "a" did so in the first list


def test_rrf_weights_k_and_repeats():
    fused = reciprocal_rank_fusion([ranking("a", "b"), ranking("b", "a")], k_rrf=1, weights=[1.0, 3.0], k=1)
    assert [e.id for e in fused] == ["b"]
    assert fused[0].score == pytest.approx(1 / 3 + 3 / 2)
    repeated = reciprocal_rank_fusion([ranking("a", "a", "b")], k_rrf=60)
    assert {e.id: e.score for e in repeated} == {"a": pytest.approx(1 / 61), "b": pytest.approx(1 / 63)}
    assert reciprocal_rank_fusion([], k_rrf=60) == []
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([ranking("a")], weights=[1.0, 2.0])


class ScriptedRetriever:
    def __init__(self, name: str, ids: list[str]):
        self.name = name
        self.ids = ids
        self.asked_k: list[int] = []

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        return self.retrieve_many([question], k)[0]

    def retrieve_many(self, questions, k: int = 5):
        self.asked_k.append(k)
        return [ranking(*self.ids[:k]) for _ in questions]


def test_hybrid_retriever_fuses_deeper_than_k():
    dense = ScriptedRetriever("dense", ["a", "b", "c", "d"])
    bm25 = ScriptedRetriever("bm25", ["d", "c", "x", "y"])
    hybrid = HybridRetriever([dense, bm25], depth=4)
    top = hybrid.retrieve("anything", k=2)
    assert [e.id for e in top] == ["d", "c"]  # 1/64 + 1/61 and 1/63 + 1/62 beat 1/61 alone
    assert dense.asked_k == [4] and bm25.asked_k == [4]
    assert hybrid.retrieve_many(["q1", "q2"], k=2) == [top, top]
    assert hybrid.name == "hybrid"
    with pytest.raises(ValueError):
        HybridRetriever([])
