"""Small tools the benchmark measures with: a clock, medians and percentiles, the machine's description, and
an encoder that serves vectors computed once (so index build times are not embedding times again).

Nothing here knows what is measured; ``bench`` decides that.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kqa.eval.runner import PACKAGES, git_commit, package_versions
from kqa.eval.timing import percentile

# the peers and libraries a benchmark also depends on, beside what `kqa eval` records
VERSIONS = ("numpy", "haystack-ai", "pyoxigraph", "llama_cpp_python")


def seconds(run: Callable[[], Any]) -> tuple[Any, float]:
    """``run()`` and how long it took, in seconds."""
    start = time.perf_counter()
    value = run()
    return value, time.perf_counter() - start


def repeat(run: Callable[[], Any], times: int) -> dict[str, Any]:
    """Run ``times`` times; the median and every run, in seconds."""
    runs = [seconds(run)[1] for _ in range(max(1, times))]
    return summary(runs)


def summary(runs: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """``{"median", "runs"}`` for repeated measurements of one figure."""
    return {"median": round(float(np.median(runs)), digits), "runs": [round(float(r), digits) for r in runs]}


def latency(values_ms: Iterable[float]) -> dict[str, Any]:
    """p50, p95 and mean of per-question latencies in milliseconds."""
    values = np.asarray(list(values_ms), dtype=np.float64)
    if values.size == 0:
        return {"n": 0}
    return {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95),
            "mean_ms": round(float(values.mean()), 3), "n": int(values.size)}


def per_item_median(passes: Sequence[Sequence[float]]) -> list[float]:
    """Several timed passes over the same items: each item's median across passes (damps a noisy neighbour)."""
    return [float(np.median(column)) for column in zip(*passes)]


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python, load and package versions: what a reader needs to compare figures."""
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = git_commit() or ""
    return {
        "cpu": cpu,
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch_threads": _torch_threads(),
        "load_average_start": _load(),
        "commit": commit[:7] + commit[40:] or None,  # the short hash, and UNCOMMITTED after it where it is
        "versions": package_versions((*PACKAGES, *VERSIONS)),
    }


def load_average() -> list[float] | None:
    return _load()


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _torch_threads() -> int | None:
    try:
        import torch

        return torch.get_num_threads()
    except ImportError:
        return None


class MemoEncoder:
    """An Encoder that returns vectors already computed for known texts and asks ``encoder`` for the rest.

    Same ``model_id`` and ``dim`` as ``encoder``, so an index built through it is the index the real encoder
    would build and its cache entry is the one ``kqa`` looks for."""

    def __init__(self, encoder: Any, texts: Sequence[str], vectors: np.ndarray):
        self.encoder = encoder
        self.model_id = encoder.model_id
        self.dim = encoder.dim
        self._rows = {text: row for row, text in enumerate(texts)}
        self._vectors = vectors  # (n, dim) float32, L2-normalised

    def encode(self, texts: Sequence[str], *, batch_size: int = 16, show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        missing = [t for t in texts if t not in self._rows]
        fresh = self.encoder.encode(missing, batch_size=batch_size) if missing else None
        fresh_rows = {t: i for i, t in enumerate(missing)}
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            row = self._rows.get(text)
            out[i] = self._vectors[row] if row is not None else fresh[fresh_rows[text]]
        return out


class CacheOnlyEncoder:
    """An Encoder that refuses to encode: ``FaissRetriever.build_or_load`` through it loads a cached index
    or raises ``LookupError``, so the benchmark reads vectors back instead of embedding the corpus again."""

    def __init__(self, encoder: Any):
        self.model_id = encoder.model_id
        self.dim = encoder.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 16, show_progress: bool = False) -> np.ndarray:
        raise LookupError("no cached index")
