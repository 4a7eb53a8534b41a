"""Scoring: normalisation, aliases, numbers, lists, F1, and what abstention counts as."""

from __future__ import annotations

from kqa.eval.metrics import (alias_match, exact_match, list_f1, normalize_answer, popularity_bucket, score_answer,
                              token_f1)
from kqa.kb.types import Question


def test_normalisation():
    assert normalize_answer("The  Côte d’Ivoire!") == "cote d ivoire"
    assert normalize_answer("A Lima.") == "lima"


def test_exact_and_alias_match():
    answers = ("nuevo sol", "PEN", "sol")
    assert exact_match("Nuevo Sol", answers) and not exact_match("PEN", answers)
    assert alias_match("PEN", answers) and alias_match("the sol", answers)
    assert not alias_match("dollar", answers) and not alias_match(None, answers)


def test_numbers_match_within_one_percent():
    answers = ("1,285,216 sq km", "1285216")
    assert alias_match("about 1,290,000 sq km", answers)
    assert not alias_match("1,400,000", answers)
    assert alias_match("$289 billion", ("$289.222 billion",))
    assert not alias_match("no number here", ("32,768,614",))


def test_token_f1_and_lists():
    assert token_f1("Mount Everest", ("Everest",)) == 2 * (0.5 * 1) / 1.5
    assert list_f1("Oman, Saudi Arabia", ("Saudi Arabia", "Oman")) == 1.0
    assert round(list_f1("Oman and Qatar", ("Saudi Arabia", "Oman")), 3) == 0.5
    assert list_f1(None, ("Oman",)) == 0.0


def test_score_answer_counts_abstention_apart_from_wrong():
    q = Question(id="q", question="What is the capital of Peru?", answers=("Lima",),
                 gold_triples=("triple:a",), gold_passages=("passage:pe/government/0",))
    right = score_answer(q, "Lima", ["triple:a", "passage:x"])
    assert right.correct and not right.wrong and right.triple_recall == 1.0 and right.passage_recall == 0.0
    wrong = score_answer(q, "Cusco")
    assert wrong.wrong and not wrong.correct and not wrong.abstained
    none = score_answer(q, None)
    assert none.abstained and not none.wrong and not none.correct


def test_list_question_needs_the_whole_set():
    q = Question(id="l", question="Which countries border X?", answers=("A, B",), type="list", answer_list=("A", "B"))
    assert score_answer(q, "B, A").correct
    assert not score_answer(q, "A").correct and score_answer(q, "A").f1 > 0


def test_popularity_buckets():
    assert [popularity_bucket(r) for r in (1, 50, 51, 151, None)] == \
        ["head (1-50)", "head (1-50)", "torso (51-150)", "tail (151+)", "unknown"]
