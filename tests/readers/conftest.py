"""Fixtures for reader tests: a scripted language model and a keyword retriever (fast fakes), and the real
default model converted once per session into a temporary cache, so every run checks the real conversion."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence

import pytest

from kqa.kb.types import Evidence
from kqa.models.lm import Generation, truncate_at_stop

_WORD = re.compile(r"\s*\S+|\s+")


class ScriptedLM:
    """A LanguageModel whose completions come from ``script(prompt, sample)``.

    Tokens are words; a word's log-probability is ``word_logprobs.get(word, -0.1 * len(word))`` wherever it
    appears, so ``loglikelihood`` and ``generate`` agree, as a real model's do. Samples differ by index and
    seed only, so seeded sampling is reproducible.
    """

    def __init__(self, script: Callable[[str, int], str] | Mapping[str, str] = lambda p, i: " Lima\nQuestion:",
                 *, word_logprobs: Mapping[str, float] | None = None, is_chat: bool = False):
        self.script = (lambda p, i: _lookup(script, p)) if isinstance(script, Mapping) else script
        self.word_logprobs = dict(word_logprobs or {})
        self.is_chat = is_chat
        self.model_id = "scripted"
        self.prompts: list[list[str]] = []  # every generate call's prompts: tests check batching

    def _logprob(self, word: str) -> float:
        return self.word_logprobs.get(word.strip(), -0.1 * len(word.strip()) - 0.01)

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 32, stop: Sequence[str] = ("\n",),
                 temperature: float = 0.0, seed: int | None = None, num_samples: int = 1) -> list[Generation]:
        self.prompts.append(list(prompts))
        out = []
        for prompt in prompts:
            for j in range(num_samples):
                index = j if temperature > 0 else 0
                if temperature > 0 and seed is not None:
                    index += 1000 * seed
                raw = "".join(_WORD.findall(self.script(prompt, index))[:max_new_tokens])
                text, stopped = truncate_at_stop(raw, stop)
                words = _WORD.findall(text)
                full = len(_WORD.findall(self.script(prompt, index))) > max_new_tokens
                out.append(Generation(text=text, token_logprobs=tuple(self._logprob(w) for w in words),
                                      finish_reason="length" if full and not stopped else "stop"))
        return out

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]:
        return [sum(self._logprob(w) for w in _WORD.findall(c)) for c in continuations]

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str:
        return "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages) + "<assistant>"


def _lookup(script: Mapping[str, str], prompt: str) -> str:
    """The completion for the last question in ``prompt`` that the script knows."""
    last = prompt.rsplit("Question:", 1)[-1]
    for key, completion in script.items():
        if key in last:
            return completion
    return " unknown\n"


class KeywordRetriever:
    """Passages ranked by how many question words they share (a fake for the Retriever protocol)."""

    name = "keyword"

    def __init__(self, passages: Mapping[str, str]):
        self.passages = dict(passages)
        self.calls: list[list[str]] = []

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        return self.retrieve_many([question], k)[0]

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[Evidence]]:
        self.calls.append(list(questions))
        out = []
        for question in questions:
            words = set(re.findall(r"\w+", question.lower())) - {"the", "of", "is", "what", "a", "in"}
            scored = [(len(words & set(re.findall(r"\w+", text.lower()))), pid, text)
                      for pid, text in self.passages.items()]
            scored = sorted([s for s in scored if s[0] > 0], key=lambda s: (-s[0], s[1]))[:k]
            out.append([Evidence(id=f"passage:{pid}", text=text, source="corpus", score=float(score))
                        for score, pid, text in scored])
        return out


@pytest.fixture
def scripted_lm() -> ScriptedLM:
    return ScriptedLM(lambda prompt, i: " " + hashlib.md5(f"{prompt}{i}".encode()).hexdigest()[:6] + " it is\nmore")


# -- the real default model --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gemma_lm(model_cache):
    from kqa.models.transformers_lm import TransformersLM

    return TransformersLM("gemma-3-270m", cache_dir=model_cache)


@pytest.fixture(scope="session")
def smollm2_lm(model_cache):
    """The instruct preset, converted from its package's Q4_1 GGUF file into the session's model cache."""
    from kqa.models.transformers_lm import TransformersLM

    return TransformersLM("smollm2-135m", cache_dir=model_cache)


@pytest.fixture(scope="session")
def served_lm(gemma_lm):
    """``OpenAICompatibleLM`` talking HTTP to a completions server on 127.0.0.1 that runs the real model."""
    from kqa.models.openai_lm import OpenAICompatibleLM
    from tests.readers.openai_server import serve

    server, url = serve(gemma_lm)
    yield OpenAICompatibleLM(base_url=url, model="gemma-3-270m", timeout_s=60)
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def logprob_abs(base: float) -> float:
    """The log-probability tolerance of an oracle that computes the same tokens two ways (cached prefix or not,
    batched or not): ``base``, float32's rounding. In bfloat16 (the default where the CPU multiplies it natively)
    both ways run the same fixed passes (TransformersLM.chunk_tokens), so they agree exactly."""
    return base


class LeaningLM(ScriptedLM):
    """A model that leans towards "yes" whatever it reads (2 nats over "no", as gemma-3-270m leans), moved by
    one nat towards "yes" when the question's last line names one of ``true`` and towards "no" when it names one
    of ``false``. Records every loglikelihood context, so a test sees what calibration asked."""

    def __init__(self, true: Sequence[str] = (), false: Sequence[str] = ()):
        super().__init__()
        self.true, self.false = tuple(true), tuple(false)
        self.contexts: list[str] = []

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]:
        self.contexts.append(context)
        asked = context.rsplit("Question:", 1)[-1]
        towards = 1.0 if any(w in asked for w in self.true) else -1.0 if any(w in asked for w in self.false) else 0.0
        scores = []
        for c in continuations:
            word = c.strip().lower()
            scores.append(-1.0 + towards if word == "yes" else -3.0 - towards if word == "no" else -5.0)
        return scores
