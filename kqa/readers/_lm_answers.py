"""What the two language-model readers share: turning a greedy generation into an Answer (or an abstention),
and picking a multiple-choice answer by log-likelihood. Private to readers/."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kqa.kb.text import normalize_answer
from kqa.kb.types import Evidence
from kqa.models.lm import Generation, LanguageModel
from kqa.readers.prompts import choice_continuation, clean_answer, is_yes_no, spell_out
from kqa.readers.types import Answer, ClosedBookTrace, CorpusTrace, abstain

UNKNOWN = {"unknown", "i don't know", "i do not know", "not stated", "none"}


@dataclass(frozen=True)
class Choice:
    """A multiple-choice pick: the choice, its softmax share over the choices, and every choice's score
    (``bias``: what was subtracted from each score by calibration, empty when none was)."""

    text: str
    probability: float
    logprobs: dict[str, float]
    bias: dict[str, float] = field(default_factory=dict)


def choose(lm: LanguageModel, context: str, choices: Sequence[str], *,
           content_free: str | None = None, cache: dict[tuple[str, ...], list[float]] | None = None) -> Choice:
    """The choice the model finds most likely after ``context`` (sum of token log-probabilities, as
    lm-evaluation-harness's ``acc``); its confidence is its share of the softmax over the choices.

    Yes or no is calibrated when ``content_free`` is given: the same prompt with the question's content
    words put as "N/A" (``prompts.content_free_question``). A small model leans to one of the two whatever it
    is asked (gemma-3-270m wrote "Yes" to all 120 "is a X a kind of Y?" questions of the WordNet sample, half
    of them false), so each score is taken relative to that prompt's (contextual calibration, Zhao et al.
    2021): the answer is the one the question's content moves the model towards. ``cache`` keeps the
    content-free scores, shared by every question of the same form. (On that sample the lean outweighs the
    content and most answers stay yes: README, WordNet.)"""
    continuations = [choice_continuation(lm, c) for c in choices]
    scores = lm.loglikelihood(context, continuations)
    bias: list[float] | None = None
    if content_free is not None and is_yes_no(choices):
        key = (lm.model_id, content_free, *continuations)
        bias = cache.get(key) if cache is not None else None
        if bias is None:
            bias = lm.loglikelihood(content_free, continuations)
            if cache is not None:
                cache[key] = bias
    calibrated = [s - b for s, b in zip(scores, bias)] if bias else scores
    top = max(calibrated)
    weights = [math.exp(s - top) for s in calibrated]
    best = calibrated.index(top)
    return Choice(choices[best], weights[best] / sum(weights), dict(zip(choices, scores)),
                  dict(zip(choices, bias or ())))


def echoes(text: str, question: str) -> bool:
    """True when the answer only repeats words of the question ("which countries border Peru?" ->
    "Peru"): a small reader copying the subject it was asked about. A question that offers alternatives
    ("A or B?") is answered by one of its own words, so it never counts."""
    answer, asked = normalize_answer(text), normalize_answer(question)
    if not answer or re.search(r"\bor\b", asked):
        return False
    return re.search(rf"(?:^| ){re.escape(answer)}(?: |$)", asked) is not None


def names_a_field(text: str, facts: Sequence[str]) -> bool:
    """True when the answer is a word of the facts' labels and of none of their values ("Aruba - Exchange
    rates: Currency: Aruban guilders" -> "currency"): a small reader naming the field it was shown. A fact's
    title (before " - ", as ``ContextReader`` lays facts out) is neither."""
    answer = normalize_answer(text)
    if not answer or not facts:
        return False
    labels, values = [], []
    for fact in facts:
        _, dash, line = fact.partition(" - ")  # "Aruba - Exchange rates: ...": the title is not a label
        label, colon, value = (line if dash else fact).rpartition(":")
        labels.append(normalize_answer(label) if colon else "")
        values.append(normalize_answer(value if colon else fact))
    def within(texts):
        return any(re.search(rf"(?:^| ){re.escape(answer)}(?: |$)", t) for t in texts)
    return within(labels) and not within(values)


def greedy_answer(
    question: str,
    generation: Generation,
    *,
    backend: str,
    abstain_below: float,
    latency_ms: float,
    evidence: tuple[Evidence, ...] = (),
    meta: dict[str, Any],
    trace: CorpusTrace | ClosedBookTrace | None = None,
    facts: Sequence[str] = (),
) -> Answer:
    """A short greedy answer with the probability of its tokens as confidence, or an abstention that says why.
    An abbreviation that one of the ``facts`` read defines is given as the name it stands for."""
    text = clean_answer(generation.text, question)
    if text is not None:
        text = spell_out(text, facts)
    confidence = generation.probability
    meta = {**meta, "raw": generation.text, "finish_reason": generation.finish_reason}
    if text is None:
        return abstain(question, backend, "the model wrote no answer", latency_ms=latency_ms, trace=trace, **meta)
    if text.lower() in UNKNOWN:
        return abstain(question, backend, "the model answered that it does not know", latency_ms=latency_ms,
                       trace=trace, **meta)
    if names_a_field(text, facts):
        return abstain(question, backend, "the model copied the name of a field, not its value",
                       latency_ms=latency_ms, candidate=text, trace=trace, **meta)
    if echoes(text, question):
        return abstain(question, backend, "the model repeated a name from the question", latency_ms=latency_ms,
                       candidate=text, trace=trace, **meta)
    if confidence is not None and confidence < abstain_below:
        return abstain(question, backend, f"confidence {confidence:.3f} is below {abstain_below}",
                       latency_ms=latency_ms, candidate=text, candidate_confidence=confidence, trace=trace, **meta)
    return Answer(question=question, text=text, backend=backend, confidence=confidence, evidence=evidence,
                  latency_ms=latency_ms, rationale=None, meta=meta, trace=trace)


def choice_answer(question: str, choice: Choice, *, backend: str, abstain_below: float, latency_ms: float,
                  evidence: tuple[Evidence, ...] = (), meta: dict[str, Any],
                  trace: CorpusTrace | ClosedBookTrace | None = None) -> Answer:
    meta = {**meta, "method": "loglikelihood", "choice_logprobs": choice.logprobs}
    if choice.bias:
        meta["choice_bias"] = choice.bias  # the content-free scores subtracted (calibration)
    if trace is not None:
        trace = replace(trace, method="loglikelihood", choice_logprobs=dict(choice.logprobs))
    if choice.probability < abstain_below:
        return abstain(question, backend, f"confidence {choice.probability:.3f} is below {abstain_below}",
                       latency_ms=latency_ms, candidate=choice.text, trace=trace, **meta)
    return Answer(question=question, text=choice.text, backend=backend, confidence=choice.probability,
                  evidence=evidence, latency_ms=latency_ms, rationale=None, meta=meta, trace=trace)
