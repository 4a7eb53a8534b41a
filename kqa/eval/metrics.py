"""How an answer is scored against a question's gold answers.

- normalized exact match: the answer equals the first gold answer after SQuAD-style normalisation
  (case, punctuation, articles, accents, spaces);
- alias match: it equals any gold alias, or, for numbers, is within 1% of a gold number;
- token F1: the best token overlap with any alias (SQuAD);
- list questions: set F1 between the answer's items and the gold list, correct when F1 = 1;
- multiple choice: correct when the answer is the gold choice;
- evidence recall: the share of gold triples or gold passages among the evidence ids.

An abstention (text None) is never correct and never wrong: it counts in the abstention rate, and the
wrong-answer rate (answered and wrong) is the hallucination figure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kqa.kb.text import normalize_answer
from kqa.kb.types import Question

__all__ = ["normalize_answer", "alias_match", "exact_match", "token_f1", "list_f1", "score_answer", "Score"]
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?(?:\s*(?:thousand|million|billion|trillion))?")
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}


def _number(text: str) -> float | None:
    match = _NUMBER.search(text)
    if not match:
        return None
    raw = match.group(0).replace("$", "").replace(",", "")
    scale = 1.0
    for word, factor in _SCALE.items():
        if raw.endswith(word):
            raw, scale = raw[: -len(word)].strip(), factor
    try:
        return float(raw) * scale
    except ValueError:
        return None


def exact_match(prediction: str | None, answers: Sequence[str]) -> bool:
    return prediction is not None and bool(answers) and normalize_answer(prediction) == normalize_answer(answers[0])


def alias_match(prediction: str | None, answers: Sequence[str]) -> bool:
    if prediction is None:
        return False
    norm = normalize_answer(prediction)
    if any(norm == normalize_answer(a) for a in answers):
        return True
    predicted = _number(prediction)
    if predicted is not None and re.search(r"\d", prediction):
        for gold in answers:
            value = _number(gold)
            if value is not None and abs(predicted - value) <= 0.01 * max(abs(value), 1e-9):
                return True
    return False


def token_f1(prediction: str | None, answers: Sequence[str]) -> float:
    if prediction is None:
        return 0.0
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in answers:
        ref = normalize_answer(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            p, r = common / len(pred), common / len(ref)
            best = max(best, 2 * p * r / (p + r))
    return best


def split_list(text: str) -> list[str]:
    """'Oman, Saudi Arabia and Qatar' -> ['Oman', 'Saudi Arabia', 'Qatar']."""
    return [p.strip() for p in re.split(r",|;|\band\b|\n", text) if p.strip()]


def list_f1(prediction: str | None, members: Sequence[str]) -> float:
    if prediction is None or not members:
        return 0.0
    predicted = {normalize_answer(p) for p in split_list(prediction)}
    gold = {normalize_answer(m) for m in members}
    hit = len(predicted & gold)
    if not hit:
        return 0.0
    p, r = hit / len(predicted), hit / len(gold)
    return 2 * p * r / (p + r)


def evidence_recall(evidence_ids: Iterable[str], gold: Sequence[str]) -> float | None:
    if not gold:
        return None
    found = set(evidence_ids)
    return sum(g in found for g in gold) / len(gold)


@dataclass(frozen=True)
class Score:
    """One answer scored against one question."""

    correct: bool  # alias match (list: set F1 == 1; multiple choice: the gold choice)
    exact: bool
    f1: float
    abstained: bool
    wrong: bool  # answered and not correct: the hallucination figure
    triple_recall: float | None
    passage_recall: float | None


def score_answer(question: Question, text: str | None, evidence_ids: Sequence[str] = ()) -> Score:
    if question.type == "list" and question.answer_list:
        f1 = list_f1(text, question.answer_list)
        correct = f1 == 1.0
        exact = correct
    else:
        correct = alias_match(text, question.answers)
        exact = exact_match(text, question.answers)
        f1 = 1.0 if correct else token_f1(text, question.answers)
    abstained = text is None
    return Score(
        correct=correct,
        exact=exact,
        f1=f1,
        abstained=abstained,
        wrong=not abstained and not correct,
        triple_recall=evidence_recall(evidence_ids, question.gold_triples),
        passage_recall=evidence_recall(evidence_ids, question.gold_passages),
    )


def popularity_bucket(rank: int | None) -> str:
    """Population rank -> a bucket: head (1-50), torso (51-150), tail (151+)."""
    if rank is None:
        return "unknown"
    if rank <= 50:
        return "head (1-50)"
    if rank <= 150:
        return "torso (51-150)"
    return "tail (151+)"
