"""Price a basket (or one bond) from the net risk it leaves the dealer after hedging.

``price_basket(ctx, cfg, idx, face, ...)`` returns a :class:`PricedBasket`: per-line charges in
USD, the per-line clean prices they imply, and the basket's risk, hedge and breakdown. The model
(CALIBRATION.md section 5)::

    dealer pays  = sum(mid_i x face_i) / 100  -  charges      (face: dealer's signed face)
    charges      = liquidity + hedge cost + basis risk + capital + inventory/axes
                   + balance sheet + competitive markup

1. Risk per line (factor exposures in USD, idiosyncratic variance), each line hedged alone with
   Treasuries and LQD/HYG; the basket's hedge is the sum of the lines' (the hedge is linear), so
   buys net against sells before anything is paid.
2. Basis risk and capital on the basket's residual variance over its value-weighted holding
   period; the same for each line alone. Together they give the basket's *diversification*
   ``d`` in [0, 1], the product of two parts, each scaled by a reference level and capped at 1:
   *pooling*, ``1 - basket risk / sum of the lines' standalone risks`` (0 for one bond, high for a
   large diversified basket or a netted switch), and *hedgeability*, the lines' value-weighted
   hedge R-squared against their ETF at NAV (lower for high yield, whose idiosyncratic risk no
   ETF hedges). With the defaults a diversified 100-line IG basket reaches about 0.75, HY 0.7.
3. Liquidity per line: ``|face| x pt_cost_bp(score, diversification) / 1e4`` (the single-bond
   cost curve for a bond alone; less inside a basket, most for the least liquid lines).
4. Inventory skew and axes per line; balance-sheet widening on lines that grow the book.
5. Markup from the logistic win-probability model (``competition``), measured against the
   basket's reference cost (what a typical dealer would charge for its liquidity).

Basket-level charges (hedge cost, basis risk, capital) are allocated to the lines in proportion to
each line's standalone charge of the same kind, the markup in proportion to each line's reference
cost; each line keeps at least ``min_edge_bp`` (``floor_lines``: lines lifted to it are paid for by
the others, so the basket's total stands) and every line is on the dealer's side of mid.

For one line, :func:`dealer_bots.pricing.single.price_line` computes the same in plain floats, an order
of magnitude faster (numpy's per-call overhead dominates arrays of one line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dealer_bots.pricing.charges import (
    BalanceSheet,
    BalanceSheetConfig,
    InventoryConfig,
    balance_sheet,
    basis_risk_charge,
    capital_charge,
    desire,
    inventory_skew,
    liquidation_days,
)
from dealer_bots.pricing.competition import CompetitionConfig, optimal_markup, win_probability
from dealer_bots.pricing.hedge import (
    HEDGE_NAMES,
    HedgeConfig,
    hedge_cost,
    hedge_notionals,
    hedge_r_squared,
    hedged_exposure,
    residual_variance,
)
from dealer_bots.pricing.liquidity import MAX_HOLDING_DAYS
from dealer_bots.pricing.risk import BasketRisk, LineRisk, MarketRisk, basket_risk, line_risk
from server.market.factors import FactorModelConfig

__all__ = [
    "COMPONENTS",
    "LineCharges",
    "PricedBasket",
    "PricingConfig",
    "allocate",
    "breakdown_keys",
    "floor_lines",
    "make_breakdown",
    "price_basket",
]

FloatArray = NDArray[np.float64]

COMPONENTS: tuple[str, ...] = (
    "liquidity", "hedge", "basis_risk", "capital", "inventory", "balance_sheet", "markup",
)
"""The charge components, in breakdown order."""


@dataclass(frozen=True, slots=True)
class PricingConfig:
    """A dealer's pricing parameters (all configurable; defaults are a middle-of-the-road dealer)."""

    factor: FactorModelConfig = field(default_factory=FactorModelConfig)
    hedge: HedgeConfig = field(default_factory=HedgeConfig)
    competition: CompetitionConfig = field(default_factory=CompetitionConfig)
    inventory: InventoryConfig = field(default_factory=InventoryConfig)
    balance_sheet: BalanceSheetConfig = field(default_factory=BalanceSheetConfig)
    risk_aversion: float = 0.05  # USD of charge per USD of residual sigma over the holding period
    max_holding_days: float = MAX_HOLDING_DAYS  # holding period at liquidity score 1 (1 day at 100)
    liquidity_weight: float = 1.0  # multiplies the liquidity cost curve
    hy_liquidity_multiplier: float = 1.0  # extra liquidity charge on high-yield lines
    diversification_ref: float = 0.65  # pooling (1 - basket risk / sum of lines' risks) counted as full
    hedgeability_ref: float = 0.5  # lines' mean hedge R-squared (at NAV) counted as fully hedgeable
    cost_of_capital: float = 0.12  # a year
    var_days: float = 10.0  # VaR horizon, days (99% VaR)
    min_edge_bp: float = 0.01  # every line keeps at least this charge, bp of face
    reference_floor_bp: float = 0.25  # floor of the competition model's reference cost, bp of face

    def __post_init__(self) -> None:
        for name in ("risk_aversion", "liquidity_weight", "hy_liquidity_multiplier", "cost_of_capital",
                     "min_edge_bp"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be non-negative")
        if not (0.0 < self.diversification_ref <= 1.0 and 0.0 < self.hedgeability_ref <= 1.0):
            raise ValueError("diversification_ref and hedgeability_ref must be in (0, 1]")
        if self.max_holding_days < 1.0 or self.var_days <= 0.0 or not self.reference_floor_bp > 0.0:
            raise ValueError("max_holding_days must be >= 1, var_days and reference_floor_bp positive")


@dataclass(frozen=True, eq=False)
class LineCharges:
    """USD per line, positive when it costs the client, one array (n,) per component."""

    liquidity: FloatArray
    hedge: FloatArray
    basis_risk: FloatArray
    capital: FloatArray
    inventory: FloatArray
    balance_sheet: FloatArray
    markup: FloatArray

    @property
    def total(self) -> FloatArray:
        return np.asarray(self.liquidity + self.hedge + self.basis_risk + self.capital + self.inventory
                          + self.balance_sheet + self.markup, dtype=np.float64)

    def totals(self) -> dict[str, float]:
        return {name: float(getattr(self, name).sum()) for name in COMPONENTS}


@dataclass(frozen=True, eq=False)
class PricedBasket:
    lines: LineRisk
    risk: BasketRisk
    hedge: FloatArray  # (J,) USD of each hedge instrument (HEDGE_NAMES), + buy
    charges: LineCharges
    prices: FloatArray  # (n,) clean price per line, unrounded
    diversification: float  # 0..1, used in the liquidity charge
    raw_diversification: float  # pooling: 1 - basket risk / sum of standalone risks
    hedgeability: float  # value-weighted mean of the lines' hedge R-squared (ETFs at NAV)
    holding_days: float
    residual_sigma: float  # daily USD, hedged basket
    unhedged_sigma: float  # daily USD, the basket without its hedge
    reference_cost: float  # USD: the competition model's typical cost of this basket
    win_probability: float
    n_dealers: int
    balance: BalanceSheet

    @property
    def mid_value(self) -> float:
        """``sum(mid x face) / 100``: what the dealer would pay at the evaluated mids."""
        return float(self.lines.mid @ self.lines.face) / 100.0

    @property
    def total_charge(self) -> float:
        return float(self.charges.total.sum())

    def breakdown(self, prefix: str = "") -> dict[str, float]:
        """Mid, each charge component and the total, in USD and bp of gross notional, plus the
        risk figures behind them: for the dealer's own records, never sent to the client."""
        totals = self.charges.totals()
        return make_breakdown(prefix, self.mid_value, self.risk.gross_notional, [totals[n] for n in COMPONENTS], [
            self.diversification, self.raw_diversification, self.hedgeability, self.holding_days, self.residual_sigma,
            self.unhedged_sigma, self.risk.dv01, self.risk.cs01, self.win_probability, float(self.n_dealers),
            self.balance.gross_after,
        ], self.hedge.tolist())


_BREAKDOWN_RISK: tuple[str, ...] = (
    "diversification", "pooling", "hedgeability", "holding_days", "residual_sigma_usd", "unhedged_sigma_usd",
    "dv01_usd", "cs01_usd", "win_probability", "n_dealers", "gross_book_after_usd",
)


@lru_cache(maxsize=16)
def breakdown_keys(prefix: str = "") -> tuple[str, ...]:
    """The keys of ``PricedBasket.breakdown(prefix)``, in order."""
    keys = ["mid_usd", "gross_notional"]
    for name in (*COMPONENTS, "total"):
        keys += [f"{name}_usd", f"{name}_bp"]
    keys += [*_BREAKDOWN_RISK, *(f"hedge_{name}_usd" for name in HEDGE_NAMES)]
    return tuple(prefix + k for k in keys)


def make_breakdown(prefix: str, mid_usd: float, gross_notional: float, charges: Sequence[float],
                   risk: Sequence[float], hedge: Sequence[float]) -> dict[str, float]:
    """The breakdown dict (``breakdown_keys(prefix)``) from its values: ``charges`` in ``COMPONENTS`` order
    (USD), ``risk`` in the order of the keys that follow the charges, ``hedge`` in ``HEDGE_NAMES`` order.
    One layout for every priced basket, however it was priced."""
    gross = max(gross_notional, 1e-12)
    total = float(sum(charges))
    values = [mid_usd, gross_notional]
    for usd in charges:
        values += (usd, usd / gross * 1e4)
    values += (total, total / gross * 1e4)
    values += risk
    values += hedge
    return dict(zip(breakdown_keys(prefix), values, strict=True))


def allocate(total: float, weights: FloatArray, fallback: FloatArray) -> FloatArray:
    """Split ``total`` in proportion to ``weights`` (non-negative), or to ``fallback`` if they sum to 0."""
    w = np.maximum(weights, 0.0)
    s = float(w.sum())
    if not s > 0.0:
        w = np.maximum(fallback, 0.0)
        s = float(w.sum())
    if not s > 0.0:
        return np.full(weights.shape[0], total / max(weights.shape[0], 1))
    return np.asarray(total * w / s, dtype=np.float64)


def floor_lines(total: FloatArray, floor: FloatArray) -> FloatArray:
    """Raise every line to its ``floor`` while keeping the basket's total where possible.

    Lines below their floor are lifted to it and the shortfall is taken from the lines above
    theirs, in proportion to their excess; if the basket as a whole is below the sum of the
    floors (a dealer that would pay through mid), every line is at its floor.
    """
    excess = total - floor
    deficit = float(np.maximum(-excess, 0.0).sum())
    if deficit == 0.0:
        return total
    surplus = float(np.maximum(excess, 0.0).sum())
    if surplus <= deficit:
        return floor.copy()
    return np.asarray(floor + np.maximum(excess, 0.0) * (1.0 - deficit / surplus), dtype=np.float64)


def price_basket(ctx: MarketRisk, cfg: PricingConfig, idx: ArrayLike, face: ArrayLike, *, n_dealers: int = 1,
                 positions: ArrayLike | None = None, axes: ArrayLike | None = None) -> PricedBasket:
    """Price lines ``idx`` with the dealer's signed face ``face`` (long +); see the module docstring.

    Lines are distinct instruments, as the venue guarantees (a repeated instrument would count
    its idiosyncratic risk per line, not netted).

    ``positions`` (face per instrument of the universe, long +) is the dealer's inventory; ``axes``
    (per instrument, +1 wants to buy, -1 to sell) its axes; ``n_dealers`` the dealers in competition.
    """
    lines = line_risk(ctx, idx, face)
    n = lines.n
    book = ctx.hedges
    notional = np.abs(lines.face)

    # -- hedges, each line alone and the basket (the sum: the hedge is linear) ------------------
    h_alone = hedge_notionals(book, lines.exposure)  # (n, J)
    resid_alone = hedged_exposure(book, lines.exposure, h_alone)  # (n, K)
    var_alone = residual_variance(book, ctx.cov, resid_alone, lines.idio_var, h_alone)
    cost_alone = hedge_cost(book, h_alone)
    h = h_alone.sum(axis=0, keepdims=True)
    resid = resid_alone.sum(axis=0, keepdims=True)
    idio = np.array([lines.idio_var.sum()])
    var_basket = float(residual_variance(book, ctx.cov, resid, idio, h)[0])
    cost_basket = float(hedge_cost(book, h)[0])
    expo = lines.exposure.sum(axis=0)
    unhedged_var = float(expo @ ctx.cov @ expo) + float(idio[0])

    # -- basis risk and capital -----------------------------------------------------------------
    hold = liquidation_days(lines.market_value, lines.holding_days)
    risk_alone = basis_risk_charge(var_alone, lines.holding_days, cfg.risk_aversion)
    risk_total = float(basis_risk_charge(var_basket, hold, cfg.risk_aversion))
    cap_alone = capital_charge(var_alone, lines.holding_days, cfg.cost_of_capital, cfg.var_days)
    cap_total = float(capital_charge(var_basket, hold, cfg.cost_of_capital, cfg.var_days))

    # -- diversification: how much of the lines' standalone risk the basket pools away ----------
    sigma_days_alone = float(np.sqrt(var_alone * lines.holding_days).sum())
    sigma_days = float(np.sqrt(max(var_basket, 0.0) * hold))
    raw_div = float(np.clip(1.0 - sigma_days / sigma_days_alone, 0.0, 1.0)) if sigma_days_alone > 0.0 else 0.0
    mv_abs = np.abs(lines.market_value)
    r2 = hedge_r_squared(book, ctx.cov, lines.exposure, lines.idio_var, h_alone, resid_alone)
    hedgeability = float(r2 @ mv_abs / mv_abs.sum()) if mv_abs.sum() > 0.0 else 1.0
    div = min(raw_div / cfg.diversification_ref, 1.0) * min(hedgeability / cfg.hedgeability_ref, 1.0)

    # -- liquidity ------------------------------------------------------------------------------
    rfq_bp = ctx.rfq_bp[lines.idx]
    pt_bp = rfq_bp * (1.0 - div * ctx.reduction[lines.idx])
    hy_mult = np.where(lines.is_hy, cfg.hy_liquidity_multiplier, 1.0)
    liquidity = cfg.liquidity_weight * hy_mult * notional * pt_bp * 1e-4

    # -- allocations of the basket-level charges ------------------------------------------------
    hedge_c = allocate(cost_basket, np.abs(cost_alone), mv_abs)
    risk_c = allocate(risk_total, risk_alone, mv_abs)
    cap_c = allocate(cap_total, cap_alone, mv_abs)

    # -- inventory, axes, balance sheet ---------------------------------------------------------
    n_all = ctx.mid.shape[0]
    pos_all = None if positions is None else np.asarray(positions, dtype=np.float64)
    pos = np.zeros(n) if pos_all is None else pos_all[lines.idx]
    ax = None if axes is None else np.asarray(axes, dtype=np.float64)[lines.idx]
    inventory = inventory_skew(lines.face, desire(pos, cfg.inventory, ax), cfg.inventory)
    bs = balance_sheet(pos_all if pos_all is not None else np.zeros(n_all), ctx.dirty, lines.idx, lines.face,
                       cfg.balance_sheet)

    # -- competition ----------------------------------------------------------------------------
    ref_line = notional * np.maximum(pt_bp, cfg.reference_floor_bp) * 1e-4
    reference = max(float(ref_line.sum()), 1e-9)
    reservation = float(liquidity.sum() + hedge_c.sum() + risk_c.sum() + cap_c.sum() + inventory.sum()
                        + bs.charge.sum())
    m_rel = float(optimal_markup(reservation / reference, n_dealers, cfg.competition))
    markup = allocate(m_rel * reference, ref_line, notional)
    p_win = float(win_probability(reservation / reference + m_rel, n_dealers, cfg.competition))

    # -- every line on the dealer's side of mid -------------------------------------------------
    total = liquidity + hedge_c + risk_c + cap_c + inventory + bs.charge + markup
    edged = floor_lines(total, cfg.min_edge_bp * 1e-4 * notional)
    markup = markup + (edged - total)
    total = edged

    safe = np.where(lines.face != 0.0, lines.face, 1.0)
    prices = np.where(lines.face != 0.0, lines.mid - 100.0 * total / safe, lines.mid)
    charges = LineCharges(liquidity=liquidity, hedge=hedge_c, basis_risk=risk_c, capital=cap_c,
                          inventory=inventory, balance_sheet=bs.charge, markup=markup)
    return PricedBasket(
        lines=lines,
        risk=basket_risk(ctx, lines),
        hedge=h[0],
        charges=charges,
        prices=np.asarray(prices, dtype=np.float64),
        diversification=div,
        raw_diversification=raw_div,
        hedgeability=hedgeability,
        holding_days=hold,
        residual_sigma=float(np.sqrt(max(var_basket, 0.0))),
        unhedged_sigma=float(np.sqrt(max(unhedged_var, 0.0))),
        reference_cost=reference,
        win_probability=p_win,
        n_dealers=int(n_dealers),
        balance=bs,
    )
