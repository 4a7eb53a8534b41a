"""A run's figures on the half of its question file that calibration never saw (``kqa calibrate --dev-half``
picks thresholds on the half whose id hashes even; this prints the other half), per backend: containment
accuracy, wrong, abstained and truthfulness (+1 right, 0 abstained, -1 wrong), as % of those questions.

    kqa calibrate RUN --dev-half --out CAL.json
    kqa eval --backends graph,dense,closed_book,router,vote --questions FILE --replay RUN --calibration CAL.json --out RUN2
    python -m bench.held_out_half RUN2
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from kqa.eval.calibrate import in_dev_half
from kqa.eval.runner import ANSWERS, read_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    args = parser.parse_args()
    rows: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for r in read_records(Path(args.run) / ANSWERS):
        if "~" not in r["question_id"] and not in_dev_half(r["question_id"]):
            rows[r["backend"]].append((bool(r["correct"]), bool(r["abstained"])))
    print("| backend | n | acc | wrong | abstained | truthfulness |")
    print("|---|---:|---:|---:|---:|---:|")
    for backend, answers in rows.items():
        n = len(answers)
        right = sum(ok for ok, _ in answers)
        abstained = sum(ab for ok, ab in answers if not ok)
        wrong = n - right - abstained
        print(f"| {backend} | {n} | {100 * right / n:.1f} | {100 * wrong / n:.1f} | {100 * abstained / n:.1f} | "
              f"{100 * (right - wrong) / n:+.1f} |")


if __name__ == "__main__":
    main()
