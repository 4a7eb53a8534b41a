"""report.md and ``kqa report``: a run's results.json as Markdown tables, with the cost to construct beside accuracy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kqa.eval.runner import run_eval, write_plots
from kqa.eval.report import print_results, write_report
from kqa.kb.errors import KqaError
from kqa.kb.types import Question
from kqa.readers.types import Answer, abstain

QUESTIONS = [
    Question(id="q1", question="What is the capital of Peru?", answers=("Lima",), type="single_hop",
             relation="capital", popularity=5),
    Question(id="q2", question="What is the capital of France?", answers=("Paris",), type="single_hop",
             relation="capital", popularity=20),
    Question(id="q3", question="What is the capital of Japan?", answers=("Tokyo",), type="single_hop",
             relation="capital", popularity=100),
    Question(id="q4", question="Which country has Lima as its capital?", answers=("Peru",), type="inverse",
             relation="capital", hops=2, popularity=200),
    Question(id="q1~case", question="what is the capital of peru?", answers=("Lima",), type="single_hop",
             relation="capital", popularity=5),
]
# question -> answer text (None: abstains), per backend. graph: 3 right, 1 abstained; dense: 2 right, 1 wrong,
# 1 abstained. Only graph loses q1 to the lower-case probe.
SCRIPT = {
    "graph": (2.0, {"q1": "Lima", "q2": "Paris", "q3": None, "q4": "Peru", "q1~case": None}),
    "dense": (100.0, {"q1": "Lima", "q2": "Lyon", "q3": "Tokyo", "q4": None, "q1~case": "Lima"}),
}
CONSTRUCTION = {
    "graph": {"builds": "knowledge graph", "build_seconds": 1.741, "build_seconds_cover": "parse+graph stages",
              "size_bytes": 14_590_015, "triples": 73_055, "parse_coverage": 0.9761, "fields_parsed": 14, "fields": 36},
    "dense": {"builds": "corpus + faiss index", "build_seconds": 0.691,
              "build_seconds_cover": "parse+corpus stages; index build not recorded (faiss-x)",
              "size_bytes": 16_254_095, "passages": 6_098, "vectors": 6_098, "index_model": "all-MiniLM-L6-v2",
              "index_kind": "flat"},
    "closed_book": {"builds": "none (pre-trained)", "size_bytes": 1_105_792_908, "model": "gemma-3-270m",
                    "gguf_size_bytes": 253_113_024, "convert_seconds": 138.18},
}


class Scripted:
    def __init__(self, name: str):
        self.name = name
        self.latency_ms, self.by_id = SCRIPT[name]
        self.by_text = {q.question: self.by_id[q.id] for q in QUESTIONS}

    def answer(self, question, choices=None):
        text = self.by_text[question]
        if text is None:
            return abstain(question, self.name, "scripted", latency_ms=self.latency_ms)
        return Answer(question=question, text=text, backend=self.name, confidence=0.9, evidence=(),
                      latency_ms=self.latency_ms)

    def answer_many(self, questions):
        return [self.answer(q.question) for q in questions]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run_eval({name: Scripted(name) for name in SCRIPT}, QUESTIONS, out, construction=CONSTRUCTION,
                      config={"questions": "scripted", "seed": 0, "options": {"k": 5}})
    return out, result.results


def test_results_json_keeps_the_construction_of_the_backends_that_ran(run):
    out, results = run
    assert results["construction"] == {"graph": CONSTRUCTION["graph"], "dense": CONSTRUCTION["dense"]}
    assert json.loads((out / "results.json").read_text())["construction"] == results["construction"]
    # the app's Tradeoff tab shows the same entries as columns beside the metrics
    from kqa.apps.web import metrics_rows

    headers, rows = metrics_rows(results)
    assert rows[0][headers.index("size_bytes")] == 14_590_015 and rows[1][headers.index("build_seconds")] == 0.691


def test_the_report_is_written_with_the_run_and_holds_its_figures(run):
    out, _ = run
    report = (out / "report.md").read_text()
    assert report.startswith(f"# kqa scoring run: {out.name}\n")
    assert "4 questions from `scripted` and 1 perturbed copies of them, backends `graph`, `dense`" in report
    # summary: n, acc, alias, EM, F1, truthfulness, abstained, wrong, errors, p50, p95, q/s
    assert "| `graph` | 4 | 75.0 | 75.0 | 75.0 | 75.0 | +75.0 | 25.0 | 0.0 | 0 | 2.0 | 2.0 | 500.00 |" in report
    assert "| `dense` | 4 | 50.0 | 50.0 | 50.0 | 50.0 | +25.0 | 25.0 | 25.0 | 0 | 100.0 | 100.0 | 10.00 |" in report
    # risk and coverage: every answer has confidence 0.9, so one point, at the share answered
    assert "| `graph` | 0.900 | 75.0 | 0.0 | 0.000 |" in report and "| `dense` | 0.900 | 75.0 | 33.3 | 0.333 |" in report
    # cost to construct beside accuracy and wrong
    assert "| backend | accuracy | wrong | what is built | build time | size on disk | parse coverage | holds |\n" \
           "|---|---:|---:|---|---|---:|---:|---|" in report
    assert ("| `graph` | 75.0 | 0.0 | knowledge graph | 1.74 s (parse+graph stages) | 14.6 MB | 97.6 | "
            "73,055 triples; 14 of 36 fields parsed whole |") in report
    assert ("| `dense` | 50.0 | 25.0 | corpus + faiss index | 0.69 s (parse+corpus stages; index build not recorded "
            "(faiss-x)) | 16.3 MB | - | 6,098 passages; 6,098 vectors (all-MiniLM-L6-v2, flat) |") in report
    # breakdowns, groups in reading order (head before torso before tail)
    assert "| backend | inverse | single_hop |" in report
    assert "| `graph` | 100.0 (1) | 66.7 (3) |" in report and "| `dense` | 0.0 (1) | 66.7 (3) |" in report
    assert "| backend | head (1-50) | torso (51-150) | tail (151+) |" in report
    assert "| `dense` | 50.0 (2) | 100.0 (1) | 0.0 (1) |" in report
    assert "| backend | 1 | 2 |" in report and "| `graph` | 66.7 (3) | 100.0 (1) |" in report
    assert "| capital | 75.0 (4) | 50.0 (4) |" in report  # by relation: one row per relation
    # agreement: both answered q1 and q2, agreed on q1, which is right
    assert "| `graph` and `dense` | 2 | 50.0 | 100.0 |" in report
    # robustness: graph loses q1 when it is lower-cased, dense does not
    assert "| `graph` | case | 1 | 100.0 | 0.0 | +100.0 |" in report
    assert "| `dense` | case | 1 | 100.0 | 100.0 | +0.0 |" in report
    # plots linked relatively, config, versions and the commit
    for name in ("accuracy_by_type.png", "accuracy_by_popularity.png", "latency.png", "risk_coverage.png"):
        assert (out / name).stat().st_size > 0 and f"]({name})" in report
    assert '"questions": "scripted"' in report and "| rdflib |" in report and "git commit: `" in report


def test_the_report_links_only_the_plots_there_and_says_when_cost_is_missing(run, tmp_path):
    out, results = run
    (tmp_path / "accuracy_by_type.png").write_bytes((out / "accuracy_by_type.png").read_bytes())
    old = {**results, "construction": None}
    (tmp_path / "results.json").write_text(json.dumps(old))
    report = write_report(tmp_path).read_text()
    assert "](accuracy_by_type.png)" in report and "latency.png" not in report
    assert "Not recorded in this run" in report


def test_write_report_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(KqaError, match="no results.json"):
        write_report(tmp_path)
    (tmp_path / "results.json").write_text('{"backends": [')
    with pytest.raises(KqaError, match="not valid JSON"):
        write_report(tmp_path)


def test_print_results_shows_the_cost_table(run):
    from rich.console import Console

    _, results = run
    console = Console(record=True, width=250)
    print_results(results, console)
    text = console.export_text()
    assert "cost to construct vs accuracy" in text and "14.6 MB" in text and "73,055 triples" in text


def test_a_plot_that_fails_half_way_leaves_the_old_file_and_no_temporary(run, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    out, results = run
    write_plots(tmp_path, results)
    before = (tmp_path / "accuracy_by_type.png").read_bytes()

    def torn(self, handle, **kwargs):
        handle.write(b"\x89PNG half")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", torn)
    with pytest.raises(OSError, match="disk full"):
        write_plots(tmp_path, results)
    assert (tmp_path / "accuracy_by_type.png").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accuracy_by_popularity.png", "accuracy_by_type.png",
                                                         "latency.png", "risk_coverage.png"]


def kqa(*args):
    return subprocess.run([sys.executable, "-m", "kqa.apps.cli", *args], capture_output=True, text=True, timeout=120)


def test_report_command_writes_report_md(run, tmp_path):
    out, _ = run
    for name in ("results.json", "latency.png"):
        (tmp_path / name).write_bytes((out / name).read_bytes())
    result = kqa("report", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "report.md") in result.stdout
    report = (tmp_path / "report.md").read_text()
    assert "| `graph` | 4 | 75.0 |" in report and "](latency.png)" in report
    assert "report" in kqa("--help").stdout


def test_report_command_on_a_folder_without_results_says_what_to_do(tmp_path):
    result = kqa("report", str(tmp_path))
    assert result.returncode == 2
    assert "no results.json" in result.stderr and "kqa eval" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "report.md").exists()
