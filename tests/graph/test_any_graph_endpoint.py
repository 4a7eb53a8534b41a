"""The films graph served by a real Oxigraph server: every question shape gives the same answer and the same
evidence as the graph in memory."""

from __future__ import annotations

import subprocess
import time
import urllib.request

import pytest
from rdflib import Graph

from kqa.kb.graph import KnowledgeGraph
from kqa.models.embedder import HashingEncoder
from kqa.readers.graph_reader import GraphReader
from tests.graph.conftest import _free_port, _oxigraph_binary
from tests.graph.graphs import FILM_QUESTIONS, FILMS, OUT_OF_GRAPH


def _encode(texts):
    return HashingEncoder().encode(list(texts))


@pytest.fixture(scope="module")
def films_endpoint(tmp_path_factory):
    binary = _oxigraph_binary()
    if binary is None:
        pytest.fail("the oxigraph server is not installed: pip install oxigraph")
    folder = tmp_path_factory.mktemp("films-oxigraph")
    (folder / "films.ttl").write_text(FILMS, encoding="utf-8")
    subprocess.run([binary, "load", "--location", str(folder / "store"), "--file", str(folder / "films.ttl")],
                   check=True, capture_output=True, timeout=120)
    port = _free_port()
    process = subprocess.Popen([binary, "serve-read-only", "--location", str(folder / "store"), "--bind",
                                f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("oxigraph did not start")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_films_at_an_endpoint_equal_films_in_memory(films_endpoint):
    here = GraphReader(KnowledgeGraph.from_graph(Graph().parse(data=FILMS, format="turtle")), encode=_encode)
    there = GraphReader(KnowledgeGraph.from_endpoint(films_endpoint), encode=_encode)
    for question, text, _ in FILM_QUESTIONS:
        a, b = here.answer(question), there.answer(question)
        assert b.text == a.text == text, (question, b.meta.get("reason"))
        assert [e.id for e in b.evidence] == [e.id for e in a.evidence], question
    for question in OUT_OF_GRAPH:
        assert there.answer(question).text is None
