"""Entity linking (aliases, accents, possessives, misspellings) and relation detection (phrasings, a fake
encoder for the embedding fallback)."""

from __future__ import annotations

import numpy as np
import pytest

from kqa.retrievers.entity_linker import EntityLinker
from kqa.packs.factbook.profile import factbook_profile
from kqa.retrievers.relation_detector import RelationDetector

PROFILE = factbook_profile()
DESCRIPTIONS = {name: rel.description for name, rel in PROFILE.relations.items()}


@pytest.fixture(scope="module")
def linker(graph_kg):
    return EntityLinker(graph_kg)


def _first(linker, question):
    mentions = linker.link(question)
    return [(m.text, m.candidates[0].label, m.kind) for m in mentions]


@pytest.mark.parametrize("question, label", [
    ("What is the capital of Côte d’Ivoire?", "Côte d'Ivoire"),
    ("What is the capital of Cote d'Ivoire?", "Côte d'Ivoire"),
    ("what currency does ivory coast use", "Côte d'Ivoire"),
    ("What is Peru's capital?", "Peru"),
    ("What is THE NETHERLANDS' currency?", "Netherlands"),
    ("Who is the head of state of the USA?", "United States"),
    ("What is the capital of Burma?", "Burma"),
])
def test_exact_names_and_aliases(linker, question, label):
    found = _first(linker, question)
    assert found and found[0][1] == label and found[0][2] == "exact"


@pytest.mark.parametrize("question, label", [
    ("What is the capital of Peur?", "Peru"),
    ("Which banknotes do shops in Argentinia take?", "Argentina"),
    ("Which currency does Venezuella use?", "Venezuela"),
])
def test_misspellings_link_with_a_lower_score(linker, question, label):
    mentions = linker.link(question)
    assert mentions and mentions[0].candidates[0].label == label
    assert mentions[0].kind == "fuzzy" and 0.5 < mentions[0].score < 1.0


@pytest.mark.parametrize("question", ["Who wrote Hamlet?", "How many bones are in the human body?",
                                      "What is the boiling point of water?", "Who won the World Cup?"])
def test_ordinary_words_do_not_link(linker, question):
    assert linker.link(question) == []


def test_longest_match_wins(linker):
    found = _first(linker, "Which country has Guatemala City as its capital?")
    assert found == [("Guatemala City", "Guatemala City", "exact")]


def test_quoted_values_and_internet_codes(linker):
    (m,) = linker.link("Whose top-level domain is .bz?")
    assert m.kind == "value" and str(m.candidates[0].term) == ".bz"
    assert m.candidates[0].facts[0][0].endswith("/bh")  # Belize


@pytest.mark.parametrize("question, relation", [
    ("Which notes and coins do shops in X take?", "currency"),
    ("X's currency?", "currency"),
    ("Which currency does X have?", "currency"),
    ("What time zone is the capital of X in?", "time_zone"),
    ("What is the capital of X?", "capital"),
    ("How high is the highest point of X?", "highest_point_elevation"),
    ("What is the highest point in X?", "highest_point"),
    ("Who leads the government of X?", "head_of_government"),
    ("Who is the head of state of X?", "chief_of_state"),
    ("Is the legislature of X unicameral or bicameral?", "legislature_structure"),
    ("How long do people in X live on average?", "life_expectancy"),
    ("How many people live in X?", "population"),
])
def test_phrasings(question, relation):
    assert RelationDetector(DESCRIPTIONS, patterns=PROFILE.patterns()).detect(question)[0].relation == relation


def test_embedding_fallback_uses_the_given_encoder():
    vocab = ["money", "currency", "capital", "city", "tender"]

    def fake_encode(texts):  # one-hot bag of a tiny vocabulary; (n, 5), L2-normalised
        rows = np.array([[float(w in t.lower()) for w in vocab] for t in texts])
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1.0, norms)

    detector = RelationDetector({"currency": "currency, money used, legal tender", "capital": "capital city"},
                                encode=fake_encode, threshold=0.5, patterns=(), examples={})
    (match,) = detector.detect("Tell me about the tender in X")
    assert match.relation == "currency" and match.method == "embedding"
    assert detector.detect("What is the favourite food of X?") == []  # below the threshold: nothing fits


WORDNET_TTL = """
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix kqa: <http://kqa.dev/ontology#> .
@prefix wn: <http://kqa.dev/wordnet/> .
kqa:hypernym a rdf:Property, owl:TransitiveProperty ; rdfs:label "kind of" .
kqa:partOf a rdf:Property ; rdfs:label "part of" .
kqa:Noun a rdfs:Class ; rdfs:label "noun" .
wn:kind a kqa:Noun ; rdfs:label "kind" .      # WordNet names the very words the questions are phrased in
wn:thing a kqa:Noun ; rdfs:label "thing" .
wn:part a kqa:Noun ; rdfs:label "part" .
wn:thanks a kqa:Noun ; rdfs:label "thanks" .
wn:call a kqa:Noun ; rdfs:label "curtain call" ; kqa:hypernym wn:thanks .
wn:stage a kqa:Noun ; rdfs:label "stage" .
wn:wing a kqa:Noun ; rdfs:label "wing" ; kqa:partOf wn:stage .
"""


def test_question_words_a_dictionary_names_are_not_entities():
    """WordNet has nouns "kind", "thing" and "part": linked, they were masked as "X" and no phrasing of the
    pack ("kinds? of") fit the question any more."""
    from rdflib import Graph

    from kqa.kb.graph import KnowledgeGraph
    from kqa.kb.profile import profile_from_json
    from kqa.packs.wordnet.build import profile
    from kqa.retrievers.graph_retriever import GraphRetriever

    kg = KnowledgeGraph.from_graph(Graph().parse(data=WORDNET_TTL, format="turtle"),
                                   profile=profile_from_json(profile()))
    assert [m.text for m in EntityLinker(kg).link("What kind of thing is a curtain call?")] == ["curtain call"]
    assert [m.text for m in EntityLinker(kg).link("Name a part of a stage.")] == ["stage"]
    retriever = GraphRetriever(kg)
    for question, relation, answer in [("What kind of thing is a curtain call?", "hypernym", "thanks"),
                                       ("What is a wing a part of?", "partOf", "stage")]:
        result = retriever.run(question)
        assert result.query is not None and result.query.relation == relation, result.reason
        assert [kg.label(row[-1]) for row in result.rows] == [answer], result.rows


def test_a_phrasing_whose_relation_holds_another_kind_of_value_does_not_fit():
    detector = RelationDetector({"chief_of_state": "head of state", "independence_date": "independence date"},
                                patterns=[("chief_of_state", r"\bsovereign\b")], threshold=0.4,
                                kinds={"chief_of_state": "entity", "independence_date": "date"})
    assert detector.detect("On what date did X become a sovereign nation?")[0].relation == "independence_date"
    assert detector.detect("Who is the sovereign of X?")[0].relation == "chief_of_state"


def test_who_wants_a_relation_whose_values_are_proper_names():
    relations = {"government_type": "type of government", "head_of_government": "head of government"}
    proper = {"government_type": False, "head_of_government": True}
    detector = RelationDetector(relations, threshold=0.3, proper=proper.__getitem__)
    assert detector.detect("Who runs the government in X?")[0].relation == "head_of_government"
    assert detector.detect("What sort of government does X have?")[0].relation == "government_type"


def _bag_of(vocab):
    def encode(texts):  # one-hot bag of a tiny vocabulary; (n, len(vocab)), L2-normalised
        rows = np.array([[float(w in t.lower()) for w in vocab] for t in texts])
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1.0, norms)
    return encode


def test_a_relation_clearly_ahead_fits_below_the_threshold_one_among_equals_does_not():
    relations = {"currency": "currency, money used", "capital": "capital city"}
    encode = _bag_of(["money", "currency", "capital", "city"])
    strict = RelationDetector(relations, encode=encode, threshold=0.9)
    lenient = RelationDetector(relations, encode=encode, threshold=0.9, floor=0.3, margin=0.05)
    assert strict.detect("Tell me about the money in X") == []
    assert lenient.detect("Tell me about the money in X")[0].relation == "currency"
    assert lenient.detect("Money or city in X?") == []  # both score the same: no relation is ahead


def test_a_name_that_qualifies_a_noun_is_not_the_subject(graph_reader):
    """ "Peru's GDP in US dollars": "US" names a country, but it qualifies "dollars"; Peru is asked about."""
    asked = graph_reader.answer("What is Peru's GDP in US dollars?")
    assert asked.text is not None
    assert asked.text == graph_reader.answer("What is the GDP of Peru?").text
    assert asked.text != graph_reader.answer("What is the GDP of the United States?").text


def test_a_class_of_proper_names_links_only_labels_with_a_capital_letter():
    """A graph parsed from text holds fragments among its names of languages ("local"): linked, "the local
    language of X" named the language "local"."""
    from rdflib import Graph

    from kqa.kb.graph import KnowledgeGraph
    from kqa.kb.profile import profile_from_json
    from tests.graph.graphs import FILMS

    ttl = FILMS + 'ex:film_noir a ex:Genre ; rdfs:label "Film Noir" .\n'

    def linked(profile, question):
        kg = KnowledgeGraph.from_graph(Graph().parse(data=ttl, format="turtle"), profile=profile_from_json(profile))
        return [(m.text, m.candidates[0].label) for m in EntityLinker(kg).link(question)]

    question = "Is Alien a horror film by Ridley Scott, or Film Noir?"
    assert ("horror", "horror") in linked({}, question)
    proper = linked({"proper_name_classes": ["Genre"]}, question)
    assert ("horror", "horror") not in proper  # a lower-case label: a word, not a name
    assert ("Film Noir", "Film Noir") in proper and ("Ridley Scott", "Ridley Scott") in proper
    profile = profile_from_json({"proper_name_classes": ["Genre"]})
    assert profile_from_json(profile.to_json()) == profile
