"""The dealer's charges for carrying risk: basis risk, capital, inventory and axes, balance sheet.

All amounts are USD, positive when they cost the client (a concession is negative). Functions
take arrays (one entry per line, or per row of a stack of baskets) and never loop over lines.

* Basis risk: ``risk_aversion x sigma x sqrt(holding days)``, ``sigma`` the daily residual P&L
  standard deviation of the hedged position under the factor model (CALIBRATION section 5).
* Holding period of a basket: the value-weighted mean of its lines' holding periods (each line's
  from its liquidity score, 1 day at score 100 to about 20 at score 1).
* Capital: ``cost of capital x VaR x holding days / 252``, VaR the 99% 10-day VaR of the hedged
  position (``2.326 x sigma x sqrt(10)``).
* Inventory and axes: each line gets a skew in bp of notional proportional to how much the dealer
  wants the trade: ``-skew_bp x desire x face``, ``desire`` in [-1, 1] (+ wants to buy): from the
  dealer's position (a long makes it want to sell) and from its axes. Lines that reduce its risk
  get better levels; lines that add to a position get worse ones.
* Balance sheet: gross market value of the book after the trade against a limit; above the limit
  the dealer charges ``widen_bp`` on the excess, above ``pass_multiple x limit`` it passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "TRADING_DAYS",
    "Z_99",
    "BalanceSheet",
    "BalanceSheetConfig",
    "InventoryConfig",
    "balance_sheet",
    "basis_risk_charge",
    "capital_charge",
    "desire",
    "inventory_skew",
    "liquidation_days",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

TRADING_DAYS: Final = 252.0
Z_99: Final = 2.3263478740408408  # one-sided 99% standard normal quantile


def liquidation_days(market_value: ArrayLike, holding_days: ArrayLike) -> float:
    """Value-weighted mean holding period of a basket's lines (1.0 for an empty basket)."""
    w = np.abs(np.asarray(market_value, dtype=np.float64))
    total = float(w.sum())
    if total <= 0.0:
        return 1.0
    return float(w @ np.asarray(holding_days, dtype=np.float64)) / total


def basis_risk_charge(variance: ArrayLike, holding_days: ArrayLike, risk_aversion: float) -> FloatArray:
    """``risk_aversion x sqrt(daily variance x holding days)``, USD (broadcasts)."""
    v = np.maximum(np.asarray(variance, dtype=np.float64), 0.0)
    return np.asarray(risk_aversion * np.sqrt(v * np.asarray(holding_days, dtype=np.float64)), dtype=np.float64)


def capital_charge(variance: ArrayLike, holding_days: ArrayLike, cost_of_capital: float,
                   var_days: float = 10.0, z: float = Z_99) -> FloatArray:
    """``cost_of_capital x VaR x holding days / 252``; VaR = ``z x sigma x sqrt(var_days)``, USD."""
    sigma = np.sqrt(np.maximum(np.asarray(variance, dtype=np.float64), 0.0))
    var = z * sigma * np.sqrt(var_days)
    return np.asarray(cost_of_capital * var * np.asarray(holding_days, dtype=np.float64) / TRADING_DAYS,
                      dtype=np.float64)


@dataclass(frozen=True, slots=True)
class InventoryConfig:
    skew_bp: float = 2.0  # bp of notional for a full desire (+-1)
    position_scale: float = 10_000_000.0  # face at which a position's desire to unwind reaches 1
    axe_weight: float = 1.0  # how much an axe counts against the inventory's desire

    def __post_init__(self) -> None:
        if self.skew_bp < 0.0 or not self.position_scale > 0.0 or self.axe_weight < 0.0:
            raise ValueError("skew_bp and axe_weight must be non-negative, position_scale positive")


def desire(position: ArrayLike, cfg: InventoryConfig, axes: ArrayLike | None = None) -> FloatArray:
    """How much the dealer wants to buy (+) or sell (-) each line, in [-1, 1].

    ``position`` is the dealer's face held (long +); ``axes`` (optional, same shape) its axes,
    +1 to buy, -1 to sell, anything between.
    """
    p = np.asarray(position, dtype=np.float64)
    d = -np.clip(p / cfg.position_scale, -1.0, 1.0)
    if axes is not None:
        d = d + cfg.axe_weight * np.asarray(axes, dtype=np.float64)
    return np.asarray(np.clip(d, -1.0, 1.0), dtype=np.float64)


def inventory_skew(face: ArrayLike, want: ArrayLike, cfg: InventoryConfig) -> FloatArray:
    """USD per line: ``-skew_bp x want x face / 1e4`` (negative, a better level, when the trade goes
    the way the dealer wants; ``face`` is the dealer's signed face)."""
    x = np.asarray(face, dtype=np.float64)
    return np.asarray(-cfg.skew_bp * 1e-4 * np.asarray(want, dtype=np.float64) * x, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class BalanceSheetConfig:
    limit_usd: float = 2_000_000_000.0  # gross market value the dealer is happy to carry
    widen_bp: float = 10.0  # charged on the gross market value above the limit
    pass_multiple: float = 1.5  # above this multiple of the limit the dealer passes

    def __post_init__(self) -> None:
        if not self.limit_usd > 0.0 or self.widen_bp < 0.0 or self.pass_multiple < 1.0:
            raise ValueError("limit_usd must be positive, widen_bp non-negative, pass_multiple at least 1")


@dataclass(frozen=True, slots=True)
class BalanceSheet:
    gross_before: float  # USD gross market value of the book before the trade
    gross_after: float
    charge: FloatArray  # (n,) USD per line
    over_pass_limit: bool

    @property
    def total(self) -> float:
        return float(self.charge.sum())


def balance_sheet(positions: ArrayLike | None, dirty: FloatArray, idx: IntArray, face: FloatArray,
                  cfg: BalanceSheetConfig) -> BalanceSheet:
    """Gross book before and after the trade, the widening charge per line, and whether to pass.

    ``positions`` covers every instrument (face, long +), ``dirty`` their dirty prices; the trade
    is ``face`` (dealer's signed) on instruments ``idx``. The charge is allocated to the lines that
    grow the book, in proportion to how much each grows it.
    """
    n_all = dirty.shape[0]
    p_all = np.zeros(n_all) if positions is None else np.asarray(positions, dtype=np.float64)
    gross_before = float(np.abs(p_all) @ dirty) / 100.0
    # Lines of one instrument are netted first (a venue basket has no duplicates; a caller's may).
    x_net = np.bincount(idx, face, minlength=n_all)
    touched = np.flatnonzero(x_net)
    p = p_all[touched]
    grow = (np.abs(p + x_net[touched]) - np.abs(p)) * dirty[touched] / 100.0
    gross_after = gross_before + float(grow.sum())
    excess = max(0.0, gross_after - max(gross_before, cfg.limit_usd))
    charge = np.zeros(face.shape[0])
    over = gross_after > cfg.pass_multiple * cfg.limit_usd and gross_after > gross_before
    if excess > 0.0:
        line_grow = (np.abs(p_all[idx] + face) - np.abs(p_all[idx])) * dirty[idx] / 100.0
        w = np.maximum(line_grow, 0.0)
        if w.sum() > 0.0:
            charge = excess * cfg.widen_bp * 1e-4 * w / w.sum()
    return BalanceSheet(gross_before, gross_after, charge, bool(over))
