"""Bad files: each gets one clear error naming the file (and the line), or a rebuild; never silently wrong answers."""

from __future__ import annotations

import json
import shutil

import pytest

from kqa.kb.errors import BadFileError, KqaError


@pytest.fixture
def pack_copy(factbook_pack, tmp_path):
    """A copy of the session's pack that a test may damage."""
    target = tmp_path / "pack"
    shutil.copytree(factbook_pack.path, target)
    return target


def test_truncated_turtle_names_the_file_and_line(factbook_pack, tmp_path, observe):
    from kqa.kb.rdf import load_rdf

    data = factbook_pack.graph_path.read_bytes()
    cut = tmp_path / "graph.ttl"
    cut.write_bytes(data[: len(data) // 2])  # mid-statement
    with pytest.raises(BadFileError) as err:
        load_rdf(cut)
    observe("bad files", "truncated Turtle (cut mid-statement)", "BadFileError naming the file and line",
            str(err.value), tmp_path)
    assert str(cut) in str(err.value) and err.value.line is not None


def test_invalid_turtle_names_the_file_and_line(tmp_path, observe):
    from kqa.kb.rdf import load_rdf

    bad = tmp_path / "mine.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b "unclosed .\nex:d ex:e ex:f .\n')
    with pytest.raises(BadFileError) as err:
        load_rdf(bad)
    observe("bad files", "invalid Turtle (an unclosed string on line 3)", "BadFileError naming the file and line",
            str(err.value), tmp_path)
    assert str(bad) in str(err.value) and err.value.line == 3


def test_a_pack_whose_graph_was_cut_at_a_statement_boundary_is_refused(pack_copy, observe):
    """Cut between two statements a Turtle file still parses, with fewer facts: the manifest's fingerprint
    catches it, so the cached graph of the whole file is not used and no answer silently goes missing."""
    from kqa.kb.graph import load_graph

    graph = pack_copy / "graph.ttl"
    text = graph.read_text(encoding="utf-8")
    graph.write_text(text[: text.rindex(" .\n", 0, len(text) // 2) + 3], encoding="utf-8")
    with pytest.raises(BadFileError) as err:
        load_graph(pack_copy)
    observe("bad files", "pack graph.ttl cut at a statement boundary (still valid Turtle)",
            "error naming the file: it does not match the manifest", str(err.value), pack_copy)
    assert "graph.ttl" in str(err.value) and "kqa build" in str(err.value)


def test_a_jsonl_corpus_with_a_bad_line(tmp_path, observe):
    from kqa.kb.corpus import load_corpus

    path = tmp_path / "corpus.jsonl"
    path.write_text('{"id": "a/0", "text": "Lima is the capital."}\n{"id": "a/1", "text": "cut here\n'
                    '{"id": "a/2", "text": "fine"}\n')
    with pytest.raises(BadFileError) as err:
        load_corpus(path)
    observe("bad files", "corpus JSONL with a broken line 2", "BadFileError naming the file and line 2",
            str(err.value), tmp_path)
    assert err.value.line == 2 and "corpus.jsonl:2" in str(err.value)


def test_empty_passages(tmp_path, observe):
    from kqa.kb.corpus import load_corpus

    path = tmp_path / "corpus.jsonl"
    path.write_text('{"id": "a/0", "text": "Lima is the capital."}\n{"id": "a/1", "text": "   "}\n')
    with pytest.raises(BadFileError) as err:
        load_corpus(path)
    observe("bad files", "a passage with empty text (line 2)", "BadFileError naming the file and line",
            str(err.value), tmp_path)
    assert err.value.line == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(BadFileError) as err:
        load_corpus(empty)
    observe("bad files", "an empty corpus file", "BadFileError naming the file", str(err.value), tmp_path)
    assert "no passages" in str(err.value)


@pytest.mark.parametrize("case,content,line", [
    ("CSV instead of JSONL", "question,answer\nWhat is the capital of Peru?,Lima\n", 1),
    ("one JSON array", '[{"question": "What is the capital of Peru?", "answer": ["Lima"]}]\n', 1),
    ("no answer field", '{"question": "What is the capital of Peru?", "answers": ["Lima"]}\n'
                        '{"question": "What is the capital of Chile?", "gold": "Santiago"}\n', 2),
    ("an unpaired surrogate escape", '{"question": "What is the capital of Peru\\ud800?", "answer": ["Lima"]}\n', 1),
])
def test_a_question_file_in_the_wrong_format(tmp_path, observe, case, content, line):
    from kqa.kb.questions import load_questions

    path = tmp_path / "questions.jsonl"
    path.write_text(content)
    with pytest.raises(BadFileError) as err:
        load_questions(path)
    observe("bad files", f"question file: {case}", f"BadFileError naming the file and line {line}",
            str(err.value), tmp_path)
    assert err.value.line == line and str(path) in str(err.value)


def test_kqa_eval_with_a_bad_question_file_prints_one_line(factbook_pack, tmp_path, capsys, observe):
    from kqa.apps.cli import main

    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "What is the capital of Peru?", "answer": ["Lima"]}\nnot json\n')
    code = main(["eval", "--backends", "graph", "--questions", str(path), "--pack", str(factbook_pack.path),
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    observe("bad files", "kqa eval --questions with a bad line 2", "exit 2, one line naming file:line",
            f"exit {code}; {err}", tmp_path)
    assert code == 2 and f"{path}:2" in err and len(err.splitlines()) == 1


def test_a_broken_manifest(pack_copy, observe):
    from kqa.kb.pack import open_pack

    (pack_copy / "manifest.json").write_text('{"name": "factbook", "counts": {')
    with pytest.raises(KqaError) as err:
        open_pack(pack_copy)
    observe("bad files", "manifest.json cut short", "KqaError naming the file, saying `kqa build`", str(err.value),
            pack_copy)
    assert "manifest.json" in str(err.value) and "kqa build" in str(err.value)


def test_a_truncated_graph_cache_is_rebuilt_with_the_same_answers(pack_copy, tmp_path, observe):
    from kqa.kb.graph import load_graph
    from kqa.readers.graph_reader import GraphReader

    cache_dir = tmp_path / "cache"
    load_graph(pack_copy, cache_dir=cache_dir)  # makes sure the cache exists
    caches = list(cache_dir.glob("graph-*.pickle"))
    assert len(caches) == 1
    data = caches[0].read_bytes()
    caches[0].write_bytes(data[: len(data) // 3])
    answer = GraphReader(load_graph(pack_copy, cache_dir=cache_dir)).answer("What is the capital of Peru?")
    rebuilt = caches[0].read_bytes()
    observe("bad files", "graph cache (pickle) cut to a third", "rebuilt from graph.ttl, same answers",
            f"rebuilt ({'same size as before' if len(rebuilt) == len(data) else 'other size'}); answer {answer.text}")
    assert answer.text == "Lima" and len(rebuilt) == len(data)


def test_a_graph_cache_of_another_file_is_not_used(tmp_path, observe):
    """The cache is named by the SHA-256 of the Turtle file: change the file and the old cache is not read."""
    from kqa.kb.graph import load_graph

    ttl = tmp_path / "mine.ttl"
    ttl.write_text('@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
                   '<http://example.org/a> rdfs:label "Alpha" .\n')
    cache_dir = tmp_path / "cache"
    assert load_graph(ttl, cache_dir=cache_dir).lookup_name("alpha")
    ttl.write_text('@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
                   '<http://example.org/a> rdfs:label "Beta" .\n')
    kg = load_graph(ttl, cache_dir=cache_dir)
    observe("bad files", "graph.ttl changed after its cache was written", "the old cache is not used",
            f"'Alpha' found: {bool(kg.lookup_name('alpha'))}; 'Beta' found: {bool(kg.lookup_name('beta'))}; "
            f"{len(list(cache_dir.glob('graph-*.pickle')))} cache files")
    assert not kg.lookup_name("alpha") and kg.lookup_name("beta")


def _faiss(passages, encoder, index_dir):
    from kqa.retrievers.faiss_retriever import FaissRetriever

    return FaissRetriever.build_or_load(passages, encoder, index_dir)


@pytest.fixture
def small_corpus():
    from kqa.kb.types import Passage
    from kqa.models.embedder import HashingEncoder

    texts = ["Lima is the capital of Peru.", "Santiago is the capital of Chile.", "Paris is the capital of France.",
             "The Nile flows north.", "Mount Fuji is the highest point of Japan.", "The sol is the currency of Peru."]
    return [Passage(id=f"x/{i}", title="", section="", text=t) for i, t in enumerate(texts)], HashingEncoder(dim=64)


def test_a_truncated_faiss_index_is_rebuilt(small_corpus, tmp_path, observe):
    passages, encoder = small_corpus
    fresh = _faiss(passages, encoder, tmp_path).retrieve("capital of Peru", k=3)
    entry = next(tmp_path.glob("faiss-*"))
    index = entry / "index.faiss"
    index.write_bytes(index.read_bytes()[:100])
    again = _faiss(passages, encoder, tmp_path)
    observe("bad files", "FAISS index cut to 100 bytes", "rebuilt; the same passages come back",
            f"cache hit: {again.cache_hit}; same top 3: {again.retrieve('capital of Peru', k=3) == fresh}")
    assert not again.cache_hit and again.retrieve("capital of Peru", k=3) == fresh


def test_a_faiss_cache_whose_hash_does_not_match_is_rebuilt(small_corpus, tmp_path, observe):
    passages, encoder = small_corpus
    fresh = _faiss(passages, encoder, tmp_path).retrieve("capital of Peru", k=3)
    entry = next(tmp_path.glob("faiss-*"))
    meta = json.loads((entry / "meta.json").read_text())
    meta["corpus_hash"] = "0" * 64
    (entry / "meta.json").write_text(json.dumps(meta))
    again = _faiss(passages, encoder, tmp_path)
    observe("bad files", "FAISS cache whose corpus hash does not match", "rebuilt, same passages",
            f"cache hit: {again.cache_hit}; same top 3: {again.retrieve('capital of Peru', k=3) == fresh}")
    assert not again.cache_hit and again.retrieve("capital of Peru", k=3) == fresh
