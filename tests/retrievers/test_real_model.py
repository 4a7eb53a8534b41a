"""The bundled MiniLM on a dozen passages: the passage that answers ranks first."""

from __future__ import annotations

import pytest

from kqa.retrievers.bm25_retriever import BM25Retriever
from kqa.retrievers.faiss_retriever import FaissRetriever
from kqa.retrievers.hybrid import HybridRetriever

pytestmark = pytest.mark.real_model

# Paraphrases that share few words with their passage: what a dense retriever is for.
CASES = [
    ("What is the capital city of Peru?", "pe/government/0"),
    ("Which river runs through Egypt?", "eg/geography/0"),
    ("What is the tallest mountain in Japan?", "jp/geography/0"),
    ("Which country grows the most coffee?", "br/economy/0"),
    ("What language do people speak in Brazil?", "br/people/0"),
    ("Where can you see the Great Barrier Reef?", "au/geography/0"),
    ("What does Peru export from its mines?", "pe/economy/0"),
]


@pytest.fixture(scope="module")
def dense(small_passages, minilm, tmp_path_factory):
    return FaissRetriever.build_or_load(small_passages, minilm, tmp_path_factory.mktemp("index"))


def test_minilm_ranks_the_answering_passage_first(dense):
    results = dense.retrieve_many([q for q, _ in CASES], k=3)
    assert [r[0].id for r in results] == ["passage:" + pid for _, pid in CASES]
    assert all(0.0 < r[0].score <= 1.0 for r in results)


def test_minilm_index_is_cached_and_reloaded(dense, small_passages, minilm):
    again = FaissRetriever.build_or_load(small_passages, minilm, dense.cache_path.parent)
    assert again.cache_hit and again.cache_path.name.startswith("faiss-all-MiniLM-L6-v2-flat-")
    assert again.retrieve(CASES[0][0], k=3) == dense.retrieve(CASES[0][0], k=3)


def test_hybrid_with_minilm_keeps_the_answer_on_top(dense, small_passages):
    hybrid = HybridRetriever([dense, BM25Retriever.build(small_passages)])
    results = hybrid.retrieve_many([q for q, _ in CASES], k=3)
    assert sum(r[0].id == "passage:" + pid for r, (_, pid) in zip(results, CASES)) >= len(CASES) - 1
