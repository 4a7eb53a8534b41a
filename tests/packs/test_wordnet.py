"""The WordNet pack: the wndb parser and the builder on a tiny database written by the test (fast), and one
slow test that builds the real pack from Debian's wordnet-base."""

from __future__ import annotations

import json
import time

import pytest

from kqa.kb.errors import BadFileError
from kqa.packs.wordnet.parse import load_sense_order, load_wordnet, parse_data_file, split_gloss
from tests.packs.wordnet_fixture import NOUNS, synset_id, write_wordnet

KQA = "http://kqa.dev/ontology#"


@pytest.fixture(scope="module")
def wordnet_dir(tmp_path_factory):
    return write_wordnet(tmp_path_factory.mktemp("wordnet"))


@pytest.fixture(scope="module")
def tiny_pack(wordnet_dir, tmp_path_factory):
    from kqa.packs.wordnet.build import build_wordnet_pack

    return build_wordnet_pack(tmp_path_factory.mktemp("packs") / "wordnet", source=wordnet_dir, per_type=40)


@pytest.fixture(scope="module")
def tiny_graph(tiny_pack):
    from kqa.kb.rdf import load_rdf

    return load_rdf(tiny_pack.graph_path)


def test_parser_reads_lemmas_gloss_pointers_and_counts(wordnet_dir):
    synsets = load_wordnet(wordnet_dir)
    assert len(synsets) == len(NOUNS) + 4 + 3
    dog = synsets[synset_id("dog")]
    assert dog.lemmas == ("dog", "domestic dog") and dog.pos == "n" and dog.lexname == 5
    assert dog.definition == "a domesticated canine"
    assert dog.examples == ("the dog barked all night", "a dog's life")
    assert [(p.symbol, p.target) for p in dog.pointers] == [("@", synset_id("canine")), ("%p", synset_id("tail"))]
    assert dog.tag_count == 42 and synsets[synset_id("cad")].tag_count == 1  # "dog" as a cad: dog%1:18:01::
    assert synsets[synset_id("warm")].tag_count == 7  # a satellite's key names its head: warm%5:00:00:hot:00
    hot = synsets[synset_id("hot")]
    antonym = next(p for p in hot.pointers if p.symbol == "!")
    assert (antonym.target, antonym.source_word, antonym.target_word) == (synset_id("cold"), 1, 1)
    assert load_sense_order(wordnet_dir)[("dog", "n")] == (synset_id("dog"), synset_id("cad"))
    assert load_sense_order(wordnet_dir)[("domestic dog", "n")] == (synset_id("dog"),)


def test_split_gloss():
    assert split_gloss('be asleep; "the cat sleeps"; "zzz"') == ("be asleep", ("the cat sleeps", "zzz"))
    assert split_gloss("a plain gloss") == ("a plain gloss", ())


def test_a_line_off_its_byte_offset_is_refused(wordnet_dir, tmp_path):
    text = (wordnet_dir / "data.noun").read_text()
    lines = text.splitlines(keepends=True)
    lines[3] = lines[3].replace(" 03 n ", " 3 n ", 1)  # one byte shorter: every later offset is now wrong
    (tmp_path / "data.noun").write_text("".join(lines))
    with pytest.raises(BadFileError, match="not the line's byte offset") as err:
        parse_data_file(tmp_path / "data.noun", "n")
    assert err.value.line == 5


def test_pack_files_and_counts(tiny_pack, tiny_graph):
    manifest = tiny_pack.manifest
    assert manifest["name"] == "wordnet"
    assert manifest["counts"]["triples"] == len(tiny_graph)  # the hand-written Turtle parses to what was counted
    assert manifest["counts"]["passages"] == manifest["counts"]["synsets"] == len(NOUNS) + 7
    assert (tiny_pack.path / "profile.json").is_file()
    profile = json.loads((tiny_pack.path / "profile.json").read_text())
    assert profile["transitive"] == [f"{KQA}hypernym"] and profile["ranking_property"] == f"{KQA}tagCount"


def test_graph_labels_relations_and_schema(tiny_graph):
    from rdflib import Literal, URIRef
    from rdflib.namespace import OWL, RDF, RDFS, SKOS

    wn = "http://kqa.dev/wordnet/"
    dog, canine, tail = (URIRef(wn + synset_id(k)) for k in ("dog", "canine", "tail"))
    assert tiny_graph.value(dog, RDFS.label) == Literal("dog")
    assert set(tiny_graph.objects(dog, SKOS.altLabel)) == {Literal("domestic dog")}
    assert tiny_graph.value(dog, RDFS.comment) == Literal("a domesticated canine")
    assert (dog, URIRef(KQA + "hypernym"), canine) in tiny_graph
    assert (tail, URIRef(KQA + "partOf"), dog) in tiny_graph
    assert (dog, URIRef(KQA + "partOf"), tail) not in tiny_graph  # one direction of each inverse pair
    assert (URIRef(KQA + "hypernym"), RDF.type, OWL.TransitiveProperty) in tiny_graph
    assert tiny_graph.value(URIRef(KQA + "partOf"), RDFS.label) == Literal("part of")
    hot, cold = URIRef(wn + synset_id("hot")), URIRef(wn + synset_id("cold"))
    assert (hot, URIRef(KQA + "antonym"), cold) in tiny_graph and (cold, URIRef(KQA + "antonym"), hot) in tiny_graph
    assert (URIRef(wn + synset_id("snore")), URIRef(KQA + "entails"), URIRef(wn + synset_id("sleep"))) in tiny_graph
    assert tiny_graph.value(dog, URIRef(KQA + "tagCount")).toPython() == 42


def test_corpus_passage_per_synset(tiny_pack):
    from kqa.kb.corpus import load_corpus

    passages = {p.id: p for p in load_corpus(tiny_pack.corpus_path)}
    dog = passages[f"wn/{synset_id('dog')}"]
    assert dog.title == "dog" and dog.section == "noun.animal"
    assert dog.text == ('dog (noun), also called domestic dog: a domesticated canine.\n'
                        'Examples: "the dog barked all night"; "a dog\'s life".')


def _questions(pack):
    from kqa.kb.questions import load_questions

    return load_questions(pack.questions_path)


def test_questions_have_answers_the_graph_proves(tiny_pack, tiny_graph):
    """An oracle: every yes/no answer equals a SPARQL property path over the graph, and every gold triple is
    in the graph."""
    from rdflib import Literal

    questions = _questions(tiny_pack)
    types = {q.type for q in questions}
    assert {"kind_of", "kinds", "is_a", "part_of", "parts", "opposite", "common_kind", "count", "entails"} <= types
    is_a = [q for q in questions if q.type == "is_a"]
    assert {q.answers[0] for q in is_a} == {"yes", "no"}
    for q in is_a:
        word = q.question.split(" a kind of ")[1].rstrip("?")
        asked = ("ASK { ?s kqa:hypernym+ ?y . { ?y rdfs:label ?w } UNION { ?y skos:altLabel ?w } }")
        from rdflib import URIRef

        truth = tiny_graph.query(asked, initNs={"kqa": KQA, "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
                                                 "skos": "http://www.w3.org/2004/02/skos/core#"},
                                 initBindings={"s": URIRef("http://kqa.dev/wordnet/" + q.subject), "w": Literal(word)})
        assert ("yes" if truth.askAnswer else "no") == q.answers[0], q.question
    from rdflib import Graph

    for q in questions:
        for triple in q.gold_triples:
            (t,) = Graph().parse(data=triple.removeprefix("triple:") + " .", format="nt")
            assert t in tiny_graph, (q.question, triple)


def test_question_examples(tiny_pack):
    by_text = {q.question: q for q in _questions(tiny_pack)}
    assert by_text["What kind of thing is a dog?"].answers == ("canine", "canid")  # the first sense, not the cad
    assert by_text["What is the opposite of hot?"].answers == ("cold",)
    assert by_text["What is a tail a part of?"].answers == ("dog", "domestic dog")
    assert by_text["What must you do when you snore?"].answers == ("sleep",)
    count = by_text["How many kinds of dog does WordNet list?"]
    assert count.answers == ("3",) and len(count.gold_triples) == 3
    yes = [q for q in _questions(tiny_pack) if q.type == "is_a" and q.answers == ("yes",)]
    assert yes and all(len(q.gold_triples) == q.hops for q in yes)  # the chain up, one triple a hop
    assert {q.hops for q in yes} <= set(range(1, 7)) and len({q.hops for q in yes}) >= 3


def test_split_is_by_subject(tiny_pack):
    from kqa.packs.wordnet.question_build import split_of

    for q in _questions(tiny_pack):
        assert q.split == split_of(q.subject)


def test_multiple_choice_distractors_are_wrong(tiny_pack, tiny_graph):
    questions = [q for q in _questions(tiny_pack) if q.type == "multiple_choice"]
    assert questions
    for q in questions:
        assert len(q.choices) == 4 and q.answers[0] in q.choices and len(set(q.choices)) == 4


def test_info_reports_the_pack(tiny_pack, capsys):
    from kqa.apps.cli import main

    assert main(["info", "--pack", str(tiny_pack.path)]) == 0
    out = capsys.readouterr().out
    assert "kqa pack: wordnet" in out and "hypernym" in out and "WordNet 3.0" in out


@pytest.mark.slow
def test_real_wordnet_pack(tmp_path):
    from kqa.packs.wordnet.build import build_wordnet_pack

    start = time.perf_counter()
    pack = build_wordnet_pack(tmp_path / "wordnet")
    seconds = time.perf_counter() - start
    counts = pack.manifest["counts"]
    assert counts["synsets"] == 82115 + 13767 + 18156  # WordNet 3.0's nouns, verbs and adjectives
    assert counts["triples"] >= 100_000 and counts["passages"] >= 50_000
    assert counts["questions"] >= 3000 and len(counts["questions_by_type"]) >= 7
    assert set(counts["is_a_by_hops"]) == {str(h) for h in range(1, 7)} or set(counts["is_a_by_hops"]) == set(range(1, 7))
    assert seconds < 120


def test_pack_names_resolve_under_kqa_home(monkeypatch, tmp_path):
    import argparse

    from kqa.apps.cli import _pack_dir

    monkeypatch.setenv("KQA_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert _pack_dir(argparse.Namespace(pack="wordnet")) == tmp_path / "packs" / "wordnet"  # as argparse gives it
    mine = tmp_path / "elsewhere"
    assert _pack_dir(argparse.Namespace(pack=str(mine))) == mine


def test_the_graph_backend_answers_every_question_type(tiny_pack):
    """The schema-agnostic engine, told only the pack's profile.json, on every question the tiny pack has:
    "name a kind of X" and "how many kinds of X" read hypernymy backwards (the profile's reverse phrasings)."""
    from kqa.eval.metrics import score_answer
    from kqa.kb.graph import load_graph
    from kqa.readers.graph_reader import GraphReader

    reader = GraphReader(load_graph(tiny_pack))  # no encoder: the profile's phrasings decide
    questions = _questions(tiny_pack)
    wrong = [(q.question, q.answers[:3], a.text, a.meta.get("reason")) for q in questions
             if not score_answer(q, (a := reader.answer(q.question, q.choices)).text).correct]
    assert not wrong, wrong
    dog = reader.answer("Name a kind of dog.")
    assert dog.meta["query_type"] == "inverse" and dog.text == "poodle"  # one, the most often tagged of the three
    assert set(dog.meta["answer_list"]) == {"poodle", "beagle", "terrier"}
    assert reader.answer("How many kinds of dog does WordNet list?").text == "3"


def test_examples_follow_the_pack(tiny_pack, tmp_path, capsys):
    from kqa.apps import web
    from kqa.apps.cli import main
    from kqa.apps.wiring import BackendPool, Options

    examples = web.pack_examples(BackendPool(Options(pack=tiny_pack.path, model_cache=tmp_path)))
    by_type = {t: (q, c) for t, q, c in examples}
    assert {"kind of", "kinds", "is a", "count", "multiple choice"} <= set(by_type)
    asked = {q.question for q in _questions(tiny_pack)}
    assert all(q in asked for q, _ in by_type.values())  # the pack's own questions, not the Factbook's
    assert by_type["multiple choice"][1].count(";") == 3  # its four choices
    assert web.pack_examples(BackendPool(Options(pack=tmp_path / "none", model_cache=tmp_path))) == web.EXAMPLES
    assert main(["info", "--pack", str(tiny_pack.path)]) == 0
    out = capsys.readouterr().out
    assert "questions to try" in out and "Name a kind" in out and "multiple_choice" in out


def test_the_bench_sample_is_stratified_and_seeded(tiny_pack):
    from collections import Counter

    from bench.wordnet_sample import sample

    rows = [json.loads(line) for line in (tiny_pack.path / "questions.jsonl").read_text().splitlines()]
    chosen = sample(rows, per_hop=2, mc=3, per_type=1, seed=5)
    assert chosen == sample(rows, per_hop=2, mc=3, per_type=1, seed=5)
    assert all(r["split"] == "test" for r in chosen)
    is_a = Counter((r["hops"], r["answers"][0]) for r in chosen if r["type"] == "is_a")
    assert is_a and max(is_a.values()) == 1  # one yes and one no at each hop count, where there are some
    kinds = Counter(r["type"] for r in chosen if r["type"] not in ("is_a", "multiple_choice"))
    assert set(kinds.values()) == {1}
    assert sum(r["type"] == "multiple_choice" for r in chosen) <= 3
