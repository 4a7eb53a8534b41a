"""The contract every LanguageModel must pass, run over each implementation: the scripted fake, the real
default model in-process (TransformersLM), the instruct preset smollm2-135m in-process, and the default model
behind a completions server on 127.0.0.1 (OpenAICompatibleLM); llama-cpp-python's server too where it is
installed."""

from __future__ import annotations

import math

import pytest

from kqa.models.lm import Generation, LanguageModel
from tests.readers.conftest import logprob_abs

PROMPTS = [
    "Question: What is the chemical symbol for gold?\nAnswer: Au\n\nQuestion: Who wrote Hamlet?\nAnswer:",
    "The three primary colours are red, yellow and",
    "1, 2, 3, 4,",
]

IMPLEMENTATIONS = [
    "scripted_lm",
    pytest.param("gemma_lm", marks=pytest.mark.real_model),
    pytest.param("smollm2_lm", marks=pytest.mark.real_model),
    pytest.param("served_lm", marks=pytest.mark.real_model),
]


@pytest.fixture(params=IMPLEMENTATIONS)
def lm(request) -> LanguageModel:
    return request.getfixturevalue(request.param)


def test_is_a_language_model(lm):
    assert isinstance(lm, LanguageModel)
    assert lm.model_id and isinstance(lm.is_chat, bool)


def test_generate_returns_one_generation_per_prompt_cut_at_stop(lm):
    generations = lm.generate(PROMPTS, max_new_tokens=8, stop=["\n"])
    assert len(generations) == len(PROMPTS)
    for g in generations:
        assert isinstance(g, Generation) and "\n" not in g.text
        assert g.finish_reason in ("stop", "length")
        assert g.token_logprobs is not None and all(lp <= 1e-6 for lp in g.token_logprobs)
        assert 0.0 <= g.probability <= 1.0
    assert any(g.text.strip() for g in generations)


def test_batched_greedy_equals_one_at_a_time(lm):
    """Oracle: left-padded batches must not change what a prompt generates."""
    batched = lm.generate(PROMPTS, max_new_tokens=6, stop=["\n"])
    single = [lm.generate([p], max_new_tokens=6, stop=["\n"])[0] for p in PROMPTS]
    assert [g.text for g in batched] == [g.text for g in single]
    for b, s in zip(batched, single):
        assert b.logprob_sum == pytest.approx(s.logprob_sum, abs=logprob_abs(2e-3))


def test_max_new_tokens_bounds_the_output(lm):
    [g] = lm.generate([PROMPTS[2]], max_new_tokens=3, stop=[])
    assert g.finish_reason == "length"
    assert 1 <= len(g.token_logprobs) <= 3


def test_sampling_is_reproducible_with_a_seed(lm):
    first = lm.generate(PROMPTS[:2], max_new_tokens=6, stop=["\n"], temperature=1.0, seed=7, num_samples=3)
    again = lm.generate(PROMPTS[:2], max_new_tokens=6, stop=["\n"], temperature=1.0, seed=7, num_samples=3)
    assert len(first) == 6  # prompt-major: three samples of prompt 0, then three of prompt 1
    assert [g.text for g in first] == [g.text for g in again]


def test_loglikelihood_agrees_with_generation(lm):
    """Oracle: scoring the greedy continuation gives the log-probability generation reported for it."""
    context = PROMPTS[1]
    [g] = lm.generate([context], max_new_tokens=2, stop=["\n"])
    [score] = lm.loglikelihood(context, [g.text])
    assert score == pytest.approx(g.logprob_sum, abs=0.05)


def test_loglikelihood_batched_equals_single(lm):
    context = PROMPTS[1]
    continuations = [" blue", " green and purple", " banana"]
    batched = lm.loglikelihood(context, continuations)
    single = [lm.loglikelihood(context, [c])[0] for c in continuations]
    assert len(batched) == 3 and all(s <= 0 and math.isfinite(s) for s in batched)
    assert batched == pytest.approx(single, abs=logprob_abs(2e-3))
    assert lm.loglikelihood(context, []) == []
