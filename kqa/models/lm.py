"""The language model role, shaped like lm-evaluation-harness: ``generate`` many prompts at once, and the
``loglikelihood`` of continuations given a context.

Implementations: ``TransformersLM`` (weights in this process) and ``OpenAICompatibleLM`` (a server over HTTP).
Readers take any object with this shape, so a test passes a scripted fake in one line. This file holds only
the protocol, the ``Generation`` result and the helpers every implementation shares; no model code.

Example::

    lm = TransformersLM("gemma-3-270m", cache_dir=Path("~/.cache/kqa/models").expanduser())
    [g] = lm.generate(["Question: Capital of Peru?\\nAnswer:"], max_new_tokens=8, stop=["\\n"])
    g.text, g.probability   # (" Lima", 0.61)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Generation:
    """One completion of one prompt.

    ``token_logprobs`` are the model's own log-probabilities (before temperature) of the tokens that make up
    ``text``, the stop sequence excluded; ``None`` when the runtime cannot report them.
    """

    text: str
    token_logprobs: tuple[float, ...] | None
    finish_reason: str  # "stop" (a stop sequence or end of sequence) | "length" (max_new_tokens reached)

    @property
    def logprob_sum(self) -> float | None:
        return None if self.token_logprobs is None else float(sum(self.token_logprobs))

    @property
    def logprob_mean(self) -> float | None:
        if not self.token_logprobs:
            return None
        return float(sum(self.token_logprobs)) / len(self.token_logprobs)

    @property
    def probability(self) -> float | None:
        """The probability of the whole completion: exp(sum of token log-probabilities)."""
        total = self.logprob_sum
        return None if total is None else math.exp(total)


@runtime_checkable
class LanguageModel(Protocol):
    model_id: str  # what produced an answer, for Answer.meta and results files
    is_chat: bool  # an instruct model: prompts go through ``render_chat`` instead of plain few-shot text

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 32,
        stop: Sequence[str] = ("\n",),
        temperature: float = 0.0,
        seed: int | None = None,
        num_samples: int = 1,
    ) -> list[Generation]:
        """``len(prompts) * num_samples`` generations, prompt-major: the samples of prompt 0, then prompt 1...

        ``temperature == 0`` is greedy decoding; above it, sampling, reproducible for a given ``seed``.
        """
        ...

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]:
        """log P(continuation | context) for each continuation, summed over its tokens; all in one batch."""
        ...

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The prompt text for chat ``messages`` ({"role", "content"}), ending where the assistant speaks."""
        ...


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` cut before the earliest stop sequence, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)
