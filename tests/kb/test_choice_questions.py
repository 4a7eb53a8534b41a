"""Multiple-choice question files in the layouts people have: CommonsenseQA, ARC and OpenBookQA as released
(nested) and as exported flat. The rows are made up here, in each dataset's layout."""

from __future__ import annotations

import json

import pytest

from kqa.kb.errors import BadFileError
from kqa.kb.questions import load_questions


def write(path, rows):
    path.write_text("\n".join(json.dumps(row) if not isinstance(row, str) else row for row in rows) + "\n")
    return path


def test_commonsense_qa_original_layout(tmp_path):
    row = {"id": "c1", "answerKey": "C", "question": {"question_concept": "kettle", "stem": "What do you boil water in?",
                                                       "choices": [{"label": "A", "text": "a sieve"},
                                                                   {"label": "B", "text": "a basket"},
                                                                   {"label": "C", "text": "a kettle"}]}}
    (q,) = load_questions(write(tmp_path / "csqa.jsonl", [row]))
    assert (q.id, q.question, q.answers, q.choices) == ("c1", "What do you boil water in?", ("a kettle",),
                                                         ("a sieve", "a basket", "a kettle"))
    assert q.type == "multiple_choice"


def test_commonsense_qa_flat_export(tmp_path):
    rows = [{"id": "f1", "question": "Where does a mole live?", "question_concept": "mole",
             "choices": {"label": ["A", "B", "C", "D"], "text": ["in a burrow", "in a nest", "at sea", "on a roof"]},
             "answerKey": "A"},
            {"id": "f2", "question": "  What melts in the sun?  ",
             "choices": {"label": ["A", "B"], "text": ["a stone", "ice"]}, "answerKey": "B"}]
    first, second = load_questions(write(tmp_path / "flat.jsonl", rows))
    assert first.answers == ("in a burrow",) and first.choices == ("in a burrow", "in a nest", "at sea", "on a roof")
    assert second.question == "What melts in the sun?" and second.answers == ("ice",)


def test_arc_with_digit_labels(tmp_path):
    row = {"id": "arc-1", "answerKey": "2", "question": {"stem": "Which of these is a source of light?", "choices": [
        {"text": "a pebble", "label": "1"}, {"text": "a candle flame", "label": "2"},
        {"text": "a wooden spoon", "label": "3"}]}}
    (q,) = load_questions(write(tmp_path / "arc.jsonl", [row]))
    assert q.answers == ("a candle flame",) and len(q.choices) == 3


def test_openbookqa_original_and_export(tmp_path):
    original = {"id": "ob1", "question": {"stem": "A plant needs", "choices": [
        {"text": "darkness", "label": "A"}, {"text": "sunlight", "label": "B"}]}, "fact1": "plants need light",
        "answerKey": "B"}
    export = {"id": "ob2", "question_stem": "Frozen water is", "choices": {"text": ["steam", "ice"], "label": ["A", "B"]},
              "answerKey": "B"}
    a, b = load_questions(write(tmp_path / "obqa.jsonl", [original, export]))
    assert (a.answers, b.answers, b.question) == (("sunlight",), ("ice",), "Frozen water is")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"question": "q?", "choices": {"label": ["A", "B"], "text": ["x", "y"]}, "answerKey": "C"},
         r"\"answerKey\" 'C' is not one of the choice labels \['A', 'B'\]"),
        ({"question": "q?", "choices": {"label": ["A", "B"], "text": ["x", "y"]}, "answerKey": ""},
         "needs \"answerKey\""),
        ({"question": "q?", "choices": {"label": ["A", "B"], "text": ["x"]}, "answerKey": "A"},
         "2 labels but 1 texts"),
        ({"question": "q?", "choices": ["x", "y"], "answerKey": "A"}, "must be {\"label\""),
        ({"question": {"stem": "", "choices": [{"label": "A", "text": "x"}]}, "answerKey": "A"}, "need \"question\""),
        ({"question": {"stem": "q?", "choices": [{"label": "A"}]}, "answerKey": "A"}, "\"label\" and \"text\""),
    ],
)
def test_bad_choice_rows_name_file_and_line(tmp_path, row, message):
    good = {"question": "ok?", "choices": {"label": ["A"], "text": ["x"]}, "answerKey": "A"}
    path = write(tmp_path / "bad.jsonl", [good, row])
    with pytest.raises(BadFileError, match=message) as err:
        load_questions(path)
    assert err.value.line == 2 and "bad.jsonl:2" in str(err.value)
