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
