"""The instruct preset smollm2-135m, from its package's Q4_1 GGUF file, end to end and offline: it loads, speaks
through its chat template, answers closed-book questions, and its batches (which share the chat template's
system turn and the few-shot examples) generate what its prompts generate one at a time."""

from __future__ import annotations

import pytest

from kqa.kb.types import Question
from kqa.readers.closed_book import ClosedBookReader
from kqa.readers.prompts import direct_prompt

pytestmark = pytest.mark.real_model


def q(text: str) -> Question:
    return Question(id=text, question=text, answers=("x",))


def test_loads_from_its_q4_1_gguf_as_a_chat_model(smollm2_lm, model_cache):
    assert smollm2_lm.model_id == "smollm2-135m" and smollm2_lm.is_chat
    assert smollm2_lm.loaded_from in ("gguf", "cache") and smollm2_lm.cache_folder.parent == model_cache
    assert smollm2_lm.cache_folder.name.startswith("SmolLM2-135M-Instruct.Q4_1-")
    assert smollm2_lm.context_tokens == 8192
    prompt = direct_prompt(smollm2_lm, "What is the capital of France?")
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")


def test_closed_book_answers(smollm2_lm):
    reader = ClosedBookReader(smollm2_lm)
    france, japan = reader.answer_many([q("What is the capital of France?"), q("What is the capital of Japan?")])
    assert france.text == "Paris" and japan.text == "Tokyo"  # greedy, so the same on every run
    assert 0 < france.confidence <= 1 and france.meta["model"] == "smollm2-135m"
    assert reader.answer("What is the capital of France?", ["London", "Paris", "Berlin"]).text == "Paris"


def test_batched_chat_prompts_equal_one_at_a_time(smollm2_lm):
    prompts = [direct_prompt(smollm2_lm, text) for text in (
        "What is the capital of Peru?", "Who wrote Hamlet?", "What is the chemical symbol for iron?",
        "Which ocean lies between Africa and Australia?")]
    batched = smollm2_lm.generate(prompts, max_new_tokens=8, stop=["\n"])
    single = [smollm2_lm.generate([p], max_new_tokens=8, stop=["\n"])[0] for p in prompts]
    assert [g.text for g in batched] == [g.text for g in single]
    assert all(g.text for g in batched)
    for b, s in zip(batched, single):
        assert b.token_logprobs == pytest.approx(s.token_logprobs, abs=1e-3)
