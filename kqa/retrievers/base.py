"""The Retriever role: a question in, ranked Evidence out. Retrievers never write answer text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from kqa.kb.types import Evidence, Passage


def passage_evidence(passage: Passage, score: float) -> Evidence:
    """A retrieved passage as Evidence. The title leads the text: most Factbook passages never name their
    country, and neither a reader model nor a person can tell whose capital "Lima" is without it."""
    text = f"{passage.title}\n{passage.text}" if passage.title else passage.text
    return Evidence(id="passage:" + passage.id, text=text, source="corpus", score=float(score),
                    title=passage.title or None)


@runtime_checkable
class Retriever(Protocol):
    name: str  # "dense" | "bm25" | "hybrid" | "graph"

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        """The top-k evidence for one question, best first, each with its score."""
        ...

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[Evidence]]:
        """``retrieve`` for many questions, batched where it pays."""
        ...
