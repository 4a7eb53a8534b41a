"""LlamaCppLM: the packaged Gemma GGUF run by llama.cpp, checked against the protocol and against itself
(scoring a greedy continuation gives the log-probability generation reported for it)."""

from __future__ import annotations

import pytest

from kqa.kb.errors import KqaError
from kqa.readers.lm import LanguageModel

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def llama_lm(tmp_path_factory):
    from kqa.readers.llamacpp_lm import LlamaCppLM

    return LlamaCppLM("gemma-3-270m", cache_dir=tmp_path_factory.mktemp("gguf"), n_ctx=1024)


def test_is_a_language_model_and_knows_a_capital(llama_lm):
    assert isinstance(llama_lm, LanguageModel)
    assert llama_lm.model_id == "gemma-3-270m" and llama_lm.is_chat is False
    [g] = llama_lm.generate(["Question: What is the capital of France?\nAnswer:"], max_new_tokens=8)
    assert g.text.strip() == "Paris" and g.finish_reason == "stop"
    assert len(g.token_logprobs) == 1 and 0.05 < g.probability <= 1.0


def test_loglikelihood_agrees_with_generation_and_ranks_the_capital_first(llama_lm):
    context = "The capital of France is"
    [g] = llama_lm.generate([context], max_new_tokens=3, stop=[])
    [score] = llama_lm.loglikelihood(context, [g.text])
    assert score == pytest.approx(g.logprob_sum, abs=0.05)
    paris, berlin = llama_lm.loglikelihood(context, [" Paris", " Berlin"])
    assert paris > berlin + 2.0


def test_seeded_sampling_repeats_and_length_bounds(llama_lm):
    prompt = "1, 2, 3, 4,"
    first = llama_lm.generate([prompt], max_new_tokens=5, stop=[], temperature=1.0, seed=3, num_samples=3)
    again = llama_lm.generate([prompt], max_new_tokens=5, stop=[], temperature=1.0, seed=3, num_samples=3)
    assert [g.text for g in first] == [g.text for g in again]
    assert all(g.finish_reason == "length" and 1 <= len(g.token_logprobs) <= 5 for g in first)


def test_a_prompt_longer_than_the_context_is_a_clear_error(llama_lm):
    with pytest.raises(KqaError, match="does not fit"):
        llama_lm.generate(["word " * 2000], max_new_tokens=4)
