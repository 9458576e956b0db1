"""Small statistics helpers."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["mean_ci"]


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its ``level`` confidence interval from the t-distribution: ``(mean, low, high)``.

    One value gives a zero-width interval (no spread to estimate); none gives zeros.
    """
    n = len(values)
    if n == 0:
        return 0.0, 0.0, 0.0
    mean = math.fsum(values) / n
    if n == 1:
        return mean, mean, mean
    from scipy import stats  # imported here: scipy.stats takes a second to import

    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * math.sqrt(var / n)
    return mean, mean - half, mean + half
