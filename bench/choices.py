"""Measure multiple-choice scoring through a backend: the choices scored from their context's shared key/value
cache (what kqa does) against every choice scored whole, on the same questions; prints both times and whether
both ways pick the same choices. A developer's tool, not part of the CLI.

    python -m bench.choices [--pack DIR] [--backend dense] [--split test] [--questions 60]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from kqa.eval.metrics import score_answer
from kqa.apps.wiring import BackendPool, Options
from kqa.kb.questions import load_questions


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, default=Path.home() / ".cache/kqa/packs/factbook")
    parser.add_argument("--model-cache", type=Path, default=Path.home() / ".cache/kqa/models")
    parser.add_argument("--backend", default="dense")
    parser.add_argument("--split", default="test")
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args(argv)

    questions = [q for q in load_questions(args.pack / "questions.jsonl", split=args.split) if q.choices]
    random.Random(0).shuffle(questions)
    questions = questions[: args.questions]
    from kqa.apps.config import cache_dir

    options = Options(pack=args.pack, model_cache=args.model_cache, cache_dir=cache_dir())
    backend = BackendPool(options).get(args.backend)
    backend.answer_many(questions[:2])  # warm-up
    lm = backend.lm
    result: dict = {"backend": args.backend, "split": args.split, "questions": len(questions)}
    picks = {}
    for label, cap in (("shared_context", lm._max_prefix_tokens), ("each_whole", 0)):
        lm._max_prefix_tokens = cap  # 0: no prefix cache, every choice's row runs whole
        start = time.perf_counter()
        answers = backend.answer_many(questions)
        seconds = time.perf_counter() - start
        picks[label] = [a.text for a in answers]
        result[label] = {"ms_per_question": round(1000 * seconds / len(questions)),
                         "accuracy": round(sum(score_answer(q, a.text).correct
                                               for q, a in zip(questions, answers)) / len(questions), 3)}
    result["same_picks"] = sum(a == b for a, b in zip(picks["shared_context"], picks["each_whole"]))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
