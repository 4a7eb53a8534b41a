"""Generation one prompt at a time with the model as the app loads it (the pool's ``TransformersLM``, ``--dtype
auto``): 8 short question prompts, 32 new tokens each, greedy, no stop sequence; tokens/s per pass and the median.

    python -m bench.lm_one_prompt --home ~/.cache/kqa --passes 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from kqa.apps.wiring import BackendPool, Options

QUESTIONS = ("What is the capital of Peru?", "Which currency does Japan use?", "What is the population of Chile?",
             "Who is the head of state of Norway?", "What languages are spoken in Belgium?",
             "Where is Mali located?", "What is the highest point of Nepal?", "What is the area of Egypt?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path.home() / ".cache" / "kqa", help="the KQA_HOME to load from")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    pool = BackendPool(Options(pack=args.home / "packs" / "factbook", model_cache=args.home / "models",
                               cache_dir=args.home / "cache", dtype=args.dtype))
    lm = pool.lm(runtime="transformers")
    prompts = [f"Question: {q}\nAnswer:" for q in QUESTIONS]
    lm.generate(prompts[:1], max_new_tokens=2, stop=())  # warm
    rates = []
    for _ in range(args.passes):
        start, tokens = time.perf_counter(), 0
        for prompt in prompts:
            tokens += len(lm.generate([prompt], max_new_tokens=32, stop=())[0].token_logprobs or ())
        rates.append(tokens / (time.perf_counter() - start))
    print(f"{lm.dtype}: tokens/s one prompt at a time {[round(r, 1) for r in rates]}, "
          f"median {statistics.median(rates):.1f}")


if __name__ == "__main__":
    main()
