"""Opening a pack received from someone else: the first open (the graph parsed and its cache written to the
user's own cache folder) and the second (the cache read back), in seconds. Caches never travel with a pack
(see ``kqa.kb.cache``), so a copied pack always pays the first figure once.

    PYTHONPATH=. python bench/shared_pack.py --pack ~/.cache/kqa/packs/factbook --repeats 3
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from kqa.kb.graph import timed_load
    from kqa.kb.pack import open_pack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    firsts, seconds = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="kqa-shared-") as scratch:
            received = Path(scratch) / "received-pack"
            shutil.copytree(args.pack.expanduser(), received)  # what arrives: the pack folder only
            cache = Path(scratch) / "home" / "cache"  # a user who never opened it
            start = time.perf_counter()
            pack = open_pack(received)  # checks the manifest's fingerprints
            first = time.perf_counter() - start + timed_load(pack, cache_dir=cache)[1]
            start = time.perf_counter()
            pack = open_pack(received)
            second = time.perf_counter() - start + timed_load(pack, cache_dir=cache)[1]
            firsts.append(first)
            seconds.append(second)
    print(f"first open (parse, cache written): median {sorted(firsts)[len(firsts) // 2]:.2f} s  {firsts}")
    print(f"second open (cache read): median {sorted(seconds)[len(seconds) // 2]:.2f} s  {seconds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
