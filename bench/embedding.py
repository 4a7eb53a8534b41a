"""How long a text the embedder reads, against what the index finds: corpus embedding speed and hit@5 on a
pack's test split for each limit, side by side in one process (issue #17: 2x the passages/s at hit@5 within
0.005 of reading 256 word pieces, MiniLM's own limit).

    python -m bench.embedding PACK_DIR [--tokens 256,128] [--precision auto,fp32] [--sample 600] [--full]

For each limit: windows/s on a fixed sample of what the dense retriever embeds, and with ``--full`` the whole
corpus embedded once (its time), a flat index over it and hit@5, recall@5 and MRR@5 on every test question
with gold passages. Prints one JSON object; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np


class _Vectors:
    """An Encoder that returns the corpus vectors already computed and embeds questions with ``encoder``."""

    def __init__(self, encoder, texts, vectors):
        self.encoder, self.model_id, self.dim = encoder, encoder.model_id, encoder.dim
        self._texts, self._vectors = texts, vectors

    def encode(self, texts, *, batch_size: int = 16, show_progress: bool = False) -> np.ndarray:
        if list(texts) == self._texts:
            return self._vectors
        return self.encoder.encode(texts)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", type=Path)
    parser.add_argument("--tokens", default="256,128", help="comma-separated limits in word pieces")
    parser.add_argument("--precision", default="auto", help="comma-separated embedder precisions (auto, fp32, bf16)")
    parser.add_argument("--sample", type=int, default=600, help="texts in the fixed speed sample")
    parser.add_argument("--full", action="store_true", help="also embed the whole corpus and score the test split")
    args = parser.parse_args(argv)

    from kqa.eval.retrieval_metrics import score_retriever
    from kqa.kb.corpus import load_corpus
    from kqa.kb.questions import load_questions
    from kqa.models.embedder import load_embedder
    from kqa.retrievers.faiss_retriever import FaissRetriever, passage_windows

    passages = load_corpus(args.pack / "corpus.jsonl")
    _, texts, _ = passage_windows(passages)
    picked = sorted(random.Random(1).sample(range(len(texts)), min(args.sample, len(texts))))
    sample = [texts[i] for i in picked]
    questions = [q for q in load_questions(args.pack / "questions.jsonl", split="test") if q.gold_passages]
    out: dict = {"passages": len(passages), "windows": len(texts), "sample": len(sample), "by_tokens": {}}
    for limit, precision in [(int(t), p) for t in args.tokens.split(",") for p in args.precision.split(",")]:
        start = time.perf_counter()
        encoder = load_embedder(max_tokens=limit, precision=precision)
        load_s = time.perf_counter() - start
        encoder.encode(sample[:16])  # warm
        start = time.perf_counter()
        encoder.encode(sample)
        took = time.perf_counter() - start
        row: dict = {"model_id": encoder.model_id, "precision": encoder.precision, "load_s": round(load_s, 1),
                     "sample_windows_per_s": round(len(sample) / took, 1),
                     "full_corpus_min_estimate": round(len(texts) / len(sample) * took / 60, 1),
                     "load_average_1m": round(os.getloadavg()[0], 2)}
        if args.full:
            start = time.perf_counter()
            vectors = encoder.encode(texts)
            took = time.perf_counter() - start
            scores = score_retriever(FaissRetriever.build(passages, _Vectors(encoder, texts, vectors)), questions, k=5)
            row.update(corpus_s=round(took, 1), corpus_windows_per_s=round(len(texts) / took, 1),
                       hit_at_5=round(scores.hit_rate, 4), recall_at_5=round(scores.recall, 4),
                       mrr_at_5=round(scores.mrr, 4), questions=scores.questions)
        out["by_tokens"][f"{limit}-{precision}"] = row
        print(json.dumps({f"{limit}-{precision}": row}), flush=True)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
