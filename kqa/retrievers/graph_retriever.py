"""Question -> structured query -> SPARQL -> ranked triples, over a KnowledgeGraph in memory or at an endpoint.

``GraphRetriever.parse`` reads a question into a ``GraphQuery``: its type (single hop, inverse, two hop,
comparison, count, boolean, list), the linked entities, the relation and the SPARQL template with its
bindings. The templates below are fixed strings; every value in a query (an entity IRI, a relation, a
literal) is a term taken from the graph itself and passed as a binding (``initBindings`` in memory, a
``VALUES`` block written by rdflib at an endpoint), so no text of a question can change a query's shape.

``GraphRetriever.run`` executes the query and returns a ``GraphResult``: the rows, the triples they rest on
as Evidence (ids from ``kb.graph_build.triple_id``) and, for two hops, the path. It never writes an answer:
``readers.graph_reader`` turns rows into text.

>>> retriever = GraphRetriever(load_graph(pack))  # doctest: +SKIP
>>> result = retriever.run("What is the capital of Peru?")  # doctest: +SKIP
>>> result.query.kind, result.evidence[0].text  # doctest: +SKIP
('single_hop', 'Peru — capital — Lima')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kqa.kb.graph import KnowledgeGraph, format_value
from kqa.kb.rdf import KQA_NS, triple_id
from kqa.kb.types import Evidence
from kqa.retrievers.entity_linker import Candidate, EntityLinker, Mention
from kqa.retrievers.relation_detector import Encode, RelationDetector, RelationMatch

# ------------------------------------------------------------------------------------------ templates
# Fixed query shapes. A class test is a FILTER, not a triple of the pattern: rdflib orders a pattern's
# triples before it sees the bindings, and would start from every Country (7 ms) rather than from the value. Variables bound from the graph: ?s subject, ?p relation, ?o object, ?bridge, ?v,
# ?a / ?b the two sides of a comparison.

LOOKUP = """SELECT ?s ?p ?o ?label WHERE {
  ?s ?p ?o .
  OPTIONAL { ?o rdfs:label ?label }
}"""

INVERSE = """SELECT ?s ?p ?o ?label WHERE {
  ?s ?p ?o .
  FILTER EXISTS { ?s a kqa:Country }
  OPTIONAL { ?s rdfs:label ?label }
}"""

TWO_HOP = """SELECT ?s ?bridge ?v ?p ?o ?label WHERE {
  ?s ?bridge ?v .
  ?s ?p ?o .
  FILTER EXISTS { ?s a kqa:Country }
  OPTIONAL { ?o rdfs:label ?label }
}"""

COMPARE = """SELECT ?a ?p ?va ?b ?vb WHERE {
  ?a ?p ?va .
  ?b ?p ?vb .
}"""

COUNT = """SELECT ?s ?p (COUNT(DISTINCT ?o) AS ?n) WHERE {
  ?s ?p ?o .
} GROUP BY ?s ?p"""

ASK = """ASK { ?s ?p ?o }"""

LINKS = """SELECT DISTINCT ?p WHERE {
  ?s ?p ?o .
  FILTER EXISTS { ?s a kqa:Country }
}"""

TEMPLATES: Mapping[str, str] = {"lookup": LOOKUP, "inverse": INVERSE, "two_hop": TWO_HOP, "compare": COMPARE,
                                "count": COUNT, "ask": ASK, "links": LINKS}

# What a relation's object is, for choosing among a mention's candidates.
OBJECT_CLASS = {"capital": "City", "currency": "Currency", "chief_of_state": "Person",
                "head_of_government": "Person", "highest_point": "Place", "lowest_point": "Place",
                "borders": "Country", "official_language": "Language", "language": "Language"}
DEFAULT_INVERSE = {"City": "capital", "Currency": "currency", "Person": "chief_of_state", "Place": "highest_point"}
ORDERED = ("area", "land_area", "population", "gdp", "coastline", "highest_point_elevation",
           "lowest_point_elevation", "mean_elevation", "land_boundaries", "median_age", "life_expectancy",
           "airports", "independence_date")
COUNTABLE = ("borders", "official_language", "language", "religion", "ethnic_group", "natural_resource",
             "capital", "map_region", "internet_tld", "national_symbol")

_TWO_HOP_CUE = re.compile(r"\b(?:the|a) (?:country|nation|state|territory) (?:whose|that has|with|where)\b", re.I)
_INVERSE_CUE = re.compile(r"\b(?:which|what) (?:country|countries|nation|state|territory)\b|\bwhose\b", re.I)
_BOOLEAN_CUE = re.compile(r"^\s*(?:is|are|does|do|did|has|have|can|was|were)\b", re.I)
_LIST_CUE = re.compile(r"\b(?:which|what) (?:countries|languages|nations)\b|\bname (?:all|every)\b|\blist\b|"
                       r"\ball (?:the|of the)\b|\bwhat are the\b|\bwhich are the\b|\bneighbours\b|\bneighbors\b",
                       re.I)
_SMALLER = re.compile(r"\b(?:smaller|smallest|fewer|less|lower|shorter|earlier|older|first|sooner|poorer|"
                      r"younger population|lower)\b", re.I)
_HOW_MANY = re.compile(r"\bhow many\b|\bnumber of\b", re.I)


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class GraphQuery:
    """A parsed question: what to ask the graph and how."""

    kind: str  # single_hop | inverse | two_hop | comparison | count | boolean | list
    relation: str  # local name of the relation asked for
    template: str  # key in TEMPLATES
    bindings: tuple[tuple[str, Any], ...]  # (variable, rdflib term), every one taken from the graph
    entities: tuple[Candidate, ...]  # what the question's mentions were linked to, in question order
    relation_match: RelationMatch | None = None
    bridge: str | None = None  # two hops: the relation from the bridge value to the country
    order: str | None = None  # comparison: "max" or "min"
    target: Any = None  # boolean: the object the question proposes

    @property
    def sparql(self) -> str:
        return TEMPLATES[self.template]

    def sparql_text(self) -> str:
        """The template with its bindings written as a trailing VALUES block: what a person reads (and what
        rdflib sends to an endpoint)."""
        if not self.bindings:
            return self.sparql
        names = " ".join(f"?{k}" for k, _ in self.bindings)
        values = " ".join(v.n3() for _, v in self.bindings)
        return f"{self.sparql}\nVALUES ( {names} ) {{ ( {values} ) }}"


@dataclass(frozen=True)
class GraphResult:
    """What the graph said about one question. ``query`` is None when the question could not be parsed,
    and ``reason`` says why."""

    question: str
    query: GraphQuery | None
    rows: tuple[tuple[Any, ...], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    path: tuple[Evidence, ...] = ()  # two hops: bridge triple, then answer triple(s)
    mentions: tuple[Mention, ...] = ()
    reason: str | None = None
    extra_queries: tuple[GraphQuery, ...] = ()  # e.g. the lookup whose triples back a count or a "no"

    @property
    def ok(self) -> bool:
        return self.query is not None and self.reason is None


@dataclass
class _Parse:
    query: GraphQuery | None = None
    reason: str | None = None
    mentions: tuple[Mention, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------------------ retriever


class GraphRetriever:
    """Parses questions into GraphQuery objects and runs them on ``kg``. ``name = "graph"``."""

    name = "graph"

    def __init__(self, kg: KnowledgeGraph, *, encode: Encode | None = None, linker: EntityLinker | None = None,
                 detector: RelationDetector | None = None, relation_threshold: float = 0.6):
        self.kg = kg
        self.linker = linker or EntityLinker(kg)
        self.rel_iri = {_local(r): r for r in kg.index.relations}
        descriptions = {_local(r): d for r, d in kg.index.relations.items()}
        self.detector = detector or RelationDetector(descriptions, encode=encode, threshold=relation_threshold)

    # ---------------------------------------------------------------- Retriever protocol

    def retrieve(self, question: str, k: int = 5) -> list[Evidence]:
        return list(self.run(question).evidence[:k])

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[Evidence]]:
        return [self.retrieve(q, k) for q in questions]

    # ---------------------------------------------------------------- parse

    def parse(self, question: str, choices: Sequence[str] | None = None) -> _Parse:
        mentions = tuple(self.linker.link(question))
        out = _Parse(mentions=mentions)
        if not mentions:
            out.reason = "no entity of the graph is named in the question"
            return out
        yes_no = bool(choices) and {c.strip().lower() for c in choices} == {"yes", "no"}
        countries = [m for m in mentions if m.of_class("Country")]
        try:
            query = (
                self._two_hop(question, mentions)
                or self._comparison(question, countries)
                or (self._boolean(question, mentions, countries) if yes_no or _BOOLEAN_CUE.search(question) else None)
                or self._inverse(question, mentions)
                or self._about_country(question, mentions, countries)
            )
        except _NoParse as err:
            out.reason = str(err)
            return out
        out.query = query
        return out

    def _masked(self, question: str, mentions: Sequence[Mention]) -> str:
        text = question
        for m in sorted(mentions, key=lambda m: -m.start):
            text = text[:m.start] + "X" + text[m.end:]
        return text

    def _relations(self, text: str, allowed: Sequence[str] | None = None) -> list[RelationMatch]:
        allowed = [r for r in (allowed or self.rel_iri) if r in self.rel_iri]
        return self.detector.detect(text, allowed=allowed)

    def _two_hop(self, question: str, mentions: Sequence[Mention]) -> GraphQuery | None:
        cue = _TWO_HOP_CUE.search(question)
        if not cue:
            return None
        after = [m for m in mentions if m.start >= cue.end()]
        if not after:
            raise _NoParse("two hops: no entity named after the bridge phrase")
        bridge_mention = after[0]
        main_text = question[:cue.start()] + "X" + question[bridge_mention.end:]
        bridge_text = question[cue.start():bridge_mention.start]
        value, bridge = self._bridge(bridge_mention, bridge_text)
        rels = self._relations(main_text)
        if not rels:
            raise _NoParse("no relation of the graph fits the question")
        rel = rels[0]
        return GraphQuery("two_hop", rel.relation, "two_hop",
                          (("bridge", self.rel_iri[bridge]), ("v", value), ("p", self.rel_iri[rel.relation])),
                          (bridge_mention.candidates[0],), relation_match=rel, bridge=bridge)

    def _bridge(self, mention: Mention, text: str) -> tuple[Any, str]:
        """The bridge value and the relation that leads from it to its country."""
        for cand in sorted(mention.candidates, key=lambda c: c.cls == "Country"):
            links = self._links(cand)
            if not links:
                continue
            wanted = [r.relation for r in self._relations(self._masked(text, []), allowed=links)]
            return cand.term, (wanted[0] if wanted else sorted(links)[0])
        raise _NoParse(f"two hops: {mention.text!r} is not a value of any country's relation")

    def _links(self, cand: Candidate) -> list[str]:
        if cand.facts:
            return sorted({_local(p) for _, p, _ in cand.facts})
        rows = self.kg.query(LINKS, {"o": cand.term})
        return sorted({_local(r[0]) for r in rows if _local(r[0]) in self.rel_iri})

    def _comparison(self, question: str, countries: Sequence[Mention]) -> GraphQuery | None:
        if len(countries) < 2 or not re.search(r"\bor\b", question[countries[0].end:countries[-1].start], re.I):
            return None
        a, b = countries[0].of_class("Country")[0], countries[-1].of_class("Country")[0]
        rels = self._relations(self._masked(question, countries), allowed=ORDERED)
        if not rels:
            raise _NoParse("comparison: no numeric or date relation fits the question")
        rel = rels[0]
        order = "min" if _SMALLER.search(question) else "max"
        return GraphQuery("comparison", rel.relation, "compare",
                          (("a", a.term), ("b", b.term), ("p", self.rel_iri[rel.relation])), (a, b),
                          relation_match=rel, order=order)

    def _boolean(self, question: str, mentions: Sequence[Mention], countries: Sequence[Mention]) -> GraphQuery | None:
        if len(mentions) < 2:
            return None
        masked = self._masked(question, mentions)
        rels = self._relations(masked)
        if not rels:
            raise _NoParse("no relation of the graph fits the question")
        rel = rels[0]
        want = OBJECT_CLASS.get(rel.relation)
        subject_m, object_m = _subject_and_object(question, mentions, want)
        if subject_m is None or object_m is None:
            return None
        subject = subject_m.of_class("Country")[0]
        target = (object_m.of_class(want) or object_m.candidates)[0] if want else object_m.candidates[0]
        return GraphQuery("boolean", rel.relation, "ask",
                          (("s", subject.term), ("p", self.rel_iri[rel.relation]), ("o", target.term)),
                          (subject, target), relation_match=rel, target=target.term)

    def _inverse(self, question: str, mentions: Sequence[Mention]) -> GraphQuery | None:
        if not _INVERSE_CUE.search(question):
            return None
        values = [m for m in mentions if any(c.cls != "Country" for c in m.candidates)]
        if not values:
            return None
        mention = values[0]
        cand = next(c for c in mention.candidates if c.cls != "Country")
        links = self._links(cand)
        if not links:
            return None
        masked = self._masked(question, [mention])
        if mention.of_class("Country"):
            # "Which countries border Montenegro?" names the country, not Portugal's prime minister
            # Luís Montenegro: read it as inverse only when what it asks is a relation into the value.
            asked = self._relations(masked)
            if asked and asked[0].relation not in links:
                return None
        rels = self._relations(masked, allowed=links)
        relation = rels[0].relation if rels else DEFAULT_INVERSE.get(cand.cls, links[0])
        if relation not in links:
            relation = links[0]
        return GraphQuery("inverse", relation, "inverse", (("p", self.rel_iri[relation]), ("o", cand.term)), (cand,),
                          relation_match=rels[0] if rels else None)

    def _about_country(self, question: str, mentions: Sequence[Mention], countries: Sequence[Mention]) -> GraphQuery:
        if not countries:
            raise _NoParse("no country of the graph is named in the question")
        masked = self._masked(question, mentions)
        rels = self._relations(masked)
        if not rels:
            raise _NoParse("no relation of the graph fits the question")
        subject = countries[-1].of_class("Country")[0] if len(countries) > 1 and re.search(
            r"\b(?:of|in|for|does)\s*$", question[:countries[-1].start]) else countries[0].of_class("Country")[0]
        rel = rels[0]
        if _HOW_MANY.search(question) and rel.relation in COUNTABLE:
            return GraphQuery("count", rel.relation, "count", (("s", subject.term), ("p", self.rel_iri[rel.relation])),
                              (subject,), relation_match=rel)
        kind = "list" if _LIST_CUE.search(question) and rel.relation in COUNTABLE else "single_hop"
        return GraphQuery(kind, rel.relation, "lookup", (("s", subject.term), ("p", self.rel_iri[rel.relation])),
                          (subject,), relation_match=rel)

    # ---------------------------------------------------------------- run

    def run(self, question: str, choices: Sequence[str] | None = None) -> GraphResult:
        parsed = self.parse(question, choices)
        if parsed.query is None:
            return GraphResult(question, None, mentions=parsed.mentions, reason=parsed.reason)
        query = parsed.query
        rows = tuple(self.kg.query(query.sparql, dict(query.bindings)))
        extra: list[GraphQuery] = []
        score = _score(query, parsed.mentions)
        if query.kind in ("single_hop", "list", "inverse"):
            evidence = self._evidence([(r[0], r[1], r[2]) for r in rows], score)
            if not rows:
                return GraphResult(question, query, mentions=parsed.mentions,
                                   reason=f"the graph has no {query.relation} for {_names(query)}")
            return GraphResult(question, query, rows, evidence, mentions=parsed.mentions)
        if query.kind == "two_hop":
            bridge = list(dict.fromkeys((r[0], r[1], r[2]) for r in rows))
            answer = [(r[0], r[3], r[4]) for r in rows]
            if not rows:
                return GraphResult(question, query, mentions=parsed.mentions,
                                   reason=f"the graph has no {query.relation} for the country of {_names(query)}")
            path = self._evidence(bridge + answer, score)
            return GraphResult(question, query, rows, path, path=path, mentions=parsed.mentions)
        if query.kind == "comparison":
            b = dict(query.bindings)
            triples = [(b["a"], b["p"], r[2]) for r in rows] + [(b["b"], b["p"], r[4]) for r in rows]
            if not rows:
                return GraphResult(question, query, mentions=parsed.mentions,
                                   reason=f"the graph lacks {query.relation} for one of {_names(query)}")
            return GraphResult(question, query, rows, self._evidence(list(dict.fromkeys(triples)), score),
                               mentions=parsed.mentions)
        # count and boolean: the answer query, plus the lookup whose triples back it
        b = dict(query.bindings)
        lookup = GraphQuery("single_hop", query.relation, "lookup", (("s", b["s"]), ("p", b["p"])), query.entities)
        extra.append(lookup)
        lookup_rows = self.kg.query(LOOKUP, {"s": b["s"], "p": b["p"]})
        triples = [(r[0], r[1], r[2]) for r in lookup_rows]
        if query.kind == "boolean":
            hit = [t for t in triples if t[2] == query.target]
            triples = hit or triples
        return GraphResult(question, query, rows, self._evidence(triples, score), mentions=parsed.mentions,
                           extra_queries=tuple(extra))

    def _evidence(self, triples: Sequence[tuple[Any, Any, Any]], score: float) -> tuple[Evidence, ...]:
        out = []
        ordered = sorted(dict.fromkeys(triples), key=lambda t: (format_value(self.kg, t[2], _local(t[1])).lower()))
        for s, p, o in ordered:
            rel = _local(p)
            o = _canonical(o)
            text = f"{self.kg.label(s)} — {rel.replace('_', ' ')} — {format_value(self.kg, o, rel)}"
            out.append(Evidence(id=triple_id(s, p, o), text=text, source="graph", score=round(score, 4)))
        return tuple(out)


class _NoParse(Exception):
    """The question cannot be read as a query over this graph; the message says why."""


def _subject_and_object(question: str, mentions: Sequence[Mention], want: str | None):
    """For "Is V the capital of C?" / "Is the capital of C V?" / "Does A border B?": which mention is the
    country asked about and which is the value proposed."""
    pair = list(mentions[:2]) if len(mentions) >= 2 else []
    if len(pair) < 2:
        return None, None
    first, second = pair
    if want and want != "Country":
        if first.of_class(want) and second.of_class("Country") and not (second.of_class(want) and first.of_class("Country")
                                                                        and re.search(r"\bof\s*$", question[:first.start])):
            return second, first
        if second.of_class(want) and first.of_class("Country"):
            return first, second
        return None, None
    if first.of_class("Country") and second.of_class("Country"):
        return first, second
    return None, None


def _canonical(term):
    """A decimal as the pack's Turtle writes it ("21041.0"), whatever lexical form an endpoint sent back
    ("21041"), so that evidence ids are the same in memory and at an endpoint."""
    from rdflib import XSD, Literal

    if isinstance(term, Literal) and term.datatype == XSD.decimal and "." not in str(term) and "e" not in str(term).lower():
        return Literal(f"{term}.0", datatype=XSD.decimal)
    return term


def _score(query: GraphQuery, mentions: Sequence[Mention]) -> float:
    link = min((m.score for m in mentions), default=1.0)
    rel = query.relation_match.score if query.relation_match else 0.8
    return float(min(link, rel))


def _names(query: GraphQuery) -> str:
    return ", ".join(c.label for c in query.entities)


def _local(term) -> str:
    text = str(term)
    return text[len(KQA_NS):] if text.startswith(KQA_NS) else re.split(r"[#/]", text)[-1]


__all__ = ["GraphRetriever", "GraphQuery", "GraphResult", "TEMPLATES"]
