"""The same backend over a real SPARQL endpoint: an Oxigraph server on a free local port, loaded with the
pack's graph.ttl, must give the same answers and the same evidence as the in-memory graph."""

from __future__ import annotations

import pytest

from kqa.kb.errors import KqaError
from kqa.kb.graph import KnowledgeGraph
from kqa.kb.profile import load_profile
from kqa.readers.graph_reader import GraphReader


def test_endpoint_answers_equal_in_memory_answers(oxigraph_endpoint, graph_reader, dev_questions, factbook_pack):
    # an endpoint has no pack folder: the pack's profile is given to it
    remote = GraphReader(KnowledgeGraph.from_endpoint(oxigraph_endpoint, profile=load_profile(factbook_pack.path)))
    picked, per_type = [], {}
    for q in dev_questions:
        if per_type.get(q.type, 0) < 3:
            per_type[q.type] = per_type.get(q.type, 0) + 1
            picked.append(q)
    assert len(per_type) == 8
    for q in picked:
        here, there = graph_reader.answer(q.question, q.choices), remote.answer(q.question, q.choices)
        assert there.text == here.text, q.question
        assert [e.id for e in there.evidence] == [e.id for e in here.evidence], q.question
        assert there.meta["endpoint"] == oxigraph_endpoint


def test_endpoint_gets_values_as_bindings_not_text(oxigraph_endpoint, factbook_pack):
    remote = GraphReader(KnowledgeGraph.from_endpoint(oxigraph_endpoint, profile=load_profile(factbook_pack.path)))
    answer = remote.answer('Which country\'s national anthem is "Himno Nacional del Peru"?')
    assert answer.text == "Peru"
    assert ('VALUES ( ?p ?o ?cls ) { ( <http://kqa.dev/ontology#national_anthem> "Himno Nacional del Peru" '
            '<http://kqa.dev/ontology#Country> ) }') in answer.rationale


def test_unreachable_endpoint_is_a_clear_error():
    with pytest.raises(KqaError, match="SPARQL endpoint"):
        KnowledgeGraph.from_endpoint("http://127.0.0.1:9/query", timeout_s=2)
