"""A user's own files: question formats, corpora and RDF, and the errors a bad file gets."""

from __future__ import annotations

import json

import pytest

from kqa.kb.corpus import load_corpus
from kqa.kb.errors import BadFileError
from kqa.kb.questions import load_questions
from kqa.kb.rdf import load_rdf


def write(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_kqa_questions_round_trip(tmp_path, pack_questions):
    path = write(tmp_path / "q.jsonl", [q.to_json() for q in pack_questions[:50]])
    assert load_questions(path) == pack_questions[:50]


def test_pack_questions_by_split(factbook_pack):
    test = load_questions(factbook_pack.questions_path, split="test")
    assert test and {q.split for q in test} == {"test"}
    with pytest.raises(BadFileError, match="no questions in split 'train'"):
        load_questions(factbook_pack.questions_path, split="train")


def test_nq_open_questions(tmp_path):
    path = write(tmp_path / "nq.jsonl", [{"question": "who wrote hamlet", "answer": ["William Shakespeare", "Shakespeare"]},
                                         {"question": "capital of peru", "answer": "Lima"}])
    first, second = load_questions(path)
    assert first.answers == ("William Shakespeare", "Shakespeare") and first.type == "open"
    assert second.answers == ("Lima",) and second.id == "nq/2"


def test_commonsense_qa_questions(tmp_path):
    row = {"id": "x1", "answerKey": "B", "question": {"stem": "Where is Lima?", "choices": [
        {"label": "A", "text": "Chile"}, {"label": "B", "text": "Peru"}, {"label": "C", "text": "Spain"}]}}
    (q,) = load_questions(write(tmp_path / "csqa.jsonl", [row]))
    assert q.answers == ("Peru",) and q.choices == ("Chile", "Peru", "Spain") and q.type == "multiple_choice"


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        ([{"question": "a", "answer": ["b"]}, "{not json"], 2, "not valid JSON"),
        ([{"question": "a", "answer": ["b"]}, {"question": "c"}], 2, "needs \"answers\""),
        ([{"question": "", "answers": ["b"]}], 1, "non-empty \"question\""),
        ([{"question": "a", "answers": []}], 1, "non-empty list"),
        (["[1, 2]"], 1, "JSON object"),
        ([{"answerKey": "Z", "question": {"stem": "s", "choices": [{"label": "A", "text": "t"}]}}], 1, "answerKey"),
    ],
)
def test_bad_question_line_names_file_and_line(tmp_path, lines, line, message):
    path = write(tmp_path / "bad.jsonl", lines)
    with pytest.raises(BadFileError, match=message) as err:
        load_questions(path)
    assert err.value.line == line and f"bad.jsonl:{line}" in str(err.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(BadFileError, match="no such file"):
        load_questions(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(BadFileError, match="empty"):
        load_questions(tmp_path / "empty.jsonl")


def test_jsonl_corpus_and_text_folder(tmp_path):
    path = write(tmp_path / "c.jsonl", [{"id": "a/1", "title": "A", "text": "Alpha text."}, {"text": "No id here."}])
    first, second = load_corpus(path)
    assert (first.id, first.title, first.text) == ("a/1", "A", "Alpha text.") and second.id == "c/2"
    with pytest.raises(BadFileError, match="c2.jsonl:2.*duplicate"):
        load_corpus(write(tmp_path / "c2.jsonl", [{"id": "x", "text": "t"}, {"id": "x", "text": "u"}]))
    with pytest.raises(BadFileError, match=":1.*non-empty"):
        load_corpus(write(tmp_path / "c3.jsonl", [{"id": "x", "text": "  "}]))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "peru.txt").write_text("Lima is the capital.\n\nThe sol is the currency.\n")
    assert [p.id for p in load_corpus(folder)] == ["peru/0", "peru/1"]


def test_text_folder_passages_are_bounded_like_jsonl_lines(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "peru.txt").write_text("Lima is the capital.\nIt is on the coast.\n\n\nThe sol is the currency.\n")
    (folder / "sub" / "chad.txt").write_text("N'Djamena.\n")
    passages = load_corpus(folder, max_line_bytes=64)
    assert [(p.id, p.text) for p in passages] == [("peru/0", "Lima is the capital.\nIt is on the coast."),
                                                  ("peru/1", "The sol is the currency."), ("sub/chad/0", "N'Djamena.")]
    (folder / "peru.txt").write_text("Short.\n\n" + "word " * 10 + "\n" + "word " * 10 + "\n")  # a 110-byte block
    with pytest.raises(BadFileError, match=r"peru\.txt:3: a passage is longer than 64 bytes.*blank line"):
        load_corpus(folder, max_line_bytes=64)
    (folder / "peru.txt").write_text("x" * 1000)  # one line, no newline: refused without reading it whole
    with pytest.raises(BadFileError, match=r"peru\.txt:1: a passage is longer"):
        load_corpus(folder, max_line_bytes=64)
    (folder / "peru.txt").write_bytes(b"ok\n\n\xff\xfe bad\n")
    with pytest.raises(BadFileError, match=r"peru\.txt:3: is not UTF-8"):
        load_corpus(folder)


def test_rdf_files(tmp_path):
    ttl = tmp_path / "g.ttl"
    ttl.write_text('@prefix ex: <http://ex.org/> .\nex:peru ex:capital ex:lima .\nex:lima ex:name "Lima" .\n')
    assert len(load_rdf(ttl)) == 2
    nt = tmp_path / "g.nt"
    nt.write_text('<http://ex.org/peru> <http://ex.org/capital> <http://ex.org/lima> .\n')
    assert len(load_rdf(nt)) == 1
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://ex.org/> .\nex:peru ex:capital ex:lima\nex:lima ex:name "Lima .\n')
    with pytest.raises(BadFileError, match="bad.ttl.*not valid turtle"):
        load_rdf(bad)
    with pytest.raises(BadFileError, match="unknown RDF suffix"):
        load_rdf(write(tmp_path / "g.csv", ["a,b"]))
