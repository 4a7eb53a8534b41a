"""How an answer is scored against a question's gold answers.

- containment accuracy (``acc``, the headline): a normalized gold alias appears as whole words inside the
  normalized prediction, plurals folded ("Hindi and English" holds "English"; "Euros" holds "euro"), as PopQA
  (Mallen et al. 2023) and FlashRAG score open answers whose gold strings are short names. A gold alias that
  holds a number matches by value instead (within 1%), so "500" is not found inside "1,500". A gold alias
  that ends in "language" (Freebase's way of telling "English Language" from the English people) matches
  without that word;
- normalized exact match: the answer equals the first gold answer after SQuAD-style normalisation
  (case, punctuation, articles, accents, spaces);
- alias match: it equals any gold alias, or, for numbers, is within 1% of a gold number;
- token F1: the best token overlap with any alias (SQuAD);
- list questions: set F1 between the answer's items and the gold list, correct when F1 = 1;
- multiple choice: correct when the answer is the gold choice;
- evidence recall: the share of gold triples or gold passages among the evidence ids.

An abstention (text None) is never correct and never wrong: it counts in the abstention rate, and the
wrong-answer rate (answered and wrong) is the hallucination figure. Truthfulness (CRAG, Yang et al. 2024)
scores +1 a right answer, 0 an abstention, -1 a wrong one, averaged: a backend that guesses scores below one
that abstains when it does not know. ``risk_coverage`` orders the answers by confidence and gives, for each
threshold, the share of questions answered (coverage) and the share of those answered wrong (risk)
(selective prediction: El-Yaniv and Wiener 2010; Geifman and El-Yaniv 2017).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kqa.kb.text import normalize_answer
from kqa.kb.types import Question

__all__ = ["normalize_answer", "alias_match", "contains_match", "exact_match", "token_f1", "list_f1", "score_answer",
           "Score", "truthfulness", "risk_coverage"]
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


def _singular(word: str) -> str:
    """A plural folded to its singular, well enough for answer matching: 'euros' -> 'euro', 'rupees' ->
    'rupee', 'countries' -> 'country', 'churches' -> 'church'; 'swiss' and 'bus' stay."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return [_singular(w) for w in normalize_answer(text).split()]


def _holds(words: list[str], part: list[str]) -> bool:
    n = len(part)
    return n > 0 and any(words[i : i + n] == part for i in range(len(words) - n + 1))


def contains_match(prediction: str | None, answers: Sequence[str]) -> bool:
    """True when a gold alias appears as whole words in the prediction (plurals folded); a gold alias with a
    digit in it matches by value (``alias_match``) instead."""
    if prediction is None:
        return False
    words = _words(prediction)
    for gold in answers:
        if re.search(r"\d", gold):
            if alias_match(prediction, (gold,)):
                return True
            continue
        part = _words(gold)
        if len(part) > 1 and part[-1] == "language":
            part = part[:-1]
        if _holds(words, part):
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

    correct: bool  # containment accuracy (list: set F1 == 1; multiple choice: the gold choice)
    alias: bool  # alias match: the whole answer equals a gold alias
    exact: bool
    f1: float
    abstained: bool
    wrong: bool  # answered and not correct: the hallucination figure
    triple_recall: float | None
    passage_recall: float | None


def score_answer(question: Question, text: str | None, evidence_ids: Sequence[str] = ()) -> Score:
    if question.type == "list" and question.answer_list:
        f1 = list_f1(text, question.answer_list)
        correct = alias = exact = f1 == 1.0
    elif question.type == "multiple_choice":
        correct = alias = alias_match(text, question.answers)
        exact = exact_match(text, question.answers)
        f1 = 1.0 if correct else token_f1(text, question.answers)
    else:
        alias = alias_match(text, question.answers)
        correct = alias or contains_match(text, question.answers)
        exact = exact_match(text, question.answers)
        f1 = 1.0 if alias else token_f1(text, question.answers)
    abstained = text is None
    return Score(
        correct=correct,
        alias=alias,
        exact=exact,
        f1=f1,
        abstained=abstained,
        wrong=not abstained and not correct,
        triple_recall=evidence_recall(evidence_ids, question.gold_triples),
        passage_recall=evidence_recall(evidence_ids, question.gold_passages),
    )


def truthfulness(scores: Sequence[tuple[bool, bool]]) -> float | None:
    """CRAG's score over (correct, abstained) pairs: mean of +1 right, 0 abstained, -1 wrong; None if empty."""
    if not scores:
        return None
    return sum(0 if abstained else (1 if correct else -1) for correct, abstained in scores) / len(scores)


@dataclass(frozen=True)
class RiskPoint:
    """Answer only when confidence >= threshold: the share of all questions answered, and of those answered
    the share wrong (risk) and right (accuracy)."""

    threshold: float | None  # None: the answers that carry no confidence
    coverage: float
    risk: float
    accuracy: float


def risk_coverage(rows: Sequence[tuple[float | None, bool, bool]], *, points: int = 21) -> list[RiskPoint]:
    """The risk-coverage curve of (confidence, correct, abstained) rows, highest confidence first, at most
    ``points`` points evenly spread over coverage. An answer without a confidence ranks below every answer
    with one; an abstention is never answered at any threshold.

    >>> [(p.coverage, p.risk) for p in risk_coverage([(0.9, True, False), (0.4, False, False), (None, False, True)])]
    [(0.3333, 0.0), (0.6667, 0.5)]
    """
    answered = sorted(((c if c is not None else float("-inf"), ok) for c, ok, abstained in rows if not abstained),
                      key=lambda x: -x[0])
    n = len(rows)
    if not n or not answered:
        return []
    cuts = []  # indices after which the threshold can fall: the last of each run of equal confidences
    for i, (conf, _) in enumerate(answered):
        if i + 1 == len(answered) or answered[i + 1][0] != conf:
            cuts.append(i)
    if len(cuts) > points:
        step = (len(cuts) - 1) / (points - 1)
        cuts = sorted({cuts[round(j * step)] for j in range(points)})
    out, right = [], 0
    prefix = [0]
    for _, ok in answered:
        right += ok
        prefix.append(right)
    for i in cuts:
        k = i + 1
        threshold = answered[i][0]
        out.append(RiskPoint(threshold=round(threshold, 4) if threshold != float("-inf") else None,
                             coverage=round(k / n, 4), risk=round(1 - prefix[k] / k, 4),
                             accuracy=round(prefix[k] / k, 4)))
    return out


def area_under_risk_coverage(curve: Sequence[RiskPoint]) -> float | None:
    """The mean risk over the curve's points (lower is better): a summary of how well confidence ranks."""
    return round(sum(p.risk for p in curve) / len(curve), 4) if curve else None


def popularity_bucket(rank: int | None) -> str:
    """Population rank -> a bucket: head (1-50), torso (51-150), tail (151+)."""
    if rank is None:
        return "unknown"
    if rank <= 50:
        return "head (1-50)"
    if rank <= 150:
        return "torso (51-150)"
    return "tail (151+)"
