"""What the model process builds in the app's tests (``kqa.apps.model_process``): the child is a fresh
interpreter, so it gets its fake backends from these functions, by name, rather than from a monkeypatch."""

from __future__ import annotations

import os
import time

from kqa.apps import wiring
from kqa.kb.progress import progress_task
from kqa.readers.types import Answer
from tests.apps.conftest import FAKES, FakeBackend, dense_answer


def where_answer(options):
    """Says in which process it answered, at what niceness, and with which prompt mode."""

    def respond(question, choices, latency_ms):
        return Answer(question=question, text=f"pid {os.getpid()} nice {os.nice(0)} mode {options.mode}",
                      backend="router", confidence=1.0, evidence=(), latency_ms=latency_ms)

    return respond


def die(question, choices, latency_ms):
    os._exit(3)  # the model process dies mid-question (killed, out of memory)


def fake_pool(options):
    """The app's fakes (``conftest.FAKES``: dense 0.2 s, closed_book 3 s, bm25 raises), plus router, which says
    where it ran, and hybrid, which kills the process."""
    for name, (respond, delay) in FAKES.items():
        wiring.FACTORIES[name] = lambda pool, opts, r=respond, d=delay, n=name: FakeBackend(n, r, d)
    wiring.FACTORIES["router"] = lambda pool, opts: FakeBackend("router", where_answer(opts))
    wiring.FACTORIES["hybrid"] = lambda pool, opts: FakeBackend("hybrid", die)
    return wiring.BackendPool(options)


def slow_loading_pool(options):
    """``fake_pool`` whose dense takes 3 s to load, saying how far it got meanwhile."""

    def slow_dense(pool, opts):
        with progress_task("embedding passages", total=6098, show=False) as task:
            task.update(done=2100)
            time.sleep(3)
        return FakeBackend("dense", dense_answer)

    pool = fake_pool(options)
    wiring.FACTORIES["dense"] = slow_dense
    return pool


def _explode():
    raise RuntimeError("this argument cannot be rebuilt in the model process")


class Unpicklable:
    """Pickles in the app, fails to unpickle in the model process."""

    def __reduce__(self):
        return (_explode, ())
