"""``ClosedBookReader``: the ``closed_book`` backend, which answers from a language model's weights alone.

Modes:

- ``direct``: a few-shot prompt, greedy, one line; the confidence is the probability of the answer's tokens.
- ``cot``: chain-of-thought (Wei et al. 2022): a greedy rationale, the answer read from its end
  ("So the answer is X."); the confidence is the rationale's geometric-mean token probability.
- ``self_consistency`` (Wang et al. 2022): ``n_samples`` rationales sampled at ``temperature``, a majority
  vote over their normalised answers; the vote share is the confidence and the votes go in ``meta``.

A question with choices is answered in every mode by the log-likelihood of each choice after the direct
prompt, as lm-evaluation-harness scores multiple choice. Below ``abstain_below`` the reader abstains and says
why in ``meta["reason"]``. ``answer_many`` sends every question's prompt to the model in one ``generate``
call, which is where batching pays. No retrieval happens here: that is ``ContextReader``.

Example::

    reader = ClosedBookReader(lm, mode="self_consistency", n_samples=5)
    reader.answer("What is the chemical symbol for iron?").text   # "Fe"
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from kqa.kb.text import normalize_answer
from kqa.kb.types import Question
from kqa.readers._lm_answers import choice_answer, choose, greedy_answer
from kqa.readers.lm import Generation, LanguageModel
from kqa.readers.prompts import COT_STOP, DIRECT_STOP, cot_prompt, direct_prompt, extract_answer
from kqa.readers.types import Answer, abstain

MODES = ("direct", "cot", "self_consistency")


def majority_vote(answers: Sequence[str | None]) -> tuple[str | None, dict[str, int]]:
    """The most frequent answer after normalisation (``normalize_answer``), shown as first written, and the
    votes per answer. Ties go to the answer sampled first; ``None`` (no answer extracted) never wins."""
    shown: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for answer in answers:
        if answer is None or not normalize_answer(answer):
            continue
        key = normalize_answer(answer)
        shown.setdefault(key, answer)
        counts[key] += 1
    if not counts:
        return None, {}
    top = max(counts.values())
    winner = next(key for key in shown if counts[key] == top)  # dicts keep first-seen order
    return shown[winner], {shown[key]: n for key, n in counts.most_common()}


class ClosedBookReader:
    """Answers from the model alone; see the module docstring for the modes."""

    def __init__(
        self,
        lm: LanguageModel,
        *,
        mode: str = "direct",
        n_samples: int = 5,
        temperature: float = 0.7,
        abstain_below: float = 0.0,
        max_new_tokens: int = 16,
        cot_max_new_tokens: int = 96,
        seed: int = 0,
        name: str = "closed_book",
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "self_consistency" and (n_samples < 1 or temperature <= 0):
            raise ValueError("self-consistency needs n_samples >= 1 and temperature > 0")
        self.lm, self.mode, self.n_samples, self.temperature = lm, mode, n_samples, temperature
        self.abstain_below, self.max_new_tokens, self.cot_max_new_tokens = abstain_below, max_new_tokens, cot_max_new_tokens
        self.seed, self.name = seed, name

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        return self._answer([(question, tuple(choices) if choices else None)])[0]

    def answer_many(self, questions: Sequence[Question]) -> list[Answer]:
        return self._answer([(q.question, q.choices or None) for q in questions])

    # -- one batch ---------------------------------------------------------------------------------------------

    def _meta(self, prompt: str, **more: Any) -> dict[str, Any]:
        return {"model": self.lm.model_id, "mode": self.mode, "prompt": prompt, **more}

    def _answer(self, items: Sequence[tuple[str, tuple[str, ...] | None]]) -> list[Answer]:
        out: list[Answer | None] = [None] * len(items)
        open_ = [i for i, (_, choices) in enumerate(items) if not choices]
        for i, (question, choices) in enumerate(items):
            if choices:
                prompt = direct_prompt(self.lm, question)
                t = time.perf_counter()
                choice = choose(self.lm, prompt, choices)
                out[i] = choice_answer(question, choice, backend=self.name, abstain_below=self.abstain_below,
                                       latency_ms=(time.perf_counter() - t) * 1000, meta=self._meta(prompt))
        if open_:
            t = time.perf_counter()
            questions = [items[i][0] for i in open_]
            if self.mode == "direct":
                prompts = [direct_prompt(self.lm, q) for q in questions]
                generations = self.lm.generate(prompts, max_new_tokens=self.max_new_tokens, stop=DIRECT_STOP)
            else:
                prompts = [cot_prompt(self.lm, q) for q in questions]
                sampling = self.mode == "self_consistency"
                generations = self.lm.generate(
                    prompts, max_new_tokens=self.cot_max_new_tokens, stop=COT_STOP,
                    temperature=self.temperature if sampling else 0.0, seed=self.seed if sampling else None,
                    num_samples=self.n_samples if sampling else 1)
            # Batched: each question's latency is its share of the batch.
            latency_ms = (time.perf_counter() - t) * 1000 / len(open_)
            per = len(generations) // len(open_)
            for j, i in enumerate(open_):
                samples = generations[j * per:(j + 1) * per]
                out[i] = self._read(questions[j], prompts[j], samples, latency_ms, batch=len(open_))
        return out  # type: ignore[return-value]  # every slot is filled: by a choice or by a generation

    def _read(self, question: str, prompt: str, samples: list[Generation], latency_ms: float,
              batch: int) -> Answer:
        meta = self._meta(prompt, batch=batch)
        if self.mode == "direct":
            return greedy_answer(question, samples[0], backend=self.name, abstain_below=self.abstain_below,
                                 latency_ms=latency_ms, meta=meta)
        if self.mode == "cot":
            [generation] = samples
            text = extract_answer(generation.text)
            mean = generation.logprob_mean
            confidence = math.exp(mean) if mean is not None else None
            meta.update(finish_reason=generation.finish_reason)
            if text is None:
                return abstain(question, self.name, "the rationale ends in no answer", latency_ms=latency_ms,
                               rationale=generation.text, **meta)
            if confidence is not None and confidence < self.abstain_below:
                return abstain(question, self.name, f"confidence {confidence:.3f} is below {self.abstain_below}",
                               latency_ms=latency_ms, candidate=text, rationale=generation.text, **meta)
            return Answer(question=question, text=text, backend=self.name, confidence=confidence, evidence=(),
                          latency_ms=latency_ms, rationale=generation.text.strip(), meta=meta)
        answers = [extract_answer(g.text) for g in samples]
        winner, votes = majority_vote(answers)
        meta.update(votes=votes, samples=[g.text.strip() for g in samples], n_samples=len(samples),
                    temperature=self.temperature, seed=self.seed)
        if winner is None:
            return abstain(question, self.name, "no sampled rationale ended in an answer", latency_ms=latency_ms,
                           **meta)
        share = votes[winner] / len(samples)  # failed extractions count against the winner
        if share < self.abstain_below:
            return abstain(question, self.name, f"vote share {share:.2f} is below {self.abstain_below}",
                           latency_ms=latency_ms, candidate=winner, **meta)
        key = normalize_answer(winner)
        rationale = next(g.text.strip() for g, a in zip(samples, answers) if a and normalize_answer(a) == key)
        return Answer(question=question, text=winner, backend=self.name, confidence=share, evidence=(),
                      latency_ms=latency_ms, rationale=rationale, meta=meta)
