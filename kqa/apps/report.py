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
