"""Hold a knowledge graph for question answering: the rdflib graph, an index of names, and a networkx view.

``load_graph(pack, cache_dir=...)`` parses the pack's ``graph.ttl`` once and keeps a pickled copy (graph and
indexes) in the user's own cache folder (never in the pack: see ``kb.cache``), keyed by a hash of the file, so
that the next start takes about a second and a half instead of parsing Turtle again.
``KnowledgeGraph.from_endpoint(url)`` runs the same code over any SPARQL 1.1 endpoint (Oxigraph, Fuseki,
Virtuoso) through rdflib's ``SPARQLStore``: the indexes come from three queries, and every query the
retrievers send carries its values as bindings, never as text spliced in.

This file knows nothing of questions or models: it loads, indexes and looks up.

>>> kg = load_graph(open_pack("~/.cache/kqa/packs/factbook"))  # doctest: +SKIP
>>> [kg.labels[iri] for iri in kg.lookup_name("ivory coast")]  # doctest: +SKIP
["Cote d'Ivoire"]
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kqa.kb.cache import cached_pickle, sha256_hex
from kqa.kb.errors import KqaError
from kqa.kb.pack import Pack
from kqa.kb.rdf import KQA_NS, load_rdf
from kqa.kb.text import normalize_name

CACHE_VERSION = 1  # bump when the cached form changes

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_PROPERTY = "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

PREFIXES = {
    "kqa": KQA_NS,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def name_key(text: str) -> str:
    """The key names are looked up on: accents, case, a leading 'the', possessive 's, apostrophes (straight
    or curly) and punctuation folded. "Côte d’Ivoire" and "cote d'ivoire" give the same key; "Peru's" gives
    "peru"."""
    key = normalize_name(text)
    key = re.sub(r"'s\b", "", key).replace("'", " ")
    return re.sub(r"\s+", " ", key).strip()


@dataclass(frozen=True)
class GraphIndex:
    """What the graph's names and relations look like, computed once per graph."""

    names: Mapping[str, tuple[Any, ...]]  # name_key -> entity IRIs (rdflib URIRef), labels before aliases
    labels: Mapping[Any, str]  # entity IRI -> rdfs:label
    aliases: Mapping[Any, tuple[str, ...]]  # entity IRI -> every name it has, label first
    classes: Mapping[Any, str]  # entity IRI -> class local name: "Country", "City" ...
    relations: Mapping[Any, str]  # relation IRI -> its description (rdfs:comment)
    values: Mapping[str, tuple[tuple[Any, Any, Any], ...]]  # name_key of a plain literal -> (s, p, o) facts


class KnowledgeGraph:
    """An rdflib graph (in memory or over a SPARQL endpoint) plus the indexes a question answerer needs."""

    def __init__(self, graph, index: GraphIndex, *, source: str, remote: bool = False):
        self.graph = graph
        self.index = index
        self.source = source  # a file path or an endpoint URL, for messages and meta
        self.remote = remote
        self._nx = None

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_graph(cls, graph, *, source: str = "memory") -> KnowledgeGraph:
        return cls(graph, build_index(graph.triples((None, None, None))), source=source)

    @classmethod
    def from_endpoint(cls, url: str, *, timeout_s: float = 30.0) -> KnowledgeGraph:
        """Any SPARQL 1.1 query endpoint. The name index comes from one query over labels and facts."""
        from rdflib import Graph
        from rdflib.plugins.stores.sparqlstore import SPARQLStore

        store = SPARQLStore(query_endpoint=url, method="POST", returnFormat="json", timeout=timeout_s)
        graph = Graph(store=store)
        try:
            rows = graph.query(_INDEX_QUERY)
            triples = [(row[0], row[1], row[2]) for row in rows]
        except Exception as err:  # urllib, HTTP and parser errors all mean the same to the user
            raise KqaError(f"cannot query the SPARQL endpoint {url} ({type(err).__name__}: {str(err)[:200]}); "
                           "is the server running and does the URL end in /query?") from None
        return cls(graph, build_index(triples), source=url, remote=True)

    # ---------------------------------------------------------------- lookups

    @property
    def labels(self) -> Mapping[Any, str]:
        return self.index.labels

    def lookup_name(self, text: str) -> tuple[Any, ...]:
        """Entity IRIs whose label or alias has the same ``name_key`` as ``text``."""
        return self.index.names.get(name_key(text), ())

    def label(self, term) -> str:
        """A person's name for a term: the entity's label, or the literal's text."""
        return self.index.labels.get(term) or _local_name(term)

    def entity_class(self, iri) -> str | None:
        return self.index.classes.get(iri)

    def query(self, sparql: str, bindings: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one query template with its values bound as parameters; rows as tuples of rdflib terms.

        In memory the template is parsed once and kept; over an endpoint rdflib sends the bindings as a
        trailing ``VALUES`` block, each term written by rdflib itself (so a quote in a value stays in it)."""
        bindings = dict(bindings or {})
        if self.remote:
            result = self.graph.query(sparql, initNs=PREFIXES, initBindings=bindings)
        else:
            result = self.graph.query(_prepared(sparql), initBindings=bindings)
        if result.type == "ASK":
            return [(bool(result.askAnswer),)]
        return [tuple(row) for row in result]

    # ---------------------------------------------------------------- networkx view

    def nx_view(self):
        """A networkx MultiDiGraph of the fact triples (no labels, no provenance): entity IRIs and literal
        values as nodes (str), one edge per triple with ``relation`` set. Built on first use."""
        if self._nx is None:
            import networkx as nx

            view = nx.MultiDiGraph()
            if self.remote:
                triples = [tuple(r) for r in self.graph.query(_FACTS_QUERY)]
            else:
                rels = set(self.index.relations)
                triples = [(s, p, o) for s, p, o in self.graph.triples((None, None, None)) if p in rels]
            for s, p, o in triples:
                target = _object_node(s, p, o)
                view.add_edge(str(s), target, key=_local_name(p), relation=_local_name(p))
                if target != str(o):  # a literal: its own node per triple, so "1" airports joins nothing
                    view.nodes[target].update(label=str(o), cls="Literal")
            for node, attrs in view.nodes(data=True):
                if "cls" not in attrs:
                    attrs["label"] = self.index.labels.get(_as_iri(node), _local_name(node))
                    attrs["cls"] = self.index.classes.get(_as_iri(node), "Entity")
            self._nx = view
        return self._nx

    def neighbourhood(self, entities: Iterable[Any], *, radius: int = 1, max_edges: int = 60,
                      keep: Iterable[tuple[Any, Any, Any]] = ()):
        """A small subgraph around ``entities`` for showing: their edges out to ``radius`` hops, the
        triples in ``keep`` always, at most ``max_edges`` edges in all (kept triples first)."""
        import networkx as nx

        view = self.nx_view()
        sub = nx.MultiDiGraph()
        edges: list[tuple[str, str, str]] = [(str(s), _object_node(s, p, o), _local_name(p)) for s, p, o in keep]
        frontier = {str(e) for e in entities if str(e) in view}
        seen = set(frontier)
        for _ in range(max(radius, 0)):
            nxt = set()
            for node in sorted(frontier):
                for _, o, key in view.out_edges(node, keys=True):
                    edges.append((node, o, key))
                    nxt.add(o)
                for s, _, key in view.in_edges(node, keys=True):
                    edges.append((s, node, key))
                    nxt.add(s)
            frontier = nxt - seen
            seen |= nxt
        kept = list(dict.fromkeys(edges[:len(keep)] if keep else []))
        rest = [e for e in dict.fromkeys(edges) if e not in set(kept)]
        seen_per_relation: dict[str, int] = defaultdict(int)
        ranked = []
        for edge in rest:  # one edge of each relation before a second of any: a varied picture
            ranked.append((seen_per_relation[edge[2]], len(ranked), edge))
            seen_per_relation[edge[2]] += 1
        chosen = kept + [edge for _, _, edge in sorted(ranked)]
        for s, o, key in chosen[:max_edges]:
            sub.add_edge(s, o, key=key, relation=key)
        for node in sub.nodes:
            sub.nodes[node].update(view.nodes[node] if node in view else {"label": _local_name(node), "cls": "Entity"})
        return sub

    def shortest_path(self, a, b) -> list[str]:
        """Node ids along the shortest path between two terms, ignoring edge direction ([] if none)."""
        import networkx as nx

        try:
            return nx.shortest_path(self.nx_view().to_undirected(as_view=True), str(a), str(b))
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return []


# -------------------------------------------------------------------- how values read


def format_value(kg: KnowledgeGraph, term, relation: str | None = None) -> str:
    """A term as a person reads it and as the pack's gold answers write it: an entity's label, a number with
    its unit ("1,285,216 sq km", "$74,080,000,000", "32,768,614"), a date ("28 July 1821") or a year."""
    from rdflib import Literal

    from kqa.packs.factbook.parse import RELATION_BY_NAME, Fact
    from kqa.packs.factbook.graph_build import literal_display

    if not isinstance(term, Literal):
        return kg.label(term)
    rel = RELATION_BY_NAME.get(relation or "")
    value = term.toPython()
    if rel is None or isinstance(value, Literal) or rel.object_class:
        return str(term)
    if rel.datatype in ("integer", "decimal") and not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return str(term)
    return literal_display(Fact(subject="", relation=rel.name, value=value, raw="", field=""), rel)


# -------------------------------------------------------------------- loading with a cache


def load_graph(pack: Pack | str | Path, *, cache_dir: Path | str | None = None) -> KnowledgeGraph:
    """The pack's graph (a Pack or a path to a pack folder or to an RDF file).

    Parsing takes about 3 s for the Factbook pack. With ``cache_dir`` (the apps pass ``<kqa_home>/cache``)
    the graph and its indexes are kept pickled there, named by the file's SHA-256, and later loads read that
    copy; nothing in the pack folder is ever unpickled (see ``kb.cache``). ``cache_dir=None`` parses every time."""
    if isinstance(pack, Pack):
        path = pack.graph_path
    else:
        path = Path(pack).expanduser()
        if path.is_dir():
            from kqa.kb.pack import open_pack

            path = open_pack(path).graph_path
    if not path.is_file():
        raise KqaError(f"no graph file at {path}: run `kqa build` first")
    data = path.read_bytes()  # parsed from these very bytes, so the cache's name matches what it holds

    def parse() -> tuple[Any, GraphIndex]:
        graph = load_rdf(path, data=data)
        return graph, KnowledgeGraph.from_graph(graph).index

    graph, index = cached_pickle(cache_dir, f"graph-{sha256_hex(data)}-v{CACHE_VERSION}.pickle", parse)
    return KnowledgeGraph(graph, index, source=str(path))


def timed_load(pack: Pack | str | Path, *, cache_dir: Path | str | None = None) -> tuple[KnowledgeGraph, float]:
    """``load_graph`` and the seconds it took."""
    start = time.perf_counter()
    kg = load_graph(pack, cache_dir=cache_dir)
    return kg, time.perf_counter() - start


# -------------------------------------------------------------------- indexes


_INDEX_QUERY = """
SELECT ?s ?p ?o WHERE {
  { ?s ?p ?o . VALUES ?p { rdfs:label skos:altLabel rdf:type } }
  UNION { ?p a rdf:Property . ?s ?p ?o }
  UNION { ?s rdfs:comment ?o . ?s a rdf:Property . BIND(rdfs:comment AS ?p) }
}"""
_FACTS_QUERY = "SELECT ?s ?p ?o WHERE { ?p a rdf:Property . ?s ?p ?o }"


def build_index(triples: Iterable[tuple[Any, Any, Any]]) -> GraphIndex:
    """Names, labels, classes, relation descriptions and plain-literal values from the triples."""
    from rdflib import Literal, URIRef

    triples = list(triples)
    labels: dict[Any, str] = {}
    alt: dict[Any, list[str]] = defaultdict(list)
    classes: dict[Any, str] = {}
    relation_iris = {s for s, p, o in triples if str(p) == RDF_TYPE and str(o) == RDF_PROPERTY}
    comments = {s: str(o) for s, p, o in triples if str(p) == RDFS_COMMENT and s in relation_iris}
    for s, p, o in triples:
        ps = str(p)
        if ps == RDFS_LABEL and isinstance(o, Literal):
            labels.setdefault(s, str(o))
        elif ps == SKOS_ALT and isinstance(o, Literal):
            alt[s].append(str(o))
        elif ps == RDF_TYPE and isinstance(o, URIRef) and str(o) != RDF_PROPERTY:
            classes.setdefault(s, _local_name(o))
    aliases: dict[Any, tuple[str, ...]] = {}
    names: dict[str, list[Any]] = defaultdict(list)
    for iri in sorted(labels, key=str):
        aliases[iri] = tuple(dict.fromkeys([labels[iri], *sorted(alt.get(iri, ()))]))
        names[name_key(labels[iri])].append(iri)
    for iri in sorted(labels, key=str):
        for alias in aliases[iri][1:]:
            key = name_key(alias)
            if key and iri not in names[key]:
                names[key].append(iri)
    values: dict[str, list[tuple[Any, Any, Any]]] = defaultdict(list)
    for s, p, o in triples:
        if p in relation_iris and isinstance(o, Literal) and (o.datatype is None or str(o.datatype) == XSD_STRING):
            key = name_key(str(o))
            if key:
                values[key].append((s, p, o))
    return GraphIndex(
        names={k: tuple(v) for k, v in names.items() if k},
        labels=labels,
        aliases=aliases,
        classes=classes,
        relations={r: comments.get(r, _local_name(r)) for r in sorted(relation_iris, key=str)},
        values={k: tuple(sorted(v, key=lambda t: (str(t[0]), str(t[1])))) for k, v in values.items()},
    )


# rdflib parses SPARQL with pyparsing, which is not thread-safe: two threads parsing at once (the app's
# workers on their first questions) can fail with "Expected SelectQuery, found end of text". Parse one at a time.
SPARQL_PARSE_LOCK = threading.Lock()


@lru_cache(maxsize=128)
def _prepared(sparql: str):
    from rdflib.plugins.sparql import prepareQuery

    with SPARQL_PARSE_LOCK:
        return prepareQuery(sparql, initNs=PREFIXES)


def _local_name(term) -> str:
    text = str(term)
    return re.split(r"[#/]", text)[-1] if text.startswith("http") else text


def _object_node(s, p, o) -> str:
    """The networkx node of a triple's object: the IRI for an entity, a per-triple id for a literal."""
    from rdflib import Literal

    return f"{s} {p} {o.n3()}" if isinstance(o, Literal) else str(o)


def _as_iri(node: str):
    from rdflib import URIRef

    return URIRef(node) if node.startswith("http") else node


def graph_relations(kg: KnowledgeGraph) -> Sequence[tuple[str, str]]:
    """(relation local name, description) for every relation the graph declares."""
    return [(_local_name(r), d) for r, d in kg.index.relations.items()]


__all__ = ["KnowledgeGraph", "GraphIndex", "load_graph", "timed_load", "name_key", "build_index", "PREFIXES", "format_value",
           "graph_relations"]
