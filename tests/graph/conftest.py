"""Fixtures for the graph backend: the pack's KnowledgeGraph, a reader without embeddings, and a real
Oxigraph server loaded with the pack's graph.ttl (started once per session, stopped after)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def graph_kg(factbook_pack):
    from kqa.kb.graph import load_graph

    return load_graph(factbook_pack)


@pytest.fixture(scope="session")
def graph_reader(graph_kg):
    from kqa.readers.graph_reader import GraphReader

    return GraphReader(graph_kg)  # phrasings only: the pack's questions need no embeddings


@pytest.fixture(scope="session")
def dev_questions(pack_questions):
    return [q for q in pack_questions if q.split == "dev"]


def _oxigraph_binary() -> str | None:
    found = shutil.which("oxigraph")
    if found:
        return found
    beside = Path(sys.executable).with_name("oxigraph")  # the venv's bin, when the venv is not activated
    return str(beside) if beside.is_file() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def oxigraph_endpoint(factbook_pack, tmp_path_factory):
    """The query URL of a read-only Oxigraph server holding the pack's graph, on a free local port."""
    binary = _oxigraph_binary()
    if binary is None:
        pytest.fail("the oxigraph server is not installed: pip install oxigraph")
    store = tmp_path_factory.mktemp("oxigraph") / "store"
    subprocess.run([binary, "load", "--location", str(store), "--file", str(factbook_pack.graph_path)],
                   check=True, capture_output=True, timeout=120)
    port = _free_port()
    log = open(store.parent / "server.log", "wb")
    process = subprocess.Popen([binary, "serve-read-only", "--location", str(store), "--bind", f"127.0.0.1:{port}"],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/query"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(url + "?query=ASK%7B%7D")
                with urllib.request.urlopen(request, timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"oxigraph did not start: {(store.parent / 'server.log').read_text()[:500]}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
