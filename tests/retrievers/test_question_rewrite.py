"""Names put as the graph writes them, and a lead-in clause dropped, before a model retrieves or reads."""

from __future__ import annotations

import pytest

from kqa.kb.graph import KnowledgeGraph
from kqa.retrievers.entity_linker import EntityLinker
from kqa.retrievers.question_rewrite import QuestionRewriter, drop_lead_in

TTL = """
@prefix kqa: <http://kqa.dev/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<http://kqa.dev/entity/country/nl> a kqa:Country ; rdfs:label "Netherlands" ; skos:altLabel "Holland", "NL" .
<http://kqa.dev/entity/country/us> a kqa:Country ; rdfs:label "United States" ; skos:altLabel "USA", "US" .
<http://kqa.dev/entity/country/ar> a kqa:Country ; rdfs:label "Argentina" ; skos:altLabel "Ciudad de Lima" .
<http://kqa.dev/entity/country/bm> a kqa:Country ; rdfs:label "Burma" ; skos:altLabel "Myanmar" .
<http://kqa.dev/entity/city/lima> a kqa:City ; rdfs:label "Lima" ; skos:altLabel "Ciudad de Lima" .
"""


@pytest.fixture(scope="module")
def rewrite():
    from rdflib import Graph

    return QuestionRewriter(EntityLinker(KnowledgeGraph.from_graph(Graph().parse(data=TTL, format="turtle")))).rewrite


def test_names_become_the_graphs_labels(rewrite):
    assert rewrite("What currency is used in Argentinia?") == "What currency is used in Argentina?"
    assert rewrite("what currency is used in argentina?") == "what currency is used in Argentina?"
    assert rewrite("What is the capital of Holland?") == "What is the capital of Netherlands?"
    assert rewrite("Is Myanmar larger than Argentina?") == "Is Burma larger than Argentina?"
    assert rewrite("Which country has Ciudad de Lima as its capital?") == \
        "Which country has Ciudad de Lima as its capital?"  # only countries are rewritten
    assert rewrite("What is the capital of Peru?") == "What is the capital of Peru?"  # not in the graph


def test_a_lead_in_clause_is_dropped(rewrite):
    assert rewrite("My cousin, who collects stamps and likes tea, asked me this: what is the capital of holland?") \
        == "what is the capital of Netherlands?"
    assert drop_lead_in("While reading about the history of jazz last night, I wondered: who leads Peru?") == \
        "who leads Peru?"
    assert drop_lead_in("Which is larger by area, Peru or Chile?") == "Which is larger by area, Peru or Chile?"
    assert drop_lead_in("In which region of the world is Peru?") == "In which region of the world is Peru?"


def test_a_misspelt_first_letter_or_odd_case_is_respelt_when_one_name_is_that_close(rewrite):
    assert rewrite("What is the highest point in rAgentina?") == "What is the highest point in Argentina?"
    assert rewrite("How many people live in Brma?") == "How many people live in Burma?"
    assert rewrite("What is the capital of Brazil?") == "What is the capital of Brazil?"  # not a name here
    assert rewrite("What does Bruma mean?") == "What does Burma mean?"  # a swap in four letters


def test_a_lead_in_that_names_the_subject_stays_and_a_citys_own_name_is_not_rewritten(rewrite):
    assert rewrite("If I travel to Holland, what money will I pay with?") == \
        "If I travel to Netherlands, what money will I pay with?"
    assert rewrite("Ignoring the weather for a moment, where is Burma: which region?") == \
        "where is Burma: which region?"


def test_a_name_that_is_a_citys_label_stays(rewrite):
    assert rewrite("Is Ciudad de Lima the capital of Argentina?") == "Is Ciudad de Lima the capital of Argentina?"


def test_a_word_of_a_longer_name_is_respelt_and_a_sentence_start_is_left(rewrite):
    assert rewrite("Which is larger, Burma or Netherlnds?") == "Which is larger, Burma or Netherlands?"
    assert rewrite("Rurma has how many people?") == "Rurma has how many people?"  # a sentence's first word
    assert rewrite("How many people has Rurma?") == "How many people has Burma?"
    assert rewrite("I wondered: name the countries that border Argentina.") == \
        "name the countries that border Argentina."


def test_initials_typed_in_lower_case_are_read_unless_they_are_a_word(rewrite):
    assert rewrite("what currency does the usa use?") == "what currency does the United States use?"
    assert rewrite("what is the capital of nl?") == "what is the capital of Netherlands?"
    assert rewrite("tell us the capital of Burma") == "tell us the capital of Burma"


NAMES_TTL = """
@prefix kqa: <http://kqa.dev/ontology#> . @prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
kqa:Religion a rdfs:Class ; rdfs:label "religion" .
kqa:EthnicGroup a rdfs:Class ; rdfs:label "ethnic group" .
kqa:Currency a rdfs:Class ; rdfs:label "currency" .
<http://kqa.dev/entity/religion/judaism> a kqa:Religion ; rdfs:label "Judaism" ; skos:altLabel "Jewish" .
<http://kqa.dev/entity/ethnicgroup/jewish> a kqa:EthnicGroup ; rdfs:label "Jewish" .
<http://kqa.dev/entity/currency/brl> a kqa:Currency ; rdfs:label "Brazilian real" ; skos:altLabel "real" .
<http://kqa.dev/entity/currency/usd> a kqa:Currency ; rdfs:label "US dollar" ; skos:altLabel "dollar" .
<http://kqa.dev/entity/currency/cad> a kqa:Currency ; rdfs:label "Canadian dollar" ; skos:altLabel "dollar" .
"""


def test_an_answer_is_named_as_the_graph_names_it():
    from rdflib import Graph

    kg = KnowledgeGraph.from_graph(Graph().parse(data=NAMES_TTL, format="turtle"))
    name = QuestionRewriter(EntityLinker(kg)).name_answer
    assert name("What do shoppers pay with in Brazil?", "reals") == "Brazilian real"
    assert name("What is the main religion of Israel?", "Jewish") == "Judaism"  # the class the question names
    assert name("Which people live in Israel?", "Jewish") == "Jewish"  # a label already: it stays
    assert name("What do shoppers pay with in Canada?", "dollar") == "dollar"  # names two things: unchanged
    assert name("What is the capital of Peru?", "Lima") == "Lima"  # nothing of the graph


def test_a_naming_reader_renames_answers_and_keeps_what_the_model_wrote():
    from kqa.kb.types import Question
    from kqa.readers.combine import NamingReader
    from kqa.readers.types import Answer

    class Fixed:
        name = "dense"

        def answer(self, question, choices=None):
            return Answer(question=question, text="reals", backend="dense", confidence=0.4, evidence=(),
                          latency_ms=1.0, rationale=None, meta={})

        def answer_many(self, questions):
            return [self.answer(q.question) for q in questions]

    reader = NamingReader(Fixed(), lambda question, answer: "Brazilian real" if answer == "reals" else answer)
    answer = reader.answer("What do shoppers pay with in Brazil?")
    assert (answer.text, answer.meta["named_from"], answer.confidence) == ("Brazilian real", "reals", 0.4)
    (many,) = reader.answer_many([Question(id="q", question="What money?", answers=("x",))])
    assert many.text == "Brazilian real" and reader.name == "dense"
    assert reader.answer("Which?", choices=("reals", "pesos")).text == "reals"  # a choice stays as offered


def test_naming_reader_names_each_item_of_a_list_answer():
    from kqa.readers.combine import NamingReader
    from kqa.readers.types import Answer

    class Fixed:
        name = "dense"

        def answer(self, question, choices=None):
            return Answer(question=question, text="Jewish, Muslim, Jewish faith", backend="dense", confidence=0.5,
                          evidence=(), latency_ms=1.0)

    names = {"Jewish": "Judaism", "Jewish faith": "Judaism", "Muslim": "Islam"}
    reader = NamingReader(Fixed(), lambda question, answer: names.get(answer, answer))
    answer = reader.answer("what religions are there?")
    assert answer.text == "Judaism, Islam" and answer.meta["named_from"] == "Jewish, Muslim, Jewish faith"
