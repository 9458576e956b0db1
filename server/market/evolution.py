"""The market over time: correlated factor shocks move the curve, the spreads and the ETFs.

:meth:`MarketModel.step` takes a snapshot, a time step in integer nanoseconds of the runtime's
clock and a ``numpy.random.Generator``, and returns the next snapshot:

* **Time scale.** Vols are per trading day, and a trading day is ``trading_day_hours`` (6.5 h,
  the US cash session) of clock time; a step of ``dt`` nanoseconds is ``dt / (6.5 h)`` trading
  days and shocks scale with its square root. The simulated clock is taken to run in trading
  time (no overnight or weekend gaps); the step moves prices, not the calendar: ``as_of`` stays,
  and carry and pull-to-par are ignored.
* **Factors.** One draw of the :class:`~server.market.factors.FactorModel` factors, with the
  model's covariance times ``dt``: the key-rate moves (bp) shift the Treasury curve at 2y, 5y, 10y
  and 30y (linear in between, flat beyond, as :meth:`TreasuryCurve.shifted` does); the grade and
  sector factors and each bond's idiosyncratic shock (vol from
  :meth:`FactorModel.idio_vol`) move spreads proportionally, ``s' = s x exp(grade + sector +
  idio)``, log-normal so spreads stay positive (to first order ``ds = s x shock``, the DTS model
  the exposures describe). Every instrument is then repriced by
  :meth:`MarketSnapshot.from_spreads`; liquidity scores are carried over.
* **ETFs.** Each ETF's NAV moves by its holdings' market-value-weighted price returns (dirty
  returns; the weights are the universe's). Its price is ``NAV x (1 + premium)`` with the
  premium an Ornstein-Uhlenbeck process around 0: half-life ``premium_half_life_days``, daily
  innovation vol ``premium_vol`` (defaults to the factor model's ``etf_premium_vol``), stepped
  exactly (``p' = p e^{-k dt} + sigma sqrt((1 - e^{-2 k dt}) / 2k) z``). The premium is not
  stored separately: it is ``etf_price / etf_nav - 1`` of the snapshot.

Deterministic: the same snapshot, step and generator state give the same result; each step
draws a fixed number of normals (factors, then one per corporate bond, then one per ETF) whatever
the configuration. A zero step returns the snapshot itself and draws nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Final

import numpy as np
from numpy.typing import NDArray

from server.domain import bondmath
from server.market.curve import KEY_TENORS
from server.market.factors import HY, IG, RATES, SECTOR_OFFSET, FactorModel
from server.market.universe import ETF_INITIAL_NAV, MarketSnapshot, Universe

__all__ = [
    "NS_PER_HOUR",
    "MarketModel",
    "MarketModelConfig",
    "etf_premium",
    "stress_premium",
]

FloatArray = NDArray[np.float64]

NS_PER_HOUR: Final = 3_600 * 10**9


@dataclass(frozen=True)
class MarketModelConfig:
    """How the market moves between snapshots."""

    trading_day_hours: float = 6.5
    """Clock hours in one trading day: the unit the daily vols refer to."""
    premium_half_life_days: float = 3.0
    """Half-life (trading days) of an ETF's premium/discount to NAV."""
    premium_vol: float | None = None
    """Daily innovation vol of the premium (a return); ``None`` uses the factor model's
    ``etf_premium_vol`` (0.1%). With a 3-day half-life the stationary spread is about 0.15%:
    within +-0.3% most of the time, as for LQD and HYG."""
    idiosyncratic: bool = True
    """Draw bond-specific spread shocks (switch off for factor-only markets)."""

    def __post_init__(self) -> None:
        if not (self.trading_day_hours > 0.0 and math.isfinite(self.trading_day_hours)):
            raise ValueError("trading_day_hours must be positive")
        if not (self.premium_half_life_days > 0.0 and math.isfinite(self.premium_half_life_days)):
            raise ValueError("premium_half_life_days must be positive")
        if self.premium_vol is not None and not (self.premium_vol >= 0.0 and math.isfinite(self.premium_vol)):
            raise ValueError("premium_vol must be non-negative")

    @property
    def ns_per_day(self) -> float:
        """Nanoseconds of clock time in one trading day."""
        return self.trading_day_hours * NS_PER_HOUR


def etf_premium(snapshot: MarketSnapshot, ticker: str) -> float:
    """The ETF's premium (+) or discount (-) to NAV, as a fraction: ``price / NAV - 1``."""
    nav = snapshot.etf_nav.get(ticker)
    if nav is None:
        raise KeyError(f"the snapshot has no NAV for ETF {ticker!r}")
    return float(snapshot.etf_price.get(ticker, nav)) / float(nav) - 1.0


def stress_premium(snapshot: MarketSnapshot, ticker: str, premium: float) -> MarketSnapshot:
    """A copy of ``snapshot`` with the ETF priced at ``NAV x (1 + premium)``.

    ``premium=-0.02`` is a 2% discount to NAV (as in March 2020). Bonds and NAVs are untouched.
    """
    nav = snapshot.etf_nav.get(ticker)
    if nav is None:
        raise KeyError(f"the snapshot has no NAV for ETF {ticker!r}")
    if not (math.isfinite(premium) and premium > -1.0):
        raise ValueError("premium must be a finite fraction above -1")
    price = dict(snapshot.etf_price)
    price[ticker] = float(nav) * (1.0 + premium)
    return replace(snapshot, etf_nav=dict(snapshot.etf_nav), etf_price=price)


class MarketModel:
    """Steps a :class:`MarketSnapshot` forward in time under the factor model."""

    def __init__(
        self, universe: Universe, factor_model: FactorModel, config: MarketModelConfig = MarketModelConfig()
    ) -> None:
        if factor_model.universe is not universe:
            raise ValueError("the factor model belongs to another universe")
        self.universe = universe
        self.factor_model = factor_model
        self.config = config
        # A square root of the factor covariance (eigen-decomposition: robust to semi-definiteness).
        vals, vecs = np.linalg.eigh(factor_model.cov)
        self._root: FloatArray = vecs * np.sqrt(np.clip(vals, 0.0, None))
        nb = universe.n_bonds
        self._nb = nb
        self._credit_col = np.where(universe.is_hy, HY, IG).astype(np.int64)
        self._sector_col = (SECTOR_OFFSET + np.asarray(universe.sector_idx, dtype=np.int64)).astype(np.int64)
        self._tickers = tuple(universe.etf_holdings_idx)
        self._premium_vol = (
            factor_model.config.etf_premium_vol if config.premium_vol is None else config.premium_vol
        )
        self._kappa = math.log(2.0) / config.premium_half_life_days
        self._accrued: tuple[date, FloatArray] | None = None

    def trading_days(self, dt_ns: int) -> float:
        """``dt_ns`` of clock time in trading days."""
        return dt_ns / self.config.ns_per_day

    def _accrued_at(self, as_of: date) -> FloatArray:
        if self._accrued is None or self._accrued[0] != as_of:
            u = self.universe
            ai = bondmath.accrued_interest(
                u.all_coupon, u.all_maturity, np.datetime64(as_of, "D"), u.all_day_count, u.all_frequency
            )
            self._accrued = (as_of, np.asarray(ai, dtype=np.float64))
        return self._accrued[1]

    def step(self, snapshot: MarketSnapshot, dt_ns: int, rng: np.random.Generator) -> MarketSnapshot:
        """The market ``dt_ns`` nanoseconds after ``snapshot``; ``dt_ns == 0`` returns ``snapshot``."""
        if dt_ns < 0:
            raise ValueError("dt_ns must be non-negative")
        if dt_ns == 0:
            return snapshot
        u = self.universe
        if len(snapshot) != u.n_instruments:
            raise ValueError(f"snapshot has {len(snapshot)} instruments, the universe {u.n_instruments}")
        days = self.trading_days(dt_ns)
        sq = math.sqrt(days)
        nb = self._nb
        k = self._root.shape[0]
        z = rng.standard_normal(k + nb + len(self._tickers))
        f = (self._root @ z[:k]) * sq

        # Rates: shift the curve at the key tenors.
        rate_moves = f[RATES]
        curve = snapshot.curve.shifted({float(t): float(b) for t, b in zip(KEY_TENORS, rate_moves, strict=True)})

        # Spreads: proportional grade + sector moves, and idiosyncratic noise.
        shock = f[self._credit_col] + f[self._sector_col]
        if self.config.idiosyncratic:
            shock = shock + self.factor_model.idio_vol(snapshot)[:nb] * z[k:k + nb] * sq
        spread = np.array(snapshot.spread_bp, dtype=np.float64)
        spread[:nb] = spread[:nb] * np.exp(shock)

        # ETF NAVs follow their holdings' prices, after the repricing below.
        new = MarketSnapshot.from_spreads(
            u, spread, snapshot.liquidity_score, curve=curve, as_of=snapshot.as_of,
            etf_nav=snapshot.etf_nav, etf_price=snapshot.etf_price,
        )
        dirty_old = np.asarray(snapshot.mid_price, dtype=np.float64) + self._accrued_at(snapshot.as_of)
        ret = np.asarray(new.mid_price, dtype=np.float64) - np.asarray(snapshot.mid_price, dtype=np.float64)
        decay = math.exp(-self._kappa * days)
        noise_sd = self._premium_vol * math.sqrt((1.0 - decay * decay) / (2.0 * self._kappa))
        nav: dict[str, float] = dict(snapshot.etf_nav)
        price: dict[str, float] = dict(snapshot.etf_price)
        for j, ticker in enumerate(self._tickers):
            hold = u.etf_holdings_idx[ticker]
            w = u.etf_weights[ticker]
            old_nav = float(snapshot.etf_nav.get(ticker, ETF_INITIAL_NAV.get(ticker, 100.0)))
            old_px = float(snapshot.etf_price.get(ticker, old_nav))
            r = float(w @ (ret[hold] / dirty_old[hold])) if hold.size else 0.0
            premium = (old_px / old_nav - 1.0) * decay + noise_sd * float(z[k + nb + j])
            nav[ticker] = old_nav * (1.0 + r)
            price[ticker] = nav[ticker] * (1.0 + premium)
        return replace(new, etf_nav=nav, etf_price=price)
