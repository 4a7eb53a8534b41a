"""Two ``kqa eval`` runs of the same questions compared question by question, per backend: how many answers are
identical (the prediction's text), and each run's containment accuracy over the questions both answered. For a
change that should leave answers alone (a faster runtime, another dtype). A run folder's answers.jsonl is read,
or its answers.csv where the jsonl is gone (the reports kept in docs/ keep only the csv).

    python -m bench.compare_runs RUN_DIR_A RUN_DIR_B
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from kqa.eval.runner import ANSWERS, read_records


def answers(run: Path) -> dict[tuple[str, str], dict]:
    """{(backend, question_id): {"prediction", "correct", ...}} from a run folder's answers.jsonl or answers.csv."""
    if (run / ANSWERS).exists():
        records = read_records(run / ANSWERS)
    elif (run / "answers.csv").exists():
        with open(run / "answers.csv", newline="", encoding="utf-8") as f:
            records = [{**row, "correct": row["correct"] == "True"} for row in csv.DictReader(f)]
    else:
        raise SystemExit(f"{run}: no {ANSWERS} or answers.csv (not a `kqa eval` folder?)")
    return {(r["backend"], r["question_id"]): r for r in records}


def compare(a: Path, b: Path) -> dict[str, dict]:
    """{backend: {"questions", "identical", "identical_share", "accuracy_a", "accuracy_b", "fixed", "broken"}}:
    ``fixed``/``broken``: questions B answers correctly and A does not, and the reverse."""
    runs = [answers(run) for run in (a, b)]
    out: dict[str, dict] = {}
    for backend in sorted({k[0] for k in runs[0]} & {k[0] for k in runs[1]}):
        keys = [k for k in runs[0] if k[0] == backend and k in runs[1]]
        pairs = [(runs[0][k], runs[1][k]) for k in keys]
        n = len(pairs)
        same = sum(x["prediction"] == y["prediction"] for x, y in pairs)
        out[backend] = {"questions": n, "identical": same, "identical_share": round(same / n, 4) if n else None,
                        "accuracy_a": round(sum(x["correct"] for x, _ in pairs) / n, 4) if n else None,
                        "accuracy_b": round(sum(y["correct"] for _, y in pairs) / n, 4) if n else None,
                        "fixed": sum(y["correct"] and not x["correct"] for x, y in pairs),
                        "broken": sum(x["correct"] and not y["correct"] for x, y in pairs)}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(compare(args.a, args.b), indent=2))


if __name__ == "__main__":
    main()
