"""How often the line a corpus reader reads holds a gold answer: the ceiling line selection sets for the
model (``retrievers/lines``). For each question, the dense retriever's top-k passages, the selector's best
line, and whether a gold alias is in it (containment, as ``acc`` scores an answer), by relation.

    python -m bench.line_hits --questions dev --limit 300            # the pack's dev split, a seeded sample
    python -m bench.line_hits --questions FILE.jsonl                  # a question file

It loads the pack, the embedder and the FAISS index, no language model.
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict
from pathlib import Path

from kqa.apps.config import cache_dir, default_pack_dir, model_cache_dir
from kqa.apps.wiring import BackendPool, Options, _faiss, _embedder, _rewrite
from kqa.eval.metrics import contains_match
from kqa.kb.questions import load_questions
from kqa.kb.text import clean_question
from kqa.retrievers.lines import LineSelector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default="dev", help="dev | test | a question file")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--type", default=None, help="only questions of this type (single_hop ...)")
    args = parser.parse_args()
    pool = BackendPool(Options(pack=default_pack_dir(), model_cache=model_cache_dir(), cache_dir=cache_dir()))
    if args.questions in ("dev", "test"):
        questions = load_questions(pool.pack().questions_path, split=args.questions)
    else:
        questions = load_questions(Path(args.questions))
    questions = [q for q in questions if not q.choices and (args.type is None or q.type == args.type)]
    if args.limit:
        questions = random.Random(args.seed).sample(questions, min(args.limit, len(questions)))
    rewrite = _rewrite(pool) or (lambda q: q)
    asked = [clean_question(rewrite(q.question)) for q in questions]
    retrieved = _faiss(pool, pool.options).retrieve_many(asked, k=args.k)
    lines = LineSelector(_embedder(pool)).select_many(asked, retrieved, m=1)
    hits: dict[str, list[bool]] = defaultdict(list)
    for q, best in zip(questions, lines):
        hit = bool(best) and contains_match(best[0].text, q.answers)
        hits[q.relation or q.type or "?"].append(hit)
        hits["all"].append(hit)
    print("| relation | n | best line holds a gold answer |")
    print("|---|---:|---:|")
    for relation, rows in sorted(hits.items(), key=lambda kv: (kv[0] == "all", -len(kv[1]))):
        print(f"| {relation} | {len(rows)} | {100 * sum(rows) / len(rows):.1f} |")


if __name__ == "__main__":
    main()
