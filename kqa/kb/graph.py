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
from kqa.kb.profile import GraphProfile, load_profile
from kqa.kb.rdf import KQA_NS, load_rdf
from kqa.kb.text import normalize_name

CACHE_VERSION = 2  # bump when the cached form changes

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
    "owl": "http://www.w3.org/2002/07/owl#",
}


def name_key(text: str) -> str:
    """The key names are looked up on: accents, case, a leading 'the', possessive 's, apostrophes (straight
    or curly) and punctuation folded. "Côte d’Ivoire" and "cote d'ivoire" give the same key; "Peru's" gives
    "peru"."""
    key = normalize_name(text)
    key = re.sub(r"'s\b", "", key).replace("'", " ")
    return re.sub(r"\s+", " ", key).strip()


class KnowledgeGraph:
    """An rdflib graph (in memory or over a SPARQL endpoint) plus the indexes a question answerer needs."""

    def __init__(self, graph, index: GraphIndex, *, source: str, remote: bool = False, on_disk: bool = False,
                 profile: GraphProfile | None = None):
        self.graph = graph
        self.index = index
        self.source = source  # a file path or an endpoint URL, for messages and meta
        self.remote = remote
        self.on_disk = on_disk  # an Oxigraph store (kqa.kb.stores): it parses and runs SPARQL text itself
        self._profile = profile
        self._nx = None

    @property
    def profile(self) -> GraphProfile:
        """The pack's profile.json beside the graph file (the empty profile when there is none)."""
        if self._profile is None:
            path = Path(self.source)
            self._profile = load_profile(path) if not self.remote and path.is_file() else GraphProfile()
        return self._profile

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_graph(cls, graph, *, source: str = "memory", profile: GraphProfile | None = None) -> KnowledgeGraph:
        if profile is None:
            path = Path(source)
            profile = load_profile(path) if source != "memory" and path.is_file() else GraphProfile()
        index = build_index(graph.triples((None, None, None)), label_predicates=profile.label_predicates)
        return cls(graph, index, source=source, profile=profile)

    @classmethod
    def from_endpoint(cls, url: str, *, timeout_s: float = 30.0, profile: GraphProfile | None = None) -> KnowledgeGraph:
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
        profile = profile or GraphProfile()
        return cls(graph, build_index(triples, label_predicates=profile.label_predicates), source=url, remote=True,
                   profile=profile)

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

    def entities_in(self, classes: Iterable[str]) -> list[Any]:
        """Every entity whose class is one of ``classes`` (local names), sorted by IRI. On a store it is one
        query for those classes, not a read of every entity."""
        wanted = frozenset(classes)
        with_class = getattr(self.index.classes, "with_class", None)
        found = with_class(wanted) if with_class else (i for i, c in self.index.classes.items() if c in wanted)
        return sorted(found, key=str)

    def is_a(self, iri, cls: str) -> bool:
        """Whether the entity's class is ``cls`` or below it (rdfs:subClassOf)."""
        own = self.index.classes.get(iri)
        return own == cls or cls in (self.index.superclasses or {}).get(own, ())

    def relations_of(self, term, direction: str = "out") -> tuple[Any, ...]:
        """The relation IRIs a term has as subject ("out") or as object ("in"), known relations only."""
        known = self.index.relation_info or {}
        if self.remote:
            sparql = _PREDICATES_OUT if direction == "out" else _PREDICATES_IN
            found = [row[0] for row in self.query(sparql, {"s" if direction == "out" else "o": term})]
        elif direction == "out":
            found = list(self.graph.predicates(subject=term))
        else:
            found = list(self.graph.predicates(object=term))
        return tuple(sorted({p for p in found if p in known}, key=str))

    def query(self, sparql: str, bindings: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one query template with its values bound as parameters; rows as tuples of rdflib terms.

        In memory the template is parsed once and kept; over an endpoint rdflib sends the bindings as a
        trailing ``VALUES`` block, each term written by rdflib itself (so a quote in a value stays in it)."""
        bindings = dict(bindings or {})
        if self.remote or self.on_disk:
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
            elif self.on_disk:  # the same triples as in memory, read relation by relation from the store
                triples = [t for p in self.index.relations for t in self.graph.triples((None, p, None))]
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
    """A term as a person reads it: an entity's label, with its other names after it in brackets where the
    profile says so for ``relation`` (``show_aliases``); a number with thousands separators and the unit the
    pack's profile gives its relation ("1,285,216 sq km", "$74,080,000,000", "32,768,614"); a date as
    "28 July 1821"; a year as "1821"; any other literal as written."""
    from rdflib import Literal

    rel = kg.profile.relations.get(relation or "")
    if not isinstance(term, Literal):
        label = kg.label(term)
        if not (rel and rel.show_aliases):
            return label
        # a name that differs from one written before only in case or accents is written once
        written = {name_key(label): label}
        for name in kg.index.aliases.get(term, ()):
            written.setdefault(name_key(name), name)
        others = list(written.values())[1:]
        return f"{label} ({', '.join(others)})" if others else label
    return format_literal(term, unit=rel.unit if rel else None)


def format_literal(term, *, unit: str | None = None) -> str:
    """A literal by its datatype (see ``format_value``); ``unit`` "USD" is written "$", others after."""
    import datetime as dt

    kind = _literal_kind(term)
    value = term.toPython()
    if kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return f"{value.day} {value.strftime('%B')} {value.year}"
        return str(term)
    if kind != "number":
        return str(term)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(term)
    text = f"{int(number):,}" if number == int(number) else f"{number:,.2f}".rstrip("0").rstrip(".")
    if unit == "USD":
        return f"${text}"
    return f"{text} {unit}" if unit else text


def sortable(term) -> float | None:
    """A literal as a number to compare: numbers as they are, dates as day numbers, a year as its middle."""
    import datetime as dt

    value = term.toPython() if hasattr(term, "toPython") else term
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return float(value.toordinal())
    if str(getattr(term, "datatype", "")).endswith("#gYear"):  # a year only: the middle of that year
        try:
            return float(dt.date(int(str(term)[:4]), 7, 1).toordinal())
        except ValueError:
            return None
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None



# -------------------------------------------------------------------- loading with a cache


def load_graph(pack: Pack | str | Path, *, cache_dir: Path | str | None = None, store: str = "memory",
               store_dir: Path | str | None = None) -> KnowledgeGraph:
    """The pack's graph (a Pack or a path to a pack folder or to an RDF file).

    ``store`` is ``memory`` (rdflib), ``oxigraph`` (an on-disk store, see ``kqa.kb.stores``, kept under
    ``store_dir``, by default ``<cache_dir>/stores``) or ``auto``: Oxigraph for graph files of 64 MB and more.
    In memory, parsing takes about 3 s for the Factbook pack. With ``cache_dir`` (the apps pass
    ``<kqa_home>/cache``) the graph and its indexes are kept pickled there, named by the file's SHA-256, and
    later loads read that copy; nothing in the pack folder is ever unpickled (see ``kb.cache``).
    ``cache_dir=None`` parses every time."""
    if isinstance(pack, Pack):
        path = pack.graph_path
    else:
        path = Path(pack).expanduser()
        if path.is_dir():
            from kqa.kb.pack import open_pack

            path = open_pack(path).graph_path
    if not path.is_file():
        raise KqaError(f"no graph file at {path}: run `kqa build` first")
    from kqa.kb.stores import choose_store, open_oxigraph

    if choose_store(path, store) == "oxigraph":
        if store_dir is None and cache_dir is None:
            raise KqaError("an Oxigraph store is kept on disk: give a cache folder (the kqa commands use "
                           "$KQA_HOME/cache) or use store='memory'")
        return open_oxigraph(path, Path(store_dir) if store_dir is not None else Path(cache_dir) / "stores")
    data = path.read_bytes()  # parsed from these very bytes, so the cache's name matches what it holds
    profile = load_profile(path)  # its label predicates shape the index: part of the cache's name

    def parse() -> tuple[Any, GraphIndex]:
        graph = load_rdf(path, data=data)
        return graph, KnowledgeGraph.from_graph(graph, source=str(path), profile=profile).index

    key = sha256_hex(data + repr(sorted(profile.label_predicates)).encode())
    graph, index = cached_pickle(cache_dir, f"graph-{key}-v{CACHE_VERSION}.pickle", parse)
    return KnowledgeGraph(graph, index, source=str(path), profile=profile)


def timed_load(pack: Pack | str | Path, **load: Any) -> tuple[KnowledgeGraph, float]:
    """``load_graph`` and the seconds it took."""
    start = time.perf_counter()
    kg = load_graph(pack, **load)
    return kg, time.perf_counter() - start


# -------------------------------------------------------------------- indexes

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
OWL_NS = "http://www.w3.org/2002/07/owl#"
OWL_TRANSITIVE = OWL_NS + "TransitiveProperty"
RDFS_SUBCLASS = RDFS_NS + "subClassOf"
# Predicates that name a resource, best first; skos:altLabel and a label's other languages are aliases.
LABEL_PREDICATES = (RDFS_LABEL, "http://www.w3.org/2004/02/skos/core#prefLabel", "http://schema.org/name",
                    "https://schema.org/name", "http://xmlns.com/foaf/0.1/name")
ALIAS_PREDICATES = (SKOS_ALT,)
# Schema vocabulary, not facts: never offered as a relation a question asks about (rdfs:subClassOf is).
_NOT_RELATIONS = {RDF_TYPE, RDFS_COMMENT, RDFS_NS + "domain", RDFS_NS + "range", RDFS_NS + "seeAlso",
                  RDFS_NS + "isDefinedBy", OWL_NS + "sameAs", OWL_NS + "inverseOf", OWL_NS + "equivalentClass",
                  OWL_NS + "equivalentProperty", OWL_NS + "imports", OWL_NS + "versionInfo"}
_NUMERIC = {"integer", "decimal", "double", "float", "int", "long", "short", "nonNegativeInteger",
            "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong"}
_DATES = {"date", "dateTime", "gYear", "gYearMonth"}


@dataclass(frozen=True)
class RelationInfo:
    """How one predicate is named and used in the graph: what the engine knows of it without a profile."""

    iri: Any
    name: str  # its rdfs:label, else its local name split into words: "birthPlace" -> "birth place"
    description: str  # its rdfs:comment, else its name
    count: int  # triples with a labelled subject
    object_kind: str  # entity | number | date | text: what most of its objects are
    subject_class: str | None  # the class most of its subjects have (local name)
    object_class: str | None  # the class most of its entity objects have
    multi: bool  # some subject has several objects
    transitive: bool  # declared owl:TransitiveProperty


@dataclass(frozen=True)
class GraphIndex:
    """What the graph's names and relations look like, computed once per graph."""

    names: Mapping[str, tuple[Any, ...]]  # name_key -> entity IRIs (rdflib URIRef), labels before aliases
    labels: Mapping[Any, str]  # entity IRI -> its label (rdfs:label, skos:prefLabel, schema:name ...)
    aliases: Mapping[Any, tuple[str, ...]]  # entity IRI -> every name it has, label first
    classes: Mapping[Any, str]  # entity IRI -> class local name: "Country", "City" ...
    relations: Mapping[Any, str]  # relation IRI -> its description (rdfs:comment, else its name)
    values: Mapping[str, tuple[tuple[Any, Any, Any], ...]]  # name_key of a plain literal -> (s, p, o) facts
    relation_info: Mapping[Any, RelationInfo] = None  # relation IRI -> how it is named and used
    degree: Mapping[Any, int] = None  # entity IRI -> fact triples it is in: the prior among namesakes
    class_names: Mapping[str, str] = None  # class local name -> its label (or split local name)
    superclasses: Mapping[str, tuple[str, ...]] = None  # class local name -> every class above it
    warnings: tuple[str, ...] = ()  # what a user should know about the graph (no labels, shared labels ...)


_INDEX_QUERY = """
SELECT ?s ?p ?o WHERE {
  { ?s ?p ?o . FILTER EXISTS { ?s rdfs:label|skos:prefLabel|<http://schema.org/name>|<https://schema.org/name>|<http://xmlns.com/foaf/0.1/name> ?name } }
  UNION { ?s ?p ?o . VALUES ?p { rdf:type rdfs:subClassOf } }
  UNION { ?s ?p ?o . ?s a owl:TransitiveProperty }
  UNION { ?s rdfs:comment ?o . BIND(rdfs:comment AS ?p) }
}"""
_PREDICATES_OUT = "SELECT DISTINCT ?p WHERE { ?s ?p ?o }"
_PREDICATES_IN = "SELECT DISTINCT ?p WHERE { ?s ?p ?o }"
_FACTS_QUERY = """SELECT ?s ?p ?o WHERE { ?s ?p ?o .
  FILTER EXISTS { ?s rdfs:label|skos:prefLabel|<http://schema.org/name>|<https://schema.org/name>|<http://xmlns.com/foaf/0.1/name> ?name } }"""


def split_name(local: str) -> str:
    """A predicate's local name as words: "birthPlace" -> "birth place", "chief_of_state" -> "chief of state"."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local)
    return re.sub(r"[_\-.]+", " ", text).strip().lower()


def _lang_rank(literal) -> int:
    lang = (getattr(literal, "language", None) or "").lower()
    return 0 if lang in ("", "en") or lang.startswith("en-") else 1


def _literal_kind(o) -> str:
    from rdflib import Literal

    if not isinstance(o, Literal):
        return "entity"
    return datatype_kind(o.datatype)


def datatype_kind(datatype) -> str:
    """number | date | text: what a literal of this datatype (an IRI, or None) holds."""
    dtype = _local_name(datatype) if datatype is not None else ""
    if dtype in _NUMERIC:
        return "number"
    if dtype in _DATES:
        return "date"
    return "text"


def build_index(triples: Iterable[tuple[Any, Any, Any]], *, label_predicates: Sequence[str] = ()) -> GraphIndex:
    """Names, labels, classes, relations (every predicate a labelled resource uses) and plain-literal values
    from the triples. ``label_predicates`` adds to LABEL_PREDICATES (a pack's profile names them)."""
    from collections import Counter

    from rdflib import BNode, Literal, URIRef

    triples = list(triples)
    label_rank = {p: i for i, p in enumerate((*LABEL_PREDICATES, *label_predicates))}
    found: dict[Any, list[tuple[int, int, str]]] = defaultdict(list)
    alt: dict[Any, list[str]] = defaultdict(list)
    types: dict[Any, list[Any]] = defaultdict(list)
    comments: dict[Any, list[Any]] = defaultdict(list)
    transitive: set[Any] = set()
    subclass: dict[str, set[str]] = defaultdict(set)
    blank_labelled = 0
    for s, p, o in triples:
        ps = str(p)
        if ps in label_rank and isinstance(o, Literal):
            if isinstance(s, BNode):
                blank_labelled += 1
                continue  # a blank node cannot be named in a query's answer or bound again
            found[s].append((_lang_rank(o), label_rank[ps], str(o)))
        elif ps in ALIAS_PREDICATES and isinstance(o, Literal):
            alt[s].append(str(o))
        elif ps == RDF_TYPE and isinstance(o, URIRef):
            if str(o) == OWL_TRANSITIVE:
                transitive.add(s)
            types[s].append(o)
        elif ps == RDFS_COMMENT and isinstance(o, Literal):
            comments[s].append(o)
        elif ps == RDFS_SUBCLASS and isinstance(o, URIRef):
            subclass[_local_name(s)].add(_local_name(o))
    labels: dict[Any, str] = {}
    for s, names_found in found.items():
        ranked = sorted(set(names_found))
        labels[s] = ranked[0][2]
        alt[s].extend(text for _, _, text in ranked[1:])
    classes: dict[Any, str] = {}
    for s, ts in types.items():
        kept = sorted((t for t in ts if str(t) not in SCHEMA_TYPES), key=str)
        if kept:
            classes[s] = _local_name(kept[0])
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

    # relations: every predicate whose subject is a labelled resource
    skip = not_relations(label_predicates)
    uses: dict[Any, list[tuple[Any, Any]]] = defaultdict(list)
    degree: Counter = Counter()
    for s, p, o in triples:
        if str(p) in skip or s not in labels:
            continue
        uses[p].append((s, o))
        degree[s] += 1
        if o in labels:
            degree[o] += 1
    info: dict[Any, RelationInfo] = {}
    for p, pairs in uses.items():
        info[p] = relation_info(
            p, label=labels.get(p), comments=comments.get(p, ()), count=len(pairs),
            kinds=Counter(_literal_kind(o) for _, o in pairs),
            subject_classes=Counter(classes.get(s) for s, _ in pairs if classes.get(s)),
            object_classes=Counter(classes.get(o) for _, o in pairs if classes.get(o)),
            multi=max(Counter(s for s, _ in pairs).values()) > 1, transitive=p in transitive)
    values: dict[str, list[tuple[Any, Any, Any]]] = defaultdict(list)
    for p, pairs in uses.items():
        for s, o in pairs:
            if isinstance(o, Literal) and (o.datatype is None or str(o.datatype) == XSD_STRING):
                key = name_key(str(o))
                if key:
                    values[key].append((s, p, o))
    class_names = {}
    for s, label in labels.items():
        if any(_local_name(s) == c for c in set(classes.values()) | set(subclass)):
            class_names[_local_name(s)] = label
    for cls in set(classes.values()) | set(subclass):
        class_names.setdefault(cls, split_name(cls))
    superclasses = superclasses_of(subclass, set(classes.values()) | set(subclass))
    shared = [k for k, v in names.items() if k and len(v) > 1]
    warnings = index_warnings(labelled=bool(labels), blank_labelled=blank_labelled, shared=len(shared),
                              first_shared=shared[0] if shared else None)
    return GraphIndex(
        # a name's own resources before those it is an alias of, then the one in more facts first
        names={k: tuple(sorted(v, key=lambda i: (name_key(labels[i]) != k, -degree[i]))) for k, v in names.items() if k},
        labels=labels,
        aliases=aliases,
        classes=classes,
        relations={r: info[r].description for r in sorted(info, key=str)},
        values={k: tuple(sorted(v, key=lambda t: (str(t[0]), str(t[1])))) for k, v in values.items()},
        relation_info={r: info[r] for r in sorted(info, key=str)},
        degree=dict(degree),
        class_names=class_names,
        superclasses=superclasses,
        warnings=warnings,
    )


# What build_index and the Oxigraph store's index (kqa.kb.stores) share, so both read a graph the same way.

SCHEMA_TYPES = frozenset({RDF_PROPERTY, OWL_TRANSITIVE, OWL_NS + "ObjectProperty", OWL_NS + "DatatypeProperty",
                          OWL_NS + "Class", RDFS_NS + "Class", OWL_NS + "SymmetricProperty",
                          OWL_NS + "FunctionalProperty"})  # rdf:type objects that are not an entity's class


def not_relations(label_predicates: Sequence[str] = ()) -> frozenset[str]:
    """Predicates never offered as a relation: the label and alias predicates and schema vocabulary."""
    return frozenset({*LABEL_PREDICATES, *label_predicates, *ALIAS_PREDICATES, *_NOT_RELATIONS})


def relation_info(p, *, label: str | None, comments: Iterable[Any], count: int, kinds, subject_classes,
                  object_classes, multi: bool, transitive: bool) -> RelationInfo:
    """One predicate's RelationInfo from its counts (``kinds``, ``*_classes``: Counters, most common wins)."""
    comment = sorted(comments, key=lambda c: (_lang_rank(c), str(c)))
    name = label or split_name(_local_name(p))
    return RelationInfo(
        iri=p, name=name, description=str(comment[0]) if comment else name, count=count,
        object_kind=kinds.most_common(1)[0][0],
        subject_class=subject_classes.most_common(1)[0][0] if subject_classes else None,
        object_class=object_classes.most_common(1)[0][0] if object_classes else None,
        multi=multi, transitive=transitive)


def superclasses_of(subclass: Mapping[str, Iterable[str]], classes: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """class local name -> every class above it, from the rdfs:subClassOf pairs (local names)."""
    superclasses = {}
    for cls in classes:
        seen, todo = [], list(subclass.get(cls, ()))
        while todo:
            up = todo.pop()
            if up not in seen and up != cls:
                seen.append(up)
                todo.extend(subclass.get(up, ()))
        superclasses[cls] = tuple(seen)
    return superclasses


def index_warnings(*, labelled: bool, blank_labelled: int, shared: int, first_shared: str | None) -> tuple[str, ...]:
    warnings = []
    if not labelled:
        warnings.append("no resource has a label (rdfs:label, skos:prefLabel, schema:name or foaf:name): "
                        "no question can name anything; add labels, or name the graph's label predicate in "
                        "the pack's profile.json (label_predicates)")
    if blank_labelled:
        warnings.append(f"{blank_labelled} label(s) on blank nodes were left out: give those resources IRIs")
    if shared:
        warnings.append(f"{shared} name(s) belong to more than one resource (e.g. {first_shared!r}): the one "
                        "with more facts is taken")
    return tuple(warnings)


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


def subject_names(kg: KnowledgeGraph) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every labelled resource's (label, other names), keyed by its IRI and by its local name (a question's
    ``subject`` is one or the other), for things that rewrite questions (robustness probes)."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    subjects = set(kg.profile.subject_classes or ())
    ordered = sorted(kg.index.labels.items(), key=lambda kv: (kg.index.classes.get(kv[0]) not in subjects, str(kv[0])))
    for iri, label in ordered:  # a local name goes to a resource of the subject classes first
        entry = (label, tuple(a for a in kg.index.aliases.get(iri, ()) if a != label))
        out.setdefault(_local_name(iri), entry)
        out[str(iri)] = entry
    return out


__all__ = ["KnowledgeGraph", "GraphIndex", "RelationInfo", "load_graph", "timed_load", "name_key", "build_index",
           "PREFIXES", "format_value", "format_literal", "sortable", "subject_names", "split_name"]
