"""The data every layer shares: Evidence, Passage and Question. Plain frozen dataclasses, no behaviour."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """One piece of what an answer rests on.

    ``id`` resolves in the pack: ``"passage:pe/government/3"`` or ``"triple:<s> <p> <o>"``.
    """

    id: str
    text: str  # what a person reads
    source: str  # "graph" | "corpus"
    score: float | None = None
    title: str | None = None  # a passage's title (its country), also the first line of ``text``


@dataclass(frozen=True)
class Passage:
    """One corpus passage: ``{"id", "title", "section", "text"}`` in corpus.jsonl."""

    id: str  # "pe/government/3"
    title: str  # "Peru"
    section: str  # "Government"
    text: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Question:
    """One question with its gold answers and what a scorer needs to break results down.

    Only ``id``, ``question`` and ``answers`` are required; question files from elsewhere
    (NQ-open, CommonsenseQA) leave the rest at their defaults.
    """

    id: str
    question: str
    answers: tuple[str, ...]  # gold answer first, then its aliases
    choices: tuple[str, ...] | None = None
    type: str = "open"  # single_hop | inverse | two_hop | comparison | count | boolean | list | multiple_choice
    relation: str | None = None
    hops: int = 1
    subject: str | None = None  # entity id of the question's subject, "pe"
    gold_triples: tuple[str, ...] = ()  # Evidence ids: "triple:<s> <p> <o>"
    gold_passages: tuple[str, ...] = ()  # Evidence ids: "passage:pe/government/3"
    popularity: int | None = None  # rank of the subject by population, 1 = most populous
    time_sensitive: bool = False
    split: str | None = None  # "dev" | "test"
    answer_list: tuple[str, ...] = field(default=())  # for list questions: every member of the gold set

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out
