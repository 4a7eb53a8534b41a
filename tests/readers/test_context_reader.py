"""ContextReader over a keyword retriever and a scripted model."""

from __future__ import annotations

import pytest

from kqa.kb.types import Evidence, Question
from kqa.readers.context_reader import ContextReader
from kqa.readers.types import Backend
from kqa.models.embedder import HashingEncoder
from kqa.retrievers.lines import Hint, LineSelector
from tests.readers.conftest import KeywordRetriever, ScriptedLM

PASSAGES = {
    "pe/government/0": "Peru: the capital is Lima; a presidential republic.",
    "pe/economy/0": "Peru exports copper and gold.",
    "jp/government/0": "Japan: the capital is Tokyo; a parliamentary monarchy.",
    "fr/geography/0": "France: Mont Blanc is the highest point.",
}


def q(text: str, choices: tuple[str, ...] | None = None) -> Question:
    return Question(id=text, question=text, answers=("x",), choices=choices)


def test_reads_the_top_k_passages_and_returns_them_as_evidence():
    retriever = KeywordRetriever(PASSAGES)
    lm = ScriptedLM({"capital of Peru": " Lima\n"}, word_logprobs={"Lima": -0.05})
    reader = ContextReader(retriever, lm, k=2)
    assert isinstance(reader, Backend) and reader.name == "dense"
    answer = reader.answer("What is the capital of Peru?")
    assert answer.text == "Lima" and answer.backend == "dense"
    assert [e.id for e in answer.evidence] == ["passage:pe/government/0", "passage:jp/government/0"]
    assert [e.score for e in answer.evidence] == [2.0, 1.0]  # rank order, retrieval scores kept
    prompt = answer.meta["prompt"]
    assert "Fact: Peru: the capital is Lima; a presidential republic.\nFact: Japan" in prompt and "Mont Blanc" not in prompt
    assert answer.meta["k"] == 2 and answer.meta["retriever"] == "keyword" and answer.confidence > 0.9


def test_answer_many_retrieves_and_generates_in_one_batch_each():
    retriever = KeywordRetriever(PASSAGES)
    lm = ScriptedLM({"Peru": " Lima\n", "Japan": " Tokyo\n"})
    reader = ContextReader(retriever, lm, k=3, name="bm25")
    answers = reader.answer_many([q("What is the capital of Peru?"), q("What is the capital of Japan?")])
    assert [a.text for a in answers] == ["Lima", "Tokyo"] and {a.backend for a in answers} == {"bm25"}
    assert len(retriever.calls) == 1 and len(retriever.calls[0]) == 2
    assert len(lm.prompts) == 1 and len(lm.prompts[0]) == 2


def test_multiple_choice_is_scored_after_the_passages():
    lm = ScriptedLM(word_logprobs={"Tokyo": -0.3, "Kyoto": -2.0})
    answer = ContextReader(KeywordRetriever(PASSAGES), lm).answer("What is the capital of Japan?", ["Kyoto", "Tokyo"])
    assert answer.text == "Tokyo" and answer.meta["method"] == "loglikelihood"
    assert answer.evidence[0].id == "passage:jp/government/0" and lm.prompts == []


def test_abstains_without_passages_or_when_the_passages_do_not_say():
    lm = ScriptedLM({"Mars": " unknown\n"})
    reader = ContextReader(KeywordRetriever(PASSAGES), lm)
    nothing, unknown = reader.answer_many([q("Zzz?"), q("What is the capital of Mars?")])
    assert nothing.text is None and nothing.meta["reason"] == "retrieval found no passages"
    assert unknown.text is None and "does not know" in unknown.meta["reason"]
    assert len(lm.prompts) == 1 and len(lm.prompts[0]) == 1  # nothing to read, nothing generated


def test_with_a_selector_the_model_reads_only_the_best_lines_after_their_titles():
    class Titled:
        name = "titled"

        def retrieve_many(self, questions, k=5):
            text = "Peru\nCapital: name: Lima\nPopulation: 34 million\nCurrency: sol"
            return [[Evidence("passage:pe/0", text, "corpus", 0.7, title="Peru")] for _ in questions]

    lm = ScriptedLM({"capital": " Lima\n"})
    reader = ContextReader(Titled(), lm, selector=LineSelector(HashingEncoder()), lines=1)
    answer = reader.answer("capital name of Peru")
    assert answer.text == "Lima" and answer.meta["facts"] == ["Peru - Capital: name: Lima"]
    assert "Fact: Peru - Capital: name: Lima\nQuestion: capital name of Peru" in answer.meta["prompt"]
    assert "Currency: sol" not in answer.meta["prompt"] and answer.evidence[0].id == "passage:pe/0"


CURRENCY = {"cu/economy/2": "Cuba - Exchange rates: Currency: Cuban pesos (CUP) per US dollar -"}


def test_a_code_the_fact_defines_is_answered_as_the_name_it_stands_for():
    lm = ScriptedLM({"currency is used in Cuba": " CUP\n"})
    answer = ContextReader(KeywordRetriever(CURRENCY), lm, k=1).answer("Which currency is used in Cuba?")
    assert answer.text == "Cuban pesos" and answer.meta["raw"].strip() == "CUP"


def test_a_field_name_copied_as_the_answer_is_an_abstention():
    lm = ScriptedLM({"pay with in Cuba": " Currency\n"})
    answer = ContextReader(KeywordRetriever(CURRENCY), lm, k=1).answer("What do shoppers pay with in Cuba?")
    assert answer.text is None and "name of a field" in answer.meta["reason"]
    assert answer.meta["candidate"] == "Currency"


def test_a_yes_no_question_is_read_after_the_passages_and_calibrated():
    from tests.readers.conftest import LeaningLM

    lm = LeaningLM(false=["Japan"])
    answer = ContextReader(KeywordRetriever(PASSAGES), lm).answer("Is Lima the capital of Japan?")
    assert answer.text == "no" and answer.meta["method"] == "loglikelihood" and lm.prompts == []
    assert answer.evidence[0].id == "passage:jp/government/0" and "Fact: Japan" in answer.meta["prompt"]
    assert answer.meta["choice_bias"] == {"yes": -1.0, "no": -3.0}
    assert any(c.endswith("Fact: N/A\nQuestion: Is N/A the N/A of N/A?\nAnswer:") for c in lm.contexts)


CREDITS = [  # (graph, question, its reading, a passage, the line it reads with the hint, the line without)
    ("films", "Who directed Alien?", "director", "Alien\nWho stars: Sigourney Weaver\nDirector: Ridley Scott",
     "Alien - Director: Ridley Scott", "Alien - Who stars: Sigourney Weaver"),
    ("wikidata", "Who composed the music for Jaws?", "composer", "Jaws\nMusic video: none\nComposer: John Williams",
     "Jaws - Composer: John Williams", "Jaws - Music video: none"),
]


@pytest.mark.parametrize("graph, question, label, text, hinted_line, plain_line", CREDITS)
def test_the_graph_reading_of_a_question_is_a_hint_to_line_selection(graph, question, label, text, hinted_line,
                                                                      plain_line):
    """A graph that is not the Factbook (films; Wikidata-style) reads the question as one of its relations;
    given that reading, the reader's line selector keeps that relation's line, where the question's own words
    pick another one. No reading (no graph, or none that fits) leaves the reader as it was."""
    from rdflib import Graph

    from kqa.kb.graph import KnowledgeGraph
    from kqa.kb.profile import profile_from_json
    from kqa.retrievers.graph_retriever import GraphRetriever
    from tests.graph.graphs import FILMS, WIKIDATA, WIKIDATA_PROFILE

    data, profile = {"films": (FILMS, None), "wikidata": (WIKIDATA, profile_from_json(WIKIDATA_PROFILE))}[graph]
    title = text.split("\n")[0]

    class Credits:
        name = "credits"

        def retrieve_many(self, questions, k=5):
            return [[Evidence(f"passage:{title}/0", text, "corpus", 0.7, title=title)] for _ in questions]

    kg = GraphRetriever(KnowledgeGraph.from_graph(Graph().parse(data=data, format="turtle"), profile=profile),
                        encode=lambda texts: HashingEncoder().encode(list(texts)))
    assert kg.reading(question) == Hint(label, (title,), asks_value=True)
    assert kg.reading("What is the weather like on Mars?") is None

    def reader(hint):
        return ContextReader(Credits(), ScriptedLM({"": " x\n"}), selector=LineSelector(HashingEncoder()), lines=1,
                             hint=hint)

    hinted = reader(kg.reading).answer(question)
    assert hinted.meta["facts"] == [hinted_line] and hinted.meta["hint"] == label
    # the question's words do not name the relation it asks for: the model reads it with its label after it
    assert hinted.meta["prompt"].endswith(f"Question: {question} (asks for the {label})\nAnswer:")
    for plain in (reader(None).answer(question), reader(lambda q: None).answer(question)):
        assert plain.meta["facts"] == [plain_line] and plain.meta["hint"] is None
        assert plain.meta["prompt"].endswith(f"Question: {question}\nAnswer:")
    # a question with choices is read as asked
    yes_no = reader(kg.reading).answer(f"Is it true? {question}", choices=("yes", "no"))
    assert "(asks for" not in yes_no.meta["prompt"]
    # a reading about another subject, whose passage is not retrieved, leaves this passage's lines as they were
    other = reader(lambda q: Hint(label, ("Another Film",))).answer(question)
    assert other.meta["facts"] == [plain_line] and other.meta["hint"] == label


@pytest.mark.parametrize("question, hint, read", [
    ("Who runs the government in Oman?", Hint("head of government", ("Oman",), asks_value=True),
     "Who runs the government in Oman? (asks for the head of government)"),
    ("What is the population of Peru?", Hint("population", ("Peru",), asks_value=True),
     "What is the population of Peru?"),  # its words name the relation
    ("Which national languages are official in Peru?", Hint("national language", ("Peru",), asks_value=True),
     "Which national languages are official in Peru?"),  # a plural names it too
    ("Whose anthem is Himno Nacional?", Hint("national anthem", ("Himno Nacional",), asks_value=False),
     "Whose anthem is Himno Nacional?"),  # asks for what has the value: read as asked
    ("What is the capital of Peru?", None, "What is the capital of Peru?"),
])
def test_the_model_is_told_what_a_question_asks_for_only_where_its_words_do_not_say(question, hint, read):
    from kqa.readers.context_reader import told

    assert told(question, hint) == read


@pytest.mark.parametrize("graph, question, asks_value", [
    ("films", "Who directed Alien?", True),
    ("films", "Which films did Ridley Scott direct?", False),
])
def test_a_graph_reading_says_whether_the_question_asks_for_the_value(graph, question, asks_value):
    from rdflib import Graph

    from kqa.kb.graph import KnowledgeGraph
    from kqa.retrievers.graph_retriever import GraphRetriever
    from tests.graph.graphs import FILMS

    kg = GraphRetriever(KnowledgeGraph.from_graph(Graph().parse(data=FILMS, format="turtle")),
                        encode=lambda texts: HashingEncoder().encode(list(texts)))
    reading = kg.reading(question)
    assert reading is not None and reading.asks_value is asks_value
