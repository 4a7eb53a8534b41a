"""The graph backend with the bundled MiniLM, on any pack: accuracy by question type (or by ``relation`` for a
file that has it), p50 latency, and abstention on questions outside the graph.

    python -m bench.graph_any PACK_DIR [--questions test|dev|FILE] [--match alias|contains] [--limit N]
                                       [--threshold T] [--show N]

``--match contains`` counts an answer right when a normalised gold answer is inside the normalised answer
(for real questions whose gold strings are one member of a set, or an odd form: the WebQuestions file in
../shared/data). Run it on a pack and on a copy without its profile.json to see what the profile is worth.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict

from kqa.eval.metrics import score_answer
from kqa.kb.graph import load_graph
from kqa.kb.pack import open_pack
from kqa.kb.questions import load_questions
from kqa.kb.text import normalize_answer
from kqa.readers.graph_reader import GraphReader


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack")
    parser.add_argument("--questions", default="test")
    parser.add_argument("--match", choices=("alias", "contains"), default="alias")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--show", type=int, default=0, help="print this many wrong answers")
    parser.add_argument("--threshold", type=float, default=None,
                        help="the relation score below which the engine abstains (default: the engine's)")
    args = parser.parse_args(argv)
    from kqa.models.embedder import load_embedder

    pack = open_pack(args.pack)
    if args.questions in ("dev", "test"):
        questions = load_questions(pack.questions_path, split=args.questions)
    else:
        questions = load_questions(args.questions)
    if args.limit:
        questions = sorted(random.Random(0).sample(questions, min(args.limit, len(questions))), key=lambda q: q.id)
    embedder = load_embedder()
    reader = GraphReader(load_graph(pack), encode=lambda texts: embedder.encode(list(texts)))
    if args.threshold is not None:
        reader.retriever.detector.threshold = args.threshold
    reader.answer("warm up: what is the capital of nothing?")
    right: dict[str, list[bool]] = defaultdict(list)
    latencies, wrong, abstained = [], [], 0
    for q in questions:
        start = time.perf_counter()
        answer = reader.answer(q.question, q.choices)
        latencies.append((time.perf_counter() - start) * 1000)
        if args.match == "contains":
            got = normalize_answer(answer.text or "")
            ok = answer.text is not None and any(normalize_answer(a) and normalize_answer(a) in got for a in q.answers)
        else:
            ok = score_answer(q, answer.text).correct
        abstained += answer.text is None
        key = q.type if q.type != "open" else (q.relation or "open")
        right[key].append(ok)
        if not ok:
            wrong.append((q.question, q.answers[:3], answer.text, answer.meta.get("relation"), answer.meta.get("reason")))
    every = [x for v in right.values() for x in v]
    print(f"{args.pack} {args.questions} ({args.match} match)")
    for key in sorted(right):
        print(f"  {key:<18} {len(right[key]):>5} {100 * sum(right[key]) / len(right[key]):6.1f}")
    print(f"  {'all':<18} {len(every):>5} {100 * sum(every) / len(every):6.1f}   abstained {abstained}, "
          f"p50 {statistics.median(latencies):.1f} ms")
    for row in wrong[: args.show]:
        print("   ", row)


if __name__ == "__main__":
    main()
