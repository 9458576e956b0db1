"""Competition: the markup that maximises expected P&L under a logistic win probability.

The chance of winning falls logistically with the quoted spread (Guéant and co-authors' RFQ
market-making models; CALIBRATION.md section 5)::

    P(win | delta) = 1 / (1 + exp(alpha + beta * delta))

``delta`` is the quote's distance from mid measured in units of the *reference* cost of the
trade (what a typical dealer would charge: the liquidity cost curve for a bond alone, the basket
curve for a portfolio), so one ``beta`` fits a 0.5 bp Treasury and a 35 bp off-the-run bond.
``alpha`` depends on the number of dealers in competition, chosen so that at the typical level
(``delta = 1``) each of ``n`` dealers wins about ``1 / n`` (with one dealer, the client's own
reluctance ``epsilon`` plays the other side)::

    alpha(n) = log(n - 1 + epsilon) - beta

A dealer whose reservation cost is ``c`` (same units) and who adds markup ``m`` quotes
``delta = c + m`` and expects ``m * P(win)``. Setting the derivative to zero gives
``beta * m * (1 - P) = 1``, whose solution is closed form with the Lambert W function::

    m* = (1 + W(exp(-(1 + alpha + beta * c)))) / beta

``m*`` lies between ``1 / beta`` (a dealer far more expensive than its rivals) and more for a
dealer with an edge (an axe, cheap inventory); it falls as ``n`` grows: more dealers, tighter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import lambertw

__all__ = ["CompetitionConfig", "alpha", "expected_pnl", "markup_by_grid", "optimal_markup", "win_probability"]

FloatArray = NDArray[np.float64]
_EXP_LIMIT = 700.0


@dataclass(frozen=True, slots=True)
class CompetitionConfig:
    beta: float = 4.0  # slope of the win probability per unit of reference cost: higher, more competitive
    epsilon: float = 0.5  # the client's reluctance: with one dealer, odds of no trade at the typical level
    markup_scale: float = 1.0  # multiply the optimal markup (1.0 = the P&L-maximising markup)

    def __post_init__(self) -> None:
        if not self.beta > 0.0:
            raise ValueError("beta must be positive")
        if not self.epsilon > 0.0:
            raise ValueError("epsilon must be positive")
        if self.markup_scale < 0.0:
            raise ValueError("markup_scale must be non-negative")


def alpha(n_dealers: ArrayLike, cfg: CompetitionConfig) -> FloatArray:
    """``log(n - 1 + epsilon) - beta``: at delta = 1 each of n dealers wins about 1/n."""
    n = np.maximum(np.asarray(n_dealers, dtype=np.float64), 1.0)
    return np.asarray(np.log(n - 1.0 + cfg.epsilon) - cfg.beta, dtype=np.float64)


def win_probability(delta: ArrayLike, n_dealers: ArrayLike, cfg: CompetitionConfig) -> FloatArray:
    """``1 / (1 + exp(alpha(n) + beta * delta))``, ``delta`` in units of the reference cost."""
    z = alpha(n_dealers, cfg) + cfg.beta * np.asarray(delta, dtype=np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(np.clip(z, -_EXP_LIMIT, _EXP_LIMIT))), dtype=np.float64)


def expected_pnl(markup: ArrayLike, cost: ArrayLike, n_dealers: ArrayLike, cfg: CompetitionConfig) -> FloatArray:
    """``markup * P(win | cost + markup)`` (reference-cost units)."""
    m = np.asarray(markup, dtype=np.float64)
    return np.asarray(m * win_probability(np.asarray(cost, dtype=np.float64) + m, n_dealers, cfg), dtype=np.float64)


def optimal_markup(cost: ArrayLike, n_dealers: ArrayLike, cfg: CompetitionConfig) -> FloatArray:
    """The markup (reference-cost units) maximising ``expected_pnl``, closed form; broadcasts."""
    z = 1.0 + alpha(n_dealers, cfg) + cfg.beta * np.asarray(cost, dtype=np.float64)
    w = lambertw(np.exp(np.clip(-z, -_EXP_LIMIT, _EXP_LIMIT))).real
    return np.asarray(cfg.markup_scale * (1.0 + w) / cfg.beta, dtype=np.float64)


def markup_by_grid(cost: float, n_dealers: int, cfg: CompetitionConfig, hi: float = 20.0,
                   points: int = 200_001) -> float:
    """Brute-force maximiser of ``expected_pnl`` on a grid (for checking the closed form)."""
    grid = np.linspace(0.0, hi, points)
    return float(cfg.markup_scale * grid[int(np.argmax(expected_pnl(grid, cost, n_dealers, cfg)))])
