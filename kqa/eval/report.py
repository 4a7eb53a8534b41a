"""Readable tables of a pack's manifest and of scoring runs: rich tables for the terminal, and ``report.md``
(``write_report``), a run's results.json as Markdown tables in the README's style, beside its plots.

It only formats: every figure comes from results.json (``kqa.eval.runner``) or the manifest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kqa.kb.errors import KqaError
from kqa.kb.jsonl import atomic_write_text

REPORT = "report.md"


def print_manifest(manifest: dict[str, Any], console, path: Path | None = None) -> None:
    from rich.table import Table

    counts = manifest["counts"]
    source = manifest.get("source", {})
    head = Table(title=f"kqa pack: {manifest.get('name', '?')}" + (f" ({path})" if path else ""), show_header=False)
    head.add_column(style="bold")
    head.add_column()
    if "package" in source:
        data_to = f" (data to {source['data_to']})" if source.get("data_to") else ""
        head.add_row("source", f"{source['package']} {source.get('version', '')}{data_to}")
    else:  # a pack built from a user's files
        for key in ("graph", "corpus", "questions", "profile"):
            if source.get(key):
                head.add_row(key, str(source[key]))
    if source.get("license"):
        head.add_row("license", source["license"])
    head.add_row("built", str(manifest.get("built_at", "?")))
    for key, name in (("countries", "countries and territories"), ("synsets", "synsets")):
        if key in counts:
            head.add_row(name, f"{counts[key]:,}")
    parts = [(k.removesuffix("_triples"), v) for k, v in counts.items() if k.endswith("_triples")]
    if "fact_triples" in counts:
        detail = (f"{counts['fact_triples']:,} facts, {counts['label_triples']:,} labels and types, "
                  f"{counts['provenance_triples']:,} provenance")
    elif parts:
        detail = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in parts)
    else:
        detail = f"{counts.get('entities', 0):,} labelled resources, {counts.get('relations', 0):,} relations"
    head.add_row("triples", f"{counts.get('triples', 0):,} ({detail})")
    words = f" (mean {counts['passage_words_mean']} words)" if "passage_words_mean" in counts else ""
    head.add_row("passages", f"{counts.get('passages', 0):,}{words}")
    by_type = ", ".join(f"{k} {v}" for k, v in counts.get("questions_by_type", {}).items())
    head.add_row("questions", f"{counts.get('questions', 0):,} ({by_type})")
    head.add_row("split", ", ".join(f"{k} {v}" for k, v in sorted(counts.get("questions_by_split", {}).items())))
    head.add_row("build time", ", ".join(f"{k} {v:.2f} s" for k, v in manifest.get("stage_seconds", {}).items()))
    for warning in manifest.get("warnings", ()):
        head.add_row("warning", warning)
    console.print(head)
    if not manifest.get("coverage"):  # a pack with no field parsing (WordNet): its relations instead
        table = Table(title="relations")
        for column in ("relation", "source pointers", "meaning"):
            table.add_column(column, justify="right" if column == "source pointers" else "left")
        for row in manifest.get("relations", ()):
            table.add_row(row["name"], f"{row['pointers']:,}" if "pointers" in row else "", row.get("description", ""))
        if manifest.get("relations"):
            console.print(table)
        return
    table = Table(title="parse coverage per Factbook field (of the countries where the field is present)")
    for column in ("relation", "Factbook field", "present", "parsed", "raw", "parsed %", "why raw"):
        table.add_column(column, justify="right" if column in ("present", "parsed", "raw", "parsed %") else "left")
    for row in manifest["coverage"]:
        reasons = "; ".join(f"{k} ({v})" for k, v in row["raw_reasons"].items())
        table.add_row(row["relation"], row["field"].rsplit("/", 1)[-1], str(row["present"]), str(row["parsed"]), str(row["raw"]),
                      f"{100 * row['parsed_share']:.1f}", reasons)
    console.print(table)


def coverage_markdown(manifest: dict[str, Any]) -> str:
    """The parse coverage table as Markdown, for the README."""
    lines = ["| relation | Factbook field | present | parsed | raw text | parsed % | why raw |",
             "|---|---|---:|---:|---:|---:|---|"]
    for row in manifest["coverage"]:
        reasons = "; ".join(f"{k} ({v})" for k, v in row["raw_reasons"].items()) or ""
        lines.append(f"| {row['relation']} | {row['field']} | {row['present']} | {row['parsed']} | {row['raw']} | "
                     f"{100 * row['parsed_share']:.1f} | {reasons} |")
    return "\n".join(lines)


def print_results(results: dict[str, Any], console) -> None:
    """The headline table of a scoring run, then accuracy by question type."""
    from rich.table import Table

    table = Table(title=f"{results['questions']:,} questions")
    for column in ("backend", "acc", "alias", "EM", "F1", "truth", "MC acc.", "abstain", "wrong", "triple rec.",
                   "passage rec.", "p50 ms", "p95 ms", "q/s"):
        table.add_column(column, justify="left" if column == "backend" else "right")

    for name in results["backends"]:
        m, t = results["metrics"][name], results["timing"][name]
        table.add_row(name, pct(m["accuracy"]), pct(m.get("alias_accuracy")), pct(m["exact_match"]), pct(m["f1"]),
                      _signed(m.get("truthfulness")), pct(m["mc_accuracy"]),
                      pct(m["abstention_rate"]), pct(m["wrong_rate"]), pct(m["triple_recall"]),
                      pct(m["passage_recall"]), f"{t['latency_p50_ms'] or 0:.1f}", f"{t['latency_p95_ms'] or 0:.1f}",
                      f"{t['questions_per_second'] or 0:.1f}")
    console.print(table)
    types = sorted({k for name in results["backends"] for k in results["metrics"][name]["by_type"]})
    by_type = Table(title="accuracy by question type (%)")
    by_type.add_column("backend")
    for kind in types:
        by_type.add_column(kind, justify="right")
    for name in results["backends"]:
        row = results["metrics"][name]["by_type"]
        by_type.add_row(name, *(pct((row.get(kind) or {}).get("accuracy")) for kind in types))
    console.print(by_type)
    if results.get("robustness"):
        robust = Table(title="robustness: accuracy drop when the question is perturbed (points)")
        robust.add_column("backend")
        probes = sorted({p for rows in results["robustness"].values() for p in rows})
        for probe in probes:
            robust.add_column(probe, justify="right")
        for name, rows in results["robustness"].items():
            robust.add_row(name, *(f"{100 * rows[p]['drop']:+.1f}" if p in rows else "-" for p in probes))
        console.print(robust)
    rows = construction_rows(results, covers=False)
    if rows:
        construction = results["construction"]
        caption = "; ".join(f"{name}: {construction[name]['build_seconds_cover']}" for name, *_ in rows
                            if construction[name].get("build_seconds_cover"))
        cost = Table(title="cost to construct vs accuracy", caption=f"build time covers {caption}" if caption else None)
        for column in CONSTRUCTION_COLUMNS:
            cost.add_column(column, justify="right" if column in ("accuracy", "wrong", "size on disk",
                                                                  "parse coverage") else "left")
        for row in rows:
            cost.add_row(*row)
        console.print(cost)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def size_text(size_bytes: int | None) -> str:
    """Decimal units, as disks are sold: 14590015 -> '14.6 MB'."""
    if size_bytes is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:.1f} {unit}"
    return f"{size_bytes} B"


CONSTRUCTION_COLUMNS = ("backend", "accuracy", "wrong", "what is built", "build time", "size on disk",
                        "parse coverage", "holds")


def construction_rows(results: dict[str, Any], *, covers: bool = True) -> list[tuple[str, ...]]:
    """One row of text per backend with a ``construction`` entry: the cost to construct beside accuracy; with
    ``covers``, the build time says what it covers."""
    construction = results.get("construction") or {}
    rows = []
    for name in results["backends"]:
        cost = construction.get(name)
        if not cost:
            continue
        metrics = results["metrics"].get(name) or {}
        seconds = cost.get("build_seconds")
        build = "-" if seconds is None else f"{seconds:.2f} s"
        if covers and cost.get("build_seconds_cover"):
            build += f" ({cost['build_seconds_cover']})"
        holds = []
        if cost.get("triples") is not None:
            holds.append(f"{cost['triples']:,} triples")
        if cost.get("fields"):
            holds.append(f"{cost.get('fields_parsed', 0)} of {cost['fields']} fields parsed whole")
        if cost.get("passages") is not None:
            holds.append(f"{cost['passages']:,} passages")
        if cost.get("vectors") is not None:
            detail = ", ".join(str(cost[k]) for k in ("index_model", "index_kind") if cost.get(k))
            holds.append(f"{cost['vectors']:,} vectors" + (f" ({detail})" if detail else ""))
        if cost.get("model"):
            model = f"{cost['model']} weights"
            if cost.get("gguf_size_bytes") is not None:
                model += f" (GGUF {size_text(cost['gguf_size_bytes'])}"
                if cost.get("convert_seconds") is not None:
                    model += f", de-quantized once in {cost['convert_seconds']:.0f} s"
                model += ")"
            holds.append(model)
        rows.append((name, pct(metrics.get("accuracy")), pct(metrics.get("wrong_rate")), str(cost.get("builds", "?")),
                     build, size_text(cost.get("size_bytes")), pct(cost.get("parse_coverage")),
                     "; ".join(holds) or "-"))
    return rows


# ------------------------------------------------------------------------------------------------ report.md


def write_report(run_dir: Path | str, results: dict[str, Any] | None = None) -> Path:
    """Write ``run_dir/report.md`` from ``results`` (default: the folder's results.json); returns its path."""
    run_dir = Path(run_dir)
    if results is None:
        path = run_dir / "results.json"
        if not path.is_file():
            raise KqaError(f"no results.json in {run_dir}: point at a run folder that `kqa eval --out DIR` wrote")
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise KqaError(f"{path} is not valid JSON ({err}); rerun `kqa eval` into that folder to rewrite it") \
                from None
    target = run_dir / REPORT
    atomic_write_text(target, report_markdown(results, run_dir))
    return target


def _table(header: list[str], rows: list[list[str]], *, left: int = 1, align: str | None = None) -> list[str]:
    """A Markdown table; the first ``left`` columns are text, the rest numbers (right-aligned), unless ``align``
    gives one letter per column (``l`` or ``r``)."""
    align = align or "l" * left + "r" * (len(header) - left)

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _group_order(key: str) -> tuple:
    """Breakdown keys in reading order: by the first number in them ('head (1-50)' before 'torso (51-150)'),
    then by name; 'None' (the field was not set) last."""
    number = re.search(r"\d+", key)
    return (key == "None", int(number.group()) if number else float("inf"), key)


def _breakdown_lines(results: dict[str, Any], key: str, *, by_group: bool = False) -> list[str]:
    backends = results["backends"]
    groups = sorted({g for b in backends for g in results["metrics"][b].get(key) or {}}, key=_group_order)
    if not groups or groups == ["None"]:
        return []

    def value(backend: str, group: str) -> str:
        row = (results["metrics"][backend].get(key) or {}).get(group)
        return "-" if not row else f"{pct(row['accuracy'])} ({row['n']:,})"

    if by_group:  # many groups: one row each
        return _table([key.removeprefix("by_"), *(f"`{b}`" for b in backends)],
                      [[g, *(value(b, g) for b in backends)] for g in groups])
    return _table(["backend", *groups], [[f"`{b}`", *(value(b, g) for g in groups)] for b in backends])


def report_markdown(results: dict[str, Any], run_dir: Path | None = None) -> str:
    """A run's results.json as a Markdown report; plots that exist in ``run_dir`` are linked relatively."""
    backends = results["backends"]
    metrics, timing, config = results["metrics"], results.get("timing") or {}, results.get("config") or {}
    title = f"kqa scoring run: {run_dir.name}" if run_dir is not None else "kqa scoring run"
    source = config.get("questions") or config.get("source") or "?"
    head = f"{results['questions']:,} questions from `{source}`"
    if results.get("perturbed_questions"):
        head += f" and {results['perturbed_questions']:,} perturbed copies of them"
    head += f", backends {', '.join(f'`{b}`' for b in backends)}"
    if timing.get("finished_at"):
        head += f"; finished {timing['finished_at']}"
    if timing.get("wall_seconds"):
        head += f" after {timing['wall_seconds']:,.1f} s of answering"
    head += "." if results.get("complete", True) else ". **Incomplete**: some answers are missing; rerun the same " \
                                                      "`kqa eval` command to finish it."
    out = [f"# {title}", "", head, "",
           "Figures are % of questions. Accuracy (acc) is containment: a gold alias inside the answer as whole "
           "words; alias match is the whole answer equal to a gold alias; truthfulness is +1 right, 0 abstained, "
           "-1 wrong, averaged (CRAG); \"wrong\" is answered and wrong (the hallucination figure); latency is per "
           "question, once the backend is loaded.", "",
           "## Summary", ""]
    out += _table(["backend", "n", "accuracy (acc)", "alias match", "exact match", "token F1", "truthfulness",
                   "abstained", "wrong (hallucination)", "errors", "p50 ms", "p95 ms", "q/s"],
                  [[f"`{b}`", f"{metrics[b]['n']:,}", pct(metrics[b]["accuracy"]),
                    pct(metrics[b].get("alias_accuracy")), pct(metrics[b]["exact_match"]),
                    pct(metrics[b]["f1"]), _signed(metrics[b].get("truthfulness")),
                    pct(metrics[b]["abstention_rate"]), pct(metrics[b]["wrong_rate"]),
                    str(metrics[b].get("errors", 0)), _number((timing.get(b) or {}).get("latency_p50_ms"), 1),
                    _number((timing.get(b) or {}).get("latency_p95_ms"), 1),
                    _number((timing.get(b) or {}).get("questions_per_second"), 2)] for b in backends])
    extra = ("mc_accuracy", "triple_recall", "passage_recall")
    if any(metrics[b].get(k) is not None for b in backends for k in extra):
        out += ["", "Multiple choice and evidence: accuracy on the multiple-choice questions, and the share of the "
                "gold triples and passages among what each backend's answer rests on.", ""]
        out += _table(["backend", "multiple-choice accuracy", "gold triple recall", "gold passage recall"],
                      [[f"`{b}`", *(pct(metrics[b].get(k)) for k in extra)] for b in backends])

    out += ["", "## Cost to construct vs accuracy", ""]
    rows = construction_rows(results)
    if rows:
        out += ["What each backend's knowledge cost to build (from the pack's manifest, its index caches and the "
                "model cache, at the time of the run) beside how well it answers. Parse coverage is the share of "
                "the source's fields, over every entity where a field is present, that parsed into graph values.",
                ""]
        out += _table(list(CONSTRUCTION_COLUMNS), [[f"`{r[0]}`", *r[1:]] for r in rows], align="lrrllrrl")
    else:
        out += ["Not recorded in this run: `kqa eval` records it from the pack and the model cache."]

    curves = {b: metrics[b].get("risk_coverage") or [] for b in backends}
    if any(curves.values()):
        out += ["", "## Risk and coverage", "",
                "Answering only above a confidence threshold: coverage is the share of questions answered, risk "
                "the share of those answers that are wrong (AURC: the mean risk over the curve, lower is better). "
                "Rows at a quarter, half, three quarters and all of the questions a backend answers.", ""]
        rows = []
        for b, curve in curves.items():
            for share in (0.25, 0.5, 0.75, 1.0):
                if curve:
                    top = curve[-1]["coverage"]
                    point = next(p for p in curve if p["coverage"] >= share * top - 1e-9)
                    threshold = "-" if point["threshold"] is None else f"{point['threshold']:.3f}"
                    rows.append([f"`{b}`", threshold, pct(point["coverage"]), pct(point["risk"]),
                                 _number(metrics[b].get("aurc"), 3)])
        out += _table(["backend", "confidence >=", "coverage", "risk", "AURC"], rows)

    for key, heading in (("by_type", "Accuracy by question type"),
                         ("by_popularity", "Accuracy by popularity (population rank of the subject)"),
                         ("by_hops", "Accuracy by hops"), ("by_relation", "Accuracy by relation")):
        lines = _breakdown_lines(results, key, by_group=key == "by_relation")
        if lines:
            out += ["", f"## {heading}", "", "Accuracy (%) with the number of questions.", "", *lines]

    if results.get("agreement"):
        out += ["", "## Agreement between backends", "",
                "Of the questions both answered: how often the answers match (normalised), and how often a shared "
                "answer is right.", ""]
        out += _table(["backends", "both answered", "agree", "accuracy when they agree"],
                      [[" and ".join(f"`{b}`" for b in a["backends"]), f"{a['both_answered']:,}", pct(a["agreement"]),
                        pct(a["accuracy_when_agree"])] for a in results["agreement"]])

    if results.get("robustness"):
        out += ["", "## Robustness", "",
                "Accuracy on the questions a probe applies to, unchanged and perturbed; the drop is in points "
                "(positive: worse when perturbed).", ""]
        out += _table(["backend", "probe", "n", "unchanged", "perturbed", "drop (points)"],
                      [[f"`{b}`", probe, f"{r['n']:,}", pct(r["original"]), pct(r["perturbed"]),
                        f"{100 * r['drop']:+.1f}"]
                       for b, probes in results["robustness"].items() for probe, r in probes.items()], left=2)

    plots = sorted(run_dir.glob("*.png")) if run_dir is not None else []
    if plots:
        out += ["", "## Plots", ""]
        for plot in plots:
            out += [f"![{plot.stem.replace('_', ' ')}]({plot.name})", ""]
        out.pop()

    out += ["", "## Config", "", "```json", json.dumps(config, indent=1, ensure_ascii=False), "```"]
    versions = results.get("versions") or {}
    if versions:
        out += ["", "## Versions", ""]
        out += _table(["package", "version"], [[name, version] for name, version in versions.items()], left=2)
    out += ["", f"git commit: `{results.get('git_commit') or 'unknown'}`", ""]
    return "\n".join(out)


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"
