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


def test_containment_accuracy_finds_a_gold_alias_inside_the_answer():
    from kqa.eval.metrics import contains_match

    assert contains_match("Urdu, English", ("English Language",))  # Freebase's "X Language" form
    assert contains_match("Hindi and English", ("English",))
    assert contains_match("Euros", ("Euro",)) and contains_match("the Thai baht", ("baht",))
    assert contains_match("Indian rupees", ("Indian rupee",))
    assert not contains_match("Englishman", ("English",))  # whole words only
    assert not contains_match("dollar", ("Jamaican dollar",))  # the gold must be inside, not the answer
    assert not contains_match("1,500", ("500",))  # numbers by value, never as words
    assert contains_match("about 1,290,000 sq km", ("1,285,216 sq km",))
    assert not contains_match(None, ("English",))


def test_score_answer_headline_is_containment_with_alias_beside():
    q = Question(id="q", question="what language do they speak in pakistan?", answers=("English Language", "Urdu"))
    both = score_answer(q, "Urdu and English")
    assert both.correct and not both.alias and not both.wrong
    one = score_answer(q, "Urdu")
    assert one.correct and one.alias and not one.exact
    mc = Question(id="m", question="?", answers=("Lima",), choices=("Lima", "Lima Province"), type="multiple_choice")
    assert not score_answer(mc, "Lima Province").correct  # a choice is the choice, not a string holding it


def test_truthfulness_rewards_abstaining_over_guessing():
    from kqa.eval.metrics import truthfulness

    assert truthfulness([(True, False), (False, False), (False, True), (False, True)]) == 0.0
    assert truthfulness([(True, False), (False, True)]) == 0.5
    assert truthfulness([(False, False)]) == -1.0
    assert truthfulness([]) is None


def test_risk_coverage_orders_answers_by_confidence():
    from kqa.eval.metrics import area_under_risk_coverage, risk_coverage

    rows = [(0.9, True, False), (0.8, True, False), (0.6, False, False), (0.6, True, False), (None, False, False),
            (None, False, True)]
    curve = risk_coverage(rows)
    assert [(p.threshold, p.coverage, p.risk) for p in curve] == \
        [(0.9, 0.1667, 0.0), (0.8, 0.3333, 0.0), (0.6, 0.6667, 0.25), (None, 0.8333, 0.4)]
    assert area_under_risk_coverage(curve) == round((0 + 0 + 0.25 + 0.4) / 4, 4)
    thinned = risk_coverage([(i / 100, i % 2 == 0, False) for i in range(100)], points=5)
    assert len(thinned) == 5 and thinned[0].coverage == 0.01 and thinned[-1].coverage == 1.0
    assert risk_coverage([(None, False, True)]) == []
