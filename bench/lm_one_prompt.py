"""Generation one prompt at a time with the model as the app loads it (the pool's ``TransformersLM``): 8 short
question prompts, 32 new tokens each, greedy, no stop sequence; tokens/s per pass and the median, for each
``--dtype`` given, side by side in one process (and llama.cpp on the same GGUF with ``--llamacpp``); with the load
time, the process's resident memory after the load, and how many of the 8 texts equal the first dtype's.

    python -m bench.lm_one_prompt --home ~/.cache/kqa --dtype bfloat16 int8-head int8 --llamacpp --passes 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

from kqa.apps.wiring import BackendPool, Options

QUESTIONS = ("What is the capital of Peru?", "Which currency does Japan use?", "What is the population of Chile?",
             "Who is the head of state of Norway?", "What languages are spoken in Belgium?",
             "Where is Mali located?", "What is the highest point of Nepal?", "What is the area of Egypt?")


def _rss_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path.home() / ".cache" / "kqa", help="the KQA_HOME to load from")
    parser.add_argument("--dtype", nargs="+", default=["auto"], help="one or more transformers dtypes, in turn")
    parser.add_argument("--llamacpp", action="store_true", help="also llama.cpp (--runtime llamacpp) on the GGUF")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    pool = BackendPool(Options(pack=args.home / "packs" / "factbook", model_cache=args.home / "models",
                               cache_dir=args.home / "cache"))
    prompts = [f"Question: {q}\nAnswer:" for q in QUESTIONS]
    runs = [{"runtime": "transformers", "dtype": d} for d in args.dtype] + ([{"runtime": "llamacpp"}] * args.llamacpp)
    first_texts = None
    print(f"load average before: {os.getloadavg()}")
    for over in runs:
        rss = _rss_mb()
        start = time.perf_counter()
        lm = pool.lm(**over)
        load_s = time.perf_counter() - start
        grown = _rss_mb() - rss
        lm.generate(prompts[:1], max_new_tokens=2, stop=())  # warm
        rates, texts = [], []
        for _ in range(args.passes):
            start, tokens, texts = time.perf_counter(), 0, []
            for prompt in prompts:
                gen = lm.generate([prompt], max_new_tokens=32, stop=())[0]
                tokens += len(gen.token_logprobs or ())
                texts.append(gen.text)
            rates.append(tokens / (time.perf_counter() - start))
        first_texts = first_texts or texts
        same = sum(a == b for a, b in zip(texts, first_texts))
        label = getattr(lm, "dtype", None) or over["runtime"]
        print(f"{over['runtime']} {label}: tokens/s one prompt at a time {[round(r, 1) for r in rates]}, "
              f"median {statistics.median(rates):.1f}; load {load_s:.1f} s, memory +{grown:.0f} MB "
              f"(peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB); "
              f"texts equal to {runs[0].get('dtype', runs[0]['runtime'])}'s: {same}/{len(texts)}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
