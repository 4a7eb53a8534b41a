"""One contract, every retriever: what ContextReader and the scorers may rely on."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from kqa.retrievers.base import Retriever
from kqa.retrievers.bm25_retriever import BM25Retriever
from kqa.retrievers.faiss_retriever import FaissRetriever
from kqa.retrievers.hybrid import HybridRetriever

QUESTIONS = ["What is the capital of Peru?", "Which river flows north to the Mediterranean?",
             "Where is the Great Barrier Reef?", "official languages English French"]


def make(name, passages, encoder, tmp_path):
    if name == "dense":
        return FaissRetriever.build_or_load(passages, encoder, tmp_path)
    if name == "dense-hnsw":
        return FaissRetriever.build_or_load(passages, encoder, tmp_path, kind="hnsw")
    if name == "bm25":
        return BM25Retriever.build_or_load(passages, tmp_path)
    return HybridRetriever([FaissRetriever.build(passages, encoder), BM25Retriever.build(passages)])


@pytest.mark.parametrize("name", ["dense", "dense-hnsw", "bm25", "hybrid"])
def test_retriever_contract(name, small_passages, hashing_encoder, tmp_path):
    retriever = make(name, small_passages, hashing_encoder, tmp_path)
    assert isinstance(retriever, Retriever)
    assert retriever.name == name.split("-")[0]
    by_id = {"passage:" + p.id: p for p in small_passages}
    many = retriever.retrieve_many(QUESTIONS, k=3)
    assert len(many) == len(QUESTIONS)
    for question, evidence in zip(QUESTIONS, many):
        assert evidence == retriever.retrieve(question, k=3)  # batching changes nothing
        assert 1 <= len(evidence) <= 3
        assert len({e.id for e in evidence}) == len(evidence)
        for e in evidence:
            passage = by_id[e.id]
            assert e.text == f"{passage.title}\n{passage.text}" and e.source == "corpus"
            assert isinstance(e.score, float)
        assert [e.score for e in evidence] == sorted((e.score for e in evidence), reverse=True)
    assert many[0][0].id == "passage:pe/government/0"
    with pytest.raises(ValueError):
        retriever.retrieve(QUESTIONS[0], k=0)


ROOT = Path(__file__).resolve().parents[2]


def test_retrievers_import_only_kb():
    for path in (ROOT / "kqa" / "retrievers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("kqa.readers", "kqa.apps")), f"{path.name} imports {name}"


def test_importing_the_retrievers_is_cheap():
    code = ("import sys, kqa.models.embedder, kqa.retrievers.faiss_retriever, kqa.retrievers.bm25_retriever, "
            "kqa.retrievers.hybrid, kqa.eval.retrieval_metrics; "
            "print(sorted(m for m in ('torch', 'faiss', 'sentence_transformers', 'bm25s') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
