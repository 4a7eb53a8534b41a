from __future__ import annotations

import sys

import pytest

from kqa.kb.errors import KqaError
from kqa.kb.types import Passage
from kqa.retrievers.bm25_retriever import BM25Retriever


def test_bm25_finds_the_obvious_passage(small_passages):
    retriever = BM25Retriever.build(small_passages)
    assert retriever.retrieve("Which river flows to the Mediterranean Sea?", k=3)[0].id == "passage:eg/geography/0"
    assert retriever.retrieve("coffee producer", k=3)[0].id == "passage:br/economy/0"
    # The title is indexed: "Peru" appears in no passage text.
    assert retriever.retrieve("Peru capital", k=1)[0].id == "passage:pe/government/0"
    top = retriever.retrieve("Mount Fuji volcano", k=5)
    assert top[0].id == "passage:jp/geography/0" and top[0].source == "corpus"
    assert [e.score for e in top] == sorted((e.score for e in top), reverse=True)


def test_a_question_with_no_corpus_word_gets_nothing(small_passages):
    retriever = BM25Retriever.build(small_passages)
    assert retriever.retrieve("zyzzyva quux", k=5) == []
    assert retriever.retrieve("what is the", k=5) == []  # stopwords only
    assert len(retriever.retrieve("capital", k=50)) == 3  # only passages with the word, however large k is


def test_stemming_matches_word_forms(small_passages):
    stemmed = BM25Retriever.build(small_passages, stem=True)
    plain = BM25Retriever.build(small_passages, stem=False)
    assert stemmed.retrieve("mines", k=1)[0].id == "passage:pe/economy/0"  # "Mining" in the text
    assert plain.retrieve("mines", k=1) == []


def test_stem_true_without_pystemmer_is_a_clear_error(small_passages, monkeypatch):
    monkeypatch.setitem(sys.modules, "Stemmer", None)
    with pytest.raises(KqaError, match="pip install PyStemmer"):
        BM25Retriever.build(small_passages, stem=True)
    assert BM25Retriever.build(small_passages).retrieve("Peru capital", k=1)[0].id == "passage:pe/government/0"


def test_bm25_cache_loads_rebuilds_on_change_and_on_damage(small_passages, tmp_path):
    first = BM25Retriever.build_or_load(small_passages, tmp_path)
    second = BM25Retriever.build_or_load(small_passages, tmp_path)
    assert not first.cache_hit and second.cache_hit and second.cache_path == first.cache_path
    question = "official language Portuguese"
    assert second.retrieve(question, k=3) == first.retrieve(question, k=3)

    edited = [*small_passages, Passage(id="cl/economy/0", title="Chile", section="Economy", text="Copper mines.")]
    changed = BM25Retriever.build_or_load(edited, tmp_path)
    assert not changed.cache_hit and changed.cache_path != first.cache_path
    assert changed.retrieve("Chile copper", k=1)[0].id == "passage:cl/economy/0"

    biggest = max(first.cache_path.iterdir(), key=lambda p: p.stat().st_size)
    biggest.write_bytes(biggest.read_bytes()[:-3])
    rebuilt = BM25Retriever.build_or_load(small_passages, tmp_path)
    assert not rebuilt.cache_hit
    assert rebuilt.retrieve(question, k=3) == first.retrieve(question, k=3)
    assert BM25Retriever.build_or_load(small_passages, tmp_path).cache_hit
