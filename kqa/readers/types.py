"""The Answer every backend returns and the Backend protocol everything that shows or scores answers uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kqa.kb.types import Evidence, Question


@dataclass(frozen=True)
class Answer:
    """One backend's answer to one question.

    ``text`` is ``None`` when the backend abstained (never ``""``); ``meta["reason"]`` then says why.
    """

    question: str
    text: str | None
    backend: str  # "graph" | "dense" | "closed_book" | "bm25" | ...
    confidence: float | None
    evidence: tuple[Evidence, ...]  # what the answer rests on, in order
    latency_ms: float
    rationale: str | None = None  # chain-of-thought, SPARQL text, or the prompt's reading
    meta: Mapping[str, Any] = field(default_factory=dict)  # model id, k, votes, sparql, error ...

    def __post_init__(self) -> None:
        if self.text is not None and not self.text.strip():
            raise ValueError("Answer.text must be None (abstain) or non-empty text, not an empty string")

    @property
    def abstained(self) -> bool:
        return self.text is None


def abstain(question: str, backend: str, reason: str, *, latency_ms: float = 0.0, **meta: Any) -> Answer:
    """An abstention that says why in ``meta["reason"]``."""
    return Answer(
        question=question,
        text=None,
        backend=backend,
        confidence=None,
        evidence=(),
        latency_ms=latency_ms,
        rationale=None,
        meta={"reason": reason, **meta},
    )


@runtime_checkable
class Backend(Protocol):
    """What the CLI, batch scoring and the app talk to. A new backend is one more object with these methods."""

    name: str

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer: ...

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]: ...
