"""The one definition of a latency percentile, used by `kqa eval`'s results and by `make bench`, so every p50
and p95 in the README and docs means the same: numpy's linear interpolation between closest ranks."""

from __future__ import annotations

from collections.abc import Iterable


def percentile(values_ms: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of the values, rounded to microseconds; None for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    import numpy as np

    values = np.asarray(list(values_ms), dtype=np.float64)
    if values.size == 0:
        return None
    return round(float(np.percentile(values, q)), 3)
