"""The graph backend end to end: every question type of the pack, formatting, multiple choice, evidence,
abstention, and SPARQL that no question text can reshape."""

from __future__ import annotations

from collections import defaultdict

import pytest

from kqa.kb.graph import name_key
from kqa.kb.text import answer_key
from kqa.readers.graph_reader import GraphReader
from kqa.readers.types import Backend
from kqa.retrievers.graph_retriever import TEMPLATES, GraphRetriever

TYPES = ("single_hop", "inverse", "two_hop", "comparison", "count", "boolean", "list", "multiple_choice")


def _right(question, answer) -> bool:
    if answer.text is None:
        return False
    if question.type == "list":
        return {name_key(x) for x in question.answer_list} == {name_key(x) for x in answer.meta["answer_list"]}
    # the same answer: a value written with its other names after it ("... (presidential system)") counts
    return answer_key(answer.text) in {answer_key(a) for a in question.answers}


def test_is_a_backend(graph_reader):
    assert isinstance(graph_reader, Backend) and graph_reader.name == "graph"


def test_every_question_type_on_the_dev_split(graph_reader, dev_questions):
    right: dict[str, list[bool]] = defaultdict(list)
    answers = graph_reader.answer_many(dev_questions)
    for q, a in zip(dev_questions, answers):
        right[q.type].append(_right(q, a))
    assert set(right) == set(TYPES)
    for kind, marks in right.items():
        assert sum(marks) / len(marks) >= 0.95, kind


def test_evidence_ids_are_the_gold_triples(graph_reader, dev_questions):
    for q in [q for q in dev_questions if q.type in ("single_hop", "two_hop", "comparison")][:60]:
        answer = graph_reader.answer(q.question, q.choices)
        assert answer.evidence and all(e.source == "graph" for e in answer.evidence)
        assert set(q.gold_triples) <= {e.id for e in answer.evidence}, q.question


@pytest.mark.parametrize("question, text", [
    ("What is the total area of Peru?", "1,285,216 sq km"),
    ("When did Peru gain independence?", "28 July 1821"),
    ("What is the capital of Peru?", "Lima"),
    ("How many countries border Peru?", "5"),
    ("Does Peru border Chile?", "yes"),
    ("Is Quito the capital of Peru?", "no"),
    ("Which countries border Peru?", "Bolivia, Brazil, Chile, Colombia, Ecuador"),
    ("Which is larger by area, Peru or Ecuador?", "Peru"),
    ("Which country has Lima as its capital?", "Peru"),
    ("What currency is used in the country whose capital is Lima?", "Peruvian nuevo sol"),
    ("Which banknotes do shops in Argentinia take?", "Argentine peso"),
])
def test_answers_read_like_the_gold_answers(graph_reader, question, text):
    assert graph_reader.answer(question).text == text


def test_multiple_choice_picks_the_choice_naming_the_graph_answer(graph_reader):
    answer = graph_reader.answer("What is the capital of Peru?", ["Quito", "lima", "Bogota", "Santiago"])
    assert answer.text == "lima" and answer.meta["graph_answer"] == "Lima"
    none = graph_reader.answer("What is the capital of Peru?", ["Quito", "Bogota"])
    assert none.text is None and "choices" in none.meta["reason"]


def test_answer_carries_sparql_meta_and_a_two_hop_path(graph_reader):
    answer = graph_reader.answer("What currency is used in the country whose capital is Lima?")
    assert answer.rationale.startswith("SELECT") and "VALUES" in answer.rationale
    assert answer.meta["query_type"] == "two_hop" and answer.meta["bridge"] == "capital"
    assert answer.meta["path"][0].startswith("Peru — capital — Lima")
    assert answer.meta["linked"][0]["label"] == "Lima"
    assert 0 < answer.confidence <= 1 and answer.latency_ms > 0


@pytest.mark.parametrize("question, reason", [
    ("Who wrote Hamlet?", "no entity"),
    ("What is the favourite food of Peru?", "no relation"),
    ("What is the capital of Atlantis?", "no entity"),
])
def test_abstains_outside_the_graph(graph_reader, question, reason):
    answer = graph_reader.answer(question)
    assert answer.text is None and reason in answer.meta["reason"]


def test_out_of_graph_questions_are_rarely_answered(graph_kg):
    from bench.graph_relations import out_of_graph_questions
    from kqa.models.embedder import HashingEncoder

    reader = GraphReader(graph_kg, encode=lambda texts: HashingEncoder().encode(list(texts)))
    questions = out_of_graph_questions()
    answered = [q for q in questions if reader.answer(q).text is not None]
    assert len(questions) == 50 and len(answered) <= 2, answered


@pytest.mark.parametrize("injection", [
    'Peru" } ; DROP ALL ; SELECT * WHERE { ?s ?p ?o . FILTER("',
    "Peru> } UNION { ?s ?p ?o } #",
    "What is the capital of Peru'} ; INSERT DATA { <a> <b> <c> } #",
])
def test_question_text_cannot_change_the_query(graph_kg, injection):
    retriever = GraphRetriever(graph_kg)
    before = len(graph_kg.graph)
    parsed = retriever.parse(injection)
    if parsed.query is not None:
        assert parsed.query.sparql in TEMPLATES.values()
        for _, term in parsed.query.bindings:  # every bound value is a term of the graph, not question text
            assert (term, None, None) in graph_kg.graph or (None, None, term) in graph_kg.graph \
                or (None, term, None) in graph_kg.graph
    GraphReader(graph_kg, retriever=retriever).answer(injection)
    assert len(graph_kg.graph) == before


def test_subgraph_picture(graph_reader):
    answer = graph_reader.answer("What is the capital of Peru?")
    sub = graph_reader.subgraph(answer, max_edges=20)
    assert sub.number_of_edges() <= 20
    assert any(d["relation"] == "capital" for _, _, d in sub.edges(data=True))
    from kqa.apps.web_render import draw_subgraph  # what the app draws: the answer's triples

    triples = [(sub.nodes[s]["label"], d["relation"], sub.nodes[o]["label"]) for s, o, d in sub.edges(data=True)]
    image = draw_subgraph(triples, answers=[answer.text], entities=["Peru"])
    assert image is not None and image.size[0] > 100


@pytest.mark.parametrize("question, some, none", [
    ("Which countries are in Oceania?", {"Australia", "Fiji", "New Zealand"}, {"France", "Peru", "Japan"}),
    ("Which countries speak Spanish?", {"Argentina", "Bolivia", "Colombia"}, {"Japan", "Norway"}),
    ("In which countries is Islam the main religion?", {"Pakistan", "Egypt"}, {"Peru", "Norway"}),
])
def test_a_continent_a_language_or_a_religion_is_named_and_asked_backwards(graph_reader, question, some, none):
    answer = graph_reader.answer(question)
    assert answer.meta["query_type"] == "inverse", answer.meta.get("reason")
    assert some <= set(answer.meta["answer_list"]) and not none & set(answer.meta["answer_list"])


def test_a_fragment_among_the_languages_is_not_a_name(graph_reader):
    answer = graph_reader.answer("What is the local language of Israel?")
    assert "local" not in [m["label"] for m in answer.meta["linked"]]
    assert answer.text and "Hebrew" in answer.text
