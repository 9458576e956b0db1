"""Risk of a basket from the dealer's side: market value, key-rate DV01s, CS01, factor exposures.

Quantities are the *dealer's* signed face per line: ``x = -client side x quantity`` (long +), as
``InquiryView.dealer_signed_quantity`` gives them. Everything is per line first (arrays of shape
``(n,)`` or ``(n, K)``) and a basket's risk is the sum, so buys net against sells.

:class:`MarketRisk` holds what does not depend on the basket: the factor model's table of every
instrument at one snapshot and settlement date, the hedge instruments, the liquidity curves
evaluated for every instrument. Build it once per market snapshot (``MarketRisk.build``) and move
it to snapshots that differ from that one in their mids only (``MarketRisk.at``: market impact);
a basket's risk is then a gather and a few matrix products.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dealer_bots.pricing.hedge import HedgeBook, HedgeConfig, hedge_book
from dealer_bots.pricing.liquidity import holding_period_days, max_reduction, rfq_cost_bp
from dealer_bots.pricing.unit import UnitRisk
from server.domain import bondmath
from server.market.factors import HY, IG, FactorModel, FactorModelConfig
from server.market.universe import SECTORS, MarketSnapshot, Universe

__all__ = ["BasketRisk", "LineRisk", "MarketRisk", "basket_risk", "line_risk"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_BP = 1e-4


@dataclass(frozen=True, eq=False)
class MarketRisk:
    """Per-snapshot tables over every instrument (corporates then Treasuries), read-only.

    ``exposure`` is the factor model's daily price return per 1 USD of market value per unit
    factor move (rates per bp of key rate, credit and sectors proportional); ``idio_var`` the
    daily idiosyncratic return variance per 1 USD.

    Tabulated at one market snapshot (``build``), and moved by ``at`` to a snapshot derived from
    that one by moving mids only (``MarketSnapshot.basis``: market impact between two market
    steps). A moved context has the new snapshot's mids, and dirty prices (so market values,
    hedge amounts and charges in USD) at them, with the tables per unit of market value of the
    snapshot it was built at: factor exposures, idiosyncratic variances, durations, the hedge
    book, the liquidity curves and the single-line tables (``unit``). That is a modelling choice:
    the exposures per USD depend on the mids only through durations and spreads, which a move of a
    few bp of price shifts by a fraction of a percent and about a bp; that changes the risk charges,
    themselves a few bp of price, by a small fraction of themselves (a second-order effect on the
    price: under 1% of the charge in the tests), and the tables are refreshed at the next market step.
    """

    universe: Universe
    snapshot: MarketSnapshot
    settle: date
    model: FactorModel
    cov: FloatArray  # (K, K) daily factor covariance
    mid: FloatArray  # (N,) evaluated mid, clean per 100
    dirty: FloatArray  # (N,) mid plus accrued at ``settle``, per 100
    exposure: FloatArray  # (N, K)
    idio_var: FloatArray  # (N,)
    krd: FloatArray  # (N, 4) key-rate durations, years
    duration: FloatArray  # (N,) modified (= spread) duration, years
    score: FloatArray  # (N,) liquidity score
    is_hy: BoolArray  # (N,) False for Treasuries
    sector: IntArray  # (N,) sector index, -1 for Treasuries
    rfq_bp: FloatArray  # (N,) single-bond RFQ cost curve at each score
    reduction: FloatArray  # (N,) share of the RFQ cost a fully diversified basket saves
    holding_days: FloatArray  # (N,) expected days to work the position out
    hedges: HedgeBook

    @classmethod
    def build(cls, universe: Universe, snapshot: MarketSnapshot, settle: date, *, model: FactorModel | None = None,
              factor_config: FactorModelConfig | None = None, hedge_config: HedgeConfig | None = None,
              max_holding_days: float = 20.0) -> MarketRisk:
        model = model if model is not None else FactorModel(universe, factor_config or FactorModelConfig())
        table = model.exposure_table(snapshot, settle)
        n, nb = universe.n_instruments, universe.n_bonds
        is_hy = np.zeros(n, dtype=bool)
        is_hy[:nb] = universe.is_hy
        sector = np.full(n, -1, dtype=np.int64)
        sector[:nb] = universe.sector_idx
        score = np.asarray(snapshot.liquidity_score, dtype=np.float64)
        arrays = {
            "rfq_bp": rfq_cost_bp(score),
            "reduction": max_reduction(score),
            "holding_days": holding_period_days(score, max_holding_days),
            "is_hy": is_hy,
            "sector": sector,
        }
        for a in arrays.values():
            a.setflags(write=False)
        return cls(universe=universe, snapshot=snapshot, settle=settle, model=model, cov=model.cov,
                   mid=snapshot.mid_price, dirty=table.dirty_price, exposure=table.exposures,
                   idio_var=table.idio_var, krd=table.krd, duration=table.modified_duration, score=score,
                   hedges=hedge_book(model, universe, snapshot, settle, hedge_config or HedgeConfig()),
                   **arrays)

    @property
    def n_factors(self) -> int:
        return int(self.cov.shape[0])

    @cached_property
    def unit(self) -> UnitRisk:
        """Every instrument's risk per unit of market value, for the single-line fast path
        (:mod:`dealer_bots.pricing.single`): kept with these tables, which are immutable, so it cannot
        go stale; its blocks are computed on first use. Contexts moved by :meth:`at` share it: it holds
        nothing that depends on the mids (the fast path reads ``mid`` and ``dirty`` from the context)."""
        return UnitRisk(self)

    @cached_property
    def accrued(self) -> FloatArray:
        """Accrued interest per 100 of every instrument at ``settle`` (computed when first moved): what
        :meth:`at` adds to a moved mid, as the factor model adds it to a mid for ``dirty``."""
        u = self.universe
        ai = bondmath.accrued_interest(u.all_coupon, u.all_maturity, np.datetime64(self.settle, "D"),
                                       u.all_day_count, u.all_frequency)
        out = np.asarray(ai, dtype=np.float64)
        out.setflags(write=False)
        return out

    def at(self, snapshot: MarketSnapshot) -> MarketRisk:
        """These tables at ``snapshot``, a snapshot that differs from this context's only in its mids.

        ``snapshot`` must be this context's snapshot, or share its ``basis`` (the snapshot in its own
        right both were derived from by moving mids), or be that basis. The result takes ``snapshot``,
        its mids and the dirty prices at them (mid plus accrued, as ``build`` has them) and shares
        everything else with this context, including the single-line tables: no factor model, hedge
        or liquidity computation, a few microseconds over the universe's arrays. See the class
        docstring for why the exposures need not move with the mids.
        """
        if snapshot is self.snapshot:
            return self
        root = self.snapshot if self.snapshot.basis is None else self.snapshot.basis
        if snapshot is not root and snapshot.basis is not root:
            raise ValueError("the snapshot was not derived from this context's by moving mids "
                             "(MarketSnapshot.basis); build its own tables")
        mid = snapshot.mid_price
        dirty = mid + self.accrued  # accrued is finite or NaN: no inf - inf, no warning
        dirty = np.where(np.isfinite(dirty), dirty, 0.0)  # as the factor model's table: no price, no value
        dirty.setflags(write=False)
        # Every field and cached property (``unit`` and ``accrued``, shared) of this context but three: its
        # attribute dict copied (frozen, so not through setattr; ``dataclasses.replace`` would give the same
        # through __init__, at several times the cost of the rest of this method).
        moved = object.__new__(type(self))
        vars(moved).update(vars(self), unit=self.unit, snapshot=snapshot, mid=mid, dirty=dirty)
        return moved


@dataclass(frozen=True, eq=False)
class LineRisk:
    """Per-line risk of a basket (dealer's side). USD amounts are signed: long positive."""

    idx: IntArray  # (n,) instrument index
    face: FloatArray  # (n,) dealer's signed face
    mid: FloatArray  # (n,) evaluated mid clean price
    market_value: FloatArray  # (n,) signed dirty market value, USD
    exposure: FloatArray  # (n, K) USD daily P&L per unit factor move
    idio_var: FloatArray  # (n,) USD^2 daily idiosyncratic variance
    kr_dv01: FloatArray  # (n, 4) USD gained per 1 bp fall of each key rate
    cs01: FloatArray  # (n,) USD gained per 1 bp tightening of the bond's spread
    score: FloatArray  # (n,)
    is_hy: BoolArray  # (n,)
    holding_days: FloatArray  # (n,)

    @property
    def n(self) -> int:
        return int(self.idx.shape[0])

    @property
    def notional(self) -> FloatArray:
        """Absolute face per line."""
        return np.abs(self.face)


def line_risk(ctx: MarketRisk, idx: ArrayLike, face: ArrayLike) -> LineRisk:
    """Risk of each line: ``face`` is the dealer's signed face (long +) of instrument ``idx``."""
    i = np.asarray(idx, dtype=np.int64)
    x = np.asarray(face, dtype=np.float64)
    if i.shape != x.shape or i.ndim != 1:
        raise ValueError("idx and face must be 1-d arrays of the same length")
    mv = x * ctx.dirty[i] / 100.0
    return LineRisk(
        idx=i,
        face=x,
        mid=ctx.mid[i],
        market_value=mv,
        exposure=ctx.exposure[i] * mv[:, None],
        idio_var=ctx.idio_var[i] * mv * mv,
        kr_dv01=ctx.krd[i] * (mv * _BP)[:, None],
        cs01=ctx.duration[i] * mv * _BP * (i < ctx.universe.n_bonds),
        score=ctx.score[i],
        is_hy=ctx.is_hy[i],
        holding_days=ctx.holding_days[i],
    )


@dataclass(frozen=True, slots=True)
class BasketRisk:
    """A basket's risk, net of buys against sells (dealer's side; USD, long positive)."""

    market_value: float  # net dirty market value
    gross_market_value: float  # sum of |market value|
    gross_notional: float  # sum of |face|
    kr_dv01: FloatArray  # (4,) USD per bp fall of the 2y, 5y, 10y, 30y key rates
    dv01: float  # sum of the key-rate DV01s
    cs01: float  # USD per 1 bp tightening of every corporate spread
    cs01_ig: float
    cs01_hy: float
    sector_cs01: dict[str, float]  # per sector
    exposure: FloatArray  # (K,) USD daily P&L per unit factor move
    idio_var: float  # USD^2, daily

    @property
    def ig_exposure(self) -> float:
        return float(self.exposure[IG])

    @property
    def hy_exposure(self) -> float:
        return float(self.exposure[HY])


def basket_risk(ctx: MarketRisk, lines: LineRisk) -> BasketRisk:
    """Sum the lines: buys net against sells."""
    sector_idx = ctx.sector[lines.idx]
    corp = sector_idx >= 0
    by_sector = np.bincount(sector_idx[corp], lines.cs01[corp], minlength=len(SECTORS))
    kr = lines.kr_dv01.sum(axis=0)
    return BasketRisk(
        market_value=float(lines.market_value.sum()),
        gross_market_value=float(np.abs(lines.market_value).sum()),
        gross_notional=float(np.abs(lines.face).sum()),
        kr_dv01=kr,
        dv01=float(kr.sum()),
        cs01=float(lines.cs01.sum()),
        cs01_ig=float(lines.cs01[~lines.is_hy].sum()),
        cs01_hy=float(lines.cs01[lines.is_hy].sum()),
        sector_cs01={name: float(v) for name, v in zip(SECTORS, by_sector, strict=True)},
        exposure=lines.exposure.sum(axis=0),
        idio_var=float(lines.idio_var.sum()),
    )

