"""One line priced in plain floats: the fast path of a single-bond inquiry, the result of ``price_basket``.

:func:`~dealer_bots.pricing.pricer.price_basket` is written for baskets: each step is a few numpy
operations on arrays of ``n`` lines, which for ``n = 1`` cost far more than the arithmetic they do.
For one line the basket-level quantities collapse:

* the basket's hedge, residual exposure, variance and hedge cost are the line's own (a one-row sum);
* the holding period is the line's (``liquidation_days`` of one line: ``|mv| x days / |mv|``), so the
  pooling term ``1 - basket risk / sum of the lines' risks`` is 0, up to that rounding;
* ``allocate`` gives the line the whole total (``total x w / w``), and ``floor_lines`` is a ``max``.

What remains is a few dozen float operations on per-instrument constants.
:class:`~dealer_bots.pricing.unit.UnitRisk` (``MarketRisk.unit``: per market step, computed vectorized by
blocks of instruments on first use) holds the line's hedge, variances, hedge cost and hedge R-squared
per unit of market value; :func:`price_line` scales them by the line's market value (at the context's
dirty price: a context moved to an impacted snapshot by ``MarketRisk.at`` shares the tables and has its
own mids, as ``price_basket`` sees them) and then follows
``price_basket`` step by step, with the same formulas in the same order of operations, in Python floats
(IEEE arithmetic: numpy's elementwise operations on one element give the same bits). The only numpy per
call is what depends on the dealer's whole book (its gross market value before the trade, the same dot
product as ``balance_sheet``'s) and the competition model's exponential and Lambert W, the same numpy
and scipy functions on the same inputs as in ``optimal_markup`` and ``win_probability``.

Equivalence: the price, every charge and every breakdown figure equal ``price_basket``'s to rounding (a
few units in the last place of the larger terms), checked by a property test over random bonds, sizes,
sides, inventories, axes, panel sizes, ETF premiums and pricing configs; the balance-sheet figures that
decide a pass are the same to the bit. The differences come from the unit tables only (``H_i x mv`` is
``hedge_notionals(E_i x mv)`` associated differently); in practice the prices are the same to the bit,
so are the quotes rounded from them and the simulations' event logs.

The result is a :class:`PricedLine`, a :class:`~dealer_bots.pricing.pricer.PricedBasket`: its scalar
fields are set at once, its array fields (``lines``, ``risk``, ``hedge``, ``charges``, ``prices``) built
by the toolkit's own functions on first access, so code written for a ``PricedBasket`` (a strategy's
``review`` hook, ``portfolio_quote``) works unchanged, and a quote that needs only the price and the
breakdown never builds them.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import lambertw

from dealer_bots.pricing.charges import TRADING_DAYS, Z_99, BalanceSheet
from dealer_bots.pricing.competition import _EXP_LIMIT, CompetitionConfig, alpha
from dealer_bots.pricing.pricer import LineCharges, PricedBasket, PricingConfig, make_breakdown
from dealer_bots.pricing.risk import BasketRisk, LineRisk, MarketRisk, basket_risk, line_risk

__all__ = ["PricedLine", "price_line"]

FloatArray = NDArray[np.float64]


class PricedLine(PricedBasket):
    """One line priced by :func:`price_line`: a ``PricedBasket`` whose array fields are built on first access.

    ``price`` is the line's clean price, ``charge_usd`` its charges in ``COMPONENTS`` order (USD), ``face``
    the dealer's signed face of instrument ``index`` and ``mid`` its evaluated mid.
    """

    ctx: MarketRisk
    index: int
    face: float
    mid: float
    price: float
    charge_usd: tuple[float, float, float, float, float, float, float]
    hedge_usd: list[float]
    dv01: float
    cs01: float

    def __init__(self, ctx: MarketRisk, index: int, face: float, mid: float, *, price: float,
                 charge_usd: tuple[float, float, float, float, float, float, float], hedge_usd: list[float],
                 dv01: float, cs01: float, diversification: float, raw_diversification: float, hedgeability: float,
                 holding_days: float, residual_sigma: float, unhedged_sigma: float, reference_cost: float,
                 win_probability: float, n_dealers: int, balance: BalanceSheet) -> None:
        # Not PricedBasket.__init__, which would set the array fields this class builds on first access;
        # the instance dict directly, as the frozen dataclass's own __init__ does (object.__setattr__).
        vars(self).update(
            ctx=ctx, index=index, face=face, mid=mid, price=price, charge_usd=charge_usd, hedge_usd=hedge_usd,
            dv01=dv01, cs01=cs01, diversification=diversification, raw_diversification=raw_diversification,
            hedgeability=hedgeability, holding_days=holding_days, residual_sigma=residual_sigma,
            unhedged_sigma=unhedged_sigma, reference_cost=reference_cost, win_probability=win_probability,
            n_dealers=n_dealers, balance=balance,
        )

    @cached_property
    def lines(self) -> LineRisk:
        return line_risk(self.ctx, np.array([self.index], dtype=np.int64), np.array([self.face]))

    @cached_property
    def risk(self) -> BasketRisk:
        return basket_risk(self.ctx, self.lines)

    @cached_property
    def hedge(self) -> FloatArray:
        return np.array(self.hedge_usd, dtype=np.float64)

    @cached_property
    def charges(self) -> LineCharges:
        return LineCharges(*(np.array([usd]) for usd in self.charge_usd))

    @cached_property
    def prices(self) -> FloatArray:
        return np.array([self.price])

    @property
    def mid_value(self) -> float:
        return self.mid * self.face / 100.0

    @property
    def total_charge(self) -> float:
        liquidity, hedge, basis_risk, capital, inventory, balance_sheet, markup = self.charge_usd
        return liquidity + hedge + basis_risk + capital + inventory + balance_sheet + markup

    def breakdown(self, prefix: str = "") -> dict[str, float]:
        # ``0.0 + x``: as the sum of a one-line array (a zero is +0.0)
        return make_breakdown(prefix, self.mid_value, 0.0 + abs(self.face),
                              [0.0 + usd for usd in self.charge_usd], [
            self.diversification, self.raw_diversification, self.hedgeability, self.holding_days, self.residual_sigma,
            self.unhedged_sigma, self.dv01, self.cs01, self.win_probability, float(self.n_dealers),
            self.balance.gross_after,
        ], self.hedge_usd)


_ALPHA: dict[tuple[int, float, float], float] = {}

# ``scipy.special.lambertw(z)`` is the ufunc ``_lambertw(z, asarray(0, long), 1e-8)`` behind a Python
# wrapper whose conversions cost more than the call: the same ufunc with the same arguments, called
# directly (through the wrapper if a SciPy version has no such ufunc).
try:
    from scipy.special._ufuncs import _lambertw as _LAMBERTW
except ImportError:  # pragma: no cover - depends on the SciPy version
    _LAMBERTW = lambertw
_BRANCH_0 = np.asarray(0, dtype=np.dtype("long"))
_LAMBERTW_TOL = 1e-8


def _alpha(n_dealers: int, cfg: CompetitionConfig) -> float:
    """``competition.alpha`` (it depends on the panel size, ``beta`` and ``epsilon`` only), memoized."""
    key = (n_dealers, cfg.beta, cfg.epsilon)
    a = _ALPHA.get(key)
    if a is None:
        if len(_ALPHA) >= 1024:
            _ALPHA.clear()
        a = _ALPHA[key] = float(alpha(n_dealers, cfg))
    return a


def _allocate(total: float, weight: float, fallback: float) -> float:
    """``pricer.allocate`` for one line: all of ``total``, computed as it computes it (``total x w / w``)."""
    if weight > 0.0:
        return total * weight / weight
    if fallback > 0.0:
        return total * fallback / fallback
    return total / 1


def _clip(x: float, lo: float) -> float:
    """``np.clip(x, lo, 1.0)`` of a float (NaN stays NaN)."""
    return lo if x < lo else 1.0 if x > 1.0 else x


def price_line(ctx: MarketRisk, cfg: PricingConfig, index: int, face: float, *, n_dealers: int = 1,
               positions: ArrayLike | None = None, axes: ArrayLike | None = None) -> PricedLine:
    """``price_basket(ctx, cfg, [index], [face], ...)`` for one line, in scalars; see the module docstring.

    ``face`` is the dealer's signed face (long +) of instrument ``index``; ``positions`` (face per
    instrument of the universe) the dealer's inventory, ``axes`` (per instrument) its axes, ``n_dealers``
    the dealers in competition, as for ``price_basket``. Each step names the toolkit function it mirrors;
    the order of operations is theirs.
    """
    x = float(face)
    (line_days, rfq_bp, reduction, is_hy, is_bond, duration, krd_2, krd_5, krd_10, krd_30,
     var_unit, unhedged_unit, spread_unit, premium_unit, r2, *hedge_unit) = ctx.unit.row(index)  # unit.ROW
    # the context's mid and dirty price, not the tables': a context moved to an impacted snapshot has its own
    dirty, mid = ctx.dirty.item(index), ctx.mid.item(index)

    # -- line_risk; hedge_notionals, residual_variance, hedge_cost of the line (= the basket) -----------
    mv = x * dirty / 100.0
    mv_abs = abs(mv)
    notional = abs(x)
    var = var_unit * mv * mv
    cost = spread_unit * mv_abs + premium_unit * mv

    # -- basis_risk_charge, capital_charge: the line alone, and over liquidation_days of the "basket" --
    hold = 1.0 if mv_abs <= 0.0 else mv_abs * line_days / mv_abs
    v = 0.0 if var < 0.0 else var
    risk_alone = cfg.risk_aversion * math.sqrt(v * line_days)
    risk_total = cfg.risk_aversion * math.sqrt(v * hold)
    var99 = Z_99 * math.sqrt(v) * math.sqrt(cfg.var_days)
    cap_alone = cfg.cost_of_capital * var99 * line_days / TRADING_DAYS
    cap_total = cfg.cost_of_capital * var99 * hold / TRADING_DAYS

    # -- diversification: none for one line, but for the rounding of the holding period --------------
    sigma_days_alone = math.sqrt(v * line_days)  # v is var: residual_variance is a sum of non-negative terms
    raw_div = _clip(1.0 - math.sqrt(v * hold) / sigma_days_alone, 0.0) if sigma_days_alone > 0.0 else 0.0
    hedgeability = r2 * mv_abs / mv_abs if mv_abs > 0.0 else 1.0
    div = min(raw_div / cfg.diversification_ref, 1.0) * min(hedgeability / cfg.hedgeability_ref, 1.0)

    # -- liquidity -------------------------------------------------------------------------------
    pt_bp = rfq_bp * (1.0 - div * reduction)
    liquidity = cfg.liquidity_weight * (cfg.hy_liquidity_multiplier if is_hy else 1.0) * notional * pt_bp * 1e-4

    # -- allocate: all of each total to the one line ---------------------------------------------
    hedge_c = _allocate(cost, abs(cost), mv_abs)
    risk_c = _allocate(risk_total, risk_alone, mv_abs)
    cap_c = _allocate(cap_total, cap_alone, mv_abs)

    # -- desire and inventory_skew; balance_sheet ------------------------------------------------
    inv_cfg, bs_cfg = cfg.inventory, cfg.balance_sheet
    if positions is None:
        pos = gross_before = 0.0
    else:
        pos_all = np.asarray(positions, dtype=np.float64)
        pos = float(pos_all[index])
        gross_before = float(np.abs(pos_all) @ ctx.dirty) / 100.0
    want = -_clip(pos / inv_cfg.position_scale, -1.0)
    if axes is not None:
        want = want + inv_cfg.axe_weight * float(np.asarray(axes, dtype=np.float64)[index])
    want = _clip(want, -1.0)
    inventory = -inv_cfg.skew_bp * 1e-4 * want * x
    grow = (abs(pos + x) - abs(pos)) * dirty / 100.0
    gross_after = gross_before + (grow if x != 0.0 else 0.0)
    excess = max(0.0, gross_after - max(gross_before, bs_cfg.limit_usd))
    bs_charge = excess * bs_cfg.widen_bp * 1e-4 * grow / grow if excess > 0.0 and grow > 0.0 else 0.0
    over = gross_after > bs_cfg.pass_multiple * bs_cfg.limit_usd and gross_after > gross_before

    # -- competition: optimal_markup and win_probability -----------------------------------------
    comp = cfg.competition
    ref_line = notional * max(pt_bp, cfg.reference_floor_bp) * 1e-4
    reference = max(ref_line, 1e-9)
    cost_rel = (liquidity + hedge_c + risk_c + cap_c + inventory + bs_charge) / reference
    a = _alpha(n_dealers, comp)
    z = 1.0 + a + comp.beta * cost_rel
    w = float(_LAMBERTW(np.exp(min(max(-z, -_EXP_LIMIT), _EXP_LIMIT)), _BRANCH_0, _LAMBERTW_TOL).real)
    m_rel = comp.markup_scale * (1.0 + w) / comp.beta
    markup = _allocate(m_rel * reference, ref_line, notional)
    z = a + comp.beta * (cost_rel + m_rel)
    p_win = 1.0 / (1.0 + float(np.exp(min(max(z, -_EXP_LIMIT), _EXP_LIMIT))))

    # -- floor_lines: on the dealer's side of mid ------------------------------------------------
    total = liquidity + hedge_c + risk_c + cap_c + inventory + bs_charge + markup
    floor = cfg.min_edge_bp * 1e-4 * notional
    edged = floor if total - floor < 0.0 else total
    markup = markup + (edged - total)

    step = mv * 1e-4  # basket_risk's DV01 and CS01
    return PricedLine(
        ctx, index, x, mid,
        price=mid - 100.0 * edged / x if x != 0.0 else mid,
        charge_usd=(liquidity, hedge_c, risk_c, cap_c, inventory, bs_charge, markup),
        hedge_usd=[h * mv for h in hedge_unit],
        dv01=0.0 + krd_2 * step + krd_5 * step + krd_10 * step + krd_30 * step,
        cs01=0.0 + duration * mv * 1e-4 * is_bond,
        diversification=div,
        raw_diversification=raw_div,
        hedgeability=hedgeability,
        holding_days=hold,
        residual_sigma=math.sqrt(v),
        unhedged_sigma=math.sqrt(max(unhedged_unit * mv * mv, 0.0)),
        reference_cost=reference,
        win_probability=p_win,
        n_dealers=int(n_dealers),
        balance=BalanceSheet(gross_before, gross_after, np.array([bs_charge]), over),
    )
