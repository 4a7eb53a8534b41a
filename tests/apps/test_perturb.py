"""Robustness probes: seeded, answer-preserving, and scored against the same questions unchanged."""

from __future__ import annotations

import random

from kqa.eval.perturb import PROBES, perturb, perturb_all, robustness_table
from kqa.kb.graph import load_graph, subject_names
from kqa.kb.types import Question

Q = Question(id="single_hop/capital/nl/0", question="What is the capital of Netherlands?", answers=("Amsterdam",),
             type="single_hop", relation="capital", subject="nl")
NAMES = {"nl": ("Netherlands", ("Holland", "Kingdom of the Netherlands", "Nederland"))}


def test_each_probe_changes_words_not_answers():
    rng = random.Random(0)
    for probe in PROBES:
        changed = perturb(Q, probe, NAMES, rng)
        assert changed is not None, probe
        assert changed.question != Q.question and changed.answers == Q.answers and changed.id == f"{Q.id}~{probe}"
    assert perturb(Q, "alias", NAMES, rng).question == "What is the capital of Holland?"
    assert perturb(Q, "case", NAMES, rng).question == Q.question.lower()
    typo = perturb(Q, "typo", NAMES, rng).question
    assert "Netherlands" not in typo and typo.startswith("What is the capital of ")


def test_probes_are_seeded_and_use_the_pack_names(factbook_pack, pack_questions):
    names = subject_names(load_graph(factbook_pack))
    assert names["bm"][0] == "Burma" and "Myanmar" in names["bm"][1]
    sample = pack_questions[:200]
    first, second = perturb_all(sample, names, seed=3), perturb_all(sample, names, seed=3)
    assert first == second and len(first) > 400
    assert {q.id.split("~")[1] for q in first} == set(PROBES)


def test_robustness_table_compares_like_with_like():
    records = [
        {"backend": "b", "question_id": "q1", "correct": True},
        {"backend": "b", "question_id": "q2", "correct": True},
        {"backend": "b", "question_id": "q3", "correct": False},
        {"backend": "b", "question_id": "q1~typo", "correct": False},
        {"backend": "b", "question_id": "q2~typo", "correct": True},
    ]
    row = robustness_table(records, ["b"])["b"]["typo"]
    assert row == {"n": 2, "original": 1.0, "perturbed": 0.5, "drop": 0.5}
