"""Prompt building and reading answers back out of model text."""

from __future__ import annotations

import pytest

from kqa.kb.types import Evidence
from kqa.readers import prompts
from kqa.readers.prompts import clean_answer, extract_answer
from tests.readers.conftest import ScriptedLM


@pytest.mark.parametrize("rationale, answer", [
    ("Lima is the capital of Peru. So the answer is Lima.", "Lima"),
    ("A triangle has 3 sides. Two have 6.\nSo the answer is 6.", "6"),
    ("First the answer is Quito, no wait. So the answer is Lima. Then more text", "Lima"),
    ("So the answer is: the Nile", "the Nile"),
    ("so THE ANSWER IS Mount Everest.\n", "Mount Everest"),
    ("So the answer is the U.S.", "the U.S."),
    ("The element is uranium. So the answer is U.", "U"),
    ("So the answer is 1,285,216 sq km.", "1,285,216 sq km"),
    ("The capital of France is Paris.", None),  # no closing phrase
    ("", None),
    ("So the answer is .", None),
])
def test_extract_answer_reads_the_end_of_a_rationale(rationale, answer):
    assert extract_answer(rationale) == answer


@pytest.mark.parametrize("raw, answer", [
    (" Lima\n", "Lima"), (' "Jane Austen".', "Jane Austen"), ("  ", None), ("", None),
    ("Washington, D.C.", "Washington, D.C."), (" 8 legs\nQuestion: next", "8 legs"), ("**Au**", "Au"),
    ("National Assembly (Hagerawi Baito)", "National Assembly"), ("1 (2025) (est.)", "1"), ("(none)", "(none)"),
    ("f(x)", "f(x)"), ("XI Jinping (since 14 March 2013", "XI Jinping"),
])
def test_clean_answer(raw, answer):
    assert clean_answer(raw) == answer


@pytest.mark.parametrize("question, raw, answer", [
    ("What is the highest point in Slovenia?", "Triglav 2,864 m", "Triglav"),
    ("Where is the lowest elevation in Tunisia?", "Shatt al Gharsah -17 m", "Shatt al Gharsah"),
    ("What is the lowest point in Peru?", "Pacific Ocean 0 m", "Pacific Ocean"),
    ("How high is the highest point of Slovenia?", "Triglav 2,864 m", "Triglav 2,864 m"),
    ("What is the elevation of the highest point in Peru?", "6,768 m", "6,768 m"),
    ("What is the highest point in Peru?", "6,768 m", "6,768 m"),  # nothing but the figure: kept
    ("What is the total area of Peru?", "1,285,216 sq km", "1,285,216 sq km"),
    ("Who is the chief of state of Peru?", "Jose Jeri", "Jose Jeri"),
    ("What is the tallest mountain in Marshall Islands?", "Airik Island, Maloelap Atoll 14", "Airik Island, Maloelap Atoll"),
])
def test_a_name_question_drops_a_trailing_measure(question, raw, answer):
    assert clean_answer(raw, question) == answer
    assert clean_answer(raw) == raw  # without the question nothing is dropped


def test_base_models_get_few_shot_text_ending_at_the_answer_slot():
    lm = ScriptedLM()
    prompt = prompts.direct_prompt(lm, "What is the capital of Peru?")
    assert prompt.endswith("Question: What is the capital of Peru?\nAnswer:")
    assert prompt.count("Question:") == len(prompts.DIRECT_EXAMPLES) + 1
    cot = prompts.cot_prompt(lm, "Which is longer?")
    assert cot.count(prompts.ANSWER_TRIGGER) == len(prompts.COT_EXAMPLES) + 1  # and once in the instruction
    assert prompts.choice_continuation(lm, "Paris") == " Paris"


def test_instruct_models_get_their_chat_template():
    lm = ScriptedLM(is_chat=True)
    prompt = prompts.direct_prompt(lm, "What is the capital of Peru?")
    assert prompt.startswith(f"<system>{prompts.DIRECT_INSTRUCTION}</system><user>")
    assert prompt.endswith("<user>What is the capital of Peru?</user><assistant>")
    assert prompt.count("<assistant>") == len(prompts.DIRECT_EXAMPLES) + 1
    assert prompts.choice_continuation(lm, "Paris") == "Paris"
    reading = prompts.reading_prompt(lm, "What is the capital of Peru?", ["Peru - Capital: name: Lima"])
    assert reading.startswith(f"<system>{prompts.READING_INSTRUCTION}</system><user>Fact: Ruritania")
    assert reading.endswith("<user>Fact: Peru - Capital: name: Lima\nQuestion: What is the capital of Peru?</user>"
                            "<assistant>")
    assert reading.count("<assistant>") == len(prompts.READING_EXAMPLES) + 1


def test_exemplars_leak_no_country_facts():
    """The few-shot examples must not answer the pack's questions (capitals, currencies, languages...)."""
    text = " ".join(q + " " + a for q, a in prompts.DIRECT_EXAMPLES + prompts.COT_EXAMPLES).lower()
    for word in ("capital", "currency", "language", "country", "population", "president", "anthem"):
        assert word not in text


def test_reading_prompt_lists_the_facts_after_worked_examples_and_trims_long_ones():
    lm = ScriptedLM()
    prompt = prompts.reading_prompt(lm, "What is the capital of Peru?", ["Peru - Capital: name: Lima", "word " * 500])
    assert "\n\nFact: Peru - Capital: name: Lima\nFact: word" in prompt
    assert prompt.endswith("Question: What is the capital of Peru?\nAnswer:")
    assert prompt.count("Question:") == len(prompts.READING_EXAMPLES) + 1
    assert prompt.count("word") <= prompts.PASSAGE_CHARS // len("word ") and "word ..." in prompt
    # every worked example sits right after its own fact, as the question does
    for fact, question, answer in prompts.READING_EXAMPLES:
        assert f"Fact: {fact}\nQuestion: {question}\nAnswer: {answer}\n\n" in prompt


def test_reading_examples_are_about_a_made_up_country():
    for fact, question, answer in prompts.READING_EXAMPLES:
        assert fact.startswith("Ruritania - ") and "Ruritania" in question
        assert answer.lower().split()[0] in fact.lower()  # the answer is copied from the fact


def test_spell_out_only_codes_a_fact_defines():
    from kqa.readers.prompts import spell_out

    facts = ["Egypt - Exchange rates: Egyptian pounds (EGP) per US dollar -"]
    assert spell_out("EGP", facts) == "Egyptian pounds"
    assert spell_out("USD", facts) == "USD"  # not defined there
    assert spell_out("Egyptian pound", facts) == "Egyptian pound"
    assert spell_out("EGP", []) == "EGP"
