"""Batch scoring: what it writes, resuming after kill -9, and a backend that fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kqa.eval.runner import run_eval
from kqa.readers.types import Answer

CHILD = Path(__file__).with_name("eval_child.py")


def _stable(results):
    return {k: v for k, v in results.items() if k not in ("timing", "git_commit")}


def test_kill_9_then_rerun_gives_the_same_results(factbook_pack, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    whole = tmp_path / "whole"
    subprocess.run([sys.executable, str(CHILD), str(factbook_pack.questions_path), str(whole), "0"], check=True,
                   env=env, timeout=300)
    killed = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, str(CHILD), str(factbook_pack.questions_path), str(killed), "0.02"],
                             env=env)
    answers = killed / "answers.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not answers.exists() or len(answers.read_text().splitlines()) < 30):
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    partial = len(answers.read_text().splitlines())
    assert 30 <= partial < 120, "the run must be killed part way"
    assert not (killed / "results.json").exists()
    subprocess.run([sys.executable, str(CHILD), str(factbook_pack.questions_path), str(killed), "0"], check=True,
                   env=env, timeout=300)
    lines = [json.loads(x) for x in answers.read_text().splitlines()]
    assert len(lines) == 120 and len({x["question_id"] for x in lines}) == 120
    a = json.loads((whole / "results.json").read_text())
    b = json.loads((killed / "results.json").read_text())
    assert _stable(a) == _stable(b)
    assert a["metrics"]["echo"]["accuracy"] > 0 and a["metrics"]["echo"]["abstention_rate"] > 0


class Flaky:
    name = "flaky"

    def answer(self, question, choices=None):
        if "Peru" in question:
            raise RuntimeError("model crashed")
        return Answer(question=question, text="Lima", backend=self.name, confidence=1.0, evidence=(), latency_ms=1.0)

    def answer_many(self, questions):
        return [self.answer(q.question) for q in questions]


def test_a_failing_question_is_recorded_and_the_run_goes_on(pack_questions, tmp_path):
    questions = [q for q in pack_questions if q.relation == "capital" and q.type == "single_hop"][:20]
    questions = questions + [q for q in pack_questions if "Peru" in q.question][:2]
    result = run_eval({"flaky": Flaky()}, questions, tmp_path, config={})
    rows = [json.loads(x) for x in (tmp_path / "answers.jsonl").read_text().splitlines()]
    assert len(rows) == len(questions)
    failed = [r for r in rows if r["error"]]
    assert failed and all("model crashed" in r["error"] and r["prediction"] is None for r in failed)
    metrics = result.results["metrics"]["flaky"]
    assert metrics["errors"] == len(failed) and metrics["n"] == len(questions)
    for name in ("results.json", "answers.csv", "accuracy_by_type.png", "accuracy_by_popularity.png", "latency.png"):
        assert (tmp_path / name).stat().st_size > 0


class Echo:
    name = "echo"

    def answer(self, question, choices=None):
        return Answer(question=question, text="Lima", backend=self.name, confidence=1.0, evidence=(), latency_ms=1.0)

    def answer_many(self, questions):
        return [self.answer(q.question) for q in questions]


def test_a_run_resumes_only_with_the_same_pack_and_options(pack_questions, tmp_path):
    import pytest

    from kqa.kb.errors import KqaError

    questions = pack_questions[:6]
    config = {"questions": "test", "pack": {"graph.ttl": "aa", "corpus.jsonl": "bb"}, "options": {"k": 5, "mode": "direct"}}
    run_eval({"echo": Echo()}, questions, tmp_path, config=config, plots=False)
    run_eval({"echo": Echo()}, questions, tmp_path, config=json.loads(json.dumps(config)), plots=False)  # resumes
    assert len((tmp_path / "answers.jsonl").read_text().splitlines()) == 6
    rebuilt = {**config, "pack": {"graph.ttl": "cc", "corpus.jsonl": "bb"}}
    with pytest.raises(KqaError, match=r"the pack's graph\.ttl \(was the pack rebuilt\?\).*another --out"):
        run_eval({"echo": Echo()}, questions, tmp_path, config=rebuilt, plots=False)
    with pytest.raises(KqaError, match=r"options\.k \(5 then, 3 now\)"):
        run_eval({"echo": Echo()}, questions, tmp_path, config={**config, "options": {"k": 3, "mode": "direct"}},
                 plots=False)
    older = {k: v for k, v in config.items() if k != "pack"}  # a run folder from before config.json had it
    run_eval({"echo": Echo()}, questions, tmp_path / "old", config=older, plots=False)
    with pytest.raises(KqaError, match="before kqa recorded its pack"):
        run_eval({"echo": Echo()}, questions, tmp_path / "old", config=config, plots=False)
    assert len((tmp_path / "answers.jsonl").read_text().splitlines()) == 6  # nothing was mixed in


def test_kqa_eval_refuses_to_resume_after_the_pack_changed(small_pack, tmp_path, fake_backends, capsys):
    import shutil

    from kqa.apps.cli import main

    pack = tmp_path / "pack"
    shutil.copytree(small_pack, pack)
    run = ["eval", "--pack", str(pack), "--backends", "graph", "--questions", "test", "--limit", "5",
           "--out", str(tmp_path / "run")]
    assert main(run) == 0 and main(run) == 0  # the second resumes: nothing to do
    assert len((tmp_path / "run" / "answers.jsonl").read_text().splitlines()) == 5
    with (pack / "corpus.jsonl").open("a") as corpus:  # the pack rebuilt with one more passage
        corpus.write(json.dumps({"id": "zz/extra/0", "title": "Extra", "section": "x", "text": "More."}) + "\n")
    capsys.readouterr()
    assert main(run) == 2
    assert "the pack's corpus.jsonl (was the pack rebuilt?)" in capsys.readouterr().err
    assert main([*run, "--k", "3"]) == 2  # and another option, with the pack as it was recorded or not
    assert len((tmp_path / "run" / "answers.jsonl").read_text().splitlines()) == 5


def test_a_run_names_its_commit_and_says_when_the_code_it_ran_was_not_committed(tmp_path):
    from kqa.eval.runner import UNCOMMITTED, git_commit

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    git("init", "-q")
    (tmp_path / "reader.py").write_text("X = 1\n")
    (tmp_path / "notes.md").write_text("a\n")
    git("add", ".")
    git("commit", "-qm", "first")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert git_commit(tmp_path) == head
    (tmp_path / "notes.md").write_text("b\n")  # not code: the run is still the commit's
    assert git_commit(tmp_path) == head
    (tmp_path / "reader.py").write_text("X = 2\n")
    assert git_commit(tmp_path) == head + UNCOMMITTED
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / ".git").rename(tmp_path / "git-moved")  # no checkout above it any more
    assert git_commit(outside) is None
