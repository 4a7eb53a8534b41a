"""The Retriever role: a question in, ranked Evidence out. Retrievers never write answer text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from kqa.kb.types import Evidence


@runtime_checkable
class Retriever(Protocol):
    name: str  # "dense" | "bm25" | "hybrid" | "graph"

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        """The top-k evidence for one question, best first, each with its score."""
        ...

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[Evidence]]:
        """``retrieve`` for many questions, batched where it pays."""
        ...
