"""The WordNet pack's results by question type, by hop count of "is a X a kind of Y?", and head vs tail, from
the ``answers.jsonl`` of one or more ``kqa eval`` runs over the pack; with ``--plot``, accuracy against hops.

Head and tail follow WordNet's own frequency figure: a subject whose sense was tagged at least once in the
semantic concordance (tag count > 0, rank within the manifest's ``tagged_synsets``) is head, else tail.

    python -m bench.wordnet_results --pack $KQA_HOME/packs/wordnet RUN_DIR [RUN_DIR ...] [--plot docs/x.png]

It reads results; it measures nothing.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def load(pack: Path, runs: list[Path]) -> tuple[list[dict], int]:
    questions = {}
    with (pack / "questions.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            q = json.loads(line)
            questions[q["id"]] = q
    tagged = json.loads((pack / "manifest.json").read_text())["counts"]["tagged_synsets"]
    rows = []
    for run in runs:
        seen = set()
        for line in (run / "answers.jsonl").read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            key = (record["question_id"], record["backend"])
            if key in seen or record["question_id"] not in questions:
                continue
            seen.add(key)
            q = questions[record["question_id"]]
            rows.append({"backend": record["backend"], "type": q["type"], "hops": q["hops"],
                         "head": (q.get("popularity") or tagged + 1) <= tagged, "correct": bool(record["correct"]),
                         "abstained": record.get("prediction") is None})
    return rows, tagged


ORDER = ("graph", "dense", "bm25", "hybrid", "closed_book")  # structured, text, weights: the README's columns


def _ordered(backends) -> list[str]:
    return sorted(backends, key=lambda b: (ORDER.index(b) if b in ORDER else len(ORDER), b))


def table(rows: list[dict], key, title: str) -> str:
    backends = _ordered({r["backend"] for r in rows})
    groups: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[key(r)][r["backend"]].append(r)
    lines = [f"| {title} | n | " + " | ".join(backends) + " |", "|---|---:|" + "---:|" * len(backends)]
    for group in sorted(groups, key=str):
        n = max(len(v) for v in groups[group].values())
        cells = []
        for b in backends:
            got = groups[group].get(b, [])
            if not got:
                cells.append("–")
                continue
            acc = sum(r["correct"] for r in got) / len(got)
            abst = sum(r["abstained"] for r in got) / len(got)
            cells.append(f"{100 * acc:.1f}%" + (f" ({100 * abst:.0f}% abst.)" if abst else ""))
        lines.append(f"| {group} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for backend in _ordered({r["backend"] for r in rows}):
        by_hops = defaultdict(list)
        for r in rows:
            if r["backend"] == backend and r["type"] == "is_a":
                by_hops[r["hops"]].append(r["correct"])
        hops = sorted(by_hops)
        ax.plot(hops, [sum(by_hops[h]) / len(by_hops[h]) for h in hops], marker="o", label=backend)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="coin toss")
    ax.set_xlabel('hops between X and Y in "is a X a kind of Y?"')
    ax.set_ylabel("accuracy (half the answers are no)")
    ax.set_ylim(0, 1.05)
    ax.set_title("WordNet: accuracy against hops")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)
    rows, tagged = load(args.pack, args.runs)
    print(table(rows, lambda r: r["type"], "type"), end="\n\n")
    print(table([r for r in rows if r["type"] == "is_a"], lambda r: r["hops"], "is_a hops"), end="\n\n")
    print(table(rows, lambda r: "head (tagged)" if r["head"] else "tail (never tagged)",
                f"popularity (tagged synsets: {tagged:,})"))
    if args.plot:
        plot(rows, args.plot)
        print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
