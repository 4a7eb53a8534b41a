"""Measure the graph backend on a pack: accuracy by question type, latency, load time, abstention.

    python -m bench.graph_relations [PACK_DIR] [--split test|dev] [--no-embed]

Scoring: an answer is right when its normalised text equals one of the gold aliases (``kb.graph.name_key``:
case, accents, punctuation folded); a list question when the set of members equals the gold set (F1 is
printed too); an abstention is wrong. Latency is per question once loaded (p50, p90). Load time is measured
cold (the pickled cache removed) and cached. Abstention is checked on ``out_of_graph_questions.txt``: the
share of those questions given any answer at all (goal: at most 5%).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from kqa.kb.graph import load_graph, name_key
from kqa.kb.pack import open_pack
from kqa.kb.questions import load_questions
from kqa.kb.types import Question
from kqa.readers.graph_reader import GraphReader
from kqa.readers.types import Answer
from kqa.eval.timing import percentile

OUT_OF_GRAPH = Path(__file__).with_name("out_of_graph_questions.txt")


def out_of_graph_questions() -> list[str]:
    lines = OUT_OF_GRAPH.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def is_correct(question: Question, answer: Answer) -> tuple[bool, float]:
    """(right?, F1 for lists or 0/1 otherwise)."""
    if answer.text is None:
        return False, 0.0
    if question.type == "list" and question.answer_list:
        gold = {name_key(x) for x in question.answer_list}
        got = {name_key(x) for x in answer.meta.get("answer_list", ())} or {name_key(x) for x in answer.text.split(", ")}
        hit = len(gold & got)
        f1 = 0.0 if not hit else 2 * hit / (len(gold) + len(got))
        return gold == got, f1
    ok = name_key(answer.text) in {name_key(a) for a in question.answers}
    return ok, float(ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", nargs="?", default="~/.cache/kqa/packs/factbook")
    parser.add_argument("--split", default="test")
    parser.add_argument("--no-embed", action="store_true", help="phrasings only, no MiniLM fallback")
    parser.add_argument("--show-wrong", type=int, default=0, help="print this many wrong answers per type")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    pack = open_pack(args.pack)
    cache_dir = Path(tempfile.mkdtemp(prefix="kqa-graph-cache-"))  # a cold cache of its own
    start = time.perf_counter()
    load_graph(pack, cache_dir=cache_dir)
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    kg = load_graph(pack, cache_dir=cache_dir)
    cached_s = time.perf_counter() - start
    shutil.rmtree(cache_dir, ignore_errors=True)

    encode = None
    if not args.no_embed:
        from kqa.models.embedder import load_embedder

        encoder = load_embedder()
        encode = lambda texts: encoder.encode(list(texts))  # noqa: E731
    reader = GraphReader(kg, encode=encode)
    reader.answer("What is the capital of Peru?")  # warm the query cache and imports

    questions = load_questions(pack.questions_path, split=args.split)
    right: dict[str, list[bool]] = defaultdict(list)
    f1s: dict[str, list[float]] = defaultdict(list)
    latencies = []
    wrong: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        a = reader.answer(q.question, q.choices)
        latencies.append(a.latency_ms)
        ok, f1 = is_correct(q, a)
        right[q.type].append(ok)
        f1s[q.type].append(f1)
        if not ok:
            wrong[q.type].append(f"{q.question!r} -> {a.text!r} (gold {q.answers[0]!r}; "
                                 f"{a.meta.get('reason') or a.meta.get('relation')})")

    print(f"pack {pack.path}  split {args.split}  questions {len(questions)}  embed {not args.no_embed}")
    print(f"{'type':<16} {'n':>5} {'accuracy':>9} {'F1':>6}")
    for kind in sorted(right):
        n = len(right[kind])
        print(f"{kind:<16} {n:>5} {sum(right[kind]) / n:>9.3f} {sum(f1s[kind]) / n:>6.3f}")
    every = [x for v in right.values() for x in v]
    print(f"{'overall':<16} {len(every):>5} {sum(every) / len(every):>9.3f}")
    lat = sorted(latencies)
    print(f"latency ms: p50 {percentile(lat, 50):.2f}  p95 {percentile(lat, 95):.2f}  max {lat[-1]:.2f}")
    print(f"load s: cold {cold_s:.2f}  cached {cached_s:.2f}")

    answered = []
    for text in out_of_graph_questions():
        a = reader.answer(text)
        if a.text is not None:
            answered.append(f"{text!r} -> {a.text!r}")
    total = len(out_of_graph_questions())
    print(f"out of graph: {total - len(answered)}/{total} abstained, {len(answered)} answered "
          f"({len(answered) / total:.1%}, goal <= 5%)")
    for line in answered:
        print("   answered:", line)
    if args.show_wrong:
        for kind, lines in sorted(wrong.items()):
            for line in lines[: args.show_wrong]:
                print(f"  [{kind}] {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
