"""Measure the retrievers on a pack: build time, single-question latency, recall@k / hit@k / MRR by retriever.

    python -m bench.retrieval PACK_DIR [--split test] [--k 5] [--kind flat] [--index-dir DIR]

A developer's tool, not part of the CLI: it prints figures and writes nothing but the index caches (under
``PACK_DIR/index`` unless ``--index-dir`` says otherwise; pass an empty folder to time a cold build).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

from kqa.kb.corpus import load_corpus
from kqa.kb.questions import load_questions
from kqa.retrievers.bm25_retriever import BM25Retriever
from kqa.models.embedder import load_embedder
from kqa.retrievers.faiss_retriever import FaissRetriever
from kqa.retrievers.hybrid import HybridRetriever
from kqa.eval.retrieval_metrics import score_retriever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--kind", default="flat", choices=["flat", "hnsw", "ivfpq"])
    parser.add_argument("--cache-dir", type=Path, default=None, help="index caches (default: KQA_HOME/cache)")
    parser.add_argument("--by-type", action="store_true", help="also break hit@k down by question type")
    parser.add_argument("--latency-questions", type=int, default=200)
    args = parser.parse_args(argv)

    from kqa.apps.config import cache_dir

    index_dir = args.cache_dir or cache_dir()
    passages = load_corpus(args.pack / "corpus.jsonl")
    questions = [q for q in load_questions(args.pack / "questions.jsonl", split=args.split) if q.gold_passages]
    print(f"{len(passages)} passages, {len(questions)} {args.split} questions with gold passages")

    start = time.perf_counter()
    encoder = load_embedder()
    print(f"load embedder: {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    dense = FaissRetriever.build_or_load(passages, encoder, index_dir, kind=args.kind, show_progress=True)
    print(f"dense index ({args.kind}, {'loaded' if dense.cache_hit else 'built'}): "
          f"{time.perf_counter() - start:.1f} s for {len(dense.owner)} vectors -> {dense.cache_path}")
    start = time.perf_counter()
    bm25 = BM25Retriever.build_or_load(passages, index_dir)
    print(f"bm25 index ({'loaded' if bm25.cache_hit else 'built'}): {time.perf_counter() - start:.1f} s")
    hybrid = HybridRetriever([dense, bm25])

    sample = [q.question for q in questions[: args.latency_questions]]
    for retriever in (dense, bm25, hybrid):
        retriever.retrieve(sample[0], k=args.k)  # warm-up
        latencies_ms = []
        for question in sample:
            start = time.perf_counter()
            retriever.retrieve(question, k=args.k)
            latencies_ms.append(1000 * (time.perf_counter() - start))
        p50 = statistics.median(latencies_ms)
        p95 = statistics.quantiles(latencies_ms, n=20)[-1]
        start = time.perf_counter()
        scores = score_retriever(retriever, questions, k=args.k)
        batch_s = time.perf_counter() - start
        print(f"{retriever.name:7s} recall@{args.k} {scores.recall:.3f}  hit@{args.k} {scores.hit_rate:.3f}  "
              f"MRR@{args.k} {scores.mrr:.3f}  p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
              f"(batch of {scores.questions}: {batch_s:.1f} s)")
        if args.by_type:
            groups = defaultdict(list)
            for q in questions:
                groups[q.type].append(q)
            for qtype, group in sorted(groups.items()):
                s = score_retriever(retriever, group, k=args.k)
                print(f"    {qtype:16s} n={s.questions:4d}  recall {s.recall:.3f}  hit {s.hit_rate:.3f}  MRR {s.mrr:.3f}")


if __name__ == "__main__":
    main()
