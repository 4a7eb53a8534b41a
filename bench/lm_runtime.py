"""Measure the language model runtime: first and second start of a model, and closed-book questions per second
batched against one at a time (the same prompts; ``same_answers`` checks that both ways answer alike). Prints
one JSON object (with the settings that produced it, and the machine's load around the timing).

    python -m bench.lm_runtime [--model gemma-3-270m] [--cache-dir DIR] [--questions 32]

Without ``--cache-dir`` the first start converts into a fresh temporary folder, so it measures a real
conversion. The second start runs in a new process, as a user's next run would.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COUNTRIES = ("France", "Japan", "Peru", "Kenya", "Canada", "Egypt", "Norway", "Chile", "India", "Spain", "Italy",
             "Brazil", "Mexico", "Ghana", "Nepal", "Cuba", "Greece", "Poland", "Sweden", "Turkey", "Iran", "Iraq",
             "China", "Russia", "Germany", "Portugal", "Argentina", "Australia", "Vietnam", "Thailand", "Morocco",
             "Austria", "Ireland", "Finland", "Denmark", "Hungary")


def _second_start(model: str, cache_dir: Path) -> dict[str, float]:
    code = ("import time, json; t = time.perf_counter(); from pathlib import Path; "
            "from kqa.models.transformers_lm import TransformersLM; "
            f"lm = TransformersLM({model!r}, cache_dir=Path({str(cache_dir)!r})); "
            "print(json.dumps({'load_s': lm.load_s, 'process_s': time.perf_counter() - t, 'from': lm.loaded_from}))")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - start  # interpreter start and imports included
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--questions", type=int, default=32)
    args = parser.parse_args(argv)

    import torch

    from kqa.kb.types import Question
    from kqa.readers.closed_book import ClosedBookReader
    from kqa.models.transformers_lm import TransformersLM

    cache_dir = args.cache_dir or Path(tempfile.mkdtemp(prefix="kqa-measure-"))
    start = time.perf_counter()
    lm = TransformersLM(args.model, cache_dir=cache_dir)
    first_s = time.perf_counter() - start
    second = _second_start(args.model, cache_dir)

    texts = [f"What is the capital of {c}?" for c in (COUNTRIES * 2)[: args.questions]]
    questions = [Question(id=str(i), question=t, answers=("x",)) for i, t in enumerate(texts)]
    reader = ClosedBookReader(lm)
    reader.answer_many(questions[:2])  # warm-up: first calls pay for lazy initialisation
    load_before = os.getloadavg()[0]  # two runs on a shared machine are only comparable at similar load
    start = time.perf_counter()
    batched = reader.answer_many(questions)
    batched_s = time.perf_counter() - start
    start = time.perf_counter()
    single = [reader.answer(t) for t in texts]
    single_s = time.perf_counter() - start
    result = {
        "model": args.model,
        "first_start_s": round(first_s, 2),
        "first_start_from": lm.loaded_from,
        "second_start_load_s": round(second["load_s"], 2),
        "second_start_process_s": round(second["process_s"], 2),
        "second_start_from": second["from"],
        "questions": len(texts),
        "batched_questions_per_s": round(len(texts) / batched_s, 3),
        "one_at_a_time_questions_per_s": round(len(texts) / single_s, 3),
        "speedup": round(single_s / batched_s, 2),
        "same_answers": [a.text for a in batched] == [a.text for a in single],
        "batch_size": lm.batch_size,
        "threads": torch.get_num_threads(),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before and after timing
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
