"""Hedging a basket with Treasuries and credit ETFs, and what the hedge costs.

Hedge instruments, in the column order of every hedge array: the universe's on-the-run
Treasuries (2y, 5y, 10y, 30y), then LQD and HYG.

* Credit first: the basket's IG credit exposure is offset with LQD and its HY exposure with HYG.
  Exposures are the factor model's duration-times-spread (DTS) loadings, so the ETF amount is the
  bond's DTS over the ETF's: each ETF is scaled by its spread beta. (The 2x2 solve also covers a
  model where an ETF loads on both credit factors.)
* Rates second: the key-rate DV01s left after the ETFs (which carry duration of their own) are
  offset with the four Treasuries; with ``rates_ratio = 1`` the hedged basket's key-rate DV01s are
  zero.

Both steps are linear, so a basket's hedge is the sum of its lines' standalone hedges: buys net
against sells before any hedge is paid for. The cost of a hedge is each instrument's half-spread
(Treasuries 0.2-0.5 bp of price by tenor, LQD 0.5 bp, HYG 0.75 bp) on the absolute amount traded,
plus the ETF's premium to NAV on the signed amount: buying an ETF at a premium pays the premium,
selling one at a discount pays the discount (``premium x amount``, a gain in the opposite cases).

All functions take stacks of exposures ``(m, K)``: one row per basket (a basket, or each line
alone), no Python loop over lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from server.market.factors import HY, IG, RATES, FactorModel
from server.market.universe import ETF_HALF_SPREAD_BP, TREASURY_TENORS, MarketSnapshot, Universe

__all__ = [
    "ETF_TICKERS",
    "HEDGE_NAMES",
    "TREASURY_HALF_SPREAD_BP",
    "HedgeBook",
    "HedgeConfig",
    "etf_premium",
    "hedge_book",
    "hedge_cost",
    "hedge_cost_parts",
    "hedge_notionals",
    "hedge_r_squared",
    "hedged_exposure",
    "residual_variance",
]

FloatArray = NDArray[np.float64]

ETF_TICKERS: tuple[str, ...] = ("LQD", "HYG")
HEDGE_NAMES: tuple[str, ...] = (*(f"UST{t}Y" for t in TREASURY_TENORS), *ETF_TICKERS)
TREASURY_HALF_SPREAD_BP: tuple[float, ...] = (0.2, 0.25, 0.35, 0.5)
"""Half bid/ask of the on-the-run 2y, 5y, 10y and 30y, bp of price (estimate)."""
_N_TSY = len(TREASURY_TENORS)
CREDIT_COLS = slice(RATES.stop, None)
"""Factor columns other than the key rates: credit and sectors."""


@dataclass(frozen=True, slots=True)
class HedgeConfig:
    rates_ratio: float = 1.0  # share of the key-rate DV01s hedged with Treasuries
    credit_ratio: float = 1.0  # share of the IG / HY credit exposure hedged with LQD / HYG
    treasury_half_spread_bp: tuple[float, ...] = TREASURY_HALF_SPREAD_BP
    premium_pass_through: float = 1.0  # share of the ETF premium/discount the dealer pays (or earns)
    round_trip: float = 1.0  # half-spreads paid per hedge: 1 to put it on, 2 to take it off again too

    def __post_init__(self) -> None:
        if not (0.0 <= self.rates_ratio <= 1.0 and 0.0 <= self.credit_ratio <= 1.0):
            raise ValueError("hedge ratios must be between 0 and 1")
        if len(self.treasury_half_spread_bp) != _N_TSY or min(self.treasury_half_spread_bp) < 0.0:
            raise ValueError(f"treasury_half_spread_bp needs {_N_TSY} non-negative values")
        if self.round_trip < 0.0:
            raise ValueError("round_trip must be non-negative")


@dataclass(frozen=True, eq=False)
class HedgeBook:
    """The hedge instruments at one snapshot (J = 6 rows, K factor columns)."""

    names: tuple[str, ...]
    exposure: FloatArray  # (J, K) daily return per 1 USD per unit factor move
    resid_var: FloatArray  # (J,) daily residual return variance per 1 USD (ETF: holdings idio + premium)
    premium_var: FloatArray  # (J,) the part of ``resid_var`` that is premium/discount-to-NAV risk
    half_spread_bp: FloatArray  # (J,)
    premium: FloatArray  # (J,) price / NAV - 1 (0 for Treasuries)
    credit_solve: FloatArray  # (2, J): ETF amounts per unit of [IG, HY] exposure to offset
    rates_solve: FloatArray  # (4, J): Treasury amounts per unit of key-rate exposure to offset
    config: HedgeConfig


def etf_premium(snapshot: MarketSnapshot, ticker: str) -> float:
    """The ETF's premium (+) or discount (-) to NAV, as a fraction: ``price / nav - 1``."""
    nav = snapshot.etf_nav.get(ticker)
    price = snapshot.etf_price.get(ticker, nav)
    if nav is None or price is None or not nav > 0.0:
        return 0.0
    return float(price) / float(nav) - 1.0


def hedge_book(model: FactorModel, universe: Universe, snapshot: MarketSnapshot, settle: date,
               config: HedgeConfig) -> HedgeBook:
    """Exposures, residual risk, costs and solve matrices of the hedge instruments."""
    k = int(model.cov.shape[0])
    table = model.exposure_table(snapshot, settle)
    tsy = universe.n_bonds + np.arange(min(_N_TSY, len(universe.treasuries)))
    exposure = np.zeros((len(HEDGE_NAMES), k))
    exposure[: len(tsy)] = table.exposures[tsy]
    resid = np.zeros(len(HEDGE_NAMES))
    premium = np.zeros(len(HEDGE_NAMES))
    premium_var = np.zeros(len(HEDGE_NAMES))
    for j, ticker in enumerate(ETF_TICKERS, start=_N_TSY):
        if ticker in universe.etfs and len(universe.etf_holdings_idx.get(ticker, ())) > 0:
            e, r = model.etf_exposure(snapshot, ticker, settle)
            exposure[j], resid[j] = e, r
            premium[j] = etf_premium(snapshot, ticker)
            premium_var[j] = min(model.config.etf_premium_vol**2, r)
    half = np.array([*config.treasury_half_spread_bp,
                     *(universe.etfs[t].half_spread_bp if t in universe.etfs else ETF_HALF_SPREAD_BP[t]
                       for t in ETF_TICKERS)], dtype=np.float64)
    # h @ exposure[:, cols] = -e[cols]  =>  h = -e[cols] @ pinv(exposure[:, cols])  (rows restricted)
    etf_rows = slice(_N_TSY, len(HEDGE_NAMES))
    credit_solve = np.zeros((2, len(HEDGE_NAMES)))
    credit_solve[:, etf_rows] = np.linalg.pinv(exposure[etf_rows][:, [IG, HY]])
    rates_solve = np.zeros((_N_TSY, len(HEDGE_NAMES)))
    rates_solve[:, :_N_TSY] = np.linalg.pinv(exposure[:_N_TSY, RATES])
    for a in (exposure, resid, premium_var, half, premium, credit_solve, rates_solve):
        a.setflags(write=False)
    return HedgeBook(HEDGE_NAMES, exposure, resid, premium_var, half, premium, credit_solve, rates_solve, config)


def hedge_notionals(book: HedgeBook, exposure_usd: FloatArray) -> FloatArray:
    """(m, J) USD of each hedge instrument to trade (+ buy, - sell) for each row of ``exposure_usd`` (m, K)."""
    cfg = book.config
    h = -cfg.credit_ratio * (exposure_usd[:, [IG, HY]] @ book.credit_solve)
    after_credit = exposure_usd[:, RATES] + h @ book.exposure[:, RATES]
    h -= cfg.rates_ratio * (after_credit @ book.rates_solve)
    return h


def hedged_exposure(book: HedgeBook, exposure_usd: FloatArray, h: FloatArray) -> FloatArray:
    """(m, K) factor exposure left after the hedge."""
    return exposure_usd + h @ book.exposure


def hedge_cost(book: HedgeBook, h: FloatArray) -> FloatArray:
    """(m,) USD: half-spreads on the absolute amounts plus the ETF premium on the signed amounts."""
    spread, premium = hedge_cost_parts(book, h)
    return np.asarray(spread + premium, dtype=np.float64)


def hedge_cost_parts(book: HedgeBook, h: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The two parts of :func:`hedge_cost`, (m,) USD each: the half-spreads, which grow with the absolute
    amounts, and the ETF premium, linear in the signed amounts. Neither has a fixed part, so for a hedge
    scaled by ``s`` the cost is ``|s| x spread + s x premium`` of the unscaled one."""
    cfg = book.config
    spread = cfg.round_trip * (np.abs(h) @ book.half_spread_bp) * 1e-4
    return spread, cfg.premium_pass_through * (h @ book.premium)


def residual_variance(book: HedgeBook, cov: FloatArray, residual: FloatArray, idio_var: FloatArray,
                      h: FloatArray, *, at_nav: bool = False) -> FloatArray:
    """(m,) daily USD^2 P&L variance of hedged baskets: factor residual, bonds' idiosyncratic risk,
    and the hedge instruments' own residual (ETF holdings' idiosyncratic risk and premium risk;
    ``at_nav`` leaves the premium risk out, as if the ETFs traded at NAV)."""
    factor = np.einsum("ik,ik->i", residual @ cov, residual)
    own = book.resid_var - book.premium_var if at_nav else book.resid_var
    return np.asarray(np.maximum(factor, 0.0) + idio_var + (h * h) @ own, dtype=np.float64)


def hedge_r_squared(book: HedgeBook, cov: FloatArray, exposure_usd: FloatArray, idio_var: FloatArray,
                    h: FloatArray, residual: FloatArray | None = None) -> FloatArray:
    """(m,) share of each row's credit excess-return variance that its hedge removes, rates left out
    (as if hedged) and the ETFs taken at NAV, as CALIBRATION section 4 states the R-squared (a bond
    alone: about 0.3-0.6). 1 for a row with no credit risk (a Treasury).

    ``residual`` is ``hedged_exposure(book, exposure_usd, h)`` if the caller has it already.
    """
    if residual is None:
        residual = hedged_exposure(book, exposure_usd, h)
    c = cov[CREDIT_COLS, CREDIT_COLS]
    credit = exposure_usd[:, CREDIT_COLS]
    left = residual[:, CREDIT_COLS]
    total = np.einsum("ik,ik->i", credit @ c, credit) + idio_var
    resid = np.einsum("ik,ik->i", left @ c, left) + idio_var + (h * h) @ (book.resid_var - book.premium_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0.0, 1.0 - resid / total, 1.0)
    return np.asarray(np.clip(r2, 0.0, 1.0), dtype=np.float64)
