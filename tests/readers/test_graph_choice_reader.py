"""Multiple choice by relatedness in the graph, on a tiny WordNet pack built in the test."""

from __future__ import annotations

import pytest

from kqa.readers.graph_choice_reader import GraphChoiceReader
from tests.packs.wordnet_fixture import synset_id, write_wordnet


@pytest.fixture(scope="module")
def kg(tmp_path_factory):
    from kqa.kb.graph import load_graph
    from kqa.packs.wordnet.build import build_wordnet_pack

    source = write_wordnet(tmp_path_factory.mktemp("wordnet"))
    pack = build_wordnet_pack(tmp_path_factory.mktemp("packs") / "wordnet", source=source, per_type=20)
    return load_graph(pack)


def test_links_concepts_not_relation_or_question_words(kg):
    reader = GraphChoiceReader(kg)
    assert [m for m, _ in reader.concepts("What kind of thing is a poodle?")] == ["poodle"]
    assert [m for m, _ in reader.concepts("Is a domestic dog part of a pack of wolves?")] == \
        ["domestic dog", "pack", "wolves"]


def test_picks_the_nearest_choice_with_its_path_as_evidence(kg):
    answer = GraphChoiceReader(kg).answer("What kind of thing is a poodle?", ["cat", "dog", "oak", "lion"])
    assert answer.text == "dog" and answer.backend == "graph"
    assert answer.meta["distances"] == {"dog": 1}  # cat and lion are 5 hops away (via carnivore), oak 7
    (edge,) = answer.evidence
    wn, kqa = "http://kqa.dev/wordnet/", "http://kqa.dev/ontology#"
    assert edge.id == f"triple:<{wn}{synset_id('poodle')}> <{kqa}hypernym> <{wn}{synset_id('dog')}>"
    assert edge.text == "poodle -hypernym-> dog"
    assert 0 < answer.confidence <= 1


def test_inverse_and_other_relations(kg):
    reader = GraphChoiceReader(kg)
    assert reader.answer("Which of these is a kind of canine?", ["rodent", "wolf", "oak", "cat"]).text == "wolf"
    opposite = reader.answer("What is the opposite of hot?", ["cold", "tree", "snore"])
    assert opposite.text == "cold" and opposite.meta["path"] == ("hot -antonym-> cold",)


def test_bfs_distances_equal_networkx_shortest_paths(kg):
    """The oracle: the search's hop counts are networkx's shortest path lengths (edges either way)."""
    reader = GraphChoiceReader(kg, max_hops=10)
    choices = ["cat", "dog", "oak", "lion", "tail", "pack", "bird", "cold"]
    answer = reader.answer("What kind of thing is a beagle?", choices)
    beagle = f"http://kqa.dev/wordnet/{synset_id('beagle')}"
    for choice in choices:
        lengths = [len(path) - 1 for iri in kg.lookup_name(choice) if (path := kg.shortest_path(beagle, iri))]
        assert answer.meta["distances"].get(choice) == (min(lengths) if lengths else None), choice
    assert "cold" not in answer.meta["distances"]  # adjectives join no noun here: no path at all


def test_abstains_when_nothing_connects(kg):
    reader = GraphChoiceReader(kg)
    assert reader.answer("What is a blorptang?", ["dog", "cat"]).meta["reason"] == \
        "no concept of the question is in the graph"
    assert reader.answer("What kind of thing is a poodle?", ["zzz", "qqq"]).meta["reason"] == \
        "no choice names anything in the graph"
    far = GraphChoiceReader(kg, max_hops=2).answer("What kind of thing is a poodle?", ["oak", "snore"])
    assert far.text is None and "within 2 hops" in far.meta["reason"]
    tie = reader.answer("What kind of thing is a fox?", ["wolf", "dog"])  # both sisters: 2 hops each
    assert tie.text is None and "tie at 2 hops" in tie.meta["reason"]


def test_graph_reader_falls_back_to_relatedness_for_choices(kg):
    from kqa.readers.graph_reader import GraphReader

    # no relation of the graph is named, so no query answers: the choice the graph connects to the poodle wins
    answer = GraphReader(kg).answer("Which one goes with a poodle?", ["cat", "dog", "oak"])
    assert answer.text == "dog" and answer.evidence[0].text == "poodle -hypernym-> dog"


def test_meta_names_linked_concepts_like_the_graph_reader(kg):
    from kqa.readers.graph_reader import GraphReader

    reader = GraphReader(kg)
    answer = reader.answer("What kind of thing is a poodle?", ["cat", "dog", "oak"])
    (linked,) = answer.meta["linked"]
    assert (linked["mention"], linked["label"], linked["class"]) == ("poodle", "poodle", "Noun")
    picture = reader.subgraph(answer)  # what the app draws: the path's edge and the linked concept
    assert picture.has_edge(f"http://kqa.dev/wordnet/{synset_id('poodle')}", f"http://kqa.dev/wordnet/{synset_id('dog')}")
