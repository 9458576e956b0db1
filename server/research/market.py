"""The simulation's market: evolution on a fixed step, impact of inquiries, the snapshot bots see.

``base`` is the evolved market (``MarketModel.step`` every ``step_s`` of simulated time, on the
``("market",)`` random stream); ``view`` is ``base`` with the current impact displacement folded
in, refreshed after every market step and after inquiries and awards (at
most every ``impact_refresh_s``). ``view`` is what the bots, the clients and the metrics see: a
new object only when the mids change, so strategies that cache per snapshot stay fast between
changes; a view with impact folded in names ``base`` as its ``basis`` (only its mids differ), so
strategies that tabulate risk per snapshot can keep ``base``'s tables between market steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from server.domain import bondmath
from server.domain.calendar import date_from_ns, settlement_date
from server.domain.types import NS_PER_SECOND
from server.market.evolution import MarketModel, MarketModelConfig
from server.market.factors import FactorModelConfig, shared_factor_model
from server.market.impact import ImpactModel
from server.market.universe import MarketSnapshot, Universe
from server.research.scenario import MarketSettings
from server.research.seeds import stream

__all__ = ["MarketState"]

FloatArray = NDArray[np.float64]
Scheduler = Callable[[int, Callable[[], None]], None]


@lru_cache(maxsize=8)
def _market_model(universe: Universe, factor: FactorModelConfig, config: MarketModelConfig) -> MarketModel:
    return MarketModel(universe, shared_factor_model(universe, factor), config)


class MarketState:
    def __init__(self, universe: Universe, settings: MarketSettings, seed: int, schedule: Scheduler) -> None:
        self.universe = universe
        self.settings = settings
        self.factor_model = shared_factor_model(universe, settings.factor_config())
        self.model = (_market_model(universe, settings.factor_config(), settings.market_model_config())
                      if settings.evolution else None)
        self.impact = ImpactModel(universe, settings.impact_config())
        self.impact_on = self.impact.config.enabled
        self.rng = stream(seed, "market")
        self.step_ns = round(settings.step_s * NS_PER_SECOND)
        self._refresh_ns = round(settings.impact_refresh_s * NS_PER_SECOND)
        self._schedule = schedule
        self.base: MarketSnapshot = universe.initial_market()
        self.view: MarketSnapshot = self.base
        self.initial: MarketSnapshot = self.base
        self.steps = 0
        self._last_refresh: int | None = None
        self._refresh_pending = False
        self._settle: tuple[date, date] | None = None
        self._risk: tuple[MarketSnapshot, FloatArray] | None = None

    def snapshot(self) -> MarketSnapshot:
        """What the bots see now (the ``market`` callable of the bot host)."""
        return self.view

    def settle(self, now: int) -> date:
        """T+1 settlement date of a trade at ``now`` (cached per trade date)."""
        today = date_from_ns(now)
        if self._settle is None or self._settle[0] != today:
            self._settle = (today, settlement_date(today, 1))
        return self._settle[1]

    def step(self, now: int) -> None:
        """Move the market on by one step."""
        if self.model is None:
            return
        self.base = self.model.step(self.base, self.step_ns, self.rng)
        self.steps += 1
        self._refresh(now)

    def _refresh(self, now: int) -> None:
        self._last_refresh = now
        self._refresh_pending = False
        if not self.impact_on:
            self.view = self.base
        elif self.settings.impact_repricing == "exact":
            self.view = self.impact.apply(self.base, now)
        else:
            self.view = self._linear(now)

    def _per_bp(self) -> FloatArray:
        """bp of clean price per bp of spread of every instrument (``modified duration x dirty / clean``),
        taken at the first snapshot of each ``as_of`` date: it moves by a fraction of a percent in a day,
        a second-order effect on a first-order move."""
        if self._risk is None or self._risk[0].as_of != self.base.as_of:
            u = self.universe
            settle = np.datetime64(self.base.as_of, "D")
            md = bondmath.modified_duration(u.all_coupon, u.all_maturity, settle, self.base.mid_yield,
                                            u.all_day_count, u.all_frequency)
            ai = bondmath.accrued_interest(u.all_coupon, u.all_maturity, settle, u.all_day_count, u.all_frequency)
            clean = np.asarray(self.base.mid_price, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                per_bp = md * (clean + ai) / clean
            self._risk = (self.base, np.asarray(np.where(np.isfinite(per_bp), per_bp, 0.0), dtype=np.float64))
        return self._risk[1]

    def _linear(self, now: int) -> MarketSnapshot:
        """``base`` moved by the impact displacement to first order: each clean price by exactly its
        displacement (bp of price), yield and spread by the matching spread shift (``ImpactModel.apply``
        reprices exactly; the difference is the convexity term, of order the move squared). The view is
        ``base.with_mids(...)``: its ``basis`` is ``base``, which dealers keep their risk tables for."""
        d = self.impact.displacement_bp(now)
        if not np.any(np.abs(d) > 1e-9):
            return self.base
        per_bp = self._per_bp()
        live = per_bp > 0.0
        d = np.where(live, d, 0.0)
        shift = np.where(live, -d / np.where(live, per_bp, 1.0), 0.0)
        base = self.base
        price = np.asarray(base.mid_price, dtype=np.float64) * (1.0 + d * 1e-4)
        ytm = np.asarray(base.mid_yield, dtype=np.float64) + shift * 1e-4
        spread = np.asarray(base.spread_bp, dtype=np.float64) + shift
        for a in (price, ytm, spread):
            a.setflags(write=False)
        return base.with_mids(price, ytm, spread)

    def _touched(self, now: int) -> None:
        if self._refresh_ns <= 0 or self._last_refresh is None or now - self._last_refresh >= self._refresh_ns:
            self._refresh(now)
        elif not self._refresh_pending:
            self._refresh_pending = True
            at = self._last_refresh + self._refresh_ns

            def due() -> None:
                if self._refresh_pending:
                    self._refresh(at)

            self._schedule(at, due)

    def on_inquiry(self, now: int, idx: ArrayLike, client_signed_qty: ArrayLike, n_dealers: int,
                   is_portfolio: bool) -> None:
        if not self.impact_on:
            return
        self.impact.on_inquiry(now, idx, client_signed_qty, max(n_dealers, 1), is_portfolio)
        self._touched(now)

    def on_award(self, now: int, idx: ArrayLike, client_signed_qty: ArrayLike, n_losers: int,
                 is_portfolio: bool) -> None:
        if not self.impact_on or n_losers <= 0:
            return
        self.impact.on_award(now, idx, client_signed_qty, n_losers, is_portfolio)
        self._touched(now)

    def etf_prices(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.view.etf_price.items()}

    def mids(self, idx: ArrayLike) -> np.ndarray:
        return np.asarray(self.view.mid_price, dtype=np.float64)[np.asarray(idx, dtype=np.int64)]
