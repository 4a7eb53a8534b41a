"""Hostile packs and input files: opening someone else's pack or graph file runs none of their code, reads
nothing outside the file, fetches nothing, and ends in an answer or one clear error.

What "nothing ran" and "nothing was fetched" rest on: a crafted pickle whose loading would create a canary
file; a local HTTP server that counts the requests a file's URLs would send; and a Python audit hook that
records every ``open`` of a secret file and every ``socket.connect`` while a case runs.
"""

from __future__ import annotations

import http.server
import json
import pickle
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from kqa.kb.errors import BadFileError, KqaError

TTL = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix ex: <http://example.org/> .
ex:alpha rdfs:label "Alpha" ; ex:capital ex:beta .
ex:beta rdfs:label "Beta" .
"""

# ------------------------------------------------------------------------------------------------ watchers

_events: list[tuple[str, str]] | None = None  # what the audit hook saw while a case ran; None: not watching


def _audit(event: str, args: tuple) -> None:
    if _events is not None and event in ("open", "socket.connect"):
        _events.append((event, str(args[0] if event == "open" else args[1])))


_hook_installed = False


@contextmanager
def watching():
    """Record opens and socket connects (audit hooks cannot be removed: one is installed, switched on here)."""
    global _events, _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    _events = seen = []
    try:
        yield seen
    finally:
        _events = None


class _Counter(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        body = b'<!ENTITY x "fetched">' if self.path.endswith(".dtd") else b'{"@context": {"@vocab": "http://e/"}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """A local HTTP server that answers anything and counts what it was asked: a URL in a hostile file points
    here, so a fetch would show up as a request."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Counter.requests
    httpd.shutdown()


def _crafted_pickle(canary: Path) -> bytes:
    """A pickle that creates ``canary`` when it is loaded: the code a stranger's cache file would run."""

    class Payload:
        def __reduce__(self):
            return (open, (str(canary), "w"))

    return pickle.dumps(Payload())


def _tiny_pack(folder: Path) -> Path:
    """A pack written by hand, as a user's pack may be: no fingerprints in the manifest."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"name": "tiny"}))
    (folder / "graph.ttl").write_text(TTL)
    (folder / "corpus.jsonl").write_text(json.dumps({"id": "a/0", "title": "Alpha", "text": "Beta is the capital "
                                                     "of Alpha."}) + "\n")
    (folder / "questions.jsonl").write_text(json.dumps({"question": "What is the capital of Alpha?",
                                                        "answer": ["Beta"]}) + "\n")
    return folder


def _plant_pickles(pack: Path, canary: Path) -> list[Path]:
    """Crafted pickles under every name an older kqa (or a guess at a newer one) might read in a pack."""
    import hashlib

    sha = hashlib.sha256((pack / "graph.ttl").read_bytes()).hexdigest()
    (pack / "index").mkdir(exist_ok=True)
    planted = [pack / "index" / f"graph-{sha[:20]}-v1.pickle", pack / "index" / f"graph-{sha}-v1.pickle",
               pack / f"graph-{sha}-v1.pickle", pack / "cache" / f"graph-{sha}-v1.pickle"]
    for path in planted:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(_crafted_pickle(canary))
    return planted


# ------------------------------------------------------------------------------------------------ caches


def test_a_crafted_graph_pickle_in_a_pack_is_never_loaded(tmp_path, observe):
    from kqa.kb.graph import load_graph

    pack = _tiny_pack(tmp_path / "received")
    canary = tmp_path / "canary"
    planted = _plant_pickles(pack, canary)
    cache = tmp_path / "home" / "cache"
    with watching() as seen:
        first = load_graph(pack, cache_dir=cache)
        second = load_graph(pack, cache_dir=cache)
    read_from_pack = [p for e, p in seen if e == "open" and p.startswith(str(pack)) and p.endswith(".pickle")]
    observe("security", "crafted pickle (creates a canary when loaded) at the old cache name in the pack, and "
            "at 3 other names in it", "never loaded: no canary; the graph is parsed and cached in the user's folder",
            f"canary created: {canary.exists()}; pickles opened in the pack: {len(read_from_pack)}; 'Alpha' found: "
            f"{bool(second.lookup_name('Alpha'))}; user cache files: {len(list(cache.glob('graph-*.pickle')))}")
    assert not canary.exists() and not read_from_pack
    assert first.lookup_name("Alpha") and second.lookup_name("Alpha")
    assert len(list(cache.glob("graph-*.pickle"))) == 1 and all(p.read_bytes() for p in planted)
    assert oct(cache.stat().st_mode & 0o777) == "0o700"


def test_a_cache_folder_other_users_can_write_is_not_read(tmp_path, observe):
    """The one place kqa unpickles: refused when anyone but the user could have put a file there."""
    import hashlib

    from kqa.kb.graph import load_graph

    pack = _tiny_pack(tmp_path / "pack")
    cache = tmp_path / "shared-cache"
    cache.mkdir()
    cache.chmod(0o777)
    canary = tmp_path / "canary"
    sha = hashlib.sha256((pack / "graph.ttl").read_bytes()).hexdigest()
    (cache / f"graph-{sha}-v1.pickle").write_bytes(_crafted_pickle(canary))
    with pytest.raises(KqaError) as err:
        load_graph(pack, cache_dir=cache)
    observe("security", "a crafted pickle in a cache folder that other users can write (mode 0777)",
            "KqaError saying how to fix the folder; no canary", f"canary created: {canary.exists()}; {err.value}",
            tmp_path)
    assert not canary.exists() and "chmod go-w" in str(err.value)


def _old_style_faiss_entry(pack: Path, passages, encoder) -> Path:
    """A FAISS cache entry in the pack, named and described exactly as an older kqa wrote and read it, whose
    index file claims 2**40 vectors of 2**30 dimensions: what a hostile index would look like."""
    from kqa.retrievers import _cache
    from kqa.retrievers.faiss_retriever import passage_windows

    keys, texts, _ = passage_windows(passages)
    corpus_hash = _cache.content_hash(keys, texts)
    folder = pack / "index" / f"faiss-{_cache.slug(encoder.model_id)}-flat-{corpus_hash[:12]}"
    folder.mkdir(parents=True)
    header = b"IxFI" + (2**30).to_bytes(4, "little") + (2**40).to_bytes(8, "little") + b"\0" * 24
    (folder / "index.faiss").write_bytes(header)
    meta = {"format": 1, "model_id": encoder.model_id, "dim": encoder.dim, "kind": "flat", "build_params": {},
            "corpus_hash": corpus_hash, "passages": len(passages), "vectors": len(texts),
            "files": {"index.faiss": {"size_bytes": len(header), "sha256": _cache.file_sha256(folder / "index.faiss")}}}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def test_a_crafted_faiss_index_in_a_pack_is_never_read(tmp_path, monkeypatch, observe):
    import faiss

    from kqa.kb.corpus import load_corpus
    from kqa.models.embedder import HashingEncoder
    from kqa.retrievers.bm25_retriever import BM25Retriever
    from kqa.retrievers.faiss_retriever import FaissRetriever

    pack = _tiny_pack(tmp_path / "received")
    passages, encoder = load_corpus(pack / "corpus.jsonl"), HashingEncoder(dim=64)
    crafted = _old_style_faiss_entry(pack, passages, encoder)
    read: list[str] = []
    real_read = faiss.read_index
    monkeypatch.setattr(faiss, "read_index", lambda path, *a: (read.append(str(path)), real_read(path, *a))[1])
    cache = tmp_path / "home" / "cache"
    first = FaissRetriever.build_or_load(passages, encoder, cache)
    second = FaissRetriever.build_or_load(passages, encoder, cache)
    bm25 = BM25Retriever.build_or_load(passages, cache)
    from_pack = [p for p in read if p.startswith(str(pack))]
    observe("security", "crafted FAISS index (claims 2^40 vectors) in the pack's index/, with a matching meta.json",
            "never read; the index is built in the user's cache folder and read from there",
            f"FAISS files read from the pack: {len(from_pack)}; from the user's cache: {len(read)}; second open a "
            f"cache hit: {second.cache_hit}; top passage: {second.retrieve('capital of Alpha', k=1)[0].id}")
    assert not from_pack and len(read) == 1 and not first.cache_hit and second.cache_hit
    assert first.cache_path.parent == cache and bm25.cache_path.parent == cache and crafted.is_dir()
    assert second.retrieve("capital of Alpha", k=1)[0].id == "passage:a/0"


def test_without_a_cache_folder_nothing_is_written_anywhere(tmp_path):
    from kqa.kb.corpus import load_corpus
    from kqa.kb.graph import load_graph
    from kqa.models.embedder import HashingEncoder
    from kqa.retrievers.bm25_retriever import BM25Retriever
    from kqa.retrievers.faiss_retriever import FaissRetriever

    pack = _tiny_pack(tmp_path / "pack")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    passages = load_corpus(pack / "corpus.jsonl")
    dense = FaissRetriever.build_or_load(passages, HashingEncoder(dim=64))
    sparse = BM25Retriever.build_or_load(passages)
    assert load_graph(pack).lookup_name("beta")
    assert dense.cache_path is None and sparse.cache_path is None and dense.retrieve("Alpha", k=1)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_kqa_ask_on_a_received_factbook_pack_with_a_crafted_pickle(factbook_pack, tmp_path, monkeypatch, capsys,
                                                                  observe):
    """The issue's case end to end: `kqa ask --pack DIR` on a copied pack whose cache was replaced."""
    from kqa.apps.cli import main

    pack = tmp_path / "received"
    shutil.copytree(factbook_pack.path, pack)
    canary = tmp_path / "canary"
    _plant_pickles(pack, canary)
    monkeypatch.setenv("KQA_HOME", str(tmp_path / "home"))
    code = main(["ask", "What is the capital of Peru?", "--backends", "graph", "--pack", str(pack)])
    out = capsys.readouterr().out
    cached = list((tmp_path / "home" / "cache").glob("graph-*.pickle"))
    observe("security", "kqa ask --pack on a copied Factbook pack whose graph cache is a crafted pickle",
            "exit 0 and the answer; no canary; the cache rebuilt in KQA_HOME/cache",
            f"exit {code}; {'Lima' if 'Lima' in out else out[:60]}; canary created: {canary.exists()}; "
            f"caches in KQA_HOME: {len(cached)}")
    assert code == 0 and "Lima" in out and not canary.exists() and len(cached) == 1


# ------------------------------------------------------------------------------------------------ RDF files


XML_HEAD = '<?xml version="1.0"?>\n'
XML_BODY = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">\n'
            '<rdf:Description rdf:about="http://example.org/alpha"><rdfs:label>&x;</rdfs:label></rdf:Description>\n'
            '</rdf:RDF>\n')


def _xml_cases(secret: Path, url: str) -> dict[str, str]:
    laughs = '<!ENTITY a "ha">' + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                                          for i in range(9))
    return {
        "XML external entity: file:// (a local secret)": f'<!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM "{secret.as_uri()}">]>',
        "XML external entity: http://": f'<!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM "{url}/entity.txt">]>',
        "XML parameter entity: http:// DTD": f'<!DOCTYPE rdf:RDF [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>',
        "XML external DTD": f'<!DOCTYPE rdf:RDF SYSTEM "{url}/rdf.dtd">',
        "XML billion laughs (10^9 characters from 10 nested entities)":
            f'<!DOCTYPE rdf:RDF [{laughs}<!ENTITY x "&j;">]>',
    }


def test_rdf_xml_entity_tricks_are_refused_without_reading_or_fetching(tmp_path, server, observe):
    from kqa.kb.rdf import load_rdf

    url, requests = server
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    for case, doctype in _xml_cases(secret, url).items():
        path = tmp_path / "graph.rdf"
        path.write_text(XML_HEAD + doctype + "\n" + XML_BODY)
        before = len(requests)
        start = time.perf_counter()
        with watching() as seen, pytest.raises(BadFileError) as err:
            load_rdf(path)
        took = time.perf_counter() - start
        opened = [p for e, p in seen if e == "open" and p == str(secret)]
        connects = [p for e, p in seen if e == "socket.connect"]
        observe("security", case, "BadFileError naming the file and line; no file read, nothing fetched",
                f"{str(err.value).replace(url, '<server>')}; secret opened: {len(opened)}; HTTP requests: "
                f"{len(requests) - before}; "
                f"connects: {len(connects)}", tmp_path)
        assert not opened and not connects and len(requests) == before and took < 5
        assert "graph.rdf" in str(err.value) and err.value.line is not None


def test_rdf_xml_with_protege_style_internal_entities_still_loads(tmp_path):
    from kqa.kb.rdf import load_rdf

    path = tmp_path / "onto.owl"
    path.write_text(XML_HEAD + '<!DOCTYPE rdf:RDF [<!ENTITY ex "http://example.org/"><!ENTITY x "Alpha">]>\n'
                    + XML_BODY.replace('rdf:about="http://example.org/alpha"', 'rdf:about="&ex;alpha"'))
    graph = load_rdf(path)
    assert [(str(s), str(o)) for s, _, o in graph] == [("http://example.org/alpha", "Alpha")]


def test_rdf_xml_quadratic_entity_expansion_is_refused(tmp_path, observe):
    from kqa.kb.rdf import load_rdf

    path = tmp_path / "graph.rdf"
    path.write_text(XML_HEAD + f'<!DOCTYPE rdf:RDF [<!ENTITY x "{"y" * 1000}">]>\n'
                    + XML_BODY.replace("&x;", "&x;" * 20_000))
    with pytest.raises(BadFileError) as err:
        load_rdf(path)
    observe("security", "XML entity of 1,000 characters referenced 20,000 times (quadratic blowup)",
            "BadFileError: expansion bounded", str(err.value), tmp_path)
    assert "expand to 20,000,000 characters" in str(err.value)


def test_links_in_turtle_and_json_ld_are_never_followed(tmp_path, server, observe):
    from kqa.kb.graph import load_graph
    from kqa.kb.rdf import load_rdf

    url, requests = server
    turtle = tmp_path / "imports.ttl"
    turtle.write_text(TTL + f"<http://example.org/onto> a owl:Ontology ; owl:imports <{url}/more.ttl> .\n"
                      f"ex:alpha rdfs:seeAlso <{url}/see.ttl> .\n")
    before = len(requests)
    with watching() as seen:
        kg = load_graph(turtle, cache_dir=tmp_path / "cache")
    connects = [p for e, p in seen if e == "socket.connect"]
    observe("security", "Turtle with owl:imports and rdfs:seeAlso pointing at a server", "loaded; nothing fetched",
            f"'Alpha' found: {bool(kg.lookup_name('alpha'))}; HTTP requests: {len(requests) - before}; "
            f"connects: {len(connects)}")
    assert kg.lookup_name("alpha") and len(requests) == before and not connects

    cases = {
        "JSON-LD remote @context": {"@context": f"{url}/context.jsonld", "@id": "http://e/a", "name": "A"},
        "JSON-LD remote @context in a list": {"@context": [{"@vocab": "http://e/"}, f"{url}/c.jsonld"],
                                               "@id": "http://e/a", "name": "A"},
        "JSON-LD scoped remote @context deep inside": {"@context": {"@vocab": "http://e/"}, "@id": "http://e/a",
                                                       "knows": {"@context": f"{url}/c.jsonld", "@id": "http://e/b",
                                                                 "name": "B"}},
        "JSON-LD @import in a context": {"@context": {"@version": 1.1, "@import": f"{url}/c.jsonld"},
                                         "@id": "http://e/a", "name": "A"},
    }
    for case, document in cases.items():
        path = tmp_path / "graph.jsonld"
        path.write_text(json.dumps(document))
        before = len(requests)
        with watching() as seen, pytest.raises(BadFileError) as err:
            load_rdf(path)
        connects = [p for e, p in seen if e == "socket.connect"]
        observe("security", case, "BadFileError: inline the context; nothing fetched",
                f"{str(err.value).replace(url, '<server>')}; HTTP requests: {len(requests) - before}; "
                f"connects: {len(connects)}", tmp_path)
        assert "remote JSON-LD context" in str(err.value) and len(requests) == before and not connects
    inline = tmp_path / "inline.jsonld"
    inline.write_text(json.dumps({"@context": {"@vocab": "http://e/"}, "@id": "http://e/a", "name": "A"}))
    assert [str(o) for o in load_rdf(inline).objects()] == ["A"]


def test_sparql_service_and_from_on_a_user_graph_fetch_nothing(tmp_path, server, observe):
    from kqa.kb.graph import PREFIXES, load_graph
    from kqa.kb.sparql_guard import UnsafeQueryError, run_readonly

    url, requests = server
    turtle = tmp_path / "mine.ttl"
    turtle.write_text(TTL)
    kg = load_graph(turtle)
    for case, query in {"SERVICE": f"SELECT * WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}",
                        "FROM": f"SELECT * FROM <{url}/g.ttl> WHERE {{ ?s ?p ?o }}"}.items():
        before = len(requests)
        with watching() as seen, pytest.raises(UnsafeQueryError) as err:
            run_readonly(kg.graph, query, prefixes=PREFIXES, timeout_s=5, max_rows=10)
        connects = [p for e, p in seen if e == "socket.connect"]
        observe("security", f"kqa sparql on a user's graph: {case} <local server>", "refused; nothing fetched",
                f"{str(err.value).replace(url, '<server>')[:120]}; HTTP requests: {len(requests) - before}; "
                f"connects: {len(connects)}")
        assert len(requests) == before and not connects


def test_deep_nesting_is_refused_with_a_clear_error(tmp_path, observe):
    from kqa.kb.questions import load_questions
    from kqa.kb.rdf import load_rdf

    n = 100_000
    files = {
        "graph.ttl": "<http://e/a> <http://e/p> " + "[ <http://e/p> " * n + '"x"' + " ]" * n + " .\n",
        "graph.jsonld": '{"@id": "http://e/a", ' + '"http://e/p": {' * n + '"http://e/q": "x"' + "}" * n + "}",
        "graph.rdf": ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
                      '<rdf:Description rdf:about="http://e/a">' + "<e:p><rdf:Description>" * n + "<e:q>x</e:q>"
                      + "</rdf:Description></e:p>" * n + "</rdf:Description></rdf:RDF>"),
        "questions.jsonl": '{"question": "q?", "answer": ' + "[" * n + '"x"' + "]" * n + "}\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        start = time.perf_counter()
        with pytest.raises(BadFileError) as err:
            load_questions(path) if name.endswith(".jsonl") else load_rdf(path)
        took = time.perf_counter() - start
        observe("security", f"100,000 levels of nesting: {name}", "BadFileError naming the file, within seconds",
                str(err.value), tmp_path)
        assert name in str(err.value) and ("nest" in str(err.value)) and took < 10


def test_a_long_n_triples_literal_parses_in_linear_time(tmp_path, observe):
    """rdflib's own N-Triples parser takes minutes over one 10 MB line; kqa parses N-Triples as Turtle."""
    from kqa.kb.rdf import load_rdf

    path = tmp_path / "graph.nt"
    path.write_text('<http://e/a> <http://e/p> "' + "x" * 900_000 + '" .\n<http://e/a> <http://e/q> "y" .\n')
    start = time.perf_counter()
    graph = load_rdf(path)
    took = time.perf_counter() - start
    observe("security", "N-Triples with a 900,000-character literal", "parsed in about a second",
            f"{len(graph)} triples, {'under 5 s' if took < 5 else f'{took:.0f} s'}")
    assert len(graph) == 2 and took < 5


@pytest.mark.slow
def test_a_100_mb_literal_is_refused(tmp_path, observe):
    from kqa.kb.rdf import load_rdf

    for name in ("graph.ttl", "graph.nt"):
        path = tmp_path / name
        with path.open("w") as handle:
            handle.write('<http://e/a> <http://e/p> "')
            for _ in range(100):
                handle.write("x" * 1_000_000)
            handle.write('" .\n')
        start = time.perf_counter()
        with pytest.raises(BadFileError) as err:
            load_rdf(path)
        took = time.perf_counter() - start
        path.unlink()
        observe("security", f"a literal of 100,000,000 characters ({name})", "BadFileError, within seconds",
                str(err.value), tmp_path)
        assert "100,000,000 characters" in str(err.value) and "at most 1,048,576" in str(err.value) and took < 60


# ------------------------------------------------------------------------------------------------ JSONL and manifest


def test_a_question_file_with_a_1_gb_line_is_refused_without_reading_it(tmp_path, observe):
    """A 1 GiB line (a sparse file: no disk is used) is refused after reading at most 16 MiB of it."""
    import resource

    from kqa.kb.corpus import load_corpus
    from kqa.kb.questions import load_questions

    for name, load in (("questions.jsonl", load_questions), ("corpus.jsonl", load_corpus)):
        path = tmp_path / name
        with path.open("wb") as handle:
            handle.write(b'{"id": "a", "question": "what?", "answer": ["x"], "text": "x"}\n{"question": "')
            handle.truncate(1 << 30)  # the rest reads as NUL bytes
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        with pytest.raises(BadFileError) as err:
            load(path)
        took = time.perf_counter() - start
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        observe("security", f"{name} with a line of 1 GiB", "BadFileError naming line 2, after reading at most 16 MiB",
                f"{err.value}; peak memory grew {'under 100 MB' if grown_mb < 100 else f'{grown_mb:.0f} MB'}",
                tmp_path)
        assert err.value.line == 2 and "longer than 16,777,216 bytes" in str(err.value)
        assert took < 10 and grown_mb < 100


def test_a_hostile_manifest_is_refused_or_confined(tmp_path, observe):
    from kqa.kb.pack import open_pack

    pack = _tiny_pack(tmp_path / "pack")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    (pack / "manifest.json").write_text(json.dumps({"files": {f"../{secret.name}": {"size_bytes": 1},
                                                              str(secret): {"size_bytes": 1}}}))
    with watching() as seen:
        opened = open_pack(pack)
    observe("security", "manifest.json listing files outside the pack", "opened; the files named are not read",
            f"secret opened: {sum(p.endswith('secret.txt') for e, p in seen if e == 'open')}; pack: {opened.name}")
    assert not any(p.endswith("secret.txt") for e, p in seen if e == "open")
    (pack / "manifest.json").write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(KqaError) as err:
        open_pack(pack)
    observe("security", "manifest.json nested 100,000 deep", "KqaError saying to rebuild", str(err.value), tmp_path)
    assert "nested too deeply" in str(err.value)
