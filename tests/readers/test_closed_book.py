"""ClosedBookReader over a scripted model: each mode, voting, multiple choice, abstention and batching."""

from __future__ import annotations

import math

import pytest

from kqa.kb.types import Question
from kqa.readers.closed_book import ClosedBookReader, majority_vote
from kqa.readers.types import Backend
from tests.readers.conftest import ScriptedLM


def q(text: str, choices: tuple[str, ...] | None = None) -> Question:
    return Question(id=text, question=text, answers=("x",), choices=choices)


def test_is_a_backend():
    reader = ClosedBookReader(ScriptedLM())
    assert isinstance(reader, Backend) and reader.name == "closed_book"


def test_direct_answer_with_token_probability_as_confidence():
    lm = ScriptedLM({"Peru": " Lima\n\nQuestion: something else"}, word_logprobs={"Lima": -0.2})
    answer = ClosedBookReader(lm).answer("What is the capital of Peru?")
    assert answer.text == "Lima" and answer.backend == "closed_book"
    assert answer.confidence == pytest.approx(math.exp(-0.2))
    assert answer.meta["model"] == "scripted" and answer.meta["mode"] == "direct"
    assert answer.meta["prompt"].endswith("What is the capital of Peru?\nAnswer:")
    assert answer.evidence == () and answer.latency_ms >= 0


def test_abstains_below_the_threshold_and_on_empty_output():
    lm = ScriptedLM({"Peru": " Lima\n", "Chad": "\n", "Mali": " unknown\n"}, word_logprobs={"Lima": -2.0})
    reader = ClosedBookReader(lm, abstain_below=0.5)
    low, empty, unknown = reader.answer_many([q("Capital of Peru?"), q("Capital of Chad?"), q("Capital of Mali?")])
    assert low.text is None and "below 0.5" in low.meta["reason"] and low.meta["candidate"] == "Lima"
    assert empty.text is None and empty.meta["reason"] == "the model wrote no answer"
    assert unknown.text is None and "does not know" in unknown.meta["reason"]
    assert ClosedBookReader(lm, abstain_below=0.1).answer("Capital of Peru?").text == "Lima"


def test_answer_many_sends_one_batch_and_keeps_order():
    lm = ScriptedLM({"Peru": " Lima\n", "Japan": " Tokyo\n", "Chile": " Santiago\n"})
    answers = ClosedBookReader(lm).answer_many([q("Capital of Peru?"), q("Capital of Japan?"), q("Capital of Chile?")])
    assert [a.text for a in answers] == ["Lima", "Tokyo", "Santiago"]
    assert len(lm.prompts) == 1 and len(lm.prompts[0]) == 3  # one generate call for all three
    assert all(a.meta["batch"] == 3 for a in answers)


def test_multiple_choice_by_loglikelihood():
    lm = ScriptedLM(word_logprobs={"Paris": -0.5, "London": -3.0, "Berlin": -4.0})
    answer = ClosedBookReader(lm).answer("What is the capital of France?", ["London", "Paris", "Berlin"])
    assert answer.text == "Paris" and answer.meta["method"] == "loglikelihood"
    expected = math.exp(-0.5) / (math.exp(-0.5) + math.exp(-3.0) + math.exp(-4.0))
    assert answer.confidence == pytest.approx(expected)
    assert answer.meta["choice_logprobs"] == {"London": -3.0, "Paris": -0.5, "Berlin": -4.0}
    assert lm.prompts == []  # no generation for a multiple-choice question


def test_mixed_batch_of_open_and_multiple_choice_questions():
    lm = ScriptedLM({"Peru": " Lima\n", "Japan": " Tokyo\n"}, word_logprobs={"Paris": -0.1, "Rome": -5.0})
    answers = ClosedBookReader(lm).answer_many([
        q("Capital of Peru?"), q("Capital of France?", ("Rome", "Paris")), q("Capital of Japan?")])
    assert [a.text for a in answers] == ["Lima", "Paris", "Tokyo"]
    assert lm.prompts == [[lm.prompts[0][0], lm.prompts[0][1]]] and len(lm.prompts[0]) == 2


def test_chain_of_thought_reads_the_answer_from_the_end():
    lm = ScriptedLM({"longer": " The Nile is 6650 km. The Thames is 346 km. So the answer is the Nile.\n\nQuestion:"})
    answer = ClosedBookReader(lm, mode="cot").answer("Which is longer, the Nile or the Thames?")
    assert answer.text == "the Nile"
    assert answer.rationale.startswith("The Nile is 6650 km.") and "Question" not in answer.rationale
    assert 0 < answer.confidence <= 1 and answer.meta["mode"] == "cot"


def test_chain_of_thought_without_the_closing_phrase_gets_a_second_step():
    """Kojima et al. 2022: append "So the answer is" to the rationale and read one more line."""

    def script(prompt: str, i: int) -> str:
        if prompt.endswith("So the answer is"):
            return " Lima.\nQuestion:"
        return " The capital of Peru is Lima.\n\n"

    lm = ScriptedLM(script)
    answer = ClosedBookReader(lm, mode="cot").answer("What is the capital of Peru?")
    assert answer.text == "Lima"
    assert answer.rationale == "The capital of Peru is Lima. So the answer is Lima."
    assert len(lm.prompts) == 2 and lm.prompts[1][0].endswith("Lima. So the answer is")


def test_self_consistency_majority_vote_with_vote_share():
    rationales = ["So the answer is Lima.", "So the answer is lima", "So the answer is Cusco.",
                  "So the answer is Lima.", "I am not sure."]

    def script(prompt: str, i: int) -> str:
        if prompt.endswith("So the answer is"):
            return "\n"  # the second step finds nothing for the unsure sample either
        return " " + rationales[i % 1000] + "\n\n"

    lm = ScriptedLM(script)
    reader = ClosedBookReader(lm, mode="self_consistency", n_samples=5, temperature=0.7, seed=3)
    answer = reader.answer("What is the capital of Peru?")
    assert answer.text == "Lima"
    assert answer.confidence == pytest.approx(3 / 5)  # the failed sample counts against the winner
    assert answer.meta["votes"] == {"Lima": 3, "Cusco": 1}
    assert answer.meta["n_samples"] == 5 and len(answer.meta["samples"]) == 5
    assert answer.rationale == "So the answer is Lima."
    assert ClosedBookReader(lm, mode="self_consistency", abstain_below=0.8).answer("x?").text is None


def test_self_consistency_abstains_when_no_sample_answers():
    lm = ScriptedLM(lambda prompt, i: "\n")
    answer = ClosedBookReader(lm, mode="self_consistency", n_samples=3).answer("What is the capital of Peru?")
    assert answer.text is None and answer.meta["reason"] == "no sampled rationale ended in an answer"


def test_self_consistency_batches_every_sample_of_every_question():
    lm = ScriptedLM(lambda prompt, i: " So the answer is Fe.\n")
    answers = ClosedBookReader(lm, mode="self_consistency", n_samples=4).answer_many([q("a?"), q("b?"), q("c?")])
    assert [a.text for a in answers] == ["Fe", "Fe", "Fe"] and len(lm.prompts) == 1
    assert len(lm.prompts[0]) == 3  # one prompt per question; the model draws the 4 samples of each


@pytest.mark.parametrize("answers, winner, votes", [
    (["Lima", "lima.", "The Lima", "Cusco"], "Lima", {"Lima": 3, "Cusco": 1}),
    (["Cusco", "Lima", "Lima", "Cusco"], "Cusco", {"Cusco": 2, "Lima": 2}),  # a tie goes to the first sampled
    ([None, None, "Quito"], "Quito", {"Quito": 1}),
    ([None, "", "..."], None, {}),
])
def test_majority_vote(answers, winner, votes):
    assert majority_vote(answers) == (winner, votes)


def test_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        ClosedBookReader(ScriptedLM(), mode="tree_of_thought")


def test_prompts_get_the_cleaned_question_and_answers_the_question_as_asked():
    lm = ScriptedLM({"capital of Peru?": " Lima\n"}, word_logprobs={"Paris": -0.1, "Rome": -5.0})
    asked = "What is the capital of Pe\u200bru?\x1b[31m"  # a zero-width space and a terminal colour code
    answer = ClosedBookReader(lm).answer(asked)
    assert answer.text == "Lima" and answer.question == asked
    assert lm.prompts[0][0].endswith("Question: What is the capital of Peru?\nAnswer:")
    for mode in ("cot", "self_consistency"):
        ClosedBookReader(lm, mode=mode, n_samples=2).answer(asked)
        assert "Question: What is the capital of Peru?\nAnswer:" in lm.prompts[-1][-1]
    choice = ClosedBookReader(lm).answer("Capital of \x00France?", ["Rome", "Paris"])
    assert choice.text == "Paris" and choice.meta["prompt"].endswith("Question: Capital of France?\nAnswer:")


def test_an_answer_that_only_repeats_the_question_is_an_abstention():
    from kqa.readers._lm_answers import echoes, greedy_answer
    from kqa.models.lm import Generation

    assert echoes("Russia", "which countries does russia border?")
    assert not echoes("Mexico City", "What is the capital of Mexico?")
    assert not echoes("Peru", "Which is larger, Peru or Chile?")  # the question offers it
    answer = greedy_answer("which countries does russia border?", Generation(text=" Russia", token_logprobs=(-0.2,), finish_reason="stop"),
                           backend="dense", abstain_below=0.0, latency_ms=1.0, meta={})
    assert answer.text is None and answer.meta["candidate"] == "Russia"
    assert "repeated a name" in answer.meta["reason"]


def test_an_answer_the_fact_itself_says_is_no_echo():
    from kqa.readers._lm_answers import echoes

    fact = "Ruritania South - Location: Southern Europe, on the continent of Europe"
    assert not echoes("Europe", "what continent is ruritania south europe in?", [fact])
    assert echoes("Ruritania South", "what continent is ruritania south in?", [fact])  # the title is not said
    assert echoes("Europe", "what continent is ruritania south europe in?", ["Ruritania - Area: total: 5 sq km"])


def test_a_part_of_a_longer_name_in_the_question_is_no_echo():
    from kqa.readers._lm_answers import echoes

    assert not echoes("Strelsau", "Which country has Strelsau City as its capital?")
    assert not echoes("Ruritania", "Which country's government is led by Government of Ruritania Rudolf V?")
    assert not echoes("Zenda", "Which country has Zenda la Vieja as its capital?")
    assert echoes("Ruritania", "which countries does Ruritania border?")  # the whole name: an echo
    assert echoes("Ruritania border", "what countries do Ruritania border?")
    assert not echoes("Parliament", "What is the national parliament of Ruritania called?")  # a common noun asked
    assert echoes("Ruritania", "which countries does ruritania border?")  # all lower case: no telling


def test_a_set_question_gets_the_whole_list_the_fact_gives():
    from kqa.models.lm import Generation
    from kqa.readers._lm_answers import asks_for_several, greedy_answer, list_items, set_answer

    assert asks_for_several("which countries does Ruritania border?")
    assert asks_for_several("what are the main faiths in Ruritania?")
    assert asks_for_several("what 3 countries does Ruritania border?")
    assert not asks_for_several("what language is spoken in Ruritania?")
    assert not asks_for_several("what does Ruritania export?")
    assert list_items("Borduria 338 km; Syldavia (north) 1,312 km and Syldavia (south) 46 km; other 3%") == \
        ["Borduria", "Syldavia"]
    assert list_items("Ruritanian 60.1% (official), German 30%, unspecified 9.9% (2020 est.)") == \
        ["Ruritanian", "German"]
    fact = "Ruritania - Land boundaries: border countries: Borduria 338 km; Syldavia 1,312 km; Zenda 12 km"
    asked = "which countries does ruritania border?"
    assert set_answer("Ruritania", asked, [fact]) == "Borduria, Syldavia, Zenda"  # an echo
    assert set_answer("Syldavia", asked, [fact]) == "Borduria, Syldavia, Zenda"  # one item of the list
    assert set_answer("Atlantis", asked, [fact]) is None  # not from this fact
    assert set_answer("Syldavia", "which country borders ruritania to the north?", [fact]) is None  # one asked
    assert set_answer("Strelsau", asked, ["Ruritania - Capital: name: Strelsau"]) is None  # not a list
    answer = greedy_answer(asked, Generation(text=" Ruritania", token_logprobs=(-0.2,), finish_reason="stop"),
                           backend="dense", abstain_below=0.0, latency_ms=1.0, meta={}, facts=[fact])
    assert answer.text == "Borduria, Syldavia, Zenda" and answer.meta["set_from_fact"]


def test_a_yes_no_question_is_scored_as_two_calibrated_choices():
    from tests.readers.conftest import LeaningLM

    lm = LeaningLM(true=["dog"], false=["cat"])
    reader = ClosedBookReader(lm)
    dog, cat = reader.answer_many([q("Is a poodle a kind of dog?"), q("Is a poodle a kind of cat?")])
    # uncalibrated, "yes" wins both (-1 + 1 > -3 - 1 and -1 - 1 > -3 + 1); against the content-free prompt
    # (-1, -3) the question moves the model to yes for the dog and to no for the cat
    assert (dog.text, cat.text) == ("yes", "no") and lm.prompts == []
    assert cat.meta["choice_logprobs"] == {"yes": -2.0, "no": -2.0}
    assert cat.meta["choice_bias"] == {"yes": -1.0, "no": -3.0}
    assert cat.confidence == pytest.approx(1 / (1 + math.exp(-2.0)))
    # the content-free prompt, one for both questions (the same form)
    assert sum(c.endswith("Question: Is a N/A a N/A of N/A?\nAnswer:") for c in lm.contexts) == 1
    # offered as choices, in any case, the same calibration applies
    assert reader.answer("Is a poodle a kind of cat?", ["Yes", "No"]).text == "No"


def test_a_question_with_alternatives_or_other_choices_is_not_calibrated():
    from tests.readers.conftest import LeaningLM

    lm = LeaningLM(false=["cat"])
    reader = ClosedBookReader(lm)
    assert "method" not in reader.answer("Is a poodle a dog or a cat?").meta  # generated, not scored
    assert len(lm.prompts) == 1
    other = reader.answer("Is a poodle a kind of cat?", ["yes", "no", "maybe"])
    assert other.text == "yes" and "choice_bias" not in other.meta
