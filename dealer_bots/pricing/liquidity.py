"""Liquidity: what a bond costs to trade alone, and how much of that a basket saves.

The single-bond RFQ cost curve is the worked example of CALIBRATION.md section 1: liquidity score
-> expected slippage in bp, passing exactly through (98, 0.5), (75, 3.0), (42, 12.0) and
(15, 35.0). Between those points it is a monotone cubic (PCHIP) in log(bp), so it stays positive
and decreasing; beyond them it continues the end segments' log-linear slopes to scores 1 and 100
(about 61 bp at score 1, 0.43 bp at score 100). Cost in USD is notional x bp / 10,000.

Inside a basket the charge falls, most for the least liquid lines. ``pt_cost_bp(score, d)`` is
``rfq_cost_bp(score) x (1 - d x max_reduction(score))``: ``d`` in [0, 1] is how much the basket
diversifies and hedges (0 for one bond alone: the RFQ cost; 1 for a fully diversified, hedgeable
basket: the worked example's PT improvements, 0.1 / 1.0 / 5.0 / 20.0 bp at scores 98 / 75 / 42 /
15). ``max_reduction`` is a monotone PCHIP through those four ratios (0.2, 1/3, 5/12, 4/7),
continued linearly to scores 1 and 100.

On the worked example's basket those improvements total 7,750 USD (250 + 1,000 + 2,500 + 4,000):
a PT cost of 9,500 against 17,250 by RFQ, a saving of 45%. CALIBRATION.md's prose says "about
7,250" (PT cost 10,000, saving 42%), which would need 4.0 bp at score 42 rather than the table's
5.0; the venue follows the table's per-line figures and reports the total they give.

Everything here is vectorized and takes any array shape; scores are clipped to [1, 100].
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import PchipInterpolator

__all__ = [
    "MAX_HOLDING_DAYS",
    "RFQ_COST_POINTS",
    "WORKED_EXAMPLE_IMPROVEMENT_BP",
    "holding_period_days",
    "improvement_bp",
    "max_reduction",
    "pt_cost_bp",
    "rfq_cost_bp",
    "rfq_cost_usd",
]

FloatArray = NDArray[np.float64]

RFQ_COST_POINTS: Final[tuple[tuple[float, float], ...]] = ((15.0, 35.0), (42.0, 12.0), (75.0, 3.0), (98.0, 0.5))
"""(liquidity score, single-bond RFQ slippage in bp): CALIBRATION.md section 1."""

WORKED_EXAMPLE_IMPROVEMENT_BP: Final[tuple[tuple[float, float], ...]] = (
    (15.0, 20.0), (42.0, 5.0), (75.0, 1.0), (98.0, 0.1),
)
"""(liquidity score, PT improvement in bp) of the worked example, reproduced at diversification 1."""

MIN_SCORE: Final = 1.0
MAX_SCORE: Final = 100.0
MAX_HOLDING_DAYS: Final = 20.0
"""Expected days to work a position out at liquidity score 1 (one day at score 100)."""


def _with_end_anchors(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Extend (x, y) to MIN_SCORE and MAX_SCORE along the end segments' slopes."""
    lo = y[0] + (y[1] - y[0]) / (x[1] - x[0]) * (MIN_SCORE - x[0])
    hi = y[-1] + (y[-1] - y[-2]) / (x[-1] - x[-2]) * (MAX_SCORE - x[-1])
    return np.concatenate([[MIN_SCORE], x, [MAX_SCORE]]), np.concatenate([[lo], y, [hi]])


_S = np.array([p[0] for p in RFQ_COST_POINTS])
_BP = np.array([p[1] for p in RFQ_COST_POINTS])
_LOG_COST: Final = PchipInterpolator(*_with_end_anchors(_S, np.log(_BP)), extrapolate=False)
_RATIO = np.array([imp for _, imp in WORKED_EXAMPLE_IMPROVEMENT_BP]) / _BP
_REDUCTION: Final = PchipInterpolator(*_with_end_anchors(_S, _RATIO), extrapolate=False)


def _score(score: ArrayLike) -> FloatArray:
    s = np.asarray(score, dtype=np.float64)
    return np.clip(np.nan_to_num(s, nan=MIN_SCORE), MIN_SCORE, MAX_SCORE)


def rfq_cost_bp(score: ArrayLike) -> FloatArray:
    """Expected slippage (bp of notional) of trading one bond alone by RFQ, per liquidity score.

    Exactly 0.5 / 3.0 / 12.0 / 35.0 bp at scores 98 / 75 / 42 / 15; monotone decreasing in score.
    """
    s = _score(score)
    # Evaluate the spline on the clipped scores only: all in [1, 100], where it is defined.
    out = np.exp(_LOG_COST(s))
    # PCHIP reproduces its knots to rounding; make the four calibration points exact.
    for x, bp in RFQ_COST_POINTS:
        out = np.where(s == x, bp, out)
    return np.asarray(out, dtype=np.float64)


def rfq_cost_usd(notional: ArrayLike, score: ArrayLike) -> FloatArray:
    """RFQ cost in USD: |notional| x ``rfq_cost_bp(score)`` / 10,000."""
    return np.abs(np.asarray(notional, dtype=np.float64)) * rfq_cost_bp(score) / 1e4


def max_reduction(score: ArrayLike) -> FloatArray:
    """Share of the single-bond cost a fully diversified basket saves, per score (0.2 at 98, 4/7 at 15)."""
    s = _score(score)
    out = np.asarray(_REDUCTION(s), dtype=np.float64)
    return np.clip(out, 0.0, 0.95)


def pt_cost_bp(score: ArrayLike, diversification: ArrayLike = 1.0) -> FloatArray:
    """Liquidity cost (bp) of a line inside a basket of the given diversification (0..1, broadcast).

    ``diversification`` 0 gives ``rfq_cost_bp``; 1 gives the worked example's PT costs
    (0.4 / 2.0 / 7.0 / 15.0 bp at scores 98 / 75 / 42 / 15).
    """
    d = np.clip(np.nan_to_num(np.asarray(diversification, dtype=np.float64)), 0.0, 1.0)
    return np.asarray(rfq_cost_bp(score) * (1.0 - d * max_reduction(score)), dtype=np.float64)


def improvement_bp(score: ArrayLike, diversification: ArrayLike = 1.0) -> FloatArray:
    """What a basket saves against the single-bond RFQ, bp: ``rfq_cost_bp - pt_cost_bp``."""
    return np.asarray(rfq_cost_bp(score) - pt_cost_bp(score, diversification), dtype=np.float64)


def holding_period_days(score: ArrayLike, max_days: float = MAX_HOLDING_DAYS) -> FloatArray:
    """Days a dealer expects to hold a position before it is worked out: 1 at score 100, ``max_days``
    at score 1, log-linear in between (about 4.5 days at score 50 with the default 20)."""
    s = _score(score)
    return np.asarray(np.power(max(max_days, 1.0), (MAX_SCORE - s) / (MAX_SCORE - MIN_SCORE)), dtype=np.float64)
