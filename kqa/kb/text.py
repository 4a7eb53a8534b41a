"""Answer text normalisation (SQuAD style), shared by scoring and by the backends that compare answers."""

from __future__ import annotations

import re
import string
import unicodedata

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | {"’", "‘", "“", "”", "–", "—"}


def normalize_answer(text: str) -> str:
    """Case, accents, punctuation, articles and spaces folded: 'The Côte d’Ivoire!' -> 'cote d ivoire'."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    text = "".join(" " if c in _PUNCT else c for c in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


_OTHER_NAMES = re.compile(r"\s*\([^()]*\)\s*$")


def answer_key(text: str) -> str:
    """What two answers must share to be the same answer: ``normalize_answer`` of the text without a trailing
    bracket, where a graph writes a value's other names ("federal presidential republic (federal republic,
    presidential system)" is the same answer as "federal presidential republic"; ``kb.graph.format_value``)."""
    return normalize_answer(_OTHER_NAMES.sub("", text) or text)


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # terminal escape codes: colours, cursor moves


def clean_question(text: str) -> str:
    """A question as a person meant it: terminal escape codes, zero-width and direction marks (Unicode format
    characters), lone surrogates and control characters gone, runs of space folded. Words joined by a
    zero-width space join again: 'Pe\u200bru' -> 'Peru'; 'of\x00Peru' -> 'of Peru'."""
    text = _ANSI.sub(" ", text)
    out = []
    for c in text:
        category = unicodedata.category(c)
        if category in ("Cf", "Cs"):
            continue
        out.append(" " if category == "Cc" else c)
    return " ".join("".join(out).split())


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize_name(name: str) -> str:
    """The key names are matched on: accents, case, a leading 'the', punctuation and spaces folded."""
    name = strip_accents(name).lower().replace("’", "'")
    name = re.sub(r"^the\s+", "", name)
    return re.sub(r"[^a-z0-9']+", " ", name).strip()


# Expected answer type, coarsely (as question classification in Li & Roth 2002): a question that asks how
# much, how many, when or for a measure wants a figure; any other wants a name.
_WANTS_FIGURE = re.compile(r"^(?:how|when)\b|\b(?:what|which) day\b|\b(?:many|much|number|elevation|height|length|"
                           r"area|size|population|age|rate|percent|gdp|product|date|year|expectancy|offset)\b",
                           re.IGNORECASE)


def wants_a_figure(question: str) -> bool:
    """Whether ``question`` asks for a number, a measure or a date rather than a name ("Where ..." and
    "Who ..." always want a name)."""
    question = question.strip()
    if re.match(r"(?:where|who|whom|whose)\b", question, re.IGNORECASE):
        return False
    return _WANTS_FIGURE.search(question) is not None
