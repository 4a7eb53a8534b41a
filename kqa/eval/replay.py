"""A backend that gives the answers a scoring run recorded, so that what is built on answers (confidence
thresholds, the router, the vote) can be scored again without running the models again.

``ReplayBackend("dense", records)`` answers each question with the answer ``dense`` gave it in the run
(answers.jsonl lines), below ``abstain_below`` as an abstention, as the reader itself would with that
threshold; a question the run did not ask is an abstention that says so. The answers' texts, confidences and
evidence ids are the recorded ones; latency is the recorded latency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kqa.kb.types import Evidence, Question
from kqa.readers.types import Answer, abstain


class ReplayBackend:
    def __init__(self, name: str, records: Iterable[Mapping[str, Any]], *, abstain_below: float = 0.0):
        self.name = name
        self.abstain_below = abstain_below
        self._by_id = {r["question_id"]: r for r in records if r["backend"] == name}
        self._by_text = {r["question"]: r for r in self._by_id.values()}

    def _answer(self, question: str, record: Mapping[str, Any] | None) -> Answer:
        if record is None:
            return abstain(question, self.name, "the replayed run did not ask this question")
        meta = dict(record.get("meta") or {})
        latency = float(record.get("latency_ms") or 0.0)
        text, confidence = record["prediction"], record["confidence"]
        if text is None:
            return abstain(question, self.name, meta.pop("reason", "abstained in the replayed run"),
                           latency_ms=latency, **meta)
        if confidence is not None and confidence < self.abstain_below:
            return abstain(question, self.name, f"confidence {confidence:.3f} is below {self.abstain_below}",
                           latency_ms=latency, candidate=text, candidate_confidence=confidence)
        evidence = tuple(Evidence(id=e, text="", source="replay") for e in record.get("evidence") or ())
        return Answer(question=question, text=text, backend=self.name, confidence=confidence, evidence=evidence,
                      latency_ms=latency, rationale=None, meta=meta)

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        return self._answer(question, self._by_text.get(question))

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        return [self._answer(q.question, self._by_id.get(q.id)) for q in questions]


__all__ = ["ReplayBackend"]
