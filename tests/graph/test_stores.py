"""The graph on Oxigraph (kqa.kb.stores) against the graph in rdflib's memory store: the same index, the same
answers on the Factbook's test split, a store built once and trusted only when its marker matches."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kqa.kb.errors import BadFileError, KqaError
from kqa.kb.graph import load_graph
from kqa.kb.stores import AUTO_OXIGRAPH_BYTES, MARKER, choose_store, open_oxigraph, store_folder, with_values

TINY = """@prefix kqa: <http://kqa.dev/ontology#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
kqa:capital a rdf:Property ; rdfs:comment "the seat of government" .
kqa:motto a rdf:Property .
<http://x/pe> a kqa:Country ; rdfs:label "Peru" ; skos:altLabel "Republic of Peru", "the Peru" ;
  kqa:capital <http://x/lima> ; kqa:motto "Firme y feliz" .
<http://x/ci> a kqa:Country ; rdfs:label "Côte d’Ivoire" ; skos:altLabel "Ivory Coast" ;
  kqa:motto "Union, Discipline, Travail", "Say \\"hi\\"" .
<http://x/lima> a kqa:City ; rdfs:label "Lima" .
"""


def _index_equal(memory, disk) -> None:
    a, b = memory.index, disk.index
    assert dict(b.relations) == dict(a.relations)
    assert {k: b.labels[k] for k in a.labels} == dict(a.labels) and len(b.labels) == len(a.labels)
    assert {k: b.aliases[k] for k in a.aliases} == dict(a.aliases)
    assert {k: b.classes[k] for k in a.classes} == dict(a.classes) and set(b.classes) == set(a.classes)
    assert set(b.names) == set(a.names) and all(b.names[k] == v for k, v in a.names.items())
    assert set(b.values) == set(a.values) and all(sorted(b.values[k]) == sorted(v) for k, v in a.values.items())
    assert dict(b.relation_info) == dict(a.relation_info)
    assert {k: b.degree[k] for k in a.degree} == dict(a.degree) and set(b.degree) == set(a.degree)
    assert dict(b.class_names) == dict(a.class_names)
    # the order of superclasses follows a set's (membership is what is read)
    assert {k: set(v) for k, v in b.superclasses.items()} == {k: set(v) for k, v in a.superclasses.items()}
    assert b.warnings == a.warnings
    assert disk.profile == memory.profile


@pytest.fixture()
def tiny(tmp_path) -> Path:
    path = tmp_path / "graph.ttl"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_tiny_store_index_equals_the_memory_index(tiny, tmp_path):
    memory = load_graph(tiny, store="memory")
    disk = open_oxigraph(tiny, tmp_path / "stores")
    _index_equal(memory, disk)
    assert disk.lookup_name("cote d'ivoire") == memory.lookup_name("cote d'ivoire") != ()
    assert disk.lookup_name("republic of peru") == (next(iter(memory.lookup_name("peru"))),)
    assert disk.index.values["union discipline travail"][0][2].datatype is None  # untyped, as rdflib parses it
    assert disk.lookup_name("atlantis") == () and "atlantis" not in disk.index.names


EDGES = """@prefix ex: <http://ex.org/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
ex:partOf a owl:TransitiveProperty ; rdfs:label "part of" ; rdfs:comment "Teil von"@de, "is part of"@en .
ex:City rdfs:subClassOf ex:Place . ex:Place rdfs:subClassOf ex:Thing . ex:Capital rdfs:subClassOf ex:City .
ex:Place rdfs:label "place (any)" .
ex:a a ex:Capital, ex:City ; ex:title "Alpha Title" ; schema:name "Alpha"@fr, "Alpha Name" ;
  skos:altLabel "Springfield" ; ex:partOf ex:b ; ex:code "AA", "A2" ; ex:pop 12 ; ex:founded "1900-01-01"^^<http://www.w3.org/2001/XMLSchema#date> .
ex:b a ex:Place ; rdfs:label "Springfield"@en, "Beta"@de ; ex:partOf ex:c ; ex:motto "Hallo"@de .
ex:c a ex:Place ; ex:title "Springfield" ; ex:partOf ex:a ; ex:code "CC" .
ex:d ex:title "Delta" ; ex:near ex:a, ex:b, ex:c .  # no tie among classes: see kqa.kb.stores._small_index
_:x rdfs:label "Nameless" ; ex:code "XX" .
"""


def test_store_index_equals_memory_with_a_profile_and_odd_graph(tmp_path):
    """Label predicates from profile.json, language ranking, a blank node's label, subclasses, a transitive
    relation, undeclared predicates, a name shared by three resources: the same index either way."""
    from rdflib import URIRef

    from kqa.kb.profile import PROFILE

    path = tmp_path / "pack" / "graph.ttl"
    path.parent.mkdir()
    path.write_text(EDGES, encoding="utf-8")
    (path.parent / PROFILE).write_text(json.dumps({"label_predicates": ["http://ex.org/title"]}))
    memory = load_graph(path, store="memory")
    disk = open_oxigraph(path, tmp_path / "stores")
    _index_equal(memory, disk)
    assert disk.profile.label_predicates == ("http://ex.org/title",)
    a = URIRef("http://ex.org/a")
    assert disk.labels[a] == "Alpha Name" and "Alpha Title" in disk.index.aliases[a]  # rdfs-like names first
    assert disk.index.relation_info[URIRef("http://ex.org/partOf")].transitive
    assert disk.index.relation_info[URIRef("http://ex.org/partOf")].description == "is part of"
    assert disk.index.superclasses["Capital"] and disk.index.class_names["Place"] == "place (any)"
    assert len(disk.lookup_name("springfield")) == 3 and any("blank" in w for w in disk.index.warnings)
    assert disk.index.degree[a] == memory.index.degree[a] > 0
    def iri_edges(kg):  # a blank node's id is new with each parse
        return sorted(e for e in kg.nx_view().edges(keys=True) if e[0].startswith("http"))

    assert iri_edges(disk) == iri_edges(memory) and len(iri_edges(memory)) > 10
    plain_folder = store_folder(path, tmp_path / "stores")
    assert store_folder(path, tmp_path / "stores", label_predicates=("http://ex.org/title",)) != plain_folder
    assert not plain_folder.exists()  # the store's name carries the label predicates that shaped it


def test_store_is_built_once_and_reopened_read_only(tiny, tmp_path):
    first = open_oxigraph(tiny, tmp_path / "stores")
    folder = store_folder(tiny, tmp_path / "stores")
    marker = json.loads((folder / MARKER).read_text())
    assert marker["triples"] == len(load_graph(tiny, store="memory").graph)
    built = (folder / MARKER).stat().st_mtime_ns
    again = open_oxigraph(tiny, tmp_path / "stores")
    assert (folder / MARKER).stat().st_mtime_ns == built  # opened, not rebuilt
    assert again.query("SELECT ?c WHERE { ?s kqa:capital ?c }") == first.query("SELECT ?c WHERE { ?s kqa:capital ?c }")
    with pytest.raises(Exception):  # read-only: nothing written through the rdflib graph reaches the store
        again.graph.update("INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }")


def test_untrusted_or_changed_store_is_rebuilt(tiny, tmp_path):
    open_oxigraph(tiny, tmp_path / "stores")
    folder = store_folder(tiny, tmp_path / "stores")
    (folder / MARKER).write_text(json.dumps({"graph_sha256": "0" * 64, "version": 1}))  # a copied-in folder
    open_oxigraph(tiny, tmp_path / "stores")
    assert json.loads((folder / MARKER).read_text())["graph_sha256"] != "0" * 64
    tiny.write_text(TINY.replace('"Lima"', '"Lima City"'), encoding="utf-8")
    changed = open_oxigraph(tiny, tmp_path / "stores")
    assert store_folder(tiny, tmp_path / "stores") != folder
    assert changed.labels[next(iter(changed.lookup_name("lima city")))] == "Lima City"


def test_bound_values_stay_values(tiny, tmp_path):
    from rdflib import Literal

    disk = open_oxigraph(tiny, tmp_path / "stores")
    sparql = "SELECT ?s WHERE { ?s kqa:motto ?o }"
    assert disk.query(sparql, {"o": Literal('Say "hi"')}) == [(next(iter(disk.lookup_name("ivory coast"))),)]
    hostile = Literal('x" } UNION { ?s ?p ?o } #')
    assert disk.query(sparql, {"o": hostile}) == []
    assert "VALUES (?o)" in with_values(sparql, {"o": hostile})
    # ASK, and a binding of a variable the SELECT does not project (Oxigraph's own substitutions refuse it)
    assert disk.query("ASK { ?s kqa:capital ?c }", {"c": disk.lookup_name("lima")[0]}) == [(True,)]


def test_readonly_sparql_runs_on_the_store_and_refuses_updates(tiny, tmp_path):
    from kqa.kb.graph import PREFIXES
    from kqa.kb.sparql_guard import UnsafeQueryError, run_readonly

    disk = open_oxigraph(tiny, tmp_path / "stores")
    result = run_readonly(disk.graph, "SELECT ?l WHERE { ?s a kqa:Country ; rdfs:label ?l } ORDER BY ?l",
                          prefixes=PREFIXES)
    assert [str(r[0]) for r in result.rows] == ["Côte d’Ivoire", "Peru"]
    with pytest.raises(UnsafeQueryError):
        run_readonly(disk.graph, "DELETE WHERE { ?s ?p ?o }", prefixes=PREFIXES)


def test_bad_files_and_choices_are_clear(tmp_path, tiny):
    bad = tmp_path / "bad.ttl"
    bad.write_text("<http://x/a> <http://x/b> .\n")
    with pytest.raises(BadFileError, match="not valid turtle"):
        open_oxigraph(bad, tmp_path / "stores")
    assert not [f for f in (tmp_path / "stores").iterdir() if not f.name.endswith(".lock")]  # nothing half-built
    with pytest.raises(KqaError, match="unknown graph store"):
        choose_store(tiny, "sqlite")
    assert choose_store(tiny, "auto") == "memory" and tiny.stat().st_size < AUTO_OXIGRAPH_BYTES
    assert choose_store(tiny, "oxigraph") == "oxigraph"
    with pytest.raises(KqaError, match="no graph file"):
        open_oxigraph(tmp_path / "missing.ttl", tmp_path / "stores")


@pytest.mark.slow
def test_factbook_test_split_same_answers_with_each_store(factbook_pack, tmp_path):
    from kqa.kb.questions import load_questions
    from kqa.readers.graph_reader import GraphReader

    memory = load_graph(factbook_pack, store="memory")
    start = time.perf_counter()
    disk = load_graph(factbook_pack, store="oxigraph", store_dir=tmp_path / "stores")
    assert disk.on_disk and time.perf_counter() - start < 60
    _index_equal(memory, disk)
    questions = load_questions(factbook_pack.questions_path, split="test")
    assert len(questions) > 1000
    here, there = GraphReader(memory), GraphReader(disk)
    answered = 0
    for q in questions:
        a, b = here.answer(q.question, q.choices), there.answer(q.question, q.choices)
        assert b.text == a.text, q.question
        # rows come back in each engine's own order: the same evidence, not always in the same order
        assert sorted(e.id for e in b.evidence) == sorted(e.id for e in a.evidence), q.question
        answered += a.text is not None
    assert answered > 0.9 * len(questions)


def test_two_processes_opening_a_new_store_build_it_once(tiny, tmp_path):
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from kqa.kb.stores import open_oxigraph; "
            "kg = open_oxigraph(Path(sys.argv[1]), Path(sys.argv[2])); print(len(kg.lookup_name('peru')))")
    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tiny), str(tmp_path / "stores")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o.strip() for o, _ in outs] == ["1", "1"]
    folders = [f.name for f in (tmp_path / "stores").iterdir() if not f.name.startswith(".")]
    assert len(folders) == 1 and not [f for f in (tmp_path / "stores").iterdir() if "building" in f.name]


def eager_tokens(kg) -> int:
    from kqa.retrievers.entity_linker import EntityLinker

    return EntityLinker(kg).max_tokens


def test_linker_on_the_store_reads_no_names_at_start_up(tiny, tmp_path, monkeypatch):
    """On Oxigraph the entity linker looks names up when a question asks (a million names take 20 s to read
    into Python): nothing iterates the name, label or class mappings at start-up, and it links as in memory."""
    from kqa.kb import stores
    from kqa.readers.graph_reader import GraphReader
    from kqa.retrievers.entity_linker import EntityLinker

    memory = load_graph(tiny, store="memory")
    disk = open_oxigraph(tiny, tmp_path / "stores")
    assert disk.index.names.name_tokens == 3 and disk.index.names.entity_classes == ("City", "Country")

    def no(self):
        raise AssertionError("read every entry at start-up")

    for mapping in (stores._Names, stores._Labels, stores._Classes, stores._Degree, stores._Values):
        monkeypatch.setattr(mapping, "__iter__", no)
    lazy = EntityLinker(disk)
    reader = GraphReader(disk)  # the graph backend's own start-up, relation detector and classes included
    assert lazy._fuzzy_list is None and lazy.max_tokens == eager_tokens(memory) == 3
    monkeypatch.undo()
    eager = EntityLinker(memory)
    for question in ("What is the capital of Peru?", "What is the motto of cote d'ivoire?",
                     "What is the capital of Peur?", "Which country has the motto \"Firme y feliz\"?",
                     "What is the capital of the Republic of Peru?", "What is the capital of Atlantis?"):
        assert [(m.text, m.kind, [c.term for c in m.candidates]) for m in lazy.link(question)] == \
               [(m.text, m.kind, [c.term for c in m.candidates]) for m in eager.link(question)], question
        assert reader.answer(question).text == GraphReader(memory).answer(question).text, question
    assert lazy._fuzzy_list == eager._fuzzy_keys and "peru" in eager._fuzzy_keys  # read once, for "Peur"
    assert [m.text for m in lazy.link("What is the capital of Peur?") if m.kind == "fuzzy"] == ["Peur"]
    assert reader.answer("What is the capital of Peru?").text == "Lima"


def test_question_rewriter_on_the_store_reads_only_its_classes(tiny, tmp_path, monkeypatch):
    """The rewriter reads the entities of its classes (one query), not every name; it rewrites as in memory."""
    from kqa.kb import stores
    from kqa.retrievers.entity_linker import EntityLinker
    from kqa.retrievers.question_rewrite import QuestionRewriter

    memory = load_graph(tiny, store="memory")
    disk = open_oxigraph(tiny, tmp_path / "stores")
    assert disk.entities_in({"Country"}) == memory.entities_in({"Country"}) == sorted(
        memory.lookup_name("peru") + memory.lookup_name("ivory coast"), key=str)
    assert disk.entities_in({"City"}) == list(memory.lookup_name("lima")) and disk.entities_in(set()) == []

    def no(self):
        raise AssertionError("read every entry at start-up")

    for mapping in (stores._Names, stores._Labels, stores._Classes, stores._Degree, stores._Values):
        monkeypatch.setattr(mapping, "__iter__", no)
    lazy = QuestionRewriter(EntityLinker(disk))
    monkeypatch.undo()
    eager = QuestionRewriter(EntityLinker(memory))
    assert lazy._words == eager._words and "peru" in lazy._words
    for question in ("what is the capital of the republic of peru?", "Is Lima in pErU?", "What is the motto of Ivroy Coast?",
                     "Thinking of travel, what is the capital of Peru?"):
        assert lazy.rewrite(question) == eager.rewrite(question), question
    assert lazy.rewrite("Is Lima in pErU?") == "Is Lima in Peru?"


def test_a_store_from_before_the_linker_fields_still_links(tiny, tmp_path):
    """kqa-index.json without entity_classes and name_tokens (a store built before them): found by query."""
    from kqa.kb.stores import INDEX_FILE
    from kqa.retrievers.entity_linker import EntityLinker

    folder = store_folder(tiny, tmp_path / "stores")
    open_oxigraph(tiny, tmp_path / "stores")
    small = json.loads((folder / INDEX_FILE).read_text())
    del small["entity_classes"], small["name_tokens"]
    (folder / INDEX_FILE).write_text(json.dumps(small))
    disk = open_oxigraph(tiny, tmp_path / "stores")
    assert disk.index.names.name_tokens is None and disk.index.names.entity_classes == ("City", "Country")
    linker = EntityLinker(disk)
    assert linker.max_tokens == 20 and [m.text for m in linker.link("Is Lima in Peru?")] == ["Lima", "Peru"]
