"""Fake backends for the app's tests: scripted answers in the shape the real backends give, one that is slow
and one that raises, registered into ``kqa.apps.wiring.FACTORIES`` only for the test that asks for them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from kqa.kb.types import Evidence
from kqa.readers.types import Answer, ClosedBookTrace, CorpusTrace, GraphTrace, LinkedEntity, Passage, abstain

PERU = "http://kqa.dev/entity/country/pe"
LIMA = "http://kqa.dev/entity/city/lima"
CAPITAL = "http://kqa.dev/ontology#capital"
SLOW_S = 3.0


def until(stream, done):
    """The columns of ``stream`` up to the first update where ``done(columns)``, and the seconds it took."""
    start = time.perf_counter()
    for columns in stream:
        if done(columns):
            return columns, time.perf_counter() - start
    raise AssertionError("the stream ended first")


class FakeBackend:
    """Answers every question with ``respond(question, choices)`` after ``delay_s``; ``answer_many`` loops."""

    def __init__(self, name: str, respond, delay_s: float = 0.0):
        self.name = name
        self.respond = respond
        self.delay_s = delay_s

    def answer(self, question: str, choices: Sequence[str] | None = None) -> Answer:
        start = time.perf_counter()
        time.sleep(self.delay_s)
        return self.respond(question, choices, (time.perf_counter() - start) * 1000 + 1.0)

    def answer_many(self, questions):
        return [self.answer(q.question, q.choices) for q in questions]


def graph_answer(question, choices, latency_ms):
    if "Lima" not in question and "Peru" not in question:
        return abstain(question, "graph", "no entity in the question matched the graph", latency_ms=latency_ms)
    triple = f"triple:<{PERU}> <{CAPITAL}> <{LIMA}>"
    sparql = f"SELECT ?o WHERE {{\n  ?s <{CAPITAL}> ?o .\n}}\nVALUES ( ?s ) {{ ( <{PERU}> ) }}"
    trace = GraphTrace(entities=(LinkedEntity("Peru", "Peru", PERU, "Country", 1.0, "exact"),), relation=CAPITAL,
                       relation_label="capital", relation_how="pattern", query_kind="single_hop", sparql=sparql,
                       triples=(("Peru", "capital", "Lima"),), answer_set=("Lima",))
    return Answer(
        question=question, text="Lima", backend="graph", confidence=1.0, latency_ms=latency_ms,
        evidence=(Evidence(id=triple, text="Peru — capital — Lima", source="graph"),),
        rationale=sparql, trace=trace,
    )


def dense_answer(question, choices, latency_ms):
    passages = (
        Evidence(id="passage:pe/government/0", source="corpus", score=0.712,
                 text="Capital: name: Lima; geographic coordinates: 12 03 S, 77 03 W; time difference: UTC-5"),
        Evidence(id="passage:pe/introduction/0", source="corpus", score=0.583,
                 text="Background: Ancient Peru was the seat of several prominent Andean civilizations, most "
                      "notably that of the Incas whose empire was captured by Spanish conquistadors in 1533."),
        Evidence(id="passage:ci/government/0", source="corpus", score=0.455,
                 text="Capital: name: Santiago; geographic coordinates: 33 27 S, 70 40 W"),
    )
    trace = CorpusTrace(retriever="dense", k=3, model="fake-reader",
                        passages=tuple(Passage(e.id, e.score) for e in passages),
                        lines=("Peru Government - Capital: name: Lima", "Chile Government - Capital: name: Santiago"))
    return Answer(question=question, text="Lima", backend="dense", confidence=0.83, evidence=passages,
                  latency_ms=latency_ms, rationale=None, trace=trace)


def closed_book_answer(question, choices, latency_ms):
    rationale = "Peru is a country in South America. Its capital is Lima."
    trace = ClosedBookTrace(mode="self_consistency", model="fake-lm", rationale=rationale,
                            samples=(rationale,) * 4 + ("The Incas ruled from Cusco. So the answer is Cusco.",),
                            votes={"Lima": 4, "Cusco": 1}, temperature=0.7)
    return Answer(question=question, text="Lima", backend="closed_book", confidence=0.8, evidence=(),
                  latency_ms=latency_ms, rationale=rationale, trace=trace)


def broken_answer(question, choices, latency_ms):
    raise RuntimeError("the index file is missing")


FAKES = {
    "graph": (graph_answer, 0.0),
    "dense": (dense_answer, 0.2),
    "closed_book": (closed_book_answer, SLOW_S),
    "bm25": (broken_answer, 0.0),
}


@pytest.fixture
def fake_backends(monkeypatch):
    """Registers the fakes under the real names for one test; the previous factories come back after it."""
    from kqa.apps import wiring

    for name, (respond, delay) in FAKES.items():
        monkeypatch.setitem(wiring.FACTORIES, name,
                            lambda pool, options, r=respond, d=delay, n=name: FakeBackend(n, r, d))
    return FAKES


@pytest.fixture
def fake_pool(fake_backends, tmp_path):
    from kqa.apps.wiring import BackendPool, Options

    return BackendPool(Options(pack=tmp_path / "no-pack", model_cache=tmp_path / "models"))


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
