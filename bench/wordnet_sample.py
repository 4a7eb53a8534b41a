"""A seeded, stratified sample of the WordNet pack's test questions, for the model backends (about a second
a question each on two cores, too slow for all 3,928): ``--per-hop`` "is a X a kind of Y?" questions at each
hop count (half yes, half no), ``--mc`` multiple-choice questions and ``--per-type`` of every other type.

    python -m bench.wordnet_sample --pack $KQA_HOME/packs/wordnet --out $KQA_HOME/wn-sample.jsonl

It writes the questions' own lines (kqa JSONL), so `kqa eval --questions FILE` scores them with their types
and hops; multiple choice first, then "is a X a kind of Y?" with the hop counts interleaved, so a run cut
short still covers them. The same seed gives the same file.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path


def sample(rows: list[dict], *, per_hop: int, mc: int, per_type: int, seed: int) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if row.get("split") != "test":
            continue
        if row["type"] == "is_a":
            groups[("is_a", row["hops"], row["answers"][0])].append(row)
        else:
            groups[(row["type"],)].append(row)
    rng = random.Random(seed)
    ranked = []
    for key in sorted(groups, key=str):
        want = per_hop // 2 if key[0] == "is_a" else mc if key[0] == "multiple_choice" else per_type
        group = sorted(groups[key], key=lambda r: r["id"])
        ranked += [(i, str(key), row) for i, row in enumerate(rng.sample(group, min(want, len(group))))]
    # multiple choice first, then "is a X a kind of Y?" with the hop counts interleaved, then the rest: a run
    # cut short still has the figures the README needs most, at every hop count
    first = {"multiple_choice": 0, "is_a": 1}
    ranked.sort(key=lambda x: (first.get(x[2]["type"], 2), x[0], x[1]))
    return [row for _, _, row in ranked]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-hop", type=int, default=20)
    parser.add_argument("--mc", type=int, default=100)
    parser.add_argument("--per-type", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    with (args.pack / "questions.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    chosen = sample(rows, per_hop=args.per_hop, mc=args.mc, per_type=args.per_type, seed=args.seed)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for r in chosen:
        counts[r["type"]] += 1
    print(f"{len(chosen)} questions -> {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
