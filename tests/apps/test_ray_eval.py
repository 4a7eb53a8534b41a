"""Batch scoring on a Ray cluster started here, on 127.0.0.1, with two worker nodes: the same answers and the
same results.json as a local run, and a worker node killed mid-run losing nothing and counting nothing twice."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from kqa.eval.ray_runner import run_eval_ray
from kqa.eval.runner import run_eval

ROOT = Path(__file__).resolve().parents[2]


class Paced:
    """A backend that takes at least ``delay_s`` a question, so a run lasts long enough to kill a node in it."""

    def __init__(self, backend, delay_s: float):
        self.backend, self.delay_s, self.name = backend, delay_s, backend.name

    def answer(self, question, choices=None):
        time.sleep(self.delay_s)
        return self.backend.answer(question, choices)

    def answer_many(self, questions):
        return [self.answer(q.question, q.choices) for q in questions]


class GraphOnPack:
    """``name -> Backend`` as the workers run it: the graph backend over the pack's Oxigraph store (built once
    by the test, opened read-only by every worker)."""

    def __init__(self, pack: Path, store_dir: Path, delay_s: float = 0.0):
        self.pack, self.store_dir, self.delay_s = pack, store_dir, delay_s

    def __call__(self, name: str):
        from kqa.kb.graph import load_graph
        from kqa.readers.graph_reader import GraphReader

        assert name == "graph"
        reader = GraphReader(load_graph(self.pack, store="oxigraph", store_dir=self.store_dir))
        return Paced(reader, self.delay_s) if self.delay_s else reader


@pytest.fixture(scope="module")
def cluster():
    """A head that runs nothing (0 CPUs) and two worker nodes of one CPU each, all on this machine."""
    from ray.cluster_utils import Cluster

    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), previous]))  # workers import tests.*
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    try:
        yield cluster, workers
    finally:
        cluster.shutdown()
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous


@pytest.fixture(scope="module")
def graph_setup(factbook_pack, tmp_path_factory):
    from kqa.kb.graph import load_graph
    from kqa.kb.questions import load_questions

    store_dir = tmp_path_factory.mktemp("stores")
    load_graph(factbook_pack, store="oxigraph", store_dir=store_dir)  # built here once
    return factbook_pack, store_dir, load_questions(factbook_pack.questions_path, split="test")


def _records(out: Path) -> dict:
    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    keyed = {(r["question_id"], r["backend"]): {k: v for k, v in r.items() if k != "latency_ms"} for r in rows}
    assert len(keyed) == len(rows), "a (question, backend) written twice"
    return keyed


def _stable(results: dict) -> dict:
    return {k: v for k, v in results.items() if k not in ("timing", "git_commit")}


@pytest.mark.slow
def test_test_split_on_two_workers_equals_a_local_run(cluster, graph_setup, tmp_path):
    pack, store_dir, questions = graph_setup
    make = GraphOnPack(pack.path, store_dir)
    start = time.perf_counter()
    here = run_eval({"graph": make("graph")}, questions, tmp_path / "here", config={"x": 1}, plots=False)
    local_s = time.perf_counter() - start
    start = time.perf_counter()
    there = run_eval_ray(make, ["graph"], questions, tmp_path / "ray", address=cluster[0].address, config={"x": 1},
                         plots=False)
    ray_s = time.perf_counter() - start
    assert len(questions) > 1000
    assert _records(tmp_path / "ray") == _records(tmp_path / "here")
    assert _stable(there.results) == _stable(here.results)
    assert here.results["metrics"]["graph"]["accuracy"] > 0.8
    print(f"\n{len(questions)} questions: local {local_s:.1f} s, Ray (2 workers, start-up included) {ray_s:.1f} s")


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing(cluster, graph_setup, tmp_path):
    head, workers = cluster
    pack, store_dir, questions = graph_setup
    questions = questions[:240]
    answers = tmp_path / "ray" / "answers.jsonl"
    seen_at_kill: list[int] = []

    def kill_when_started() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if answers.exists() and len(answers.read_text().splitlines()) >= 40:
                seen_at_kill.append(len(answers.read_text().splitlines()))
                head.remove_node(workers[1], allow_graceful=False)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    result = run_eval_ray(GraphOnPack(pack.path, store_dir, delay_s=0.03), ["graph"], questions, tmp_path / "ray",
                          address=head.address, config={"x": 1}, batch_size=8, plots=False)
    killer.join()
    assert seen_at_kill and seen_at_kill[0] < len(questions), "the node must die part way through the run"
    ray_info = result.results["timing"]["ray"]
    assert ray_info["nodes"] == 2 and ray_info["actor_deaths"] == {"graph": 1} and ray_info["batches_retried"] == 1
    run_eval({"graph": GraphOnPack(pack.path, store_dir)("graph")}, questions, tmp_path / "here", config={"x": 1},
             plots=False)
    assert _records(tmp_path / "ray") == _records(tmp_path / "here")  # all 240, once each, the same answers
    assert result.results["complete"] and result.results["questions"] == len(questions)


def test_an_address_nobody_answers_is_a_clear_error(tmp_path):
    import socket

    from kqa.kb.errors import KqaError

    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(KqaError, match="no Ray cluster answers"):
        run_eval_ray(lambda name: None, ["graph"], [], tmp_path, address=f"127.0.0.1:{port}", config={})
    assert time.perf_counter() - start < 10
