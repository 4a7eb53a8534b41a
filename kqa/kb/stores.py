"""Keep a knowledge graph in Oxigraph, an on-disk SPARQL engine, behind rdflib's API (``oxrdflib``).

rdflib's in-memory store holds about a kilobyte per triple and parses Turtle in pure Python: fine for the
Factbook's 73k triples, out of reach for a Wikidata extract of tens of millions. ``open_oxigraph(path,
store_dir)`` bulk-loads the RDF file once into an Oxigraph (RocksDB) folder named by the file's SHA-256 and
opens it read-only afterwards, so a 10M-triple graph opens in seconds and several processes (the app, an
eval, Ray workers on one machine) read one copy. Queries run in Oxigraph's Rust SPARQL engine; the values a
retriever binds go in as Oxigraph substitutions (rdflib's ``initBindings``), never spliced into text.

The name index (``GraphIndex``) is not held in Python dicts here: at build time each entity's name keys
(``name_key`` of its label and aliases) and the keys of plain-literal facts are written as triples into a
private named graph, and the index's mappings look them up in the store on demand. Queries on the default
graph never see that named graph.

A store folder is only trusted when its marker (``kqa-store.json``, written last, after the folder is
complete) names the same graph hash and version; anything else is rebuilt. It holds data only (RocksDB
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

STORE_VERSION = 1  # bump when the folder's layout or the index graph changes
STORES = ("auto", "memory", "oxigraph")
# "auto" keeps rdflib's memory store below this file size (about 700k triples of N-Triples, 1.3M of compact
# Turtle: over a GB of memory and a minute or more of parsing in rdflib; docs/scale.md) and uses Oxigraph above.
AUTO_OXIGRAPH_BYTES = 64 << 20
MARKER = "kqa-store.json"

_INDEX_GRAPH = "urn:kqa:index"
_LABEL_KEY = "urn:kqa:labelKey"  # <entity> labelKey "name key of its rdfs:label"
_ALIAS_KEY = "urn:kqa:aliasKey"  # <entity> aliasKey "name key of a skos:altLabel"
_VALUE_KEY = "urn:kqa:valueKey"  # <entity> valueKey "name key of a plain literal it has on a relation"

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


def store_folder(path: Path, store_dir: Path, digest: str | None = None) -> Path:
    return Path(store_dir).expanduser() / f"oxigraph-{(digest or file_sha256(path))[:20]}-v{STORE_VERSION}"


def open_oxigraph(path: Path, store_dir: Path, *, rebuild: bool = False):
    """A ``KnowledgeGraph`` over an Oxigraph store of the RDF file at ``path``, built under ``store_dir`` on
    first use (bulk load plus the name index: about a minute per 10M triples on two cores) and opened
    read-only afterwards."""
    import pyoxigraph as ox

    from kqa.kb.graph import KnowledgeGraph

    path = Path(path).expanduser()
    if not path.is_file():
        raise KqaError(f"no graph file at {path}: run `kqa build` first")
    digest = file_sha256(path)
    folder = store_folder(path, store_dir, digest)
    if rebuild or not _trusted(folder, digest):
        with _build_lock(folder):  # two processes starting at once (Ray actors on one node): one builds
            if rebuild or not _trusted(folder, digest):
                build_store(path, folder, digest)
    store = ox.Store.read_only(str(folder))
    graph = _rdflib_graph(store)
    return KnowledgeGraph(graph, store_index(store), source=str(path), on_disk=True)


def build_store(path: Path, folder: Path, digest: str) -> None:
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
        store.bulk_extend(_index_quads(store))
        store.optimize()
        store.flush()
        del store
        (tmp / MARKER).write_text(json.dumps({"graph_sha256": digest, "version": STORE_VERSION, "triples": triples,
                                              "source": str(path)}))
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


def _trusted(folder: Path, digest: str) -> bool:
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("graph_sha256") == digest and marker.get("version") == STORE_VERSION


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

_RELATIONS_QUERY = """
SELECT ?r ?c WHERE { ?r a rdf:Property OPTIONAL { ?r rdfs:comment ?c } }"""
_NAMES_QUERY = "SELECT ?s ?o WHERE { ?s <%s> ?o FILTER(isLiteral(?o)) }"
_PLAIN_VALUES_QUERY = """
SELECT DISTINCT ?s ?o WHERE { ?p a rdf:Property . ?s ?p ?o
  FILTER(isLiteral(?o) && (datatype(?o) = xsd:string || lang(?o) != "")) }"""
_PREFIXES = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
             "xsd": "http://www.w3.org/2001/XMLSchema#"}


def _index_quads(store) -> Iterator[Any]:
    """The name-key triples, in the private index graph: one per (entity, key), computed in one pass."""
    import pyoxigraph as ox

    from kqa.kb.graph import RDFS_LABEL, SKOS_ALT, name_key

    graph = ox.NamedNode(_INDEX_GRAPH)
    for source, target in ((RDFS_LABEL, _LABEL_KEY), (SKOS_ALT, _ALIAS_KEY)):
        predicate = ox.NamedNode(target)
        for subject, text in store.query(_NAMES_QUERY % source):
            key = name_key(text.value)
            if key:
                yield ox.Quad(subject, predicate, ox.Literal(key), graph)
    predicate = ox.NamedNode(_VALUE_KEY)
    for subject, text in store.query(_PLAIN_VALUES_QUERY, prefixes=_PREFIXES):
        key = name_key(text.value)
        if key:
            yield ox.Quad(subject, predicate, ox.Literal(key), graph)


def store_index(store):
    """A ``GraphIndex`` whose mappings read the store: the same contents ``build_index`` computes from all
    triples, without holding them in Python. Relation descriptions (a few hundred) are read eagerly."""
    import pyoxigraph as ox
    from oxrdflib._converter import from_ox

    from kqa.kb.graph import GraphIndex, _local_name

    iris, comments = set(), {}
    for r, comment in store.query(_RELATIONS_QUERY, prefixes=_PREFIXES):
        iris.add(from_ox(r))
        if comment is not None:
            comments[from_ox(r)] = comment.value
    relations = {r: comments.get(r, _local_name(r)) for r in sorted(iris, key=str)}
    view = _StoreView(store, ox, from_ox, frozenset(relations))
    return GraphIndex(names=_Names(view), labels=_Labels(view), aliases=_Aliases(view), classes=_Classes(view),
                      relations=relations, values=_Values(view))


class _StoreView:
    """What the lazy mappings share: the store, the term converters and the relation IRIs."""

    def __init__(self, store, ox, from_ox, relations: frozenset):
        self.store, self.ox, self.from_ox, self.relations = store, ox, from_ox, relations
        self.index_graph = ox.NamedNode(_INDEX_GRAPH)
        self.default = ox.DefaultGraph()

    def objects(self, subject, predicate: str, graph=None) -> list:
        s = self._node(subject)
        if s is None:
            return []
        return [q.object for q in self.store.quads_for_pattern(s, self.ox.NamedNode(predicate), None,
                                                               graph or self.default)]

    def subjects(self, predicate: str, key: str) -> list:
        return [self.from_ox(q.subject) for q in self.store.quads_for_pattern(
            None, self.ox.NamedNode(predicate), self.ox.Literal(key), self.index_graph)]

    def _node(self, term):
        from rdflib import BNode, URIRef

        if isinstance(term, URIRef):
            return self.ox.NamedNode(str(term))
        if isinstance(term, BNode):
            return self.ox.BlankNode(str(term))
        return None  # a literal or a string is never a subject here


class _LazyMapping(Mapping):
    def __init__(self, view: _StoreView):
        self.view = view

    def __getitem__(self, key):
        value = self._get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key) -> bool:
        return self._get(key) is not None


class _Labels(_LazyMapping):
    """entity IRI -> its rdfs:label (the first, in the store's order)."""

    def _get(self, iri):
        from kqa.kb.graph import RDFS_LABEL

        for o in self.view.objects(iri, RDFS_LABEL):
            if isinstance(o, self.view.ox.Literal):
                return o.value
        return None

    def __iter__(self):
        seen = set()
        for q in self.view.store.quads_for_pattern(None, self.view.ox.NamedNode(_LABEL_KEY), None,
                                                   self.view.index_graph):
            if q.subject not in seen:
                seen.add(q.subject)
                yield self.view.from_ox(q.subject)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Aliases(_Labels):
    """entity IRI -> every name it has, label first, then its altLabels sorted."""

    def _get(self, iri):
        from kqa.kb.graph import SKOS_ALT

        label = super()._get(iri)
        if label is None:
            return None
        alt = sorted(o.value for o in self.view.objects(iri, SKOS_ALT) if isinstance(o, self.view.ox.Literal))
        return tuple(dict.fromkeys([label, *alt]))


class _Classes(_LazyMapping):
    """entity IRI -> the local name of its class (rdf:Property aside)."""

    def _get(self, iri):
        from kqa.kb.graph import RDF_PROPERTY, RDF_TYPE, _local_name

        for o in self.view.objects(iri, RDF_TYPE):
            if isinstance(o, self.view.ox.NamedNode) and o.value != RDF_PROPERTY:
                return _local_name(o.value)
        return None

    def __iter__(self):
        from kqa.kb.graph import RDF_TYPE

        seen = set()
        for q in self.view.store.quads_for_pattern(None, self.view.ox.NamedNode(RDF_TYPE), None, self.view.default):
            if q.subject not in seen and self._get(self.view.from_ox(q.subject)) is not None:
                seen.add(q.subject)
                yield self.view.from_ox(q.subject)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Names(_LazyMapping):
    """name_key -> entity IRIs: those whose label has the key (sorted), then those with it as an alias."""

    def _get(self, key):
        if not isinstance(key, str) or not key:
            return None
        by_label = sorted(self.view.subjects(_LABEL_KEY, key), key=str)
        by_alias = sorted(set(self.view.subjects(_ALIAS_KEY, key)) - set(by_label), key=str)
        return tuple(by_label + by_alias) or None

    def __iter__(self):
        seen = set()
        for q in self.view.store.quads_for_pattern(None, None, None, self.view.index_graph):
            if q.predicate.value in (_LABEL_KEY, _ALIAS_KEY) and q.object.value not in seen:
                seen.add(q.object.value)
                yield q.object.value

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Values(_LazyMapping):
    """name_key of a plain literal -> the (s, p, o) facts that have it as their object."""

    def _get(self, key):
        from kqa.kb.graph import XSD_STRING, name_key

        if not isinstance(key, str) or not key:
            return None
        facts = []
        for subject in self.view.subjects(_VALUE_KEY, key):
            for q in self.view.store.quads_for_pattern(self.view._node(subject), None, None, self.view.default):
                o = q.object
                if (isinstance(o, self.view.ox.Literal) and (o.language or o.datatype.value == XSD_STRING)
                        and self.view.from_ox(q.predicate) in self.view.relations
                        and name_key(o.value) == key):
                    facts.append((subject, self.view.from_ox(q.predicate), plain(self.view.from_ox(o))))
        return tuple(sorted(set(facts), key=lambda t: (str(t[0]), str(t[1]), str(t[2])))) or None

    def __iter__(self):
        seen = set()
        for q in self.view.store.quads_for_pattern(None, self.view.ox.NamedNode(_VALUE_KEY), None,
                                                   self.view.index_graph):
            if q.object.value not in seen:
                seen.add(q.object.value)
                yield q.object.value

    def __len__(self) -> int:
        return sum(1 for _ in self)


__all__ = ["STORES", "AUTO_OXIGRAPH_BYTES", "choose_store", "open_oxigraph", "build_store", "store_index",
           "store_folder", "file_sha256"]
