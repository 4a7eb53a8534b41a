"""A profile's reverse phrasings ("name a kind of X": X is the relation's object) and its
``choice_relatedness`` flag, on the Wikidata-style graph of ``graphs.py``: nothing here is WordNet's."""

from __future__ import annotations

import pytest
from rdflib import Graph

from kqa.kb.errors import BadFileError
from kqa.kb.graph import KnowledgeGraph
from kqa.kb.profile import profile_from_json
from kqa.models.embedder import HashingEncoder
from kqa.readers.graph_reader import GraphReader
from kqa.readers.types import GraphTrace
from tests.graph.graphs import WIKIDATA, WIKIDATA_PROFILE

P279 = "http://www.wikidata.org/prop/direct/P279"
SUBCLASS = {"phrasings": ["\\bsubclass of\\b", "\\bkinds? of\\b"],
            "reverse_phrasings": ["\\b(?:kinds?|subclass(?:es)?) of (?:an? |the )?x\\b"]}


def _reader(**profile) -> GraphReader:
    data = {**WIKIDATA_PROFILE, "relations": {"P279": SUBCLASS}, **profile}
    kg = KnowledgeGraph.from_graph(Graph().parse(data=WIKIDATA, format="turtle"), profile=profile_from_json(data))
    return GraphReader(kg, encode=lambda texts: HashingEncoder().encode(list(texts)))


@pytest.fixture(scope="module")
def taxonomy():
    return _reader()


def test_name_a_kind_of_asks_for_the_subjects_and_names_one(taxonomy):
    answer = taxonomy.answer("Name a kind of work.")
    assert answer.meta["query_type"] == "inverse"
    assert answer.text == "audiovisual work"  # one of the two, as asked; alphabetical without a ranking property
    assert answer.meta["answer_list"] == ("audiovisual work", "video game")
    assert [e.text for e in answer.evidence] == ["audiovisual work — subclass of — work",
                                                  "video game — subclass of — work"]


def test_the_forward_wording_still_reads_upward(taxonomy):
    answer = taxonomy.answer("What is a film a kind of?")
    assert (answer.text, answer.meta["query_type"]) == ("audiovisual work", "single_hop")


def test_how_many_kinds_counts_the_subjects(taxonomy):
    answer = taxonomy.answer("How many kinds of work are there?")
    assert (answer.text, answer.meta["query_type"]) == ("2", "count")
    assert "COUNT(DISTINCT ?s)" in answer.rationale  # counted from the object's side


def test_which_of_these_is_a_kind_of_picks_a_subject(taxonomy):
    # a film is a kind of work too, but two steps down: the question asks for a direct kind
    answer = taxonomy.answer("Which of these is a kind of work?", ["film", "video game", "Jaws"])
    assert answer.text == "video game"
    assert answer.meta["graph_answer"] == "audiovisual work"  # the one the graph ranks first


def test_without_the_reverse_phrasing_the_question_reads_upward_and_misses():
    answer = _reader(relations={"P279": {"phrasings": SUBCLASS["phrasings"]}}).answer("Name a kind of work.")
    assert answer.text not in ("audiovisual work", "video game")


def test_choice_relatedness_is_the_packs_choice(taxonomy):
    # the graph's direct kinds of work (audiovisual work, video game) are not offered; film is one two steps down
    question, choices = "Which of these is a kind of work?", ["film", "Jaws"]
    facts = taxonomy.answer(question, choices)
    assert facts.text is None and "none of the choices" in facts.meta["reason"]
    concepts = _reader(choice_relatedness=True).answer(question, choices)
    assert concepts.text == "film"
    assert isinstance(concepts.trace, GraphTrace) and concepts.trace.query_kind == "relatedness"
    assert [e.text for e in concepts.evidence] == ["audiovisual work -P279-> work", "film -P279-> audiovisual work"]


def test_the_profile_keeps_both_and_refuses_bad_ones():
    profile = profile_from_json({"relations": {"P279": SUBCLASS}, "choice_relatedness": True})
    assert profile.reverse_patterns() == [("P279", SUBCLASS["reverse_phrasings"][0])]
    assert profile_from_json(profile.to_json()) == profile
    with pytest.raises(BadFileError, match="bad phrasing"):
        profile_from_json({"relations": {"P279": {"reverse_phrasings": ["(kind of x"]}}})
    with pytest.raises(BadFileError, match="choice_relatedness"):
        profile_from_json({"choice_relatedness": "yes"})


def test_what_two_things_have_in_common_is_their_nearest_common_ancestor():
    reader = _reader(relations={"P279": {**SUBCLASS, "phrasings": [*SUBCLASS["phrasings"], "\\bin common\\b"]}})
    answer = reader.answer("What do a film and a video game have in common?")
    assert (answer.text, answer.meta["query_type"]) == ("work", "common")
    assert [e.text for e in answer.evidence] == ["film — subclass of — audiovisual work",
                                                  "audiovisual work — subclass of — work",
                                                  "video game — subclass of — work"]


SENSES = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
ex:kindOf rdfs:label "kind of" .
ex:bank_slope rdfs:label "bank" ; ex:kindOf ex:slope ; ex:uses 30 .
ex:bank_firm rdfs:label "bank" ; skos:altLabel "depository" ; ex:kindOf ex:institution ; ex:uses 12 .
ex:savings_bank rdfs:label "savings bank" ; ex:kindOf ex:bank_firm .
ex:depository_warehouse rdfs:label "depository" ; ex:kindOf ex:building .
ex:slope rdfs:label "slope" . ex:institution rdfs:label "institution" . ex:building rdfs:label "building" .
"""


def _senses_reader() -> GraphReader:
    profile = {"transitive": ["http://example.org/kindOf"], "popularity_property": "http://example.org/uses",
               "relations": {"kindOf": {"phrasings": ["\\bkind of\\b"]}}}
    kg = KnowledgeGraph.from_graph(Graph().parse(data=SENSES, format="turtle"), profile=profile_from_json(profile))
    return GraphReader(kg, encode=lambda texts: HashingEncoder().encode(list(texts)))


def test_a_name_means_its_most_popular_bearer_and_its_own_label_before_an_alias():
    reader = _senses_reader()
    assert reader.answer("What is a bank a kind of?").text == "slope"  # 30 uses against 12
    assert reader.answer("What is a depository a kind of?").text == "building"  # its own label, not an alias


def test_a_kind_of_question_accepts_any_sense_of_the_proposed_class():
    answer = _senses_reader().answer("Is a savings bank a kind of bank?")  # the firm, not the more used slope
    assert answer.text == "yes"
    assert [e.text for e in answer.evidence] == ["savings bank — kind of — bank"]


def test_the_triple_naming_the_chosen_answer_comes_first(taxonomy):
    answer = taxonomy.answer("Which of these is a kind of work?", ["Jaws", "video game"])
    assert answer.text == "video game"
    assert answer.evidence[0].text == "video game — subclass of — work"  # not audiovisual work, first by name
    assert taxonomy.answer("Is a film a subclass of work?", ["yes", "no"]).text == "yes"
