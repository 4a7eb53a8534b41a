"""Line selection: the few lines of the retrieved passages that bear on the question, for a small reader.

A retrieved passage holds the answer far more often than a 270M-parameter reader finds it: on the Factbook
dev split the top-5 passages hold the gold answer for 95% of single-hop questions, yet gemma-3-270m reading
four whole passages answered 16% of them. Given the best three lines it answered 57% of 300 of them, given
two 60%, given the best line alone 64% (and 77% once each worked example of the reading prompt had its own
fact: ``readers/prompts``); a small model is distracted by every line beside the answer's. This is the
extractive compression step of RECOMP (Xu et al. 2023) and of the "refiners" in FlashRAG, done with the
retriever's own embedder.

A passage is cut into units: its lines when it has several (the Factbook's ``Field: sub-field: value``
lines), else its sentences. A unit is embedded twice: by what it is *about*, its passage title and, for a
``label: value`` line, the label (``"Peru: Capital: name"``), else its first words; and whole, after the
title. A question names the field it wants more than the answer, so the label counts three times as much as
the whole line (``value_weight`` = 0.25); the whole line settles the questions that name a value ("unicameral
or bicameral?"). A unit scores that mix of cosine similarities with the question plus ``passage_weight``
times its passage's retrieval score as a share of the best one, so lines of better passages win close calls.
Vectors are cached (``models.embedder.CachedEncoder``: labels repeat across questions, and so do lines), so a
warm selector embeds little; shared with the dense retriever, it embeds the question once.

On the Factbook dev split (600 single-hop questions, the top 5 passages) the best line holds the gold answer
for 69.3% of questions with labels alone and a passage weight of 0.5, 72.7% with this mix.

A question that wants a name (``kb.text.wants_a_figure`` says no: "which coins circulate in Chile?") scores a
line whose value is a figure ``figure_penalty`` lower: "Budget: revenues: $77 billion" is about money as much
as "Exchange rates: Currency: Chilean pesos" is, but cannot answer it (the expected answer type of question
classification, Li & Roth 2002, used to filter candidates as in Ravichandran and Hovy 2002).

A question can come with a hint of what it asks about: the label of the relation a knowledge graph reads it
as and the names of what it asks it of (``Hint("national anthem", ("Liberia",))``, from the graph's own
schema: ``GraphRetriever.reading``). The lines of the subject's passages are then ranked against the question
with the label after it, "What song is Liberia's anthem? (national anthem)": one text, so the question's own
words still count ("how many square kilometres" keeps "Area: total" above "Area: land") and the scores keep
their scale (comparing the label alone with each line's label put the hint's scores and the question's on two
scales, and blending them lost lines the question had found). It is query expansion, by what the graph reads
rather than by feedback: "What day did X become a sovereign state?" shares "state" with the Constitution line
and nothing with "Independence"; told "(independence date)", the selector picks the Independence line. Other
passages are ranked on the question alone: when the subject's own line of the field is not retrieved, the
hint must not put a neighbour's in its place. On the paraphrase probe of ``kqa eval --perturb``
(``eval/perturb``: unseen wordings of test questions) the best line held the gold answer for 55 of 79
paraphrases of a seeded sample without the hint and 67 with it (69 of their 79 unchanged questions, 67
without).

This file ranks text; it writes no answers (``readers/context_reader`` does).

>>> selector = LineSelector(HashingEncoder())  # doctest: +SKIP
>>> selector.select("What is the capital of Peru?", evidence, m=3)[0].text  # doctest: +SKIP
'Capital: name: Lima'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kqa.kb.text import wants_a_figure
from kqa.kb.types import Evidence
from kqa.models.embedder import CachedEncoder, Encoder

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
LABEL_WORDS = 8  # a "label: value" line's label is at most this many words; longer, it is prose
KEY_WORDS = 24  # what is embedded of a unit that has no label


@dataclass(frozen=True)
class Hint:
    """What a question asks about as another kind of knowledge reads it: ``label``, the relation's name in a
    graph's schema ("national anthem"), and ``about``, the names of what the question asks it of ("Liberia"):
    the hint weighs only on the passages titled with one of them (on every passage when ``about`` is empty).
    ``asks_value``: the answer is the relation's value ("What song is Liberia's anthem?"), not what has it
    ("Whose anthem is ...?"), a count, a comparison's winner or yes or no.
    A neighbour's passage is ranked on the question alone, so when the subject's own line of the field is not
    retrieved the hint does not put a neighbour's in its place (South Africa's currency read from Namibia's
    exchange rates)."""

    label: str
    about: tuple[str, ...] = ()
    asks_value: bool = False  # the question asks for the relation's value (not its subject, a count, yes or no)

    def applies(self, title: str | None) -> bool:
        return not self.about or (title or "").casefold() in {name.casefold() for name in self.about}


@dataclass(frozen=True)
class Line:
    """One unit of a retrieved passage, with where it came from and how well it matched."""

    passage_id: str  # the Evidence id, "passage:pe/government/0"
    title: str | None  # the passage's title, "Peru"
    text: str  # "Capital: name: Lima"
    score: float


def passage_units(evidence: Evidence) -> list[str]:
    """The lines of a passage's text (its title line left out), or its sentences when it is one line."""
    text = evidence.text
    if evidence.title and text.startswith(evidence.title + "\n"):
        text = text[len(evidence.title) + 1:]
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if len(lines) == 1:
        lines = [s.strip() for s in _SENTENCE.split(lines[0]) if s.strip()]
    return lines


def sub_field_key(title: str | None, unit: str) -> str | None:
    """For a line under a nested label ("Exchange rates: Currency: ..."), its innermost label alone after the
    title ("Jamaica: Currency"); None for a line with one label, or prose."""
    label, colon, _ = unit.rpartition(":")
    if not colon or not label or len(label.split()) > LABEL_WORDS or ":" not in label:
        return None
    inner = label.rpartition(":")[2].strip()
    return (f"{title}: {inner}" if title else inner) if inner else None


_FIGURE = re.compile(r"[-+~]?\s*[$€£¥]?\s*\d")  # "$77 billion", "45 25 N", "12 nm", "-3.5%"


def is_figure(unit: str) -> bool:
    """Whether a unit's value (after its label, for a ``label: value`` line) starts with a figure."""
    label, colon, value = unit.rpartition(":")
    if not (colon and label and len(label.split()) <= LABEL_WORDS):
        value = unit
    return _FIGURE.match(value.strip()) is not None


def unit_key(title: str | None, unit: str) -> str:
    """What is embedded for a unit: "title: label" for a label: value line, else "title: first words"."""
    label, colon, _ = unit.rpartition(":")
    if colon and label and len(label.split()) <= LABEL_WORDS:
        about = label
    else:
        about = " ".join(unit.split()[:KEY_WORDS])
    return f"{title}: {about}" if title else about


class LineSelector:
    """Ranks the units of retrieved passages against a question. Its vectors come from ``encoder`` through a
    ``CachedEncoder`` (the one given, or one of its own keeping up to ``cache_size`` vectors), so a warm selector
    embeds little, and one shared with the retriever embeds a question once."""

    def __init__(self, encoder: Encoder, *, passage_weight: float = 0.25, value_weight: float = 0.25,
                 figure_penalty: float = 0.15, cache_size: int = 200_000):
        self.encoder = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder, size=cache_size)
        self.passage_weight, self.value_weight, self.figure_penalty = passage_weight, value_weight, figure_penalty

    def _vectors(self, keys: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(keys)

    def select_many(
        self, questions: Sequence[str], passages: Sequence[Sequence[Evidence]], *, m: int = 3,
        hints: Sequence[Hint | None] | None = None,
    ) -> list[list[Line]]:
        """For each question, the ``m`` best units of its passages, best first (ties: passage rank, then
        position in the passage). ``hints[i]``, when given, names what question ``i`` asks about (``Hint``): the
        units of the passages it is about are ranked against the question with its label after it."""
        if len(questions) != len(passages):
            raise ValueError(f"{len(questions)} questions but {len(passages)} passage lists")
        hints = list(hints) if hints is not None else [None] * len(questions)
        if len(hints) != len(questions):
            raise ValueError(f"{len(questions)} questions but {len(hints)} hints")
        out: list[list[Line]] = []
        for question, evidence, hint in zip(questions, passages, hints):
            units = [(e, unit) for e in evidence for unit in passage_units(e)]
            if not units or m <= 0:
                out.append([])
                continue
            # a line is about its field and about its sub-field: "money" asks for "Exchange rates: Currency"
            # through "Currency" more than through "Exchange rates"
            inner = [(i, key) for i, (e, unit) in enumerate(units) if (key := sub_field_key(e.title, unit))]
            # the question's short texts in one call: what is not cached is embedded in one pass
            told = [f"{question} ({hint.label})"] if hint is not None else []
            keys = [unit_key(e.title, unit) for e, unit in units]
            vectors = self._vectors([question, *told, *keys, *(key for _, key in inner)])
            question_vector, told_vector = vectors[0], vectors[1] if told else None
            about_vectors, inner_vectors = np.split(vectors[1 + len(told):], [len(keys)])
            # what each unit is ranked against: the question, told its hint in the passages the hint is about
            asked = np.stack([told_vector if hint is not None and hint.applies(e.title) else question_vector
                              for e, _ in units])
            about = _rowwise(about_vectors, asked)
            if inner:
                rows = [i for i, _ in inner]
                about[rows] = np.maximum(about[rows], _rowwise(inner_vectors, asked[rows]))
            # retrieval scores on the retriever's own scale (cosine, BM25, RRF), as a share of the best
            prior = np.array([max(e.score or 0.0, 0.0) for e, _ in units], dtype=np.float32)
            prior = self.passage_weight * (prior / prior.max() if prior.max() > 0 else prior)
            if self.figure_penalty and not wants_a_figure(question):  # a name is asked: a figure cannot answer
                prior -= self.figure_penalty * np.array([is_figure(unit) for _, unit in units], np.float32)
            scores = self._scores(asked, units, (1 - self.value_weight) * about, prior, m)
            best = np.argsort(-scores, kind="stable")[:m]
            out.append([Line(units[i][0].id, units[i][0].title, units[i][1], float(scores[i])) for i in best])
        return out

    def _scores(self, asked: np.ndarray, units: Sequence[tuple[Evidence, str]], about: np.ndarray,
                prior: np.ndarray, m: int) -> np.ndarray:
        """Each unit's score, ``about + value_weight * cos(whole line, asked) + prior`` (``asked``: the question
        vector each unit is ranked against), for the units that can still be among the best ``m``; ``-inf`` for
        the rest. The whole lines are embedded best bound first (a cosine is at most 1) until the m-th best
        score beats every bound left, so the best ``m`` are exactly those of scoring every unit, and a cold
        question embeds a few of its 50-odd lines, not all of them (embedding them was most of a dense
        answer's time)."""
        scores = np.full(len(units), -np.inf, dtype=np.float32)
        # float32 cosines overshoot 1 by rounding; the margin keeps the bound above every score
        bound = about.astype(np.float64) + prior + self.value_weight * (1.0 + 1e-4)
        order = np.argsort(-bound, kind="stable")
        done, chunk = 0, max(m, 8)
        while done < len(order):
            todo = order[done:done + chunk]
            whole = self._vectors([f"{units[i][0].title}: {units[i][1]}" if units[i][0].title else units[i][1]
                                   for i in todo])
            scores[todo] = about[todo] + self.value_weight * _rowwise(whole, asked[todo]) + prior[todo]
            done += len(todo)
            if done >= m and done < len(order) and np.sort(scores)[-m] > bound[order[done]]:
                break
        return scores

    def select(self, question: str, passages: Sequence[Evidence], *, m: int = 3,
               hint: Hint | None = None) -> list[Line]:
        return self.select_many([question], [passages], m=m, hints=[hint])[0]


def _rowwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The dot product of each row of ``a`` with the same row of ``b``: cosines of unit vectors."""
    return np.einsum("ij,ij->i", a, b)
