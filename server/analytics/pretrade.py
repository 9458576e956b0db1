"""Pre-trade analytics: what a basket costs by single-bond RFQs and as one portfolio trade, its risk,
its problem lines, and a recommendation.

Every cost figure comes from the dealers' own pricing toolkit (:mod:`dealer_bots.pricing`), so a
pre-trade estimate means what a simulated quote means. Two estimates are reported, and each says
which part of the dealers' charge it includes:

* **Liquidity curve** (``rfq_cost_*``, ``pt_cost_*``, ``pt_improvement_*``): the liquidity
  component of the dealers' charge only. A line traded alone by RFQ costs
  ``|notional| x rfq_cost_bp(score) / 10,000`` (the curve through CALIBRATION.md section 1's
  points (98, 0.5), (75, 3.0), (42, 12.0), (15, 35.0) bp); inside a basket it costs
  ``|notional| x pt_cost_bp(score, d) / 10,000 = rfq x (1 - d x max_reduction(score))``, ``d`` in
  [0, 1] the basket's diversification. ``d`` is the dealers' own measure (pooling x hedgeability,
  as :func:`dealer_bots.pricing.price_basket` computes it) for the lines that name an instrument;
  a request may set it; and a basket in which no line names an instrument has no risk data to
  measure it, so it is assumed fully diversified and hedgeable (``d = 1``), the premise of the
  worked example. This is the only estimate for *model-only lines* (``notional``,
  ``liquidity_score``, optional ``label`` and ``side``, no instrument), which exist so that the
  worked example, two of whose CUSIPs carry wrong check digits, can be priced as printed.
* **Full dealer charge** (``dealer_rfq_charge_*``, ``dealer_pt_charge_*``, ``dealer_charge``):
  everything a net-risk dealer of the reference panel charges (``PricingConfig`` defaults unless
  configured): liquidity + hedge cost (Treasuries, LQD/HYG) + basis risk + capital + balance
  sheet + competitive markup for ``n_dealers`` in competition, with no inventory or axes (the
  client cannot know them). The portfolio figure is ``price_basket`` on the basket's instrument
  lines; the RFQ figure prices each line alone with the same formulas, vectorized (it equals
  ``price_basket`` on a one-line basket). It estimates a typical panel dealer's quote, not the
  best of the panel. Instrument lines only.

The recommendation (RFQ or portfolio trade, with the estimated saving) uses the full dealer
charge when every line names an instrument, the liquidity curve otherwise; the report says which.

Problem lines are flagged with the reason: ``illiquid`` (score below ``illiquid_below``),
``hard_to_hedge`` (the line's own LQD/HYG hedge explains less than ``hard_to_hedge_r2`` of its
credit risk), ``concentrated`` (the line is more than ``outstanding_share_limit`` of its issue's
amount outstanding, or, in baskets of at least ``issuer_check_min_lines`` lines, its issuer is more
than ``issuer_share_limit`` of the basket's gross notional).

Conventions: sides are the client's; DV01 and CS01 are the client's USD gain for a 1 bp fall of
yields / tightening of spreads (a buy is positive); market values are dirty at the settlement
date; bp are of face (notional). All the math takes arrays of lines: no per-line Python loop
(only building the JSON, and resolving identifiers, touch each line in Python).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dealer_bots.pricing.charges import basis_risk_charge, capital_charge
from dealer_bots.pricing.competition import optimal_markup
from dealer_bots.pricing.hedge import (
    HEDGE_NAMES,
    hedge_cost,
    hedge_notionals,
    hedge_r_squared,
    hedged_exposure,
    residual_variance,
)
from dealer_bots.pricing.liquidity import RFQ_COST_POINTS, max_reduction, pt_cost_bp, rfq_cost_bp
from dealer_bots.pricing.pricer import COMPONENTS, PricedBasket, PricingConfig, price_basket
from dealer_bots.pricing.risk import LineRisk, MarketRisk, line_risk
from server.domain.bonds import RATINGS
from server.domain.errors import InvalidInput, VenueError
from server.domain.identifiers import validate_cusip
from server.market.factors import FactorModel
from server.market.liquidity import MID_THRESHOLD
from server.market.universe import GOVERNMENT_SECTOR, SECTORS, MarketSnapshot, Universe

__all__ = [
    "MAX_LINES",
    "WORKED_EXAMPLE",
    "AnalyticsContext",
    "Basket",
    "InstrumentLineIn",
    "ModelLineIn",
    "PretradeAnalysis",
    "PretradeConfig",
    "analyse",
    "parse_lines",
    "report",
    "standalone_charges",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

MAX_LINES: Final = 10_000
MAX_LINE_ERRORS: Final = 50
KEY_RATE_NAMES: Final = ("2y", "5y", "10y", "30y")
SECTOR_NAMES: Final = (*SECTORS, GOVERNMENT_SECTOR)

WORKED_EXAMPLE: Final[tuple[tuple[str, int, float], ...]] = (
    ("912828X39", 25_000_000, 98.0),
    ("254687DC3", 10_000_000, 75.0),
    ("023135AG9", 5_000_000, 42.0),
    ("88579YAA9", 2_000_000, 15.0),
)
"""CALIBRATION.md section 1: (identifier as printed, notional, liquidity score)."""
_WORKED_PROSE_SAVING_USD: Final = 7_250.0
_WORKED_PROSE_NET_IMPROVEMENT_USD: Final = 24_500.0


# ---- input --------------------------------------------------------------------------------------

class InstrumentLineIn(BaseModel):
    """A line that names an instrument of the venue (as in a portfolio inquiry)."""

    model_config = ConfigDict(extra="forbid")
    instrument: str = Field(description="CUSIP (9) or ISIN (12)")
    side: Literal["buy", "sell"]
    quantity: int = Field(gt=0, description="face value, USD")
    label: str | None = Field(None, max_length=100)


class ModelLineIn(BaseModel):
    """A model-only line: no instrument; only the liquidity-cost model applies."""

    model_config = ConfigDict(extra="forbid")
    notional: int = Field(gt=0, description="face value, USD")
    liquidity_score: float = Field(ge=1.0, le=100.0, description="1 (hardest) to 100 (easiest)")
    label: str | None = Field(None, max_length=100)
    side: Literal["buy", "sell"] = "buy"


def _loc(loc: Sequence[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def _raise_errors(errors: list[dict[str, str]]) -> None:
    if errors:
        head = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InvalidInput(head["reason"] + more, field=head["field"],
                           details={"errors": errors[:MAX_LINE_ERRORS], "error_count": len(errors)})


@dataclass(frozen=True, eq=False)
class Basket:
    """Resolved lines: ``idx`` is the instrument index, -1 for a model-only line."""

    labels: tuple[str, ...]
    instruments: tuple[str | None, ...]
    idx: IntArray
    side: IntArray  # +1 the client buys, -1 it sells
    quantity: FloatArray  # face, USD
    given_score: FloatArray  # the liquidity score of a model-only line; NaN for instrument lines

    @property
    def n(self) -> int:
        return int(self.idx.shape[0])

    @property
    def has_instrument(self) -> BoolArray:
        return np.asarray(self.idx >= 0)

    @classmethod
    def of(cls, universe: Universe, idx: ArrayLike, side: ArrayLike, quantity: ArrayLike) -> Basket:
        """A basket of instrument lines (tests, the optimiser)."""
        i = np.asarray(idx, dtype=np.int64)
        cusips = tuple(universe.instruments[int(k)].cusip for k in i.tolist())
        return cls(cusips, cusips, i, np.asarray(side, dtype=np.int64),
                   np.asarray(quantity, dtype=np.float64), np.full(i.shape[0], np.nan))

    @classmethod
    def model_only(cls, notional: ArrayLike, score: ArrayLike, labels: Sequence[str] | None = None,
                   side: ArrayLike | None = None) -> Basket:
        n = int(np.asarray(notional).shape[0])
        names = tuple(labels) if labels is not None else tuple(f"line {i + 1}" for i in range(n))
        return cls(names, (None,) * n, np.full(n, -1, dtype=np.int64),
                   np.asarray(side if side is not None else np.ones(n), dtype=np.int64),
                   np.asarray(notional, dtype=np.float64), np.asarray(score, dtype=np.float64))


def parse_lines(raw: Sequence[Any], universe: Universe, *, field_prefix: str = "lines") -> Basket:
    """Validate and resolve request lines; every problem is reported (422 naming ``lines[i].field``).

    A line with an ``instrument`` key is an instrument line (``instrument``, ``side``,
    ``quantity``, optional ``label``); any other is a model-only line (``notional``,
    ``liquidity_score``, optional ``label``, ``side`` defaulting to buy). An instrument with a
    wrong check digit is refused with the expected digit named; an instrument may appear once.
    """
    n = len(raw)
    if n == 0:
        raise InvalidInput("a basket needs at least one line", field=field_prefix)
    if n > MAX_LINES:
        raise InvalidInput(f"{n} lines; at most {MAX_LINES}", field=field_prefix)
    errors: list[dict[str, str]] = []
    labels: list[str] = [f"line {i + 1}" for i in range(n)]
    instruments: list[str | None] = [None] * n
    idx = np.full(n, -1, dtype=np.int64)
    side = np.ones(n, dtype=np.int64)
    qty = np.zeros(n, dtype=np.float64)
    score = np.full(n, np.nan)
    for i, line in enumerate(raw):
        where = f"{field_prefix}[{i}]"
        if not isinstance(line, Mapping):
            errors.append({"field": where, "reason": "a line is an object: instrument, side, quantity (or "
                                                     "notional, liquidity_score, label for a model-only line)"})
            continue
        try:
            if "instrument" in line:
                item = InstrumentLineIn.model_validate(line)
                cusip = item.instrument.strip().upper()
                try:
                    idx[i] = universe.index_of(item.instrument.strip(), f"{where}.instrument")
                    cusip = universe.instruments[int(idx[i])].cusip
                except VenueError as exc:
                    errors.append({"field": exc.field or f"{where}.instrument", "reason": exc.reason})
                instruments[i] = cusip
                labels[i] = item.label or cusip
                side[i] = 1 if item.side == "buy" else -1
                qty[i] = item.quantity
            else:
                model = ModelLineIn.model_validate(line)
                labels[i] = model.label or labels[i]
                side[i] = 1 if model.side == "buy" else -1
                qty[i] = model.notional
                score[i] = model.liquidity_score
        except ValidationError as exc:
            problems = exc.errors()
            for e in problems:
                errors.append({"field": where + _loc(e.get("loc", ())), "reason": str(e.get("msg", "invalid"))})
            named = line.get("instrument")
            if isinstance(named, str) and not any(tuple(e.get("loc", ())) == ("instrument",) for e in problems):
                try:  # report the instrument's problems (and duplicates) too, not only the first field's
                    idx[i] = universe.index_of(named.strip(), f"{where}.instrument")
                    instruments[i] = universe.instruments[int(idx[i])].cusip
                except VenueError as err:
                    errors.append({"field": err.field or f"{where}.instrument", "reason": err.reason})
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    for k in np.flatnonzero((s[1:] == s[:-1]) & (s[1:] >= 0))[:MAX_LINE_ERRORS].tolist():
        first, again = int(order[k]), int(order[k + 1])
        errors.append({"field": f"{field_prefix}[{again}].instrument",
                       "reason": f"duplicate of {field_prefix}[{first}] ({instruments[again]})"})
    errors.sort(key=lambda e: _line_number(e["field"], field_prefix))
    _raise_errors(errors)
    return Basket(tuple(labels), tuple(instruments), idx, side, qty, score)


def _line_number(name: str, prefix: str) -> int:
    head = prefix + "["
    if name.startswith(head) and "]" in name:
        with_index = name[len(head):name.index("]")]
        return int(with_index) if with_index.isdigit() else -1
    return -1


# ---- context ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PretradeConfig:
    """What the estimates assume and where problem lines start (all configurable)."""

    pricing: PricingConfig = field(default_factory=PricingConfig)
    """The dealer whose full charge is estimated: the reference panel's middle-of-the-road net-risk dealer."""
    illiquid_below: float = MID_THRESHOLD
    hard_to_hedge_r2: float = 0.15
    outstanding_share_limit: float = 0.05
    issuer_share_limit: float = 0.10
    issuer_check_min_lines: int = 10
    assumed_diversification: float = 1.0
    """``d`` for a basket in which no line names an instrument (the worked example's premise)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.assumed_diversification <= 1.0:
            raise ValueError("assumed_diversification must be between 0 and 1")
        if not (self.outstanding_share_limit > 0.0 and 0.0 < self.issuer_share_limit <= 1.0):
            raise ValueError("share limits must be positive")


@dataclass(frozen=True, eq=False)
class AnalyticsContext:
    """The market the analytics run against: the evaluated market now, the previous close (the
    universe's initial market: the close of its ``as_of`` date), the settlement date and the
    dealers' per-snapshot risk tables."""

    universe: Universe
    snapshot: MarketSnapshot
    close: MarketSnapshot
    settle: date
    risk: MarketRisk
    config: PretradeConfig
    n_dealers: int

    @classmethod
    def build(cls, universe: Universe, snapshot: MarketSnapshot, settle: date, *,
              config: PretradeConfig | None = None, n_dealers: int = 5,
              close: MarketSnapshot | None = None, model: FactorModel | None = None) -> AnalyticsContext:
        """``model``: a factor model of ``universe`` to reuse (it caches per snapshot); built from the pricing
        config's factor settings if omitted."""
        cfg = config or PretradeConfig()
        if model is None or model.universe is not universe or model.config != cfg.pricing.factor:
            model = FactorModel(universe, cfg.pricing.factor)
        risk = MarketRisk.build(universe, snapshot, settle, model=model, hedge_config=cfg.pricing.hedge,
                                max_holding_days=cfg.pricing.max_holding_days)
        return cls(universe, snapshot, close if close is not None else universe.initial_market(), settle, risk,
                   cfg, max(int(n_dealers), 1))

    def at(self, snapshot: MarketSnapshot) -> AnalyticsContext:
        """This context at ``snapshot``, a snapshot derived from this one's by moving mids only (market
        impact between two market steps): its mids, this context's risk tables (``MarketRisk.at``)."""
        if snapshot is self.snapshot:
            return self
        return replace(self, snapshot=snapshot, risk=self.risk.at(snapshot))

    @property
    def model(self) -> FactorModel:
        return self.risk.model

    def rating_code(self) -> IntArray:
        """Rating index (RATINGS) of every instrument; Treasuries AAA."""
        u = self.universe
        out = np.zeros(u.n_instruments, dtype=np.int64)
        out[: u.n_bonds] = u.rating_idx
        return out

    def sector_code(self) -> IntArray:
        """Sector index (SECTOR_NAMES) of every instrument; Treasuries Government."""
        u = self.universe
        out = np.full(u.n_instruments, len(SECTORS), dtype=np.int64)
        out[: u.n_bonds] = u.sector_idx
        return out


# ---- the dealers' charge for a line alone -------------------------------------------------------

def standalone_charges(ctx: MarketRisk, cfg: PricingConfig, lines: LineRisk, n_dealers: int) -> dict[str, FloatArray]:
    """The full dealer charge of each line priced alone (a single-bond RFQ), USD per component.

    The formulas of :func:`~dealer_bots.pricing.price_basket` for a one-line basket, vectorized over
    lines, with no inventory or axes: a line alone has no diversification, so its liquidity charge
    is the RFQ curve; hedge cost, basis risk and capital are its own; the balance sheet charges what
    the line alone would put above the limit; the markup is the competition model's for
    ``n_dealers``; each line keeps at least ``min_edge_bp``.
    """
    book = ctx.hedges
    notional = np.abs(lines.face)
    h = hedge_notionals(book, lines.exposure)
    resid = hedged_exposure(book, lines.exposure, h)
    var = residual_variance(book, ctx.cov, resid, lines.idio_var, h)
    hedge = hedge_cost(book, h)
    risk = basis_risk_charge(var, lines.holding_days, cfg.risk_aversion)
    cap = capital_charge(var, lines.holding_days, cfg.cost_of_capital, cfg.var_days)
    rfq_bp = ctx.rfq_bp[lines.idx]
    hy_mult = np.where(lines.is_hy, cfg.hy_liquidity_multiplier, 1.0)
    liquidity = cfg.liquidity_weight * hy_mult * notional * rfq_bp * 1e-4
    bs_cfg = cfg.balance_sheet
    balance = np.maximum(np.abs(lines.market_value) - bs_cfg.limit_usd, 0.0) * bs_cfg.widen_bp * 1e-4
    inventory = np.zeros(lines.n)
    reference = np.maximum(notional * np.maximum(rfq_bp, cfg.reference_floor_bp) * 1e-4, 1e-9)
    reservation = liquidity + hedge + risk + cap + inventory + balance
    markup = optimal_markup(reservation / reference, n_dealers, cfg.competition) * reference
    total = reservation + markup
    floor = cfg.min_edge_bp * 1e-4 * notional
    markup = markup + np.maximum(floor - total, 0.0)
    return {"liquidity": np.asarray(liquidity, dtype=np.float64), "hedge": np.asarray(hedge, dtype=np.float64),
            "basis_risk": np.asarray(risk, dtype=np.float64), "capital": np.asarray(cap, dtype=np.float64),
            "inventory": inventory, "balance_sheet": np.asarray(balance, dtype=np.float64),
            "markup": np.asarray(markup, dtype=np.float64)}


# ---- the analysis -------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class PretradeAnalysis:
    """Per-line arrays (NaN where a model-only line has no value) and the basket's figures."""

    context: AnalyticsContext
    basket: Basket
    score: FloatArray
    mid: FloatArray
    market_value: FloatArray  # client's signed dirty market value, USD
    duration: FloatArray
    dv01: FloatArray  # client's, USD per bp fall of yields
    kr_dv01: FloatArray  # (n, 4) client's, per key rate
    cs01: FloatArray  # client's, USD per bp tightening
    hedge_r2: FloatArray  # the line's own LQD/HYG hedge R-squared (ETFs at NAV); 1 for Treasuries
    rfq_bp: FloatArray
    pt_bp: FloatArray
    diversification: float
    diversification_source: str  # dealer_model | assumed | request
    dealer_rfq: dict[str, FloatArray]  # standalone charge components, USD (NaN for model-only lines)
    dealer_pt: dict[str, FloatArray]  # the basket's charge components per line, USD (NaN for model-only)
    priced: PricedBasket | None
    outstanding_share: FloatArray
    issuer_share: FloatArray
    illiquid: BoolArray
    hard_to_hedge: BoolArray
    concentrated_size: BoolArray
    concentrated_issuer: BoolArray
    r_squared: dict[str, float | None]

    @property
    def quantity(self) -> FloatArray:
        return self.basket.quantity

    @property
    def rfq_usd(self) -> FloatArray:
        return np.asarray(self.quantity * self.rfq_bp * 1e-4, dtype=np.float64)

    @property
    def pt_usd(self) -> FloatArray:
        return np.asarray(self.quantity * self.pt_bp * 1e-4, dtype=np.float64)

    @property
    def improvement_bp(self) -> FloatArray:
        return np.asarray(self.rfq_bp - self.pt_bp, dtype=np.float64)

    @property
    def improvement_usd(self) -> FloatArray:
        return np.asarray(self.rfq_usd - self.pt_usd, dtype=np.float64)

    @property
    def dealer_rfq_usd(self) -> FloatArray:
        return np.asarray(sum(self.dealer_rfq.values()), dtype=np.float64)

    @property
    def dealer_pt_usd(self) -> FloatArray:
        return np.asarray(sum(self.dealer_pt.values()), dtype=np.float64)

    @property
    def all_instruments(self) -> bool:
        return bool(self.basket.has_instrument.all())

    @property
    def any_instrument(self) -> bool:
        return bool(self.basket.has_instrument.any())

    @property
    def flagged(self) -> BoolArray:
        return np.asarray(self.illiquid | self.hard_to_hedge | self.concentrated_size | self.concentrated_issuer)

    def totals(self) -> dict[str, float]:
        """The basket's cost totals, USD: liquidity curve and (instrument lines) full dealer charge."""
        has = self.basket.has_instrument
        out = {"rfq_cost_usd": float(self.rfq_usd.sum()), "pt_cost_usd": float(self.pt_usd.sum())}
        out["saving_usd"] = out["rfq_cost_usd"] - out["pt_cost_usd"]
        if has.any():
            out["dealer_rfq_usd"] = float(self.dealer_rfq_usd[has].sum())
            out["dealer_pt_usd"] = float(self.dealer_pt_usd[has].sum())
            out["dealer_saving_usd"] = out["dealer_rfq_usd"] - out["dealer_pt_usd"]
        return out


def analyse(ctx: AnalyticsContext, basket: Basket, *, diversification: float | None = None,
            n_dealers: int | None = None) -> PretradeAnalysis:
    """Pre-trade analysis of ``basket`` against ``ctx``; see the module docstring for what is estimated."""
    cfg = ctx.config
    risk = ctx.risk
    n = basket.n
    has = basket.has_instrument
    ii = basket.idx[has]
    dealers = ctx.n_dealers if n_dealers is None else max(int(n_dealers), 1)
    dealer_face = -(basket.side * basket.quantity)[has].astype(np.float64)

    score = np.where(has, risk.score[np.maximum(basket.idx, 0)], basket.given_score)
    nan = np.full(n, np.nan)
    mid, mv, duration, dv01, cs01, r2 = (nan.copy() for _ in range(6))
    kr = np.full((n, len(KEY_RATE_NAMES)), np.nan)
    dealer_rfq = {name: nan.copy() for name in COMPONENTS}
    dealer_pt = {name: nan.copy() for name in COMPONENTS}
    priced: PricedBasket | None = None
    r_squared: dict[str, float | None] = {"LQD": None, "HYG": None, "combined": None}
    if ii.size:
        lines = line_risk(risk, ii, dealer_face)
        mid[has] = lines.mid
        mv[has] = -lines.market_value
        duration[has] = risk.duration[ii]
        kr[has] = -lines.kr_dv01
        dv01[has] = -lines.kr_dv01.sum(axis=1)
        cs01[has] = -lines.cs01
        book = risk.hedges
        h_alone = hedge_notionals(book, lines.exposure)
        r2[has] = hedge_r_squared(book, risk.cov, lines.exposure, lines.idio_var, h_alone)
        alone = standalone_charges(risk, cfg.pricing, lines, dealers)
        priced = price_basket(risk, cfg.pricing, ii, dealer_face, n_dealers=dealers)
        for name in COMPONENTS:
            dealer_rfq[name][has] = alone[name]
            dealer_pt[name][has] = getattr(priced.charges, name)
        r_squared = _basket_r_squared(ctx, ii, -lines.market_value, lines, h_alone)

    if diversification is not None:
        d, source = float(np.clip(diversification, 0.0, 1.0)), "request"
    elif priced is not None:
        d, source = float(priced.diversification), "dealer_model"
    else:
        d, source = cfg.assumed_diversification, "assumed"
    rfq_bp = rfq_cost_bp(score)
    pt_bp = pt_cost_bp(score, d)

    # -- problem lines ------------------------------------------------------------------------------
    u = ctx.universe
    safe_idx = np.maximum(basket.idx, 0)
    outstanding = np.where(has, u.all_amount_outstanding[safe_idx].astype(np.float64), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        outstanding_share = np.where(has, basket.quantity / outstanding, np.nan)
    corporate = has & (basket.idx < u.n_bonds)
    # issuer groups: a corporate's issuer; a Treasury or a model-only line stands alone
    group = np.where(corporate, u.issuer_idx[np.minimum(safe_idx, u.n_bonds - 1)].astype(np.int64),
                     len(u.issuers) + np.arange(n))
    _, inverse = np.unique(group, return_inverse=True)
    gross = float(basket.quantity.sum())
    by_group = np.bincount(inverse, basket.quantity)
    issuer_share = by_group[inverse] / gross if gross > 0 else np.zeros(n)
    illiquid = np.asarray(score < cfg.illiquid_below)
    hard = np.asarray(corporate & (np.nan_to_num(r2, nan=1.0) < cfg.hard_to_hedge_r2))
    conc_size = np.asarray(has & (np.nan_to_num(outstanding_share) > cfg.outstanding_share_limit))
    conc_issuer = np.asarray((n >= cfg.issuer_check_min_lines) & (corporate | ~has)
                             & (issuer_share > cfg.issuer_share_limit))
    return PretradeAnalysis(
        context=ctx, basket=basket, score=np.asarray(score, dtype=np.float64), mid=mid, market_value=mv,
        duration=duration, dv01=dv01, kr_dv01=kr, cs01=cs01, hedge_r2=r2, rfq_bp=rfq_bp, pt_bp=pt_bp,
        diversification=d, diversification_source=source, dealer_rfq=dealer_rfq, dealer_pt=dealer_pt,
        priced=priced, outstanding_share=np.asarray(outstanding_share, dtype=np.float64),
        issuer_share=np.asarray(issuer_share, dtype=np.float64), illiquid=illiquid, hard_to_hedge=hard,
        concentrated_size=conc_size, concentrated_issuer=conc_issuer, r_squared=r_squared)


def _basket_r_squared(ctx: AnalyticsContext, ii: IntArray, client_mv: FloatArray, lines: LineRisk,
                      h_alone: FloatArray) -> dict[str, float | None]:
    """How well LQD explains the IG corporate lines, HYG the HY lines (factor model, rates hedged, ETFs
    at NAV), and how much of the whole basket's credit risk the dealers' combined hedge removes."""
    u = ctx.universe
    corp = ii < u.n_bonds
    hy = corp & u.is_hy[np.minimum(ii, u.n_bonds - 1)]
    ig = corp & ~hy
    out: dict[str, float | None] = {}
    for ticker, mask in (("LQD", ig), ("HYG", hy)):
        if mask.any() and ticker in u.etfs:
            out[ticker] = float(ctx.model.r_squared_vs_etf(ctx.snapshot, ii[mask], client_mv[mask], ticker,
                                                            ctx.settle))
        else:
            out[ticker] = None
    if corp.any():
        book = ctx.risk.hedges
        expo = lines.exposure.sum(axis=0, keepdims=True)
        idio = np.array([lines.idio_var.sum()])
        out["combined"] = float(hedge_r_squared(book, ctx.risk.cov, expo, idio, h_alone.sum(axis=0, keepdims=True))[0])
    else:
        out["combined"] = None
    return out


# ---- the report -------------------------------------------------------------------------------------

def _col(a: FloatArray, digits: int) -> list[float | None]:
    values: list[float] = np.round(np.asarray(a, dtype=np.float64), digits).tolist()
    return [None if v != v else v for v in values]


def _bp(usd: float, notional: float) -> float | None:
    return round(usd / notional * 1e4, 4) if notional > 0 else None


def _mix(codes: IntArray, weights: FloatArray, names: Sequence[str]) -> dict[str, float]:
    total = float(weights.sum())
    if total <= 0:
        return {}
    share = np.bincount(codes, weights, minlength=len(names)) / total
    return {names[k]: round(float(share[k]), 6) for k in np.flatnonzero(share > 0).tolist()}


def _fmt_usd(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 0.005 else f"{x:,.2f}"


def _fmt_bp(x: float) -> str:
    return f"{x:.1f}" if abs(x * 10 - round(x * 10)) < 1e-9 else f"{x:.2f}"


def line_flags(a: PretradeAnalysis) -> list[list[dict[str, str]]]:
    """The flags of each line, with their reasons (formatting only: the tests are vectorized)."""
    cfg = a.context.config
    u = a.context.universe
    out: list[list[dict[str, str]]] = [[] for _ in range(a.basket.n)]
    for i in np.flatnonzero(a.illiquid).tolist():
        out[i].append({"code": "illiquid", "reason": (
            f"liquidity score {a.score[i]:.0f} (below {cfg.illiquid_below:.0f}): {a.rfq_bp[i]:.1f} bp to trade "
            f"alone by RFQ, {a.pt_bp[i]:.1f} bp inside this basket")})
    for i in np.flatnonzero(a.hard_to_hedge).tolist():
        etf = "HYG" if u.is_hy[int(a.basket.idx[i])] else "LQD"
        out[i].append({"code": "hard_to_hedge", "reason": (
            f"{etf} explains only {a.hedge_r2[i]:.0%} of its credit risk (hedge R² below "
            f"{cfg.hard_to_hedge_r2:.0%}): dealers carry its idiosyncratic risk")})
    for i in np.flatnonzero(a.concentrated_size).tolist():
        amount = int(u.all_amount_outstanding[int(a.basket.idx[i])])
        out[i].append({"code": "concentrated", "reason": (
            f"{a.outstanding_share[i]:.1%} of the issue's amount outstanding ({amount:,} USD; limit "
            f"{cfg.outstanding_share_limit:.0%})")})
    for i in np.flatnonzero(a.concentrated_issuer).tolist():
        k = int(a.basket.idx[i])
        who = u.instruments[k].issuer if k >= 0 else "this line"
        out[i].append({"code": "concentrated", "reason": (
            f"{who} is {a.issuer_share[i]:.1%} of the basket's gross notional (limit {cfg.issuer_share_limit:.0%})")})
    return out


def is_worked_example(basket: Basket) -> bool:
    """The basket is CALIBRATION.md section 1's (notional and score per line, in any order)."""
    if basket.n != len(WORKED_EXAMPLE) or basket.has_instrument.any():
        return False
    got = sorted(zip(basket.quantity.tolist(), basket.given_score.tolist(), strict=True))
    return got == sorted((float(q), s) for _, q, s in WORKED_EXAMPLE)


def recommendation(a: PretradeAnalysis) -> dict[str, Any]:
    """RFQ or portfolio trade, with the estimated saving and the basis of the estimate."""
    t = a.totals()
    gross = float(a.quantity.sum())
    if a.all_instruments:
        basis, rfq, pt = "full_dealer_charge", t["dealer_rfq_usd"], t["dealer_pt_usd"]
    else:
        basis, rfq, pt = "liquidity_curve", t["rfq_cost_usd"], t["pt_cost_usd"]
    saving = rfq - pt
    if a.basket.n == 1:
        method, reason = "rfq", "one line: nothing to diversify or net, a portfolio inquiry would cost the same"
    elif saving > 0:
        method = "portfolio_trade"
        reason = (f"trading the {a.basket.n:,} lines as one portfolio inquiry is estimated to cost "
                  f"{_fmt_usd(pt)} USD against {_fmt_usd(rfq)} USD line by line by RFQ: a saving of "
                  f"{_fmt_usd(saving)} USD ({saving / rfq:.0%})")
    else:
        method = "rfq"
        reason = (f"line-by-line RFQs are estimated at {_fmt_usd(rfq)} USD, no more than the portfolio's "
                  f"{_fmt_usd(pt)} USD")
    out: dict[str, Any] = {
        "method": method, "basis": basis, "rfq_cost_usd": round(rfq, 2), "pt_cost_usd": round(pt, 2),
        "saving_usd": round(max(saving, 0.0) if method == "portfolio_trade" else 0.0, 2),
        "saving_bp": _bp(max(saving, 0.0), gross) if method == "portfolio_trade" else 0.0,
        "saving_pct": round(saving / rfq * 100, 2) if rfq > 0 and method == "portfolio_trade" else 0.0,
        "reason": reason,
    }
    n_flagged = int(a.flagged.sum())
    if n_flagged and method == "portfolio_trade" and a.any_instrument and bool(a.illiquid.any()):
        out["hint"] = (f"{n_flagged} line{'s are' if n_flagged != 1 else ' is'} flagged; POST /v1/analytics/optimise "
                       "replaces illiquid lines by more liquid bonds of similar risk")
    return out


def explanation(a: PretradeAnalysis) -> list[str]:
    """How the figures were obtained, in words, with the arithmetic."""
    t = a.totals()
    q = a.quantity
    short = a.basket.n <= 10
    rfq_usd, pt_usd, imp_usd = a.rfq_usd, a.pt_usd, a.improvement_usd
    points = ", ".join(f"({s:g}, {bp:.1f})" for s, bp in sorted(RFQ_COST_POINTS, reverse=True))
    sum_rfq = " + ".join(_fmt_usd(float(x)) for x in rfq_usd) + " = " if short else ""
    lines = [
        f"Single-bond RFQ cost of a line = notional x rfq_cost_bp(liquidity score) / 10,000, the dealers' "
        f"liquidity cost curve (dealer_bots.pricing.liquidity) through {points} bp. "
        f"Here: {sum_rfq}{_fmt_usd(t['rfq_cost_usd'])} USD on {_fmt_usd(float(q.sum()))} USD notional."]
    source = {"dealer_model": "the dealers' own measure of this basket: pooling x hedgeability, as price_basket "
                              "computes it",
              "assumed": "assumed: no line names an instrument, so there is no risk data to measure it and the "
                         "basket is taken as fully diversified and hedgeable, the worked example's premise",
              "request": "as requested"}[a.diversification_source]
    imp_terms = (", ".join(_fmt_bp(float(x)) for x in a.improvement_bp) + " bp, i.e. "
                 + " + ".join(_fmt_usd(float(x)) for x in imp_usd) + " = ") if short else ""
    lines.append(
        f"Inside the basket a line costs rfq_cost_bp x (1 - d x max_reduction(score)), d = "
        f"{a.diversification:.2f} ({source}); max_reduction is 0.2 at score 98 and 4/7 at 15, so the least liquid "
        f"lines gain most. Improvements per line: {imp_terms}{_fmt_usd(float(imp_usd.sum()))} USD.")
    saving = t["saving_usd"]
    pct = saving / t["rfq_cost_usd"] * 100 if t["rfq_cost_usd"] > 0 else 0.0
    lines.append(
        f"Portfolio cost = RFQ cost - improvements = {_fmt_usd(t['rfq_cost_usd'])} - {_fmt_usd(saving)} = "
        f"{_fmt_usd(t['pt_cost_usd'])} USD"
        + (" (the per-line PT costs sum to the same: " + " + ".join(_fmt_usd(float(x)) for x in pt_usd) + "); "
           if short else ", the sum of the per-line PT costs; ")
        + f"the saving is {_fmt_usd(saving)} USD, {pct:.1f}% of the RFQ cost. The saving is a reduction of the "
        f"cost, not an amount to add to it: RFQ cost + saving ({_fmt_usd(t['rfq_cost_usd'] + saving)} USD) "
        f"would count the saving twice.")
    if a.any_instrument:
        lines.append(
            f"Full dealer charge (instrument lines): liquidity + hedge cost + basis risk + capital + balance sheet "
            f"+ competitive markup for {a.priced.n_dealers if a.priced else a.context.n_dealers} dealers, as the "
            f"reference dealers price (PricingConfig), no inventory or axes: {_fmt_usd(t['dealer_rfq_usd'])} USD "
            f"line by line, {_fmt_usd(t['dealer_pt_usd'])} USD as one basket.")
    if not a.all_instruments:
        n_model = int((~a.basket.has_instrument).sum())
        lines.append(f"{n_model} model-only line{'s' if n_model != 1 else ''} (notional and liquidity score, no "
                     "instrument): only the liquidity-cost model applies to them; they carry no DV01, CS01 or "
                     "hedge figures and the recommendation uses the liquidity curve.")
    if is_worked_example(a.basket) and a.diversification_source == "assumed":
        lines.append(
            "This is the worked example of CALIBRATION.md section 1. Its table's PT improvements (0.1, 1.0, 5.0, "
            f"20.0 bp) add up to {_fmt_usd(float(imp_usd.sum()))} USD, the figure reported here; the source's prose "
            f"says about {_fmt_usd(_WORKED_PROSE_SAVING_USD)} USD (PT cost about 10,000 USD, 42%), which would "
            "need 4.0 bp rather than the table's 5.0 bp at score 42. Its 'net improvement of "
            f"{_fmt_usd(_WORKED_PROSE_NET_IMPROVEMENT_USD)} USD' is 17,250 + 7,250: the RFQ cost plus the saving, "
            "which counts the saving twice.")
    return lines


def notes(a: PretradeAnalysis) -> list[str]:
    """Model-only lines whose label is a CUSIP with a wrong check digit: as instruments they would be refused."""
    out: list[str] = []
    for i in np.flatnonzero(~a.basket.has_instrument).tolist():
        label = a.basket.labels[i].strip().upper()
        if len(label) != 9:
            continue
        try:
            validate_cusip(label, f"lines[{i}].instrument")
        except InvalidInput as exc:
            if "expected_check_digit" in exc.details:
                out.append(f"lines[{i}] label {label}: {exc.reason}; the venue refuses it as an instrument, so "
                           "it is priced as a model-only line (notional and liquidity score).")
    return out


def report(a: PretradeAnalysis, *, include_lines: bool = True) -> dict[str, Any]:
    """The analysis as the API returns it (JSON-ready; USD rounded to cents, bp to 4 decimals)."""
    ctx = a.context
    u = ctx.universe
    b = a.basket
    has = b.has_instrument
    q = b.quantity
    gross = float(q.sum())
    t = a.totals()
    mv = np.nan_to_num(a.market_value)
    abs_mv = np.abs(mv)
    gross_mv = float(abs_mv.sum())
    net_mv = float(mv.sum())
    net_dv01 = float(np.nansum(a.dv01))
    safe = np.maximum(b.idx, 0)
    rating_codes = ctx.rating_code()[safe]
    sector_codes = ctx.sector_code()[safe]
    duration = float(np.nansum(abs_mv * a.duration) / gross_mv) if gross_mv > 0 else None
    any_risk = a.any_instrument

    def risk(x: float) -> float | None:
        return round(x, 2) if any_risk else None

    basket: dict[str, Any] = {
        "n_lines": b.n,
        "n_instrument_lines": int(has.sum()),
        "n_model_lines": int((~has).sum()),
        "gross_notional": round(gross, 2),
        "net_notional": round(float((b.side * q).sum()), 2),
        "buy_notional": round(float(q[b.side > 0].sum()), 2),
        "sell_notional": round(float(q[b.side < 0].sum()), 2),
        "gross_market_value": risk(gross_mv),
        "net_market_value": risk(net_mv),
        "net_dv01": risk(net_dv01),
        "gross_dv01": risk(float(np.nansum(np.abs(a.dv01)))),
        "net_key_rate_dv01": {k: risk(float(v)) for k, v in zip(KEY_RATE_NAMES, np.nansum(a.kr_dv01, axis=0),
                                                                strict=True)} if any_risk else None,
        "net_cs01": risk(float(np.nansum(a.cs01))),
        "gross_cs01": risk(float(np.nansum(np.abs(a.cs01)))),
        "duration": None if duration is None else round(duration, 4),
        "net_duration": round(net_dv01 / net_mv * 1e4, 4) if abs(net_mv) > 0.01 * gross_mv > 0 else None,
        "liquidity_score": round(float((q * a.score).sum() / gross), 2) if gross > 0 else None,
        "rating_mix": _mix(rating_codes[has], abs_mv[has], RATINGS),
        "sector_mix": _mix(sector_codes[has], abs_mv[has], SECTOR_NAMES),
        "grade_mix": _mix((u.is_hy[np.minimum(safe, u.n_bonds - 1)] & (b.idx < u.n_bonds)).astype(np.int64)[has],
                          abs_mv[has], ("IG", "HY")),
        "r_squared": {k: None if v is None else round(v, 4) for k, v in a.r_squared.items()},
        "liquidity_cost": {
            "basis": "liquidity curve: the liquidity component of the dealers' charge",
            "diversification": round(a.diversification, 4),
            "diversification_source": a.diversification_source,
            "rfq_cost_usd": round(t["rfq_cost_usd"], 2), "rfq_cost_bp": _bp(t["rfq_cost_usd"], gross),
            "pt_cost_usd": round(t["pt_cost_usd"], 2), "pt_cost_bp": _bp(t["pt_cost_usd"], gross),
            "saving_usd": round(t["saving_usd"], 2), "saving_bp": _bp(t["saving_usd"], gross),
            "saving_pct": round(t["saving_usd"] / t["rfq_cost_usd"] * 100, 2) if t["rfq_cost_usd"] > 0 else None,
        },
        "dealer_charge": _dealer_charge(a) if a.priced is not None else None,
        "flags": {"illiquid": int(a.illiquid.sum()), "hard_to_hedge": int(a.hard_to_hedge.sum()),
                  "concentrated": int((a.concentrated_size | a.concentrated_issuer).sum()),
                  "lines_flagged": int(a.flagged.sum())},
    }
    out: dict[str, Any] = {
        "as_of": ctx.snapshot.as_of.isoformat(),
        "settlement_date": ctx.settle.isoformat(),
        "basket": basket,
        "recommendation": recommendation(a),
        "explanation": explanation(a),
        "notes": notes(a),
        "lines": _lines(a) if include_lines else None,
    }
    return out


def _dealer_charge(a: PretradeAnalysis) -> dict[str, Any]:
    assert a.priced is not None
    p = a.priced
    has = a.basket.has_instrument
    notional = float(a.quantity[has].sum())
    t = a.totals()
    return {
        "basis": "full dealer charge: liquidity + hedge + basis risk + capital + balance sheet + markup "
                 "(PricingConfig of the reference net-risk dealer, no inventory or axes), instrument lines only",
        "n_dealers": p.n_dealers,
        "notional": round(notional, 2),
        "rfq_usd": round(t["dealer_rfq_usd"], 2), "rfq_bp": _bp(t["dealer_rfq_usd"], notional),
        "pt_usd": round(t["dealer_pt_usd"], 2), "pt_bp": _bp(t["dealer_pt_usd"], notional),
        "saving_usd": round(t["dealer_saving_usd"], 2), "saving_bp": _bp(t["dealer_saving_usd"], notional),
        "saving_pct": round(t["dealer_saving_usd"] / t["dealer_rfq_usd"] * 100, 2) if t["dealer_rfq_usd"] > 0 else None,
        "rfq_components_usd": {k: round(float(v[has].sum()), 2) for k, v in a.dealer_rfq.items()},
        "pt_components_usd": {k: round(v, 2) for k, v in p.charges.totals().items()},
        "diversification": round(p.diversification, 4),
        "pooling": round(p.raw_diversification, 4),
        "hedgeability": round(p.hedgeability, 4),
        "holding_days": round(p.holding_days, 3),
        "residual_sigma_usd": round(p.residual_sigma, 2),
        "unhedged_sigma_usd": round(p.unhedged_sigma, 2),
        "hedge_usd": {name: round(float(h), 2) for name, h in zip(HEDGE_NAMES, p.hedge, strict=True)},
    }


def _lines(a: PretradeAnalysis) -> list[dict[str, Any]]:
    u = a.context.universe
    b = a.basket
    has = b.has_instrument.tolist()
    idx = b.idx.tolist()
    q = b.quantity
    flags = line_flags(a)
    reduction = max_reduction(a.score)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_rfq_bp = a.dealer_rfq_usd / q * 1e4
        d_pt_bp = a.dealer_pt_usd / q * 1e4
    cols = {
        "liquidity_score": _col(a.score, 2), "evaluated_mid": _col(a.mid, 6), "market_value": _col(a.market_value, 2),
        "duration": _col(a.duration, 4), "dv01": _col(a.dv01, 2), "cs01": _col(a.cs01, 2),
        "hedge_r_squared": _col(a.hedge_r2, 4),
        "rfq_cost_bp": _col(a.rfq_bp, 4), "rfq_cost_usd": _col(a.rfq_usd, 2),
        "pt_cost_bp": _col(a.pt_bp, 4), "pt_cost_usd": _col(a.pt_usd, 2),
        "pt_improvement_bp": _col(a.improvement_bp, 4), "pt_improvement_usd": _col(a.improvement_usd, 2),
        "max_reduction": _col(reduction, 4),
        "dealer_rfq_charge_bp": _col(d_rfq_bp, 4), "dealer_rfq_charge_usd": _col(a.dealer_rfq_usd, 2),
        "dealer_pt_charge_bp": _col(d_pt_bp, 4), "dealer_pt_charge_usd": _col(a.dealer_pt_usd, 2),
    }
    names = list(cols)
    rows = zip(*cols.values(), strict=True)
    quantities = q.tolist()
    sides = b.side.tolist()
    out: list[dict[str, Any]] = []
    for i, values in enumerate(rows):
        k = idx[i]
        bond = u.instruments[k] if has[i] else None
        line: dict[str, Any] = {
            "line": i, "label": b.labels[i], "instrument": b.instruments[i], "model_only": not has[i],
            "side": "buy" if sides[i] > 0 else "sell", "quantity": int(quantities[i]),
            "issuer": bond.issuer if bond else None, "rating": bond.rating if bond else None,
            "sector": bond.sector if bond else None, "grade": bond.grade if bond else None,
        }
        line.update(zip(names, values, strict=True))
        line["flags"] = flags[i]
        out.append(line)
    return out
