"""Backends made of backends: a router that picks per question, and a majority vote.

- ``RouterReader``: the graph when it links and finds a fact, else the corpus reader when it answers,
  else the closed-book model. Structured knowledge first because when it answers it is rarely wrong; the
  order is a list, so any backends can be routed.
- ``VoteReader``: majority over the backends' normalised answers; the vote share is the confidence, ties go
  to the earlier backend in the list.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

from kqa.kb.text import normalize_answer
from kqa.kb.types import Question
from kqa.readers.types import Answer, Backend, abstain


def _answers_for(backends: Sequence[Backend], questions: Sequence[Question]) -> list[list[Answer]]:
    """answers[i][j]: backend i on question j, each backend batched over all questions."""
    return [backend.answer_many(questions) for backend in backends]


class RouterReader:
    """Answer with the first backend in ``order`` that does not abstain."""

    def __init__(self, order: Sequence[Backend], *, name: str = "router", min_confidence: float | None = None):
        if not order:
            raise ValueError("a router needs at least one backend")
        self.order = list(order)
        self.name = name
        self.min_confidence = min_confidence  # below it, an answer counts as an abstention (not for the last)

    def _accepts(self, answer: Answer, last: bool) -> bool:
        if answer.text is None:
            return False
        if last or self.min_confidence is None or answer.confidence is None:
            return True
        return answer.confidence >= self.min_confidence

    def _route(self, question: str, answers: Sequence[Answer], elapsed_ms: float) -> Answer:
        tried = []
        for i, answer in enumerate(answers):
            tried.append(answer.backend)
            if self._accepts(answer, i == len(answers) - 1):
                return Answer(question=question, text=answer.text, backend=self.name, confidence=answer.confidence,
                              evidence=answer.evidence, latency_ms=elapsed_ms, rationale=answer.rationale,
                              meta={**answer.meta, "routed_to": answer.backend, "tried": tried})
        return abstain(question, self.name, "every backend abstained", latency_ms=elapsed_ms, tried=tried)

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        start = time.perf_counter()
        answers = []
        for i, backend in enumerate(self.order):  # lazily: later backends run only when needed
            answer = backend.answer(question, choices)
            answers.append(answer)
            if self._accepts(answer, i == len(self.order) - 1):
                break
        return self._route(question, answers, (time.perf_counter() - start) * 1000)

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        start = time.perf_counter()
        chosen: list[list[Answer]] = [[] for _ in questions]
        pending = list(range(len(questions)))
        for i, backend in enumerate(self.order):
            if not pending:
                break
            answers = backend.answer_many([questions[j] for j in pending])
            still = []
            for j, answer in zip(pending, answers):
                chosen[j].append(answer)
                if not self._accepts(answer, i == len(self.order) - 1):
                    still.append(j)
            pending = still
        per_question_ms = (time.perf_counter() - start) * 1000 / max(1, len(questions))
        return [self._route(q.question, chosen[j], per_question_ms) for j, q in enumerate(questions)]


class VoteReader:
    """Majority vote over ``backends``' answers (abstentions do not vote)."""

    def __init__(self, backends: Sequence[Backend], *, name: str = "vote"):
        if not backends:
            raise ValueError("a vote needs at least one backend")
        self.backends = list(backends)
        self.name = name

    def _vote(self, question: str, answers: Sequence[Answer], elapsed_ms: float) -> Answer:
        ballots = [(normalize_answer(a.text), a) for a in answers if a.text is not None]
        if not ballots:
            return abstain(question, self.name, "every backend abstained", latency_ms=elapsed_ms)
        counts = Counter(key for key, _ in ballots)
        top = max(counts.values())
        winner_key = next(key for key, _ in ballots if counts[key] == top)  # ties: earliest backend
        winner = next(a for key, a in ballots if key == winner_key)
        votes = {a.backend: a.text for a in answers}
        return Answer(question=question, text=winner.text, backend=self.name, confidence=top / len(self.backends),
                      evidence=winner.evidence, latency_ms=elapsed_ms, rationale=winner.rationale,
                      meta={"votes": votes, "agreeing": top, "winner_from": winner.backend})

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        start = time.perf_counter()
        answers = [b.answer(question, choices) for b in self.backends]
        return self._vote(question, answers, (time.perf_counter() - start) * 1000)

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        start = time.perf_counter()
        per_backend = _answers_for(self.backends, questions)
        per_question_ms = (time.perf_counter() - start) * 1000 / max(1, len(questions))
        return [self._vote(q.question, [answers[j] for answers in per_backend], per_question_ms)
                for j, q in enumerate(questions)]
