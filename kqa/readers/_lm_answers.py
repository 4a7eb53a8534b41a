"""What the two language-model readers share: turning a greedy generation into an Answer (or an abstention),
and picking a multiple-choice answer by log-likelihood. Private to readers/."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kqa.kb.text import normalize_answer
from kqa.kb.types import Evidence, Question
from kqa.models.lm import Generation, LanguageModel
from kqa.readers.prompts import choice_continuation, clean_answer, is_yes_no, spell_out
from kqa.readers.types import Answer, ClosedBookTrace, CorpusTrace, abstain

class LMReader:
    """What both language-model readers do with the questions they are given: rewrite each (``rewrite``) and
    hand them to their own ``_answer``, one or a batch."""

    rewrite: Callable[[str], str] | None = None

    def _asked(self, question: str) -> str:
        """The question as it is retrieved for and read: with ``rewrite`` (``retrievers.question_rewrite``),
        names put the way the knowledge writes them and a lead-in clause dropped."""
        return self.rewrite(question) if self.rewrite is not None else question

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        return self._answer([(self._asked(question), tuple(choices) if choices else None)])[0]

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        return self._answer([(self._asked(q.question), q.choices or None) for q in questions])

    def _answer(self, items: Sequence[tuple[str, tuple[str, ...] | None]]) -> list[Answer]:
        raise NotImplementedError


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


def _within(answer: str, text: str) -> bool:
    """Whether the normalized ``answer`` is whole words of the normalized ``text``."""
    return re.search(rf"(?:^| ){re.escape(answer)}(?: |$)", text) is not None


def fact_value(fact: str) -> str:
    """What a fact says, without its title and labels: "Peru - Capital: name: Lima" -> "Lima" (a fact as
    ``ContextReader`` lays it out: the passage's title, " - ", the line)."""
    _, dash, line = fact.partition(" - ")
    label, colon, value = (line if dash else fact).rpartition(":")
    return value.strip() if colon and label else (line if dash else fact).strip()


# A name in a question: capitalized words, joined by the small words names hold ("Andorra la Vella",
# "Government of Spain"), or a quoted title.
_NAME = re.compile(r"\"[^\"]+\"|[A-Z0-9][\w'.-]*(?:\s+(?:(?:of|the|la|le|de|del|da|do|al|el|bin)\s+)*[A-Z0-9][\w'.-]*)*")


def _part_of_a_longer_name(answer: str, question: str) -> bool:
    """Whether ``answer`` (normalized) is a proper part of a name the question writes: "Panama" of "Panama
    City", "Africa" of "South Africa" (the question as the reader reads it: names put as the graph writes
    them, so capitalized)."""
    names = [normalize_answer(m.group(0)) for m in _NAME.finditer(question)]
    return any(name != answer and _within(answer, name) for name in names)


def echoes(text: str, question: str, facts: Sequence[str] = ()) -> bool:
    """True when the answer only repeats words of the question ("which countries border Peru?" ->
    "Peru"): a small reader copying the subject it was asked about. A question that offers alternatives
    ("A or B?") is answered by one of its own words, so it never counts; nor does a proper part of a longer
    name in the question ("Which country has Panama City as its capital?" "Panama"), a name the question
    writes as a common noun ("What is the national parliament of Fiji called?" "Parliament"), or an answer that the
    ``facts`` read say themselves, beyond their titles and labels ("what continent is South Africa in?"
    "Africa", from "Location: Southern Africa, ... the continent of Africa")."""
    answer, asked = normalize_answer(text), normalize_answer(question)
    if not answer or re.search(r"\bor\b", asked) or not _within(answer, asked):
        return False
    if _part_of_a_longer_name(answer, question) or _named_where_asked_in_lower_case(text, question):
        return False
    return not any(_within(answer, normalize_answer(fact_value(fact))) for fact in facts)


def _named_where_asked_in_lower_case(text: str, question: str) -> bool:
    """Whether the answer is a name ("Parliament") that the question writes only as a common noun ("what
    is the national parliament of Fiji called?"), in a question whose names are capitalized."""
    if not text[:1].isupper() or not any(m.start() > 0 for m in _NAME.finditer(question)):
        return False  # not a name, or a question in lower case throughout: no telling names from words
    return re.search(rf"(?<!\w){re.escape(text.strip())}(?!\w)", question) is None


# A question that asks for several things: a plural noun after "what"/"which" ("which countries border ...",
# "name the main faiths of ..."), not a verb ("what does ...") or a singular ("what language ...").
_SEVERAL = re.compile(r"\b(?:what|which)\s+(?:are\s+)?(?:(?:the|some|of|most|main|major|common|official|other|"
                      r"different|two|three|four|five|\d+)\s+)*([a-z]+(?:ies|[^siu']s))\b", re.IGNORECASE)
_NOT_PLURAL = {"does", "was", "has", "this", "its", "his", "hers", "yours", "ours", "theirs", "whereas", "always"}
_ASIDE = re.compile(r"\s*\([^()]*\)?")  # "(official)", "(southeast)", a cut-off "(2022 est."
_MEASURE = re.compile(r"(?:^|\s)[-~<>]?\s*[$€£]?\d[\d,.\-–]*\s*(?:%|km|sq km|m|nm|mi|percent)?(?=\s|$)")
_NOT_AN_ITEM = re.compile(r"^(?:other|others|unspecified|none|note|n/a|no religion|unknown)\b", re.IGNORECASE)
MAX_ITEMS = 12


def asks_for_several(question: str) -> bool:
    """Whether ``question`` asks for a set: "which countries ...", "what are the major religions ..."."""
    match = _SEVERAL.search(question)
    return match is not None and match.group(1).lower() not in _NOT_PLURAL


def list_items(value: str) -> list[str]:
    """The names a list-valued fact gives, without their figures and asides, in its order: "Punjabi 38.8%,
    Pashto (alternate name, Pashtu) 18.2%, other 3%" -> ["Punjabi", "Pashto"]. Items are split on ";" when
    the value has any, else on ","; "A 10 km and A (south) 4 km" is one item, A."""
    value = _ASIDE.sub(" ", value)
    parts = value.split(";") if ";" in value else value.split(",")
    items: list[str] = []
    for part in parts:
        for piece in re.split(r"\s+and\s+", part):
            item = " ".join(_MEASURE.sub(" ", piece).split()).strip(" .-–")
            if item and re.search(r"[^\W\d]", item) and not _NOT_AN_ITEM.match(item) \
                    and normalize_answer(item) not in {normalize_answer(i) for i in items}:
                items.append(item)
    return items[:MAX_ITEMS]


def set_answer(text: str, question: str, facts: Sequence[str]) -> str | None:
    """For a question that asks for several things, the whole list the fact read gives, when the model
    copied part of it or echoed the question: a small reader stops after an item or two ("which countries
    border Spain?" "Spain"). None when the question asks for one thing, the first fact is not a list of at
    least two names, or the model answered from elsewhere."""
    if not facts or not asks_for_several(question):
        return None
    value = fact_value(facts[0])
    items = list_items(value)
    if len(items) < 2:
        return None
    answer = normalize_answer(text)
    said = normalize_answer(value)
    first = normalize_answer(list_items(text)[0]) if list_items(text) else ""
    if (answer and _within(answer, said)) or (first and _within(first, said)) or echoes(text, question):
        return ", ".join(items)
    return None


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
    An abbreviation that one of the ``facts`` read defines is given as the name it stands for; a question
    that asks for several things gets the whole list the fact read gives (``set_answer``)."""
    text = clean_answer(generation.text, question)
    if text is not None:
        text = spell_out(text, facts)
        listed = set_answer(text, question, facts)
        if listed is not None:
            meta = {**meta, "set_from_fact": True}
            text = listed
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
    if echoes(text, question, facts):
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
