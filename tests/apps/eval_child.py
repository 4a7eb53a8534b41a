"""A scoring run in its own process, for the kill -9 test: a deterministic backend that takes its time."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kqa.eval.runner import run_eval
from kqa.kb.questions import load_questions
from kqa.readers.types import Answer


class SlowEchoBackend:
    """Answers the first gold answer for every third question, abstains on others, wrong on the rest."""

    name = "echo"

    def __init__(self, delay: float):
        self.delay = delay
        self.gold = {}

    def answer(self, question, choices=None):
        time.sleep(self.delay)
        n = sum(map(ord, question)) % 3
        text = {0: self.gold.get(question), 1: None, 2: "wrong"}[n]
        return Answer(question=question, text=text, backend=self.name, confidence=0.5, evidence=(),
                      latency_ms=self.delay * 1000, meta={} if text else {"reason": "scripted"})

    def answer_many(self, questions):
        return [self.answer(q.question, q.choices) for q in questions]


if __name__ == "__main__":
    questions_path, out_dir, delay = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    questions = load_questions(questions_path, split="test")[:120]
    backend = SlowEchoBackend(delay)
    backend.gold = {q.question: q.answers[0] for q in questions}
    run_eval({"echo": backend}, questions, out_dir, config={"questions": "test[:120]"}, batch_size=4, plots=False)
