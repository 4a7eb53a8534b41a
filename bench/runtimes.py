"""The default runtime's decision run (issue #17): transformers float32, bfloat16, int8-head, int8-mlp and int8, and
llama.cpp side by side in one process, each answering the same dev questions with closed_book and dense one at a
time, as the ``runtimes`` part of ``python -m bench --only lm`` does, with llama.cpp included.

    python -m bench.runtimes PACK_DIR [--questions 50] [--out runtimes.json]

Needs the pack's FAISS index in the cache (``kqa ask --backends dense`` once builds it) and, for llama.cpp,
``pip install llama-cpp-python``. Prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", type=Path)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from bench.run import FULL, Bench, _prompts, _runtimes
    from kqa.apps.config import cache_dir, model_cache_dir

    sizes = replace(FULL, runtime_questions=args.questions, lm_prompts=4, runtime_llamacpp=True)
    b = Bench(sizes=sizes, scratch=Path(tempfile.mkdtemp(prefix="kqa-runtimes-")), pack_path=args.pack,
              model_cache=model_cache_dir(), cache_dir=cache_dir(),
              say=lambda m: print(f"bench: {m}", file=sys.stderr, flush=True))
    short, _ = _prompts(b)
    _runtimes(b, short)
    result = b.results["lm"]["runtimes"]
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
