"""Turn parsed Factbook records into an RDF graph: entities with labels and aliases, typed literals, and
the raw Factbook string behind every field.

Schema (prefix ``kqa:`` = ``http://kqa.dev/ontology#``, entities under ``http://kqa.dev/entity/``):

- a country: ``ent:country/pe a kqa:Country; rdfs:label "Peru"; skos:altLabel "Republic of Peru"; kqa:code "pe"``
- an entity fact: ``ent:country/pe kqa:capital ent:city/lima`` with ``ent:city/lima a kqa:City; rdfs:label "Lima"``
- a literal fact: ``ent:country/pe kqa:area "1285216"^^xsd:decimal`` (numbers and dates typed, so SPARQL can
  compare, sort and count)
- principal first: ``ent:rank/pk/language/1 a kqa:RankedValue; kqa:about ent:country/pk; kqa:relation
  kqa:language; kqa:value ent:language/punjabi; kqa:rank 1`` for each value of a ranked relation (languages:
  official first, then by the share the Factbook gives; religions: by share), and the first one also as a
  plain fact of its own relation (``kqa:main_language``, ``kqa:main_religion``)
- where it came from: ``ent:source/pe/capital a kqa:SourceField; kqa:about ent:country/pe; kqa:relation
  kqa:capital; kqa:field "Government/Capital/name"; kqa:rawText "Lima"; kqa:parseStatus "parsed"``

Evidence ids for triples are ``"triple:" + the three terms in N-Triples form``; ``triple_id`` makes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from kqa.kb.rdf import KQA_NS, triple_id
from kqa.kb.text import normalize_name, strip_accents
from kqa.packs.factbook.parse import RELATIONS, CountryRecord, Fact, Relation

ENTITY_NS = "http://kqa.dev/entity/"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", strip_accents(text).lower()).strip("_") or "x"


def country_iri(code: str) -> str:
    return f"{ENTITY_NS}country/{code}"


def entity_iri(object_class: str, key: str) -> str:
    return f"{ENTITY_NS}{object_class.lower()}/{_slug(key)}"


def object_term(fact: Fact, relation: Relation):
    """The RDF object of a fact: an entity IRI for entity relations, a typed literal otherwise."""
    from rdflib import XSD, Literal, URIRef

    if relation.object_class == "Country":
        return URIRef(country_iri(str(fact.object_key)))
    if relation.object_class:
        return URIRef(entity_iri(relation.object_class, fact.object_key or str(fact.value)))
    value = fact.value
    if relation.datatype == "date":
        if isinstance(value, dt.date):
            return Literal(value.isoformat(), datatype=XSD.date)
        return Literal(f"{int(value):04d}", datatype=XSD.gYear)
    if relation.datatype == "integer":
        return Literal(str(int(value)), datatype=XSD.integer)
    if relation.datatype == "decimal":
        # "9104.0", not "9104": the canonical form Turtle writes back, so ids survive a round trip
        text = f"{float(value):.6f}".rstrip("0")
        return Literal(text + "0" if text.endswith(".") else text, datatype=XSD.decimal)
    return Literal(str(value))


def literal_display(fact: Fact, relation: Relation) -> str:
    """How a literal reads to a person and as a gold answer: '1,285,216 sq km', '28 July 1821', 'Lima'."""
    value = fact.value
    if relation.datatype == "date":
        if isinstance(value, dt.date):
            return f"{value.day} {value.strftime('%B')} {value.year}"
        return str(value)
    if relation.datatype in ("integer", "decimal"):
        number = float(value)
        text = f"{int(number):,}" if number == int(number) else f"{number:,.2f}".rstrip("0").rstrip(".")
        if relation.unit == "USD":
            return f"${text}"
        return f"{text} {relation.unit}" if relation.unit else text
    return str(value)


def build_graph(records: dict[str, CountryRecord]):
    """The rdflib Graph of every record. Returns ``(graph, counts)`` with fact / label / provenance counts."""
    from rdflib import RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef

    kqa = Namespace(KQA_NS)
    graph = Graph()
    graph.bind("kqa", kqa)
    graph.bind("ent", Namespace(ENTITY_NS))
    graph.bind("skos", SKOS)
    counts = {"fact": 0, "label": 0, "provenance": 0, "rank": 0}
    labelled: set[str] = set()

    def add(s, p, o, kind: str) -> None:
        if (s, p, o) not in graph:
            graph.add((s, p, o))
            counts[kind] += 1

    def add_labels(node, cls: str, label: str, aliases: Iterable[str]) -> None:
        if str(node) in labelled:
            for alias in aliases:
                if alias != label:
                    add(node, SKOS.altLabel, Literal(alias), "label")
            return
        labelled.add(str(node))
        add(node, RDF.type, kqa[cls], "label")
        add(node, RDFS.label, Literal(label), "label")
        for alias in sorted(set(aliases)):
            if alias and alias != label:
                add(node, SKOS.altLabel, Literal(alias), "label")

    for relation in RELATIONS:
        add(kqa[relation.name], RDF.type, RDF.Property, "label")
        add(kqa[relation.name], RDFS.comment, Literal(relation.description), "label")

    for code, record in sorted(records.items()):
        node = URIRef(country_iri(code))
        add_labels(node, "Country", record.label, record.aliases)
        add(node, kqa.code, Literal(code), "label")
    for code, record in sorted(records.items()):
        node = URIRef(country_iri(code))
        by_relation = {r.name: r for r in RELATIONS}
        for fact in record.facts:
            relation = by_relation[fact.relation]
            obj = object_term(fact, relation)
            if relation.object_class and relation.object_class != "Country":
                add_labels(obj, relation.object_class, str(fact.value), fact.aliases)
            add(node, kqa[relation.name], obj, "fact")
            if fact.rank is not None:
                ranked = URIRef(f"{ENTITY_NS}rank/{code}/{relation.name}/{fact.rank}")
                add(ranked, RDF.type, kqa.RankedValue, "rank")
                add(ranked, kqa.about, node, "rank")
                add(ranked, kqa.relation, kqa[relation.name], "rank")
                add(ranked, kqa.value, obj, "rank")
                add(ranked, kqa.rank, Literal(fact.rank), "rank")
        for name, (status, reason) in sorted(record.outcomes.items()):
            if status == "missing":
                continue
            field, raw = record.raw_values[name]
            src = URIRef(f"{ENTITY_NS}source/{code}/{name}")
            add(src, RDF.type, kqa.SourceField, "provenance")
            add(src, kqa.about, node, "provenance")
            add(src, kqa.relation, kqa[name], "provenance")
            add(src, kqa.field, Literal(field), "provenance")
            add(src, kqa.rawText, Literal(raw), "provenance")
            add(src, kqa.parseStatus, Literal(status), "provenance")
            if reason:
                add(src, kqa.parseNote, Literal(reason), "provenance")
    return graph, counts


def fact_triple(fact: Fact):
    """The (s, p, o) rdflib terms of one fact."""
    from rdflib import Namespace, URIRef

    relation = next(r for r in RELATIONS if r.name == fact.relation)
    return URIRef(country_iri(fact.subject)), Namespace(KQA_NS)[fact.relation], object_term(fact, relation)


__all__ = ["build_graph", "country_iri", "entity_iri", "fact_triple", "literal_display", "normalize_name",
           "object_term", "triple_id", "KQA_NS", "ENTITY_NS"]
