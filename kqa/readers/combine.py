"""Backends made of backends: a router that picks per question, and a majority vote.

- ``RouterReader``: the graph when it links, finds a fact and is confident, else the corpus reader when it
  is confident, else the closed-book model when it is, else it abstains. Structured knowledge first because
  when it answers it is rarely wrong; the order is a list, so any backends can be routed. "Confident" is the
  backend's own confidence at or above its threshold, picked on dev questions (``kqa.eval.calibrate``);
  without thresholds every answer counts and the last backend always answers. A threshold may be the
  backend's for one relation (key ``"dense@capital"``): the relation is the one the first backend's answer
  read the question as (the graph's ``meta["relation"]``), and the backend's own threshold serves the rest.
- ``RewritingReader``: another backend, asked the question as a rewriter puts it (names as the graph writes
  them, a lead-in clause dropped: ``retrievers.question_rewrite``).
- ``ThresholdReader``: another backend that abstains below a confidence threshold (for backends without
  their own, such as the graph).
- ``NamingReader``: another backend whose answers are put as the knowledge names them ("reals" -> "Brazilian
  real": ``retrievers.question_rewrite.QuestionRewriter.name_answer``), each name of a list on its own.
- ``VoteReader``: each backend's answer votes with its confidence (an answer below its backend's threshold
  does not vote); the answer with the most weight wins, ties go to the earlier backend in the list, and the
  confidence is that weight over the number of backends.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from kqa.kb.text import answer_key
from kqa.kb.types import Question
from kqa.readers.types import Answer, Backend, CombineTrace, abstain


def _answers_for(backends: Sequence[Backend], questions: Sequence[Question]) -> list[list[Answer]]:
    """answers[i][j]: backend i on question j, each backend batched over all questions."""
    return [backend.answer_many(questions) for backend in backends]


class RouterReader:
    """Answer with the first backend in ``order`` that does not abstain."""

    def __init__(self, order: Sequence[Backend], *, name: str = "router",
                 thresholds: Mapping[str, float] | None = None):
        if not order:
            raise ValueError("a router needs at least one backend")
        self.order = list(order)
        self.name = name
        self.thresholds = dict(thresholds or {})  # backend -> confidence below which its answer is not taken

    def _route(self, question: str, answers: Sequence[Answer], elapsed_ms: float) -> Answer:
        tried = []
        relation = read_relation(answers)
        for answer in answers:
            tried.append(answer.backend)
            if confident(answer, self.thresholds, relation):
                return Answer(question=question, text=answer.text, backend=self.name, confidence=answer.confidence,
                              evidence=answer.evidence, latency_ms=elapsed_ms, rationale=answer.rationale,
                              meta={**answer.meta, "routed_to": answer.backend, "tried": tried},
                              trace=CombineTrace("router", tried=tuple(tried), routed_to=answer.backend,
                                                 chosen=answer.trace))
        unsure = [a for a in answers if a.text is not None]
        reason = "no backend was confident enough" if unsure else "every backend abstained"
        return abstain(question, self.name, reason, latency_ms=elapsed_ms, tried=tried,
                       trace=CombineTrace("router", tried=tuple(tried)),
                       **({"candidate": unsure[0].text, "candidate_from": unsure[0].backend} if unsure else {}))

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        start = time.perf_counter()
        answers = []
        for backend in self.order:  # lazily: later backends run only when needed
            answer = backend.answer(question, choices)
            answers.append(answer)
            if confident(answer, self.thresholds, read_relation(answers)):
                break
        return self._route(question, answers, (time.perf_counter() - start) * 1000)

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        start = time.perf_counter()
        chosen: list[list[Answer]] = [[] for _ in questions]
        pending = list(range(len(questions)))
        for backend in self.order:
            if not pending:
                break
            answers = backend.answer_many([questions[j] for j in pending])
            still = []
            for j, answer in zip(pending, answers):
                chosen[j].append(answer)
                if not confident(answer, self.thresholds, read_relation(chosen[j])):
                    still.append(j)
            pending = still
        per_question_ms = (time.perf_counter() - start) * 1000 / max(1, len(questions))
        return [self._route(q.question, chosen[j], per_question_ms) for j, q in enumerate(questions)]


RELATION_KEY = "{backend}@{relation}"  # a threshold for one backend on questions about one relation


def confident(answer: Answer, thresholds: Mapping[str, float], relation: str | None = None) -> bool:
    """An answer that is given and whose confidence reaches its backend's threshold for ``relation`` if there
    is one, else its backend's (an answer without a confidence, or from a backend without a threshold,
    counts)."""
    if answer.text is None:
        return False
    threshold = thresholds.get(RELATION_KEY.format(backend=answer.backend, relation=relation)) \
        if relation is not None else None
    if threshold is None:
        threshold = thresholds.get(answer.backend)
    return threshold is None or answer.confidence is None or answer.confidence >= threshold


def read_relation(answers: Sequence[Answer]) -> str | None:
    """The relation the question is about, as the first answer that names one read it (the graph's
    ``meta["relation"]``, written whether it answered or not); None when no answer names one."""
    for answer in answers:
        relation = answer.meta.get("relation")
        if isinstance(relation, str) and relation:
            return relation
    return None


class VoteReader:
    """Vote over ``backends``' answers, each weighted by its confidence (abstentions and answers below their
    backend's threshold do not vote)."""

    def __init__(self, backends: Sequence[Backend], *, name: str = "vote",
                 thresholds: Mapping[str, float] | None = None):
        if not backends:
            raise ValueError("a vote needs at least one backend")
        self.backends = list(backends)
        self.name = name
        self.thresholds = dict(thresholds or {})

    def _vote(self, question: str, answers: Sequence[Answer], elapsed_ms: float) -> Answer:
        relation = read_relation(answers)
        ballots = [(answer_key(a.text), a) for a in answers if confident(a, self.thresholds, relation)]
        votes = {a.backend: a.text for a in answers}
        if not ballots:
            reason = "no backend was confident enough" if any(a.text for a in answers) else "every backend abstained"
            return abstain(question, self.name, reason, latency_ms=elapsed_ms, votes=votes,
                           trace=CombineTrace("vote", votes=votes))
        weight: dict[str, float] = defaultdict(float)
        counts = Counter(key for key, _ in ballots)
        for key, a in ballots:
            weight[key] += a.confidence if a.confidence is not None else 0.5
        top = max(weight.values())
        winner_key = next(key for key, _ in ballots if weight[key] == top)  # ties: earliest backend
        winner = next(a for key, a in ballots if key == winner_key)
        return Answer(question=question, text=winner.text, backend=self.name,
                      confidence=round(top / len(self.backends), 4), evidence=winner.evidence,
                      latency_ms=elapsed_ms, rationale=winner.rationale,
                      meta={"votes": votes, "agreeing": counts[winner_key], "winner_from": winner.backend},
                      trace=CombineTrace("vote", votes=votes, winner=winner.backend, agreeing=counts[winner_key],
                                         chosen=winner.trace))

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


class RewritingReader:
    """``backend``, asked ``rewrite(question)``; the answer keeps the question as it was asked."""

    def __init__(self, backend: Backend, rewrite: Callable[[str], str]):
        self.backend, self.rewrite, self.name = backend, rewrite, backend.name

    def __getattr__(self, attr: str):  # what the wrapped backend shows (the graph's ``kg``, ``retriever``)
        if attr == "backend":  # not set yet (a copy being made): no recursion
            raise AttributeError(attr)
        return getattr(self.backend, attr)

    def _restore(self, answer: Answer, question: str) -> Answer:
        if answer.question == question:
            return answer
        trace = replace(answer.trace, asked_as=answer.question) if answer.trace is not None else None
        return replace(answer, question=question, meta={**answer.meta, "asked_as": answer.question}, trace=trace)

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        return self._restore(self.backend.answer(self.rewrite(question), choices), question)

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        asked = [replace(q, question=self.rewrite(q.question)) for q in questions]
        return [self._restore(a, q.question) for a, q in zip(self.backend.answer_many(asked), questions)]


class ThresholdReader:
    """``backend``, abstaining (with the answer kept as ``candidate``) when its confidence is below
    ``threshold``."""

    def __init__(self, backend: Backend, threshold: float):
        self.backend, self.threshold, self.name = backend, threshold, backend.name

    def __getattr__(self, attr: str):  # what the wrapped backend shows (the graph's ``kg``, ``retriever``)
        if attr == "backend":  # not set yet (a copy being made): no recursion
            raise AttributeError(attr)
        return getattr(self.backend, attr)

    def _keep(self, answer: Answer) -> Answer:
        if answer.text is None or confident(answer, {self.name: self.threshold}):
            return answer
        return abstain(answer.question, self.name, f"confidence {answer.confidence:.3f} is below {self.threshold}",
                       latency_ms=answer.latency_ms, candidate=answer.text, candidate_confidence=answer.confidence)

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        return self._keep(self.backend.answer(question, choices))

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        return [self._keep(a) for a in self.backend.answer_many(questions)]


class NamingReader:
    """``backend``, its answers given as ``name(question, answer)`` puts them; the answer as the model wrote it
    is kept in ``meta["named_from"]``."""

    def __init__(self, backend: Backend, name: Callable[[str, str], str]):
        self.backend, self.name_answer, self.name = backend, name, backend.name

    def __getattr__(self, attr: str):  # what the wrapped backend shows (``retriever``, ``lm``)
        if attr == "backend":  # not set yet (a copy being made): no recursion
            raise AttributeError(attr)
        return getattr(self.backend, attr)

    def _named(self, answer: Answer) -> Answer:
        if answer.text is None:
            return answer
        named = self.name_answer(answer.question, answer.text)
        if named == answer.text and ", " in answer.text:  # a list: each of its names ("Jewish, Muslim")
            named = ", ".join(dict.fromkeys(self.name_answer(answer.question, item)
                                            for item in answer.text.split(", ")))
        if named == answer.text:
            return answer
        return replace(answer, text=named, meta={**answer.meta, "named_from": answer.text})

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        answer = self.backend.answer(question, choices)
        return answer if choices else self._named(answer)

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        return [a if q.choices else self._named(a) for a, q in zip(self.backend.answer_many(questions), questions)]
