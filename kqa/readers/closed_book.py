"""``ClosedBookReader``: the ``closed_book`` backend, which answers from a language model's weights alone.

Modes:

- ``direct``: a few-shot prompt, greedy, one line; the confidence is the probability of the answer's tokens.
- ``cot``: chain-of-thought (Wei et al. 2022): a greedy rationale, the answer read from its end
  ("So the answer is X."), or, when the rationale has no such phrase, from a second greedy step that appends
  it (Kojima et al. 2022); the confidence is the rationale's geometric-mean token probability.
- ``self_consistency`` (Wang et al. 2022): ``n_samples`` rationales sampled at ``temperature``, a majority
  vote over their normalised answers; the vote share is the confidence and the samples and votes go in the
  answer's ``trace`` (a ``ClosedBookTrace``, which also names the mode and the model).

A question with choices is answered in every mode by the log-likelihood of each choice after the direct
prompt, as lm-evaluation-harness scores multiple choice; so is a question answered yes or no
(``prompts.yes_no_question``), whose two choices are calibrated against a content-free prompt. Below
``abstain_below`` the reader abstains and says why in ``meta["reason"]``. ``answer_many`` sends every
question's prompt to the model in one ``generate`` call, which is where batching pays. No retrieval happens
here: that is ``ContextReader``.

Example::

    reader = ClosedBookReader(lm, mode="self_consistency", n_samples=5)
    reader.answer("What is the chemical symbol for iron?").text   # "Fe"
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kqa.kb.text import clean_question, normalize_answer
from kqa.readers._lm_answers import LMReader, choice_answer, choose, greedy_answer
from kqa.models.lm import Generation, LanguageModel
from kqa.readers.prompts import (ANSWER_TRIGGER, COT_STOP, DIRECT_STOP, YES_NO, content_free_question, cot_prompt,
                                 direct_prompt, extract_answer, yes_no_question)
from kqa.readers.types import Answer, ClosedBookTrace, abstain

MODES = ("direct", "cot", "self_consistency")


@dataclass(frozen=True)
class Rationale:
    """One chain of thought and the answer read from its end (``None`` when it gives none)."""

    text: str
    answer: str | None
    logprob_mean: float | None  # over the rationale's tokens: exp() of it is the cot confidence
    finish_reason: str


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


class ClosedBookReader(LMReader):
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
        rewrite: Callable[[str], str] | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "self_consistency" and (n_samples < 1 or temperature <= 0):
            raise ValueError("self-consistency needs n_samples >= 1 and temperature > 0")
        self.lm, self.mode, self.n_samples, self.temperature = lm, mode, n_samples, temperature
        self.abstain_below, self.max_new_tokens, self.cot_max_new_tokens = abstain_below, max_new_tokens, cot_max_new_tokens
        self.seed, self.name, self.rewrite = seed, name, rewrite
        self._calibration: dict[tuple[str, ...], list[float]] = {}  # content-free yes/no scores

    # -- one batch ---------------------------------------------------------------------------------------------

    def _meta(self, prompt: str, **more: Any) -> dict[str, Any]:
        return {"model": self.lm.model_id, "mode": self.mode, "prompt": prompt, **more}

    def _trace(self, **more: Any) -> ClosedBookTrace:
        return ClosedBookTrace(mode=self.mode, model=self.lm.model_id, **more)

    def _answer(self, items: Sequence[tuple[str, tuple[str, ...] | None]]) -> list[Answer]:
        out: list[Answer | None] = [None] * len(items)
        # a question answered yes or no is scored as those two choices, calibrated (``_lm_answers.choose``)
        items = [(q, choices or (YES_NO if yes_no_question(q) else None)) for q, choices in items]
        open_ = [i for i, (_, choices) in enumerate(items) if not choices]
        for i, (question, choices) in enumerate(items):
            if choices:
                prompt = direct_prompt(self.lm, clean_question(question))
                t = time.perf_counter()
                content_free = direct_prompt(self.lm, content_free_question(clean_question(question)))
                choice = choose(self.lm, prompt, choices, content_free=content_free, cache=self._calibration)
                out[i] = choice_answer(question, choice, backend=self.name, abstain_below=self.abstain_below,
                                       latency_ms=(time.perf_counter() - t) * 1000, meta=self._meta(prompt),
                                       trace=self._trace())
        if open_:
            t = time.perf_counter()
            questions = [items[i][0] for i in open_]
            # Prompts get the question as a person meant it (no escape codes or zero-width marks); answers
            # keep the question as it was asked.
            cleaned = [clean_question(q) for q in questions]
            if self.mode == "direct":
                prompts = [direct_prompt(self.lm, q) for q in cleaned]
                samples = self.lm.generate(prompts, max_new_tokens=self.max_new_tokens, stop=DIRECT_STOP)
            else:
                prompts = [cot_prompt(self.lm, q) for q in cleaned]
                sampling = self.mode == "self_consistency"
                per = self.n_samples if sampling else 1
                generations = self.lm.generate(
                    prompts, max_new_tokens=self.cot_max_new_tokens, stop=COT_STOP,
                    temperature=self.temperature if sampling else 0.0, seed=self.seed if sampling else None,
                    num_samples=per)
                samples = self._finish([p for p in prompts for _ in range(per)], generations)
            # Batched: each question's latency is its share of the batch.
            latency_ms = (time.perf_counter() - t) * 1000 / len(open_)
            per = len(samples) // len(open_)
            for j, i in enumerate(open_):
                out[i] = self._read(questions[j], prompts[j], samples[j * per:(j + 1) * per], latency_ms,
                                    batch=len(open_))
        return out  # type: ignore[return-value]  # every slot is filled: by a choice or by a generation

    def _finish(self, prompts: Sequence[str], generations: Sequence[Generation]) -> list[Rationale]:
        """Read each rationale's answer from its end. A small model often states the answer without the
        exemplars' closing phrase; those rationales get a second, greedy step that appends "So the answer is"
        and reads one line (the two-stage extraction of Kojima et al. 2022), batched over all of them."""
        out = [Rationale(g.text.strip(), extract_answer(g.text), g.logprob_mean, g.finish_reason) for g in generations]
        missing = [i for i, r in enumerate(out) if r.answer is None and r.text]
        if missing:
            follow = [f"{prompts[i]}{generations[i].text.rstrip()} {ANSWER_TRIGGER}" for i in missing]
            extra = self.lm.generate(follow, max_new_tokens=self.max_new_tokens, stop=DIRECT_STOP)
            for i, g in zip(missing, extra):
                lps = (generations[i].token_logprobs or ()) + (g.token_logprobs or ())
                mean = sum(lps) / len(lps) if lps and generations[i].token_logprobs is not None else None
                text = f"{out[i].text} {ANSWER_TRIGGER}{g.text.rstrip()}"
                out[i] = Rationale(text, extract_answer(text), mean, g.finish_reason)
        return out

    def _read(self, question: str, prompt: str, samples: Sequence[Generation] | Sequence[Rationale],
              latency_ms: float, batch: int) -> Answer:
        meta = self._meta(prompt, batch=batch)
        if self.mode == "direct":
            return greedy_answer(question, samples[0], backend=self.name, abstain_below=self.abstain_below,
                                 latency_ms=latency_ms, meta=meta, trace=self._trace())
        rationales: Sequence[Rationale] = samples  # type: ignore[assignment]
        if self.mode == "cot":
            [r] = rationales
            confidence = math.exp(r.logprob_mean) if r.logprob_mean is not None else None
            meta.update(finish_reason=r.finish_reason)
            trace = self._trace(rationale=r.text)
            if r.answer is None:
                return abstain(question, self.name, "the rationale ends in no answer", latency_ms=latency_ms,
                               rationale=r.text, trace=trace, **meta)
            if confidence is not None and confidence < self.abstain_below:
                return abstain(question, self.name, f"confidence {confidence:.3f} is below {self.abstain_below}",
                               latency_ms=latency_ms, candidate=r.answer, rationale=r.text, trace=trace, **meta)
            return Answer(question=question, text=r.answer, backend=self.name, confidence=confidence, evidence=(),
                          latency_ms=latency_ms, rationale=r.text, meta=meta, trace=trace)
        answers = [r.answer for r in rationales]
        winner, votes = majority_vote(answers)
        meta.update(votes=votes, samples=[r.text for r in rationales], n_samples=len(rationales),
                    temperature=self.temperature, seed=self.seed)
        trace = self._trace(samples=tuple(r.text for r in rationales), votes=dict(votes),
                            temperature=self.temperature)
        if winner is None:
            return abstain(question, self.name, "no sampled rationale ended in an answer", latency_ms=latency_ms,
                           trace=trace, **meta)
        share = votes[winner] / len(rationales)  # failed extractions count against the winner
        if share < self.abstain_below:
            return abstain(question, self.name, f"vote share {share:.2f} is below {self.abstain_below}",
                           latency_ms=latency_ms, candidate=winner, trace=trace, **meta)
        key = normalize_answer(winner)
        rationale = next(r.text for r in rationales if r.answer and normalize_answer(r.answer) == key)
        return Answer(question=question, text=winner, backend=self.name, confidence=share, evidence=(),
                      latency_ms=latency_ms, rationale=rationale, meta=meta,
                      trace=replace(trace, rationale=rationale))
