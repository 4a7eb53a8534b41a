"""The real default model (gemma-3-270m from its package), end to end and offline: closed-book answers in each
mode, multiple choice by log-likelihood, and reading retrieved passages."""

from __future__ import annotations

import pytest

from kqa.kb.types import Question
from kqa.readers.closed_book import ClosedBookReader
from kqa.readers.context_reader import ContextReader
from kqa.models.embedder import load_embedder
from kqa.retrievers.lines import LineSelector
from tests.readers.conftest import KeywordRetriever

pytestmark = pytest.mark.real_model


def q(text: str, choices: tuple[str, ...] | None = None) -> Question:
    return Question(id=text, question=text, answers=("x",), choices=choices)


def test_closed_book_direct_answers_offline(gemma_lm):
    reader = ClosedBookReader(gemma_lm)
    france, japan = reader.answer_many([q("What is the capital of France?"), q("What is the capital of Japan?")])
    for answer in (france, japan):
        assert answer.text and answer.backend == "closed_book" and 0 < answer.confidence <= 1
        assert answer.meta["model"] == "gemma-3-270m" and answer.meta["batch"] == 2
    assert france.text == "Paris" and japan.text == "Tokyo"  # greedy, so the same on every run


def test_multiple_choice_by_loglikelihood_picks_paris(gemma_lm):
    answer = ClosedBookReader(gemma_lm).answer("What is the capital of France?", ["London", "Paris", "Berlin", "Madrid"])
    assert answer.text == "Paris" and answer.confidence > 0.5
    logprobs = answer.meta["choice_logprobs"]
    assert logprobs["Paris"] == max(logprobs.values())


def test_chain_of_thought_and_self_consistency_answer(gemma_lm):
    cot = ClosedBookReader(gemma_lm, mode="cot", cot_max_new_tokens=24).answer("What is the capital of Japan?")
    assert cot.text and "Tokyo" in cot.text and cot.rationale
    sc = ClosedBookReader(gemma_lm, mode="self_consistency", n_samples=2, cot_max_new_tokens=16, seed=1)
    answer = sc.answer("What is the capital of France?")
    assert len(answer.meta["samples"]) == 2 and sum(answer.meta["votes"].values()) <= 2
    assert answer.text is None or answer.confidence in (0.5, 1.0)


def test_context_reader_reads_the_retrieved_passage(gemma_lm):
    retriever = KeywordRetriever({
        "xx/geography/0": "Zembla: the highest point is Mount Korvak (4,210 m); the lowest point is the Pale Sea.",
        "xx/government/0": "Zembla: the capital is Onhava; a constitutional monarchy.",
        "yy/economy/0": "Ruritania exports timber and glass.",
    })
    # as the dense backend reads by default: the best line (here sentence) of the passages, by MiniLM
    reader = ContextReader(retriever, gemma_lm, selector=LineSelector(load_embedder()), k=2, lines=1)
    peak, capital = reader.answer_many([q("What is the highest point in Zembla?"), q("What is the capital of Zembla?")])
    assert peak.evidence[0].id == "passage:xx/geography/0" and capital.evidence[0].id == "passage:xx/government/0"
    assert capital.meta["facts"] == ["Zembla: the capital is Onhava; a constitutional monarchy."]
    assert "Onhava" in capital.text  # a made-up name: only the passage can tell it (the model may add words)
    assert peak.text  # a 270M model does not always copy the right span; it must still answer
    choice = reader.answer("What is the highest point in Zembla?", ["Pale Sea", "Mount Korvak", "Onhava"])
    assert choice.text == "Mount Korvak"
