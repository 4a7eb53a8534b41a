"""Shared fixtures. The Factbook pack is built once per test session from the installed package, into a
temporary folder: every run checks the real build, not a cached one."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def factbook_pack(tmp_path_factory):
    from kqa.packs.factbook.build import build_factbook_pack

    return build_factbook_pack(tmp_path_factory.mktemp("packs") / "factbook")


@pytest.fixture(scope="session")
def factbook_records():
    from kqa.packs.factbook.parse import build_records

    records, _ = build_records()
    return records


@pytest.fixture(scope="session")
def pack_questions(factbook_pack):
    from kqa.kb.questions import load_questions

    return load_questions(factbook_pack.questions_path)


@pytest.fixture(scope="session")
def pack_passages(factbook_pack):
    from kqa.kb.corpus import load_corpus

    return load_corpus(factbook_pack.corpus_path)


@pytest.fixture(scope="session")
def pack_graph(factbook_pack):
    from kqa.kb.rdf import load_rdf

    return load_rdf(factbook_pack.graph_path)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """A fresh model cache per session: the first load converts the GGUF file for real, later ones reuse it."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def small_pack(factbook_pack, tmp_path_factory):
    """The session's pack with the passages of six countries only, so a FAISS index builds in seconds: the
    real backends over a corpus small enough for tests that also drive a browser or a server."""
    import json
    import shutil

    from kqa.kb.jsonl import read_jsonl, write_jsonl

    small = tmp_path_factory.mktemp("small-pack") / "factbook"
    small.mkdir()
    for part in ("graph.ttl", "questions.jsonl", "profile.json"):  # the profile: the graph reads as in the pack
        shutil.copy(factbook_pack.path / part, small / part)
    keep = ("pe/", "ci/", "fr/", "ja/", "gm/", "br/")
    write_jsonl(small / "corpus.jsonl", (row for _, row in read_jsonl(factbook_pack.corpus_path)
                                         if str(row["id"]).startswith(keep)))
    manifest = json.loads((factbook_pack.path / "manifest.json").read_text())
    manifest.pop("files", None)  # a user's pack: no fingerprints to check
    (small / "manifest.json").write_text(json.dumps(manifest))
    return small


# The fast tier (`make check`, `pytest -m "not slow"`) leaves out every test that needs the real Factbook
# build, a real model or a browser: those fixtures cost seconds each, the rest of the suite milliseconds.
SLOW_FIXTURES = {"factbook_pack", "factbook_records"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & SLOW_FIXTURES or item.get_closest_marker("real_model") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
