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
    from kqa.kb.pack import build_factbook_pack

    return build_factbook_pack(tmp_path_factory.mktemp("packs") / "factbook")


@pytest.fixture(scope="session")
def factbook_records():
    from kqa.kb.factbook import build_records

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
