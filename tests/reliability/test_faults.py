"""Faults: kill -9 during `kqa build`, a backend that raises, a backend that hangs. Nothing is half-written,
the rerun gives the same pack, and the other backends still answer."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kqa.readers.types import Answer

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("graph.ttl", "corpus.jsonl", "questions.jsonl")


def test_kill_9_during_kqa_build_leaves_the_old_pack_and_the_rerun_gives_the_same_pack(factbook_pack, tmp_path,
                                                                                       observe):
    target = tmp_path / "pack"
    shutil.copytree(factbook_pack.path, target)
    before = {p: (target / p).read_bytes() for p in (*PARTS, "manifest.json")}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "kqa.apps.cli", "build", "--pack", str(target)]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    # kill it while it writes: once its temporary pack folder holds a file
    while time.monotonic() < deadline and child.poll() is None:
        if any(any(d.iterdir()) for d in tmp_path.glob(".pack.building-*")):
            break
        time.sleep(0.01)
    assert child.poll() is None, "the build must still be running when it is killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    leftovers = sorted(p.name.split("-")[0] for p in tmp_path.iterdir() if p.name != "pack")
    intact = all((target / p).read_bytes() == data for p, data in before.items())
    from kqa.kb.pack import open_pack

    open_pack(target)  # whole and matching its manifest
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    same = {p: (target / p).read_bytes() == (factbook_pack.path / p).read_bytes() for p in PARTS}
    after = sorted(p.name for p in tmp_path.iterdir())
    observe("faults", "kill -9 during `kqa build` (while it writes the new pack)",
            "the previous pack is left whole; the rerun removes the leftovers and writes the same pack",
            f"previous pack intact: {intact}; left beside it: {', '.join(leftovers) or 'nothing'}; rerun exit "
            f"{rerun.returncode}; same graph, corpus, questions: {all(same.values())}; after the rerun: {after}")
    assert intact and rerun.returncode == 0, rerun.stderr[-2000:]
    assert all(same.values()) and after == ["pack"]
    assert not (target / "index").exists(), "caches live in the user's cache folder, not in the pack"


def test_an_interrupted_swap_is_put_back_by_the_next_build(factbook_pack, tmp_path, observe):
    """The one moment a build has no pack at its path: the old one moved aside, the new one not yet in.
    A build killed there leaves `.pack.old-<pid>-<time>`; the next start puts it back before anything else."""
    from kqa.kb import pack as pack_module

    target = tmp_path / "pack"
    aside = tmp_path / ".pack.old-999999999-1"  # no such process
    shutil.copytree(factbook_pack.path, aside)
    pack_module._clear_interrupted(target)
    restored = pack_module.open_pack(target)
    observe("faults", "kill -9 between moving the old pack aside and moving the new one in",
            "the next build puts the old pack back first", f"restored: {restored.path.name}; "
            f"left: {sorted(p.name for p in tmp_path.iterdir())}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]


class Raising:
    name = "broken"

    def answer(self, question, choices=None):
        raise RuntimeError("the index file is missing")

    def answer_many(self, questions):
        raise RuntimeError("the index file is missing")


class Hanging:
    name = "hung"

    def __init__(self):
        import threading

        self.release = threading.Event()

    def answer(self, question, choices=None):
        self.release.wait(30)
        return Answer(question=question, text="late", backend=self.name, confidence=None, evidence=(), latency_ms=0)

    def answer_many(self, questions):
        return [self.answer(q.question) for q in questions]


@pytest.fixture
def faulty_pool(pool, monkeypatch):
    """The real graph backend beside one that raises and one that hangs."""
    from kqa.apps import wiring

    hung = Hanging()
    pool.get("graph")  # loaded before the clock starts
    monkeypatch.setitem(wiring.FACTORIES, "broken", lambda p, o: Raising())
    monkeypatch.setitem(wiring.FACTORIES, "hung", lambda p, o: hung)
    # a pool of its own (sharing the loaded graph), so that no test gets another test's fakes
    fresh = wiring.BackendPool(pool.options, _backends={k: v for k, v in pool._backends.items() if k[0] == "graph"},
                               _shared=pool._shared)
    yield fresh
    hung.release.set()


def test_the_app_shows_a_raising_and_a_hanging_backend_while_the_graph_answers(faulty_pool, observe):
    from kqa.apps import web

    start = time.monotonic()
    snapshots = list(web.stream_answers(faulty_pool, ["graph", "broken", "hung"], "What is the capital of Peru?",
                                        timeout_s=2.0))
    waited = time.monotonic() - start
    last = snapshots[-1]
    observe("faults", "app: one backend raises, one hangs, beside the graph",
            "graph answers; each of the others shows its error; the page stops waiting at the time limit",
            f"graph: {last['graph'].text}; broken: {last['broken'].state} (RuntimeError shown: "
            f"{'the index file is missing' in last['broken'].card}); hung: {last['hung'].state} (time limit shown: "
            f"{'no answer within 2 s' in last['hung'].card})")
    assert last["graph"].text == "Lima" and last["broken"].state == "error" and last["hung"].state == "error"
    assert "the index file is missing" in last["broken"].card and "no answer within 2 s" in last["hung"].card
    assert 1.9 <= waited < 10


def test_eval_records_a_hanging_backend_as_an_error_and_goes_on(faulty_pool, pack_questions, tmp_path, observe):
    from kqa.eval.runner import read_records, run_eval

    questions = [q for q in pack_questions if q.type == "single_hop" and q.relation == "capital"][:3]
    backends = {name: faulty_pool.get(name) for name in ("graph", "broken", "hung")}
    result = run_eval(backends, questions, tmp_path, config={}, plots=False, timeout_s=1.0, batch_size=3)
    metrics = result.results["metrics"]
    observe("faults", "kqa eval: one backend raises, one hangs (time limit 1 s)",
            "each question of those two recorded as an error; the graph's scored",
            f"errors: graph {metrics['graph']['errors']}, broken {metrics['broken']['errors']}, hung "
            f"{metrics['hung']['errors']} of {len(questions)}; graph accuracy {metrics['graph']['accuracy']}")
    graph_rows = [r for r in read_records(tmp_path / "answers.jsonl") if r["backend"] == "graph"]
    assert metrics["graph"]["errors"] == 0 and metrics["graph"]["accuracy"] == 1.0, graph_rows
    assert metrics["broken"]["errors"] == metrics["hung"]["errors"] == len(questions)
