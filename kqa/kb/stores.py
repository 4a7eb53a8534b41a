"""Keep a knowledge graph in Oxigraph, an on-disk SPARQL engine, behind rdflib's API (``oxrdflib``).

rdflib's in-memory store holds about a kilobyte per triple and parses Turtle in pure Python: fine for the
Factbook's 73k triples, out of reach for a Wikidata extract of tens of millions. ``open_oxigraph(path,
store_dir)`` bulk-loads the RDF file once into an Oxigraph (RocksDB) folder named by the file's SHA-256 and
opens it read-only afterwards, so a 10M-triple graph opens in seconds and several processes (the app, an
eval, Ray workers on one machine) read one copy. Queries run in Oxigraph's Rust SPARQL engine; the values a
retriever binds go in as Oxigraph substitutions (rdflib's ``initBindings``), never spliced into text.

The index (``GraphIndex``) is the one ``build_index`` computes for the same graph and pack profile, but its
per-entity mappings (names, labels, aliases, classes, degree, values) are not held in Python dicts: at build
time each entity's label, other names, name keys, class and degree are written as triples into a private
named graph, and the mappings look them up in the store on demand. The small parts (relations and how each
is used, class names, superclasses, warnings) are computed by SPARQL aggregation at build time and kept in
``kqa-index.json``. Queries on the default graph never see the named graph.

A store folder is only trusted when its marker (``kqa-store.json``, written last, after the folder is
complete) names the same graph hash, label predicates and version; anything else is rebuilt. It holds data only (RocksDB
files): opening one runs no code from it. This file knows nothing of packs, questions or models.

>>> kg = open_oxigraph(Path("graph.ttl"), Path("~/.cache/kqa/stores"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from kqa.kb.errors import BadFileError, KqaError

STORE_VERSION = 2  # bump when the folder's layout or the index graph changes
STORES = ("auto", "memory", "oxigraph")
# "auto" keeps rdflib's memory store below this file size (about 700k triples of N-Triples, 1.3M of compact
# Turtle: over a GB of memory and a minute or more of parsing in rdflib; docs/scale.md) and uses Oxigraph above.
AUTO_OXIGRAPH_BYTES = 64 << 20
MARKER = "kqa-store.json"

_INDEX_GRAPH = "urn:kqa:index"
_LABEL = "urn:kqa:label"  # <entity> label "its label" (build_index's choice)
_ALIAS = "urn:kqa:alias"  # <entity> alias "another name it has"
_LABEL_KEY = "urn:kqa:labelKey"  # <entity> labelKey "name key of its label"
_ALIAS_KEY = "urn:kqa:aliasKey"  # <entity> aliasKey "name key of another name"
_CLASS = "urn:kqa:class"  # <entity> class "IRI of its class"
_DEGREE = "urn:kqa:degree"  # <entity> degree 12 (fact triples it is in)
_VALUE_KEY = "urn:kqa:valueKey"  # <entity> valueKey "name key of a plain literal it has on a relation"
INDEX_FILE = "kqa-index.json"

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_OX_FORMATS = {"turtle": "TURTLE", "nt": "N_TRIPLES", "xml": "RDF_XML", "n3": "N3", "json-ld": "JSON_LD"}


def choose_store(path: Path, store: str) -> str:
    """``memory`` or ``oxigraph`` for the graph file at ``path``; ``auto`` decides by the file's size."""
    if store not in STORES:
        raise KqaError(f"unknown graph store {store!r}; choose from {', '.join(STORES)}")
    if store == "auto":
        return "oxigraph" if path.stat().st_size >= AUTO_OXIGRAPH_BYTES else "memory"
    return store


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_folder(path: Path, store_dir: Path, digest: str | None = None, label_predicates: tuple[str, ...] = ()) -> Path:
    """The store's folder: named by the graph file's hash, the pack profile's label predicates (they shape the
    index graph) and STORE_VERSION."""
    labels = f"-{hashlib.sha256(repr(sorted(label_predicates)).encode()).hexdigest()[:8]}" if label_predicates else ""
    return Path(store_dir).expanduser() / f"oxigraph-{(digest or file_sha256(path))[:20]}{labels}-v{STORE_VERSION}"


def open_oxigraph(path: Path, store_dir: Path, *, rebuild: bool = False):
    """A ``KnowledgeGraph`` over an Oxigraph store of the RDF file at ``path``, built under ``store_dir`` on
    first use (bulk load plus the name index: about a minute per 10M triples on two cores) and opened
    read-only afterwards."""
    import pyoxigraph as ox

    from kqa.kb.graph import KnowledgeGraph
    from kqa.kb.profile import load_profile

    path = Path(path).expanduser()
    if not path.is_file():
        raise KqaError(f"no graph file at {path}: run `kqa build` first")
    profile = load_profile(path)  # the pack's profile.json beside the graph, as load_graph reads it
    labels = tuple(profile.label_predicates)
    digest = file_sha256(path)
    folder = store_folder(path, store_dir, digest, labels)
    if rebuild or not _trusted(folder, digest, labels):
        with _build_lock(folder):  # two processes starting at once (Ray actors on one node): one builds
            if rebuild or not _trusted(folder, digest, labels):
                build_store(path, folder, digest, labels)
    small = json.loads((folder / INDEX_FILE).read_text())
    store = ox.Store.read_only(str(folder))
    graph = _rdflib_graph(store)
    return KnowledgeGraph(graph, store_index(store, small), source=str(path), on_disk=True, profile=profile)


def build_store(path: Path, folder: Path, digest: str, label_predicates: tuple[str, ...] = ()) -> None:
    """Bulk-load ``path`` into a fresh store beside ``folder``, add the index graph, then move it into place."""
    import pyoxigraph as ox

    from kqa.kb.rdf import RDF_FORMATS

    fmt = RDF_FORMATS.get(path.suffix.lower())
    if fmt not in _OX_FORMATS:
        raise BadFileError(path, f"Oxigraph does not read {path.suffix!r} files",
                           hint="use --store memory, or convert the file to Turtle or N-Triples")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        store = ox.Store(str(tmp))
        try:
            store.bulk_load(path=str(path), format=getattr(ox.RdfFormat, _OX_FORMATS[fmt]))
        except SyntaxError as err:
            raise BadFileError(path, f"not valid {fmt} ({str(err).splitlines()[0][:200]})") from None
        triples = _count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        if triples == 0:
            raise BadFileError(path, "the RDF file holds no triples")
        small = build_index_graph(store, tuple(label_predicates))
        store.optimize()
        store.flush()
        del store
        (tmp / INDEX_FILE).write_text(json.dumps(small, ensure_ascii=False))
        (tmp / MARKER).write_text(json.dumps({"graph_sha256": digest, "version": STORE_VERSION, "triples": triples,
                                              "label_predicates": list(label_predicates), "source": str(path)}))
        if folder.exists():  # a stale or untrusted folder under the same name (callers hold the build lock)
            shutil.rmtree(folder)
        os.rename(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _build_lock(folder: Path):
    import fcntl

    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _trusted(folder: Path, digest: str, label_predicates: tuple[str, ...] = ()) -> bool:
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return (marker.get("graph_sha256") == digest and marker.get("version") == STORE_VERSION
            and marker.get("label_predicates", []) == list(label_predicates) and (folder / INDEX_FILE).is_file())


def _count(store, sparql: str) -> int:
    return int(next(iter(store.query(sparql)))[0].value)


def _rdflib_graph(store):
    """An rdflib Graph over the store's default graph: ``graph.query`` runs in Oxigraph, ``graph.triples``
    reads its indexes."""
    from oxrdflib import OxigraphStore
    from rdflib import Graph
    from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

    class PlainStringStore(OxigraphStore):
        """Oxigraph types every plain literal xsd:string (RDF 1.1); rdflib's parser leaves it untyped, and
        ``Literal("x") != Literal("x", datatype=XSD.string)`` in rdflib. Give rows and triples back the way
        the memory store does, so evidence ids and answers are the same with either store."""

        parses_text = True  # kqa.kb.sparql_guard hands it the query text, not rdflib's parsed form

        def triples(self, triple_pattern, context=None):
            for (s, p, o), contexts in super().triples(triple_pattern, context):
                yield (s, p, plain(o)), contexts

        def query(self, query, initNs, initBindings, queryGraph, **kwargs):  # noqa: N803 (rdflib's names)
            if initBindings and isinstance(query, str):
                query = with_values(query, initBindings)
            result = super().query(query, initNs, {}, queryGraph, **kwargs)
            if result.type == "SELECT":
                rows = result.bindings
                result.bindings = ({v: plain(t) for v, t in row.items()} for row in rows)
            return result

    return Graph(store=PlainStringStore(store=store), identifier=DATASET_DEFAULT_GRAPH_ID)


def with_values(sparql: str, bindings: Mapping[str, Any]) -> str:
    """The query with its bindings as a ``VALUES`` block opening its WHERE group: what rdflib's
    ``initBindings`` means (the values are joined before anything else), in text Oxigraph runs. (Oxigraph's
    own substitutions refuse a variable the SELECT does not project.) Each value is written by rdflib's
    ``n3()``, which escapes quotes, so a value never becomes query text."""
    match = re.search(r"\bWHERE\s*\{", sparql, flags=re.IGNORECASE) or re.search(r"\{", sparql)
    if match is None:
        raise KqaError("a query with bindings needs a WHERE { ... } group")
    names = " ".join(f"?{name}" for name in bindings)
    values = " ".join(term.n3() for term in bindings.values())
    return f"{sparql[:match.end()]} VALUES ({names}) {{ ({values}) }} {sparql[match.end():]}"


def plain(term):
    """An xsd:string literal as rdflib's parsers write it (untyped); any other term unchanged."""
    from rdflib import Literal

    if isinstance(term, Literal) and term.datatype is not None and str(term.datatype) == _XSD_STRING:
        return Literal(str(term))
    return term


# -------------------------------------------------------------------- the index graph
#
# At build time the store gets, in its private index graph, what ``build_index`` computes per entity: the
# chosen label, the other names, their name keys, the class, the degree and the keys of plain-literal facts.
# The mappings of ``store_index`` read those triples on demand. What is small (relations and how they are
# used, class names, superclasses, warnings, sizes) is computed once by SPARQL aggregation and kept in
# ``kqa-index.json`` beside the store.

_PREFIXES = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
             "xsd": "http://www.w3.org/2001/XMLSchema#"}
_LABELLED = f"GRAPH <{_INDEX_GRAPH}> {{ ?s <{_LABEL}> ?label }}"


def _iris(iris) -> str:
    return " ".join(f"<{i}>" for i in sorted(iris))


def _facts(label_predicates: tuple[str, ...]) -> str:
    """The pattern build_index counts as facts: ?s ?p ?o with a labelled ?s and a relation ?p."""
    from kqa.kb.graph import not_relations

    return f"{_LABELLED} ?s ?p ?o FILTER(?p NOT IN ({', '.join(f'<{i}>' for i in sorted(not_relations(label_predicates)))}))"


def build_index_graph(store, label_predicates: tuple[str, ...]) -> dict[str, Any]:
    """Write the index graph into ``store`` and return the small part of the index (kqa-index.json)."""
    from kqa.kb.graph import SCHEMA_TYPES

    stats = {"blank_labelled": 0, "name_tokens": 1}
    store.bulk_extend(_name_quads(store, label_predicates, stats))
    store.update(f"""INSERT {{ GRAPH <{_INDEX_GRAPH}> {{ ?s <{_CLASS}> ?c }} }} WHERE {{
        SELECT ?s (MIN(STR(?t)) AS ?c) WHERE {{ ?s rdf:type ?t FILTER(isIRI(?t) && ?t NOT IN ({', '.join(f'<{t}>' for t in sorted(SCHEMA_TYPES))})) }}
        GROUP BY ?s }}""", prefixes=_PREFIXES)
    facts = _facts(label_predicates)
    store.update(f"""INSERT {{ GRAPH <{_INDEX_GRAPH}> {{ ?e <{_DEGREE}> ?n }} }} WHERE {{
        SELECT ?e (COUNT(*) AS ?n) WHERE {{
          {{ {facts} BIND(?s AS ?e) }} UNION {{ {facts} GRAPH <{_INDEX_GRAPH}> {{ ?o <{_LABEL}> ?l2 }} BIND(?o AS ?e) }}
        }} GROUP BY ?e }}""")
    store.bulk_extend(_value_quads(store, facts))
    return {**_small_index(store, label_predicates, stats["blank_labelled"]), "name_tokens": stats["name_tokens"]}


def _name_quads(store, label_predicates: tuple[str, ...], stats: dict) -> Iterator[Any]:
    """Label, other names and their name keys per labelled entity, ranked as build_index ranks them."""
    import pyoxigraph as ox

    from kqa.kb.graph import ALIAS_PREDICATES, LABEL_PREDICATES, name_key

    rank = {p: i for i, p in enumerate((*LABEL_PREDICATES, *label_predicates))}
    graph = ox.NamedNode(_INDEX_GRAPH)
    label_p, alias_p = ox.NamedNode(_LABEL), ox.NamedNode(_ALIAS)
    label_key, alias_key = ox.NamedNode(_LABEL_KEY), ox.NamedNode(_ALIAS_KEY)

    def entity(s, rows):
        found = sorted({(0 if lang in ("", "en") or lang.startswith("en-") else 1, rank[p], text)
                        for p, text, lang in rows if p in rank})
        if not found:
            return
        label = found[0][2]
        alt = [text for _, _, text in found[1:]] + [text for p, text, _ in rows if p not in rank]
        yield ox.Quad(s, label_p, ox.Literal(label), graph)
        if key := name_key(label):
            stats["name_tokens"] = max(stats["name_tokens"], key.count(" ") + 1)
            yield ox.Quad(s, label_key, ox.Literal(key), graph)
        for alias in sorted(set(alt) - {label}):
            yield ox.Quad(s, alias_p, ox.Literal(alias), graph)
            if key := name_key(alias):
                stats["name_tokens"] = max(stats["name_tokens"], key.count(" ") + 1)
                yield ox.Quad(s, alias_key, ox.Literal(key), graph)

    sparql = (f"SELECT ?s ?p ?o WHERE {{ VALUES ?p {{ {_iris({*rank, *ALIAS_PREDICATES})} }} ?s ?p ?o "
              "FILTER(isLiteral(?o)) } ORDER BY ?s")
    current, rows = None, []
    for s, p, o in store.query(sparql):
        if isinstance(s, ox.BlankNode):  # never named in an answer: counted for the warning, left out
            stats["blank_labelled"] += p.value in rank
            continue
        if s != current:
            if current is not None:
                yield from entity(current, rows)
            current, rows = s, []
        rows.append((p.value, o.value, (o.language or "").lower()))
    if current is not None:
        yield from entity(current, rows)


def _value_quads(store, facts: str) -> Iterator[Any]:
    import pyoxigraph as ox

    from kqa.kb.graph import name_key

    graph, predicate = ox.NamedNode(_INDEX_GRAPH), ox.NamedNode(_VALUE_KEY)
    sparql = f"SELECT DISTINCT ?s ?o WHERE {{ {facts} FILTER(isLiteral(?o) && (datatype(?o) = xsd:string || lang(?o) != \"\")) }}"
    for subject, text in store.query(sparql, prefixes=_PREFIXES):
        key = name_key(text.value)
        if key:
            yield ox.Quad(subject, predicate, ox.Literal(key), graph)


def _small_index(store, label_predicates: tuple[str, ...], blank_labelled: int) -> dict[str, Any]:
    """relation_info, class_names, superclasses, warnings and sizes, as build_index computes them. One
    difference: where two kinds or classes are equally common for a relation (a tie), build_index takes the
    one it met first in the file's triple order, which the store does not keep; here the first by name."""
    from collections import Counter, defaultdict

    import pyoxigraph as ox
    from rdflib import Literal, URIRef

    from kqa.kb.graph import (OWL_TRANSITIVE, RDF_TYPE, RDFS_COMMENT, RDFS_SUBCLASS, _local_name, datatype_kind,
                              index_warnings, relation_info, split_name, superclasses_of)

    def rows(sparql):
        return list(store.query(sparql, prefixes=_PREFIXES))

    facts = _facts(label_predicates)
    kinds: dict[str, Counter] = defaultdict(Counter)
    for p, dtype, n in rows(f"""SELECT ?p ?dt (COUNT(*) AS ?n) WHERE {{ {facts}
                                BIND(IF(isLiteral(?o), IF(lang(?o) != "", "", STR(datatype(?o))), "-") AS ?dt) }}
                                GROUP BY ?p ?dt ORDER BY ?p ?dt"""):
        kind = "entity" if dtype.value == "-" else datatype_kind(dtype.value or None)
        kinds[p.value][kind] += int(n.value)
    multi = {p.value: int(m.value) > 1 for p, m in rows(f"""SELECT ?p (MAX(?c) AS ?m) WHERE {{
        SELECT ?p ?s (COUNT(*) AS ?c) WHERE {{ {facts} }} GROUP BY ?p ?s }} GROUP BY ?p""")}
    by_class: dict[str, dict[str, Counter]] = {"s": defaultdict(Counter), "o": defaultdict(Counter)}
    for side in ("s", "o"):
        for p, cls, n in rows(f"""SELECT ?p ?c (COUNT(*) AS ?n) WHERE {{ {facts} GRAPH <{_INDEX_GRAPH}> {{ ?{side} <{_CLASS}> ?c }} }}
                                  GROUP BY ?p ?c ORDER BY ?p ?c"""):
            by_class[side][p.value][_local_name(cls.value)] += int(n.value)
    view = _StoreView(store, frozenset())
    info = {}
    for p in sorted(kinds):
        comments = [Literal(q.object.value, lang=q.object.language) for q in store.quads_for_pattern(
            ox.NamedNode(p), ox.NamedNode(RDFS_COMMENT), None, ox.DefaultGraph()) if isinstance(q.object, ox.Literal)]
        transitive = any(True for _ in store.quads_for_pattern(ox.NamedNode(p), ox.NamedNode(RDF_TYPE),
                                                               ox.NamedNode(OWL_TRANSITIVE), ox.DefaultGraph()))
        rel = relation_info(URIRef(p), label=view.label(ox.NamedNode(p)), comments=comments,
                            count=sum(kinds[p].values()), kinds=kinds[p], subject_classes=by_class["s"][p],
                            object_classes=by_class["o"][p], multi=multi[p], transitive=transitive)
        info[p] = {**rel.__dict__, "iri": p}
    subclass: dict[str, set[str]] = defaultdict(set)
    for s, o in rows(f"SELECT ?s ?o WHERE {{ ?s <{RDFS_SUBCLASS}> ?o FILTER(isIRI(?o)) }}"):
        subclass[_local_name(s.value)].add(_local_name(o.value))
    classes = {_local_name(c.value) for (c,) in rows(f"SELECT DISTINCT ?c WHERE {{ GRAPH <{_INDEX_GRAPH}> {{ ?s <{_CLASS}> ?c }} }}")}
    class_set = classes | set(subclass)
    class_names = {}
    for q in store.quads_for_pattern(None, ox.NamedNode(_LABEL), None, ox.NamedNode(_INDEX_GRAPH)):
        if _local_name(q.subject.value) in class_set:
            class_names[_local_name(q.subject.value)] = q.object.value
    for cls in class_set:
        class_names.setdefault(cls, split_name(cls))
    shared = _shared_names(store, view)
    sizes = {name: _count(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ GRAPH <{_INDEX_GRAPH}> {pattern} }}")
             for name, pattern in (("labels", f"{{ ?x <{_LABEL}> ?o }}"), ("classes", f"{{ ?x <{_CLASS}> ?o }}"),
                                   ("degree", f"{{ ?x <{_DEGREE}> ?o }}"),
                                   ("names", f"{{ ?s ?k ?x VALUES ?k {{ <{_LABEL_KEY}> <{_ALIAS_KEY}> }} }}"),
                                   ("values", f"{{ ?s <{_VALUE_KEY}> ?x }}"))}
    return {"relation_info": info, "class_names": class_names, "entity_classes": sorted(classes),
            "superclasses": {k: list(v) for k, v in superclasses_of(subclass, class_set).items()},
            "warnings": list(index_warnings(labelled=sizes["labels"] > 0, blank_labelled=blank_labelled,
                                            shared=len(shared), first_shared=shared[0] if shared else None)),
            "sizes": sizes}


def _shared_names(store, view) -> list[str]:
    """Name keys of more than one entity, the first the one build_index meets first (labels by IRI, then
    each entity's other names in order): only it is named in the warning."""
    shared = [k.value for (k,) in store.query(f"""SELECT ?k WHERE {{ GRAPH <{_INDEX_GRAPH}> {{
        ?s ?kp ?k VALUES ?kp {{ <{_LABEL_KEY}> <{_ALIAS_KEY}> }} }} }} GROUP BY ?k HAVING (COUNT(DISTINCT ?s) > 1)""")]
    if not shared:
        return []
    from kqa.kb.graph import name_key

    def first_seen(key):
        by_label = view.subjects(_LABEL_KEY, key)
        if by_label:
            return (0, min(str(s) for s in by_label), 0)
        s = min(view.subjects(_ALIAS_KEY, key), key=str)
        aliases = view.aliases(view.node(s))[1:]
        return (1, str(s), next(i for i, a in enumerate(aliases) if name_key(a) == key))

    return sorted(shared, key=first_seen)


def store_index(store, small: Mapping[str, Any]):
    """A ``GraphIndex`` whose per-entity mappings read the store's index graph and whose small mappings come
    from ``small`` (kqa-index.json): the same contents ``build_index`` computes from all triples."""
    from rdflib import URIRef

    from kqa.kb.graph import GraphIndex, RelationInfo

    info = {URIRef(p): RelationInfo(**{**r, "iri": URIRef(p)}) for p, r in sorted(small["relation_info"].items())}
    view = _StoreView(store, frozenset(info))
    sizes = small["sizes"]
    names = _Names(view, sizes["names"], entity_classes=small.get("entity_classes"), name_tokens=small.get("name_tokens"))
    return GraphIndex(names=names, labels=_Labels(view, sizes["labels"]),
                      aliases=_Aliases(view, sizes["labels"]), classes=_Classes(view, sizes["classes"]),
                      relations={r: i.description for r, i in info.items()}, values=_Values(view, sizes["values"]),
                      relation_info=info, degree=_Degree(view, sizes["degree"]), class_names=dict(small["class_names"]),
                      superclasses={k: tuple(v) for k, v in small["superclasses"].items()},
                      warnings=tuple(small["warnings"]))


class _StoreView:
    """What the lazy mappings share: the store and the relation IRIs."""

    def __init__(self, store, relations: frozenset):
        import pyoxigraph as ox
        from oxrdflib._converter import from_ox

        self.store, self.ox, self.from_ox, self.relations = store, ox, from_ox, relations
        self.index_graph = ox.NamedNode(_INDEX_GRAPH)
        self.default = ox.DefaultGraph()

    def indexed(self, node, predicate: str) -> list:
        """The objects of ``node``'s ``predicate`` triples in the index graph."""
        if node is None:
            return []
        return [q.object for q in self.store.quads_for_pattern(node, self.ox.NamedNode(predicate), None,
                                                               self.index_graph)]

    def label(self, node) -> str | None:
        found = self.indexed(node, _LABEL)
        return found[0].value if found else None

    def aliases(self, node) -> tuple[str, ...] | None:
        label = self.label(node)
        if label is None:
            return None
        return (label, *sorted(o.value for o in self.indexed(node, _ALIAS)))

    def subjects(self, predicate: str, key: str) -> list:
        return [self.from_ox(q.subject) for q in self.store.quads_for_pattern(
            None, self.ox.NamedNode(predicate), self.ox.Literal(key), self.index_graph)]

    def each_subject(self, predicate: str) -> Iterator[Any]:
        """Every subject of ``predicate`` in the index graph, once each (the store keeps them grouped)."""
        last = None
        for q in self.store.quads_for_pattern(None, self.ox.NamedNode(predicate), None, self.index_graph):
            if q.subject != last:
                last = q.subject
                yield self.from_ox(q.subject)

    def each_key(self, *predicates: str) -> Iterator[str]:
        values = " ".join(f"<{p}>" for p in predicates)
        for (key,) in self.store.query(f"SELECT DISTINCT ?k WHERE {{ GRAPH <{_INDEX_GRAPH}> {{ ?s ?p ?k VALUES ?p {{ {values} }} }} }}"):
            yield key.value

    def node(self, term):
        from rdflib import BNode, URIRef

        if isinstance(term, URIRef):
            return self.ox.NamedNode(str(term))
        if isinstance(term, BNode):
            return self.ox.BlankNode(str(term))
        return None  # a literal or a string is never a subject here

    def degree(self, term) -> int:
        found = self.indexed(self.node(term), _DEGREE)
        return int(found[0].value) if found else 0


class _LazyMapping(Mapping):
    def __init__(self, view: _StoreView, size: int):
        self.view, self.size = view, size

    def __getitem__(self, key):
        value = self._get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key) -> bool:
        return self._get(key) is not None

    def __len__(self) -> int:
        return self.size


class _Labels(_LazyMapping):
    """entity IRI -> its label (build_index's choice among its label predicates and languages)."""

    def _get(self, iri):
        return self.view.label(self.view.node(iri))

    def __iter__(self):
        return self.view.each_subject(_LABEL)


class _Aliases(_Labels):
    """entity IRI -> every name it has, label first, then the others sorted."""

    def _get(self, iri):
        return self.view.aliases(self.view.node(iri))


class _Classes(_LazyMapping):
    """entity IRI -> the local name of its class (the first by IRI, schema types aside)."""

    def _get(self, iri):
        from kqa.kb.graph import _local_name

        found = self.view.indexed(self.view.node(iri), _CLASS)
        return _local_name(found[0].value) if found else None

    def __iter__(self):
        return self.view.each_subject(_CLASS)

    def with_class(self, classes: frozenset[str]) -> Iterator[Any]:
        """The entities whose class has one of these local names: one query over the class triples."""
        from kqa.kb.graph import _local_name

        if not classes:
            return
        ends = " || ".join(f"STRENDS(?c, {json.dumps(c)})" for c in sorted(classes))
        for s, c in self.view.store.query(f"SELECT ?s ?c WHERE {{ GRAPH <{_INDEX_GRAPH}> {{ ?s <{_CLASS}> ?c }} "
                                          f"FILTER({ends}) }}"):
            if _local_name(c.value) in classes:  # "SubCountry" ends in "Country" too
                yield self.view.from_ox(s)


class _Degree(_LazyMapping):
    """entity IRI -> the fact triples it is in (labelled entities in at least one)."""

    def _get(self, iri):
        return self.view.degree(iri) or None

    def __iter__(self):
        return self.view.each_subject(_DEGREE)


class _Names(_LazyMapping):
    """name_key -> entity IRIs: those whose label has the key, then those with it as another name; each
    group the one in more facts first, then by IRI. What the entity linker needs without reading every name
    into Python: ``entity_classes`` (the local names of the classes entities have), ``name_tokens`` (the
    words in the longest name key) and ``key_classes()`` (every key with its entity and class, one query)."""

    def __init__(self, view: _StoreView, size: int, *, entity_classes=None, name_tokens: int | None = None):
        super().__init__(view, size)
        self._entity_classes, self.name_tokens = entity_classes, name_tokens  # None in a store from before them

    @property
    def entity_classes(self) -> tuple[str, ...]:
        if self._entity_classes is None:
            from kqa.kb.graph import _local_name

            self._entity_classes = sorted({_local_name(c.value) for (c,) in self.view.store.query(
                f"SELECT DISTINCT ?c WHERE {{ GRAPH <{_INDEX_GRAPH}> {{ ?s <{_CLASS}> ?c }} }}")})
        return tuple(self._entity_classes)

    def key_classes(self) -> Iterator[tuple[str, Any, str | None]]:
        """(name key, entity IRI, local name of its class or None) for every name of every entity."""
        from kqa.kb.graph import _local_name

        for key, s, cls in self.view.store.query(f"""SELECT ?k ?s ?c WHERE {{ GRAPH <{_INDEX_GRAPH}> {{
                ?s ?kp ?k VALUES ?kp {{ <{_LABEL_KEY}> <{_ALIAS_KEY}> }} OPTIONAL {{ ?s <{_CLASS}> ?c }} }} }}"""):
            yield key.value, self.view.from_ox(s), _local_name(cls.value) if cls is not None else None

    def _get(self, key):
        if not isinstance(key, str) or not key:
            return None
        order = lambda iri: (-self.view.degree(iri), str(iri))  # noqa: E731
        by_label = sorted(self.view.subjects(_LABEL_KEY, key), key=order)
        by_alias = sorted(set(self.view.subjects(_ALIAS_KEY, key)) - set(by_label), key=order)
        return tuple(by_label + by_alias) or None

    def __iter__(self):
        return self.view.each_key(_LABEL_KEY, _ALIAS_KEY)


class _Values(_LazyMapping):
    """name_key of a plain literal -> the (s, p, o) facts that have it as their object."""

    def _get(self, key):
        from kqa.kb.graph import XSD_STRING, name_key

        if not isinstance(key, str) or not key:
            return None
        facts = []
        for subject in self.view.subjects(_VALUE_KEY, key):
            for q in self.view.store.quads_for_pattern(self.view.node(subject), None, None, self.view.default):
                o = q.object
                if (isinstance(o, self.view.ox.Literal) and (o.language or o.datatype.value == XSD_STRING)
                        and self.view.from_ox(q.predicate) in self.view.relations
                        and name_key(o.value) == key):
                    facts.append((subject, self.view.from_ox(q.predicate), plain(self.view.from_ox(o))))
        return tuple(sorted(set(facts), key=lambda t: (str(t[0]), str(t[1]), str(t[2])))) or None

    def __iter__(self):
        return self.view.each_key(_VALUE_KEY)


__all__ = ["STORES", "AUTO_OXIGRAPH_BYTES", "choose_store", "open_oxigraph", "build_store", "store_index",
           "store_folder", "file_sha256"]
