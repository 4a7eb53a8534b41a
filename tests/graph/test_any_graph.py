"""The graph engine on graphs that are not the Factbook: a films graph (labels, a class hierarchy, numbers and
dates, a relation only ever asked backwards, a transitive one) and a Wikidata-style graph (opaque property ids
named by rdfs:label, schema:name on entities, language-tagged literals). Every question shape, abstention
outside the graph, and bad graphs that must give a clear message rather than a crash. A hashing encoder
stands in for MiniLM here; one slow test runs the real one."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef

from kqa.kb.errors import BadFileError
from kqa.kb.graph import KnowledgeGraph
from kqa.kb.profile import profile_from_json
from kqa.models.embedder import HashingEncoder
from kqa.readers.graph_reader import GraphReader
from kqa.retrievers.graph_retriever import TEMPLATES
from tests.graph.graphs import FILM_QUESTIONS, FILMS, OUT_OF_GRAPH, WIKIDATA, WIKIDATA_PROFILE, WIKIDATA_QUESTIONS


def _encode(texts):
    return HashingEncoder().encode(list(texts))


def _reader(ttl: str, profile: dict | None = None, encode=_encode) -> GraphReader:
    kg = KnowledgeGraph.from_graph(Graph().parse(data=ttl, format="turtle"),
                                   profile=profile_from_json(profile) if profile is not None else None)
    return GraphReader(kg, encode=encode)


@pytest.fixture(scope="module")
def films():
    return _reader(FILMS)


@pytest.fixture(scope="module")
def wikidata():
    return _reader(WIKIDATA, WIKIDATA_PROFILE)


@pytest.mark.parametrize("question, text, kind", FILM_QUESTIONS)
def test_every_shape_on_the_films_graph(films, question, text, kind):
    answer = films.answer(question)
    assert answer.text == text, answer.meta.get("reason")
    assert answer.meta["query_type"] == kind
    assert answer.evidence and all(e.id.startswith("triple:<http://example.org/film/") for e in answer.evidence)
    assert answer.rationale and answer.meta["sparql"].split("\nVALUES")[0] in TEMPLATES.values()


@pytest.mark.parametrize("question, text, kind", WIKIDATA_QUESTIONS)
def test_every_shape_on_a_wikidata_style_graph(wikidata, question, text, kind):
    answer = wikidata.answer(question)
    assert answer.text == text, answer.meta.get("reason")
    assert answer.meta["query_type"] == kind


@pytest.mark.parametrize("question", OUT_OF_GRAPH)
def test_out_of_graph_questions_abstain(films, wikidata, question):
    for reader in (films, wikidata):
        answer = reader.answer(question)
        assert answer.text is None and answer.meta["reason"]


def test_opaque_property_ids_are_named_by_their_labels(wikidata):
    answer = wikidata.answer("Who directed 2001: A Space Odyssey?")
    assert answer.meta["relation"] == "P57"
    assert answer.evidence[0].text == "2001: A Space Odyssey — director — Stanley Kubrick"
    assert wikidata.kg.lookup_name("Les Dents de la mer") == wikidata.kg.lookup_name("Jaws")  # @fr is an alias
    assert wikidata.kg.label(URIRef("http://www.wikidata.org/entity/Q172241")) == "Jaws"  # @en is the label


def test_a_set_answer_comes_back_whole_ordered_by_the_ranking_property():
    reader = _reader(FILMS, {"ranking_property": "http://example.org/film/runtime",
                             "relations": {"runtime": {"unit": "min"}}})
    answer = reader.answer("Which films did Ridley Scott direct?")
    assert answer.text == "Gladiator, Blade Runner, Alien"  # 155, 118, 117 minutes
    assert answer.meta["answer_list"] == ("Gladiator", "Blade Runner", "Alien")
    assert reader.answer("What is the runtime of Gladiator?").text == "155 min"  # the profile's unit


_BILLING = FILMS + """
ex:Billing a owl:Class .
ex:alien_1 a ex:Billing ; ex:film ex:alien ; ex:credit ex:starring ; ex:actor ex:weaver ; ex:order 1 .
ex:alien_2 a ex:Billing ; ex:film ex:alien ; ex:credit ex:starring ; ex:actor ex:hurt ; ex:order 2 .
"""
_BILLING_PROFILE = {"relations": {"starring": {"phrasings": [r"\bstars?\b|\bstarring\b"]}}}
_VALUE_RANK = {"about": "http://example.org/film/film", "relation": "http://example.org/film/credit",
               "value": "http://example.org/film/actor", "rank": "http://example.org/film/order"}


def test_a_set_answer_lists_ranked_values_principal_first():
    plain = _reader(_BILLING, _BILLING_PROFILE)
    assert plain.answer("Who stars in Alien?").text == "John Hurt, Sigourney Weaver"  # no ranks: alphabetical
    reader = _reader(_BILLING, {**_BILLING_PROFILE, "value_rank": _VALUE_RANK})
    answer = reader.answer("Who stars in Alien?")
    assert answer.text == "Sigourney Weaver, John Hurt"  # the profile's rank nodes: 1, then 2
    assert answer.meta["answer_list"] == ("Sigourney Weaver", "John Hurt")
    assert reader.answer("Who is a star of Alien?").text == "Sigourney Weaver"  # one asked for: the principal
    assert plain.answer("Who is a star of Alien?").text == "John Hurt"


def test_a_relation_the_profile_marks_writes_its_values_with_their_other_names():
    skos = "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    ttl = skos + FILMS + 'ex:space_horror skos:altLabel "sci-fi horror", "Space Horror" .\n'
    marked = _reader(ttl, {"relations": {"genre": {"show_aliases": True}}})
    answer = marked.answer("What genre is Alien?")
    assert answer.text == "space horror (sci-fi horror)", answer.meta.get("reason")  # the label's case twin: not again
    assert "space horror (sci-fi horror)" in answer.evidence[0].text
    assert _reader(ttl, {"relations": {"genre": {}}}).answer("What genre is Alien?").text == "space horror"
    assert marked.answer("Who directed Alien?").text == "Ridley Scott"  # other relations as they were
    profile = profile_from_json({"relations": {"genre": {"show_aliases": True}}})
    assert profile_from_json(profile.to_json()) == profile


def test_a_value_rank_needs_all_four_predicates():
    with pytest.raises(BadFileError, match="value_rank"):
        profile_from_json({"value_rank": {"about": "http://example.org/film/film"}})


def test_the_transitive_path_is_the_evidence(films):
    answer = films.answer("Is space horror a kind of horror?")
    assert [e.text for e in answer.evidence] == ["space horror — subgenre of — science fiction horror",
                                                  "science fiction horror — subgenre of — horror"]


def test_the_relation_only_used_backwards_is_found_from_its_object(films):
    answer = films.answer("Who composed the music for Blade Runner?")
    assert answer.meta["relation"] == "composedMusicFor"
    assert answer.evidence[0].id == ("triple:<http://example.org/film/vangelis> "
                                     "<http://example.org/film/composedMusicFor> <http://example.org/film/blade_runner>")


def test_without_an_encoder_word_overlap_still_answers():
    reader = _reader(FILMS, encode=None)
    assert reader.answer("Who directed Titanic?").text == "James Cameron"
    assert reader.answer("What is the favourite food of Ridley Scott?").text is None


# ------------------------------------------------------------------------------------------ bad graphs


def test_a_graph_without_labels_says_so_and_abstains():
    reader = _reader("@prefix ex: <http://example.org/> . ex:a ex:director ex:b . ex:a ex:runtime 90 .")
    assert "no resource has a label" in reader.kg.index.warnings[0]
    answer = reader.answer("Who directed a?")
    assert answer.text is None and "no entity" in answer.meta["reason"]


def test_labels_on_blank_nodes_are_left_out_with_a_warning():
    reader = _reader('@prefix ex: <http://example.org/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
                     '[] rdfs:label "Nobody" ; ex:director ex:b . ex:b rdfs:label "Somebody" .\n'
                     'ex:c rdfs:label "Film C" ; ex:director ex:b .')
    assert any("blank node" in w for w in reader.kg.index.warnings)
    assert reader.answer("Who directed Nobody?").text is None
    assert reader.answer("Who directed Film C?").text == "Somebody"


def test_language_tagged_duplicates_are_one_name():
    reader = _reader('@prefix ex: <http://example.org/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
                     'ex:paris rdfs:label "Paris"@en, "Paris"@fr, "Parigi"@it ; ex:population 2100000 .')
    assert reader.kg.lookup_name("Paris") == (URIRef("http://example.org/paris"),)
    assert reader.kg.label(URIRef("http://example.org/paris")) == "Paris"
    assert reader.answer("What is the population of Parigi?").text == "2,100,000"


def test_one_label_on_two_resources_takes_the_one_with_more_facts():
    reader = _reader('@prefix ex: <http://example.org/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
                     'ex:paris_city rdfs:label "Paris" ; ex:population 2100000 ; ex:mayor ex:hidalgo .\n'
                     'ex:paris_myth rdfs:label "Paris" ; ex:father ex:priam .\n'
                     'ex:hidalgo rdfs:label "Anne Hidalgo" . ex:priam rdfs:label "Priam" .')
    assert any("more than one resource" in w for w in reader.kg.index.warnings)
    assert reader.kg.lookup_name("Paris")[0] == URIRef("http://example.org/paris_city")
    assert reader.answer("Who is the mayor of Paris?").text == "Anne Hidalgo"


def test_a_literal_a_question_names_is_not_an_injection(films):
    answer = films.answer('Who directed "Alien" } ; DROP ALL ; #?')
    before = len(films.kg.graph)
    for _, term in films.retriever.parse('Who directed "Alien" } ; DROP ALL ; #?').query.bindings:
        assert isinstance(term, (URIRef, Literal))
    assert answer.text == "Ridley Scott" and len(films.kg.graph) == before


@pytest.mark.slow
@pytest.mark.real_model
def test_real_minilm_reads_paraphrases_on_the_films_graph():
    from kqa.models.embedder import load_embedder

    embedder = load_embedder()
    reader = _reader(FILMS, encode=lambda texts: embedder.encode(list(texts)))
    for question, text, _ in FILM_QUESTIONS:
        assert reader.answer(question).text == text, question
    assert reader.answer("Who was the film-maker behind Gladiator?").text == "Ridley Scott"
    assert reader.answer("How long does Titanic run?").text == "195"
    for question in OUT_OF_GRAPH:
        assert reader.answer(question).text is None, question
