"""Every reader says what it did in a typed trace: one contract over the graph, graph-choice, context,
closed-book, router, vote and rewriting readers (a tiny films graph, a scripted model, a keyword retriever),
and the trace as ``kqa eval`` writes it."""

from __future__ import annotations

import json

import pytest
from rdflib import Graph

from kqa.kb.graph import KnowledgeGraph
from kqa.kb.types import Question
from kqa.models.embedder import HashingEncoder
from kqa.readers.closed_book import ClosedBookReader
from kqa.readers.combine import RewritingReader, RouterReader, VoteReader
from kqa.readers.context_reader import ContextReader
from kqa.readers.graph_choice_reader import GraphChoiceReader
from kqa.readers.graph_reader import GraphReader
from kqa.readers.types import (ClosedBookTrace, CombineTrace, CorpusTrace, GraphTrace, LinkedEntity, trace_record)
from tests.graph.graphs import FILMS
from tests.readers.conftest import KeywordRetriever, ScriptedLM

EX = "http://example.org/film/"
PASSAGES = {
    "pe/government/0": "Peru: the capital is Lima; a presidential republic.",
    "pe/economy/0": "Peru exports copper and gold.",
    "jp/government/0": "Japan: the capital is Tokyo; a parliamentary monarchy.",
}
PERU = "What is the capital of Peru?"


@pytest.fixture(scope="module")
def films_kg() -> KnowledgeGraph:
    return KnowledgeGraph.from_graph(Graph().parse(data=FILMS, format="turtle"))


@pytest.fixture(scope="module")
def films(films_kg) -> GraphReader:
    return GraphReader(films_kg, encode=lambda texts: HashingEncoder().encode(list(texts)))


def _dense() -> ContextReader:
    lm = ScriptedLM({"capital of Peru": " Lima\n"}, word_logprobs={"Lima": -0.05})
    return ContextReader(KeywordRetriever(PASSAGES), lm, k=2)


def _voting_lm() -> ScriptedLM:
    rationales = ["So the answer is Lima.", "So the answer is Cusco.", "So the answer is Lima."]
    return ScriptedLM(lambda prompt, i: "\n" if prompt.endswith("So the answer is") else f" {rationales[i % 1000]}\n\n")


# ------------------------------------------------------------------------------------------------ graph


def test_graph_trace_has_the_linked_entity_relation_sparql_and_triples(films):
    answer = films.answer("Who directed Alien?")
    trace = answer.trace
    assert isinstance(trace, GraphTrace) and answer.text == "Ridley Scott"
    assert trace.sparql == answer.rationale and "VALUES" in trace.sparql
    assert trace.entities == (LinkedEntity("Alien", "Alien", EX + "alien", "Film", 1.0, "exact"),)
    assert (trace.relation, trace.relation_label, trace.query_kind) == (EX + "director", "director", "single_hop")
    assert trace.relation_how in ("pattern", "embedding")
    assert trace.triples == (("Alien", "director", "Ridley Scott"),) and len(answer.evidence) == 1
    assert trace.answer_set == ("Ridley Scott",) and trace.path == () and trace.endpoint is None


def test_graph_trace_keeps_the_whole_answer_set(films):
    answer = films.answer("Which films did Ridley Scott direct?")
    assert answer.trace.answer_set == ("Alien", "Blade Runner", "Gladiator")
    assert answer.text == ", ".join(answer.trace.answer_set) and answer.trace.query_kind == "inverse"
    assert {s for s, _, _ in answer.trace.triples} == set(answer.trace.answer_set)


def test_graph_trace_has_the_two_hop_path(films):
    answer = films.answer("When was the film with Sigourney Weaver released?")
    path = answer.trace.path
    assert answer.trace.query_kind == "two_hop" and len(path) == 2
    # the retriever orders the path's triples by their objects, not bridge first (a follow-up for the retriever)
    assert set(path) == {("Alien", "starring", "Sigourney Weaver"), ("Alien", "release date", "25 May 1979")}
    assert answer.text == "25 May 1979"


def test_graph_abstention_still_says_what_was_linked(films):
    answer = films.answer("What is the favourite food of Ridley Scott?")
    assert answer.text is None and isinstance(answer.trace, GraphTrace)
    assert [e.label for e in answer.trace.entities] == ["Ridley Scott"] and answer.trace.triples == ()


def test_graph_choice_trace_is_the_path_between_question_and_choice(films_kg):
    answer = GraphChoiceReader(films_kg).answer("What did Vangelis compose music for?", ["Blade Runner", "Titanic"])
    trace = answer.trace
    assert answer.text == "Blade Runner" and isinstance(trace, GraphTrace) and trace.sparql is None
    assert trace.query_kind == "relatedness" and [e.label for e in trace.entities] == ["Vangelis"]
    assert trace.path == trace.triples == (("Vangelis", "composedMusicFor", "Blade Runner"),)
    assert len(answer.evidence) == len(trace.path)


# ------------------------------------------------------------------------------------------------ corpus


def test_corpus_trace_names_the_passages_it_read_and_the_model():
    answer = _dense().answer(PERU)
    trace = answer.trace
    assert isinstance(trace, CorpusTrace) and answer.text == "Lima"
    assert [p.id for p in trace.passages] == [e.id for e in answer.evidence] == [
        "passage:pe/government/0", "passage:jp/government/0"]
    assert [p.score for p in trace.passages] == [2.0, 1.0]
    assert trace.lines == (PASSAGES["pe/government/0"], PASSAGES["jp/government/0"])  # no selector: whole
    assert (trace.retriever, trace.k, trace.model, trace.method) == ("keyword", 2, "scripted", "generate")


def test_corpus_trace_for_multiple_choice_has_every_choice_score():
    lm = ScriptedLM(word_logprobs={"Tokyo": -0.1, "Kyoto": -4.0})
    answer = ContextReader(KeywordRetriever(PASSAGES), lm).answer("What is the capital of Japan?", ["Kyoto", "Tokyo"])
    assert answer.text == "Tokyo" and answer.trace.method == "loglikelihood"
    assert answer.trace.choice_logprobs == {"Kyoto": pytest.approx(-4.0), "Tokyo": pytest.approx(-0.1)}


def test_corpus_abstention_without_passages_has_an_empty_trace():
    answer = ContextReader(KeywordRetriever(PASSAGES), ScriptedLM()).answer("Who won the 1930 world cup?")
    assert answer.text is None and answer.trace.passages == () and answer.trace.retriever == "keyword"


# ------------------------------------------------------------------------------------------------ closed book


def test_closed_book_traces_per_mode():
    direct = ClosedBookReader(ScriptedLM()).answer(PERU)
    assert direct.trace == ClosedBookTrace(mode="direct", model="scripted")
    cot_lm = ScriptedLM(lambda p, i: " Peru's capital is Lima. So the answer is Lima.\n\n")
    cot = ClosedBookReader(cot_lm, mode="cot").answer(PERU)
    assert cot.trace.mode == "cot" and cot.trace.rationale == cot.rationale and "Lima" in cot.rationale
    sc = ClosedBookReader(_voting_lm(), mode="self_consistency", n_samples=3, temperature=0.7).answer(PERU)
    assert sc.text == "Lima" and sc.trace.votes == {"Lima": 2, "Cusco": 1} and len(sc.trace.samples) == 3
    assert sc.trace.rationale == sc.rationale and sc.trace.temperature == 0.7
    choice = ClosedBookReader(ScriptedLM(word_logprobs={"Lima": -0.1, "Quito": -3.0})).answer(PERU, ["Quito", "Lima"])
    assert choice.trace.method == "loglikelihood" and set(choice.trace.choice_logprobs) == {"Quito", "Lima"}


# ------------------------------------------------------------------------------------------------ combined


def test_router_trace_says_where_it_routed_and_keeps_that_backends_trace(films):
    router = RouterReader([films, _dense()])
    graph_first = router.answer("Who directed Alien?")
    assert isinstance(graph_first.trace, CombineTrace) and graph_first.trace.combiner == "router"
    assert graph_first.trace.routed_to == "graph" and graph_first.trace.tried == ("graph",)
    assert graph_first.trace.chosen.sparql == graph_first.rationale
    fallen = router.answer_many([Question(id="p", question=PERU, answers=("Lima",))])[0]
    assert fallen.trace.routed_to == "dense" and fallen.trace.tried == ("graph", "dense")
    assert isinstance(fallen.trace.chosen, CorpusTrace)


def test_vote_trace_has_each_backends_answer_and_the_winner(films):
    closed = ClosedBookReader(ScriptedLM({"Peru": " Cusco\n"}))
    answer = VoteReader([films, _dense(), closed]).answer(PERU)
    trace = answer.trace
    assert trace.combiner == "vote" and trace.votes == {"graph": None, "dense": "Lima", "closed_book": "Cusco"}
    assert trace.winner == "dense" and trace.agreeing == 1 and isinstance(trace.chosen, CorpusTrace)


def test_rewriting_keeps_the_wrapped_readers_trace(films):
    answer = RewritingReader(films, lambda q: q.replace("Aliens", "Alien")).answer("Who directed Aliens?")
    assert answer.question == "Who directed Aliens?" and answer.trace.triples == (
        ("Alien", "director", "Ridley Scott"),)
    assert answer.trace.asked_as == "Who directed Alien?"
    same = RewritingReader(films, lambda q: q).answer("Who directed Alien?")
    assert same.trace.asked_as is None  # asked as written: nothing to say


# ------------------------------------------------------------------------------------------------ written


def test_eval_writes_the_trace_as_json_with_its_kind(films):
    from kqa.eval.runner import _record

    question = Question(id="q1", question="Who directed Alien?", answers=("Ridley Scott",))
    routed = RouterReader([films]).answer(question.question)
    record = json.loads(json.dumps(_record(question, routed)))
    assert record["trace"]["kind"] == "combine" and record["trace"]["routed_to"] == "graph"
    chosen = record["trace"]["chosen"]
    assert chosen["kind"] == "graph" and chosen["sparql"] == routed.rationale
    assert chosen["triples"] == [["Alien", "director", "Ridley Scott"]] and chosen["entities"][0]["iri"] == EX + "alien"
    assert trace_record(None) is None
    assert _record(question, _dense().answer(question.question))["trace"]["kind"] == "corpus"
