"""A time limit for any Backend: an answer that takes too long becomes an error, and the caller goes on.

``TimeLimitedBackend(backend, timeout_s)`` has the Backend methods; each call runs in a daemon thread and
raises ``BackendTimeoutError`` when it has not returned within ``timeout_s`` seconds (``answer_many``: that many
seconds per question). Batch scoring records the error for that question and moves on; the app shows it in the
backend's column. Python cannot stop a thread that is inside a C library (a model's forward pass), so the late
call finishes in the background and its answer is dropped: the limit bounds how long a person waits, not the
CPU the backend spends.

>>> slow = TimeLimitedBackend(backend, timeout_s=60)  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kqa.kb.errors import KqaError
from kqa.kb.types import Question
from kqa.readers.types import Answer, Backend

T = TypeVar("T")


class BackendTimeoutError(KqaError):
    """A backend that did not answer within its time limit."""


def call_with_time_limit(fn: Callable[[], T], timeout_s: float, what: str) -> T:
    """``fn()``'s value, or BackendTimeoutError after ``timeout_s`` seconds; its exception passes through."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = err

    worker = threading.Thread(target=work, name=f"kqa-limit-{what}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise BackendTimeoutError(f"{what} gave no answer within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class TimeLimitedBackend:
    """``backend`` with a time limit on every call; see the module docstring."""

    def __init__(self, backend: Backend, timeout_s: float):
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s}")
        self.backend = backend
        self.timeout_s = timeout_s
        self.name = backend.name

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        return call_with_time_limit(lambda: self.backend.answer(question, choices), self.timeout_s, self.name)

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        limit = self.timeout_s * max(1, len(questions))
        return call_with_time_limit(lambda: self.backend.answer_many(questions), limit, self.name)


__all__ = ["TimeLimitedBackend", "BackendTimeoutError", "call_with_time_limit"]
