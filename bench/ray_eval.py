"""Measure ``kqa eval --ray`` against a local run: start a Ray cluster on this machine (a head that runs nothing
and N worker nodes of one CPU each), score the same questions both ways through the CLI, and check the
answers are the same. Prints one JSON object: wall seconds and questions per second each way.

    python -m bench.ray_eval [--pack DIR] [--backends graph] [--questions test] [--limit N] [--workers 2]
                             [--threads N]

"Same answers" compares every field of every answers.jsonl record but latency, confidence and the trace
(whose per-choice log-probabilities are floats too); those are compared apart, as float noise: see FLOAT_NOISE.

On one two-core machine Ray cannot be faster than a local run (the workers share the same cores, and each
loads its own models); what it shows is the overhead, and that the answers do not change. The speed-up comes
from nodes with their own cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


# Float noise, not answers: a model's confidence and the log-probabilities in its trace are sums whose order
# depends on how many threads split them (a local run uses every core; a Ray actor that asks for no CPUs gets
# OMP_NUM_THREADS=1), so they may differ in the 7th digit. Compared apart; --threads gives both runs one
# thread count (docs/scale.md: less noise, still not bit-identical).
FLOAT_NOISE = ("confidence", "trace")


def _records(out: Path) -> dict:
    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    return {(r["question_id"], r["backend"]): {k: v for k, v in r.items() if k != "latency_ms"} for r in rows}


def _answer(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in FLOAT_NOISE}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default=None)
    parser.add_argument("--backends", default="graph")
    parser.add_argument("--questions", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--store", default="auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP_NUM_THREADS for both runs (the Ray workers inherit it): less float noise")
    args = parser.parse_args(argv)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported, here and in the workers
    from ray.cluster_utils import Cluster

    from kqa.apps.cli import main as kqa

    root = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    common = ["eval", "--backends", args.backends, "--questions", args.questions, "--store", args.store]
    common += ["--pack", args.pack] if args.pack else []
    common += ["--limit", str(args.limit)] if args.limit else []
    scratch = Path(tempfile.mkdtemp(prefix="kqa-ray-eval-"))
    start = time.perf_counter()
    assert kqa([*common, "--out", str(scratch / "local")]) == 0
    local_s = time.perf_counter() - start
    start = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(args.workers):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    cluster_s = time.perf_counter() - start
    try:
        start = time.perf_counter()
        assert kqa([*common, "--out", str(scratch / "ray"), "--ray", cluster.address]) == 0
        ray_s = time.perf_counter() - start
    finally:
        cluster.shutdown()
    here, there = _records(scratch / "local"), _records(scratch / "ray")
    differ = sorted(k for k in here if k not in there or _answer(here[k]) != _answer(there[k]))
    noisy = sorted(k for k in here if k in there and here[k] != there[k])
    conf = [abs(here[k]["confidence"] - there[k]["confidence"]) for k in here
            if k in there and here[k].get("confidence") is not None and there[k].get("confidence") is not None]
    a, b = (json.loads((scratch / d / "results.json").read_text()) for d in ("local", "ray"))
    n = len(here)
    print(json.dumps({"command": "python -m bench.ray_eval " + " ".join(argv if argv is not None else sys.argv[1:]), "answers": n,
                      "workers": args.workers, "same_answers": not differ and len(there) == n,
                      "answers_that_differ": differ[:10], "same_metrics": a["metrics"] == b["metrics"],
                      "bit_identical_records": not noisy and len(there) == n,
                      "records_with_float_noise": len(noisy), "max_confidence_difference": max(conf, default=0.0),
                      "threads": args.threads,
                      "local_seconds": round(local_s, 1), "ray_seconds": round(ray_s, 1),
                      "cluster_start_seconds": round(cluster_s, 1),
                      "local_per_second": round(n / local_s, 2), "ray_per_second": round(n / ray_s, 2),
                      "out": str(scratch)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
