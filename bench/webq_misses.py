"""Sort a run's misses on a real-question file by whose they are: kqa's (the pack holds a gold answer for the
question's country and relation, and the backend gave another or abstained), or the gold's as written (the
pack holds none of the gold's strings: another vocabulary, a dated or a wrong gold, or knowledge the pack
lacks), or the linker's (no country of the pack named). The test for "holds" is the data ceiling's
(``bench.webq_data_ceiling``), over the whole set of the relation's values, principal or not.

    python -m bench.webq_misses PACK_DIR QUESTIONS.jsonl RUN_DIR [--out FILE.csv]
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter, defaultdict

from bench.webq_data_ceiling import RELATIONS, values
from kqa.eval.metrics import contains_match
from kqa.eval.runner import ANSWERS, read_records
from kqa.kb.graph import load_graph
from kqa.kb.questions import load_questions
from kqa.retrievers.entity_linker import EntityLinker
from kqa.retrievers.question_rewrite import QuestionRewriter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack")
    parser.add_argument("questions")
    parser.add_argument("run")
    parser.add_argument("--out", help="a CSV of every miss: backend, relation, whose, question, prediction, gold")
    args = parser.parse_args()
    from pathlib import Path

    kg = load_graph(args.pack)
    linker = EntityLinker(kg)
    rewrite = QuestionRewriter(linker).rewrite
    whose: dict[str, str] = {}
    for q in load_questions(args.questions):
        countries = [m for m in linker.link(rewrite(q.question)) if m.of_class("Country")]
        if not countries or q.relation not in RELATIONS:
            whose[q.id] = "unlinked"
            continue
        held = values(kg, countries[-1].of_class("Country")[0].term, RELATIONS[q.relation][0])
        whose[q.id] = "kqa" if contains_match(", ".join(held), q.answers) else "gold"
    table: dict[str, Counter] = defaultdict(Counter)
    rows = []
    for r in read_records(Path(args.run) / ANSWERS):
        if "~" in r["question_id"] or r["correct"]:
            continue
        kind = whose.get(r["question_id"], "unlinked")
        how = "abstained" if r["abstained"] else "wrong"
        table[r["backend"]][f"{kind} {how}"] += 1
        rows.append([r["backend"], r.get("relation"), kind, how, r["question"], r["prediction"],
                     "; ".join(r["answers"][:3])])
    columns = [f"{k} {h}" for k in ("kqa", "gold", "unlinked") for h in ("wrong", "abstained")]
    print(f"{'backend':<12}" + "".join(f"{c:>19}" for c in columns))
    for backend, counts in table.items():
        print(f"{backend:<12}" + "".join(f"{counts[c]:>19}" for c in columns))
    if args.out:
        with open(args.out, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["backend", "relation", "whose", "how", "question", "prediction", "gold"], *rows])


if __name__ == "__main__":
    main()
