"""The benchmark in its smallest form: the build, retrieval and graph sections over a pack cut down to the
passages of two test countries, one repeat, a few questions. Checks what it writes, never how fast."""

from __future__ import annotations

import json
import shutil

import pytest

from kqa.kb.corpus import load_corpus
from kqa.kb.jsonl import write_jsonl
from kqa.kb.questions import load_questions


@pytest.fixture(scope="module")
def small_pack(factbook_pack, tmp_path_factory):
    """The Factbook pack with only the passages of two countries that have test questions."""
    folder = tmp_path_factory.mktemp("bench") / "pack"
    folder.mkdir()
    for name in ("graph.ttl", "questions.jsonl"):
        shutil.copy(factbook_pack.path / name, folder / name)
    manifest = json.loads((factbook_pack.path / "manifest.json").read_text())
    manifest.pop("files", None)  # the corpus is cut below: no file fingerprints to check it against
    (folder / "manifest.json").write_text(json.dumps(manifest))
    subjects = list(dict.fromkeys(q.subject for q in load_questions(factbook_pack.questions_path, split="test")
                                  if q.subject and q.gold_passages))[:2]
    passages = [p for p in load_corpus(factbook_pack.corpus_path) if p.id.split("/")[0] in subjects]
    write_jsonl(folder / "corpus.jsonl", (p.to_json() for p in passages))
    return folder


def positive(node, *keys):
    for key in keys:
        node = node[key]
    if isinstance(node, dict):
        node = node["median"]
    assert isinstance(node, (int, float)) and node > 0, (keys, node)


def test_the_smallest_bench_writes_json_and_markdown_with_positive_figures(small_pack, tmp_path):
    from bench.run import Sizes, run_bench
    from bench.peers import available

    sizes = Sizes(repeats=1, pack_builds=0, embed_passages=8, retrieval_questions=4, haystack_passes=1,
                  graph_questions=6, lm_questions=0, lm_prompts=1, lm_new_tokens=2, long_prompts=1, serve_starts=0)
    run_bench(sections=("build", "retrieval", "graph"), sizes=sizes, out_dir=tmp_path, pack=small_pack,
              cache=tmp_path / "cache", say=lambda message: None)
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    markdown = (tmp_path / "benchmarks.md").read_text()

    machine = results["machine"]
    assert machine["cores_logical"] >= 1 and machine["ram_gb"] > 0 and machine["cpu"]
    assert machine["versions"]["kqa"] and machine["versions"]["torch"]
    assert set(results["section_seconds"]) == {"build", "retrieval", "graph"}

    build = results["build"]
    for key in ("graph_load_parse_s", "graph_load_cached_s", "embedder_load_s", "faiss_build_or_load_cold_s",
                "faiss_load_cached_s", "bm25_build_s"):
        positive(build, key)
    positive(build, "embedding", "kqa_passages_per_s")
    positive(build, "corpus_embedding", "vectors_per_s")

    retrieval = results["retrieval"]
    assert retrieval["questions"] >= 1
    for name in ("kqa_dense", "kqa_bm25", "kqa_hybrid"):
        positive(retrieval, name, "latency", "p50_ms")
        assert 0.0 <= retrieval[name]["recall_at_5"] <= 1.0
    assert retrieval["search_only"]["same_top5_share"] == 1.0  # FAISS ranks what numpy ranks
    if available("haystack"):
        positive(retrieval, "haystack", "latency", "p50_ms")
        # the same vectors and the same questions: the same passages come back
        assert retrieval["haystack"]["recall_at_5"] == pytest.approx(retrieval["kqa_dense"]["recall_at_5"])
        assert build["haystack_embedding"]["max_abs_diff_vs_kqa"] < 1e-4
    else:
        assert retrieval["haystack"]["status"] == "not installed"

    graph = results["graph"]
    positive(graph, "latency", "p50_ms")
    positive(graph, "sparql_rdflib", "latency", "p50_ms")
    assert graph["answered_share"] > 0.5
    if available("pyoxigraph"):
        positive(graph, "sparql_oxigraph", "latency", "p50_ms")
        assert graph["sparql_oxigraph"]["same_row_count_share"] == 1.0

    assert [g["goal"] for g in results["goals"]][:2] == [
        "dense retrieval >= 1.5x faster than Haystack at equal recall@5", "graph backend p50 <= 10 ms"]
    assert markdown.startswith("# kqa benchmarks") and "## Retrieval" in markdown and "## Graph backend" in markdown


def test_a_run_in_pieces_replaces_only_the_sections_it_measured():
    from bench.run import merged

    old = {"generated_at": "then", "machine": {"commit": "a"}, "quick": False, "sections": ["build", "graph"],
           "build": {"x": 1}, "graph": {"latency": {"p50_ms": 0.4}}, "section_seconds": {"build": 10.0, "graph": 5.0},
           "runs": {"build": {"commit": "a"}, "graph": {"commit": "a"}}}
    new = {"generated_at": "now", "machine": {"commit": "b"}, "quick": False, "sections": ["graph", "lm"],
           "graph": {"latency": {"p50_ms": 0.3}}, "lm": {"y": 2}, "section_seconds": {"graph": 4.0, "lm": 7.0},
           "runs": {"graph": {"commit": "b"}, "lm": {"commit": "b"}}}
    out = merged(old, new)
    assert out["build"] == {"x": 1} and out["graph"]["latency"]["p50_ms"] == 0.3 and out["lm"] == {"y": 2}
    assert out["sections"] == ["build", "graph", "lm"] and out["duration_s"] == 21.0
    assert {k: v["commit"] for k, v in out["runs"].items()} == {"build": "a", "graph": "b", "lm": "b"}
    assert next(g for g in out["goals"] if g["goal"].startswith("graph backend"))["measured"] == 0.3


def test_the_classroom_reads_every_update_of_a_job_as_it_comes_and_the_last_after_it_is_done():
    import threading
    import time

    from bench.serve import job_updates

    class Job:  # gradio_client's Job: outputs() grows while the app streams, done() once the last is in
        def __init__(self):
            self.out, self.finished = [], threading.Event()

        def outputs(self):
            return list(self.out)

        def done(self):
            return self.finished.is_set()

    job = Job()

    def stream():
        for i in range(3):
            time.sleep(0.05)
            job.out.append(i)
        job.finished.set()

    threading.Thread(target=stream, daemon=True).start()
    seen = []
    for update in job_updates(job, every_s=0.005):
        seen.append((update, len(job.out)))
    assert [u for u, _ in seen] == [0, 1, 2] and seen[0][1] == 1  # the first read before the second came


def test_two_runs_compare_question_by_question_from_jsonl_or_from_the_csv_a_kept_report_holds(tmp_path):
    from bench.compare_runs import compare

    def record(qid, prediction, correct):
        return {"backend": "dense", "question_id": qid, "prediction": prediction, "correct": correct}

    a, b = tmp_path / "a", tmp_path / "b"
    write_jsonl(a / "answers.jsonl", [record("q1", "Lima", True), record("q2", "Quito", False),
                                      record("q3", "Paris", True)])
    b.mkdir()
    (b / "answers.csv").write_text("question_id,backend,prediction,correct\n"
                                   "q1,dense,Lima,True\nq2,dense,Bogota,True\nq3,dense,Lyon,False\n")
    assert compare(a, b) == {"dense": {"questions": 3, "identical": 1, "identical_share": 0.3333,
                                       "accuracy_a": 0.6667, "accuracy_b": 0.6667, "fixed": 1, "broken": 1}}
    with pytest.raises(SystemExit, match="no answers.jsonl or answers.csv"):
        compare(a, tmp_path)
