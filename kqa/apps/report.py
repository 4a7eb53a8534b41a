"""Readable tables of a pack's manifest (and, later, of scoring runs), with rich."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def print_manifest(manifest: dict[str, Any], console, path: Path | None = None) -> None:
    from rich.table import Table

    counts = manifest["counts"]
    source = manifest.get("source", {})
    head = Table(title=f"kqa pack: {manifest.get('name', '?')}" + (f" ({path})" if path else ""), show_header=False)
    head.add_column(style="bold")
    head.add_column()
    head.add_row("source", f"{source.get('package', '?')} {source.get('version', '')} (data to {source.get('data_to', '?')})")
    head.add_row("built", str(manifest.get("built_at", "?")))
    head.add_row("countries and territories", f"{counts['countries']:,}")
    head.add_row("triples", f"{counts['triples']:,} ({counts['fact_triples']:,} facts, {counts['label_triples']:,} "
                 f"labels and types, {counts['provenance_triples']:,} provenance)")
    head.add_row("passages", f"{counts['passages']:,} (mean {counts['passage_words_mean']} words)")
    by_type = ", ".join(f"{k} {v}" for k, v in counts["questions_by_type"].items())
    head.add_row("questions", f"{counts['questions']:,} ({by_type})")
    head.add_row("split", ", ".join(f"{k} {v}" for k, v in sorted(counts["questions_by_split"].items())))
    head.add_row("build time", ", ".join(f"{k} {v:.2f} s" for k, v in manifest["stage_seconds"].items()))
    console.print(head)

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
    for column in ("backend", "accuracy", "EM", "F1", "MC acc.", "abstain", "wrong", "triple rec.", "passage rec.",
                   "p50 ms", "p95 ms", "q/s"):
        table.add_column(column, justify="left" if column == "backend" else "right")

    def pct(value):
        return "-" if value is None else f"{100 * value:.1f}"

    for name in results["backends"]:
        m, t = results["metrics"][name], results["timing"][name]
        table.add_row(name, pct(m["accuracy"]), pct(m["exact_match"]), pct(m["f1"]), pct(m["mc_accuracy"]),
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
