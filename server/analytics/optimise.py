"""Package optimisation: replace a basket's illiquid lines by more liquid bonds of similar risk.

For every line below ``min_score`` the candidates are corporate bonds of the universe of the same
sector and grade, within ``rating_notches`` of its rating (0 by default: the line's sector/rating
bucket), scoring at least ``min_score`` and ``min_score_gain`` more than the line, not in the
basket, of which the line's market value is at most ``outstanding_share_limit`` of the amount
outstanding; the ``candidates_per_line`` closest in duration are kept. A replacement keeps the
line's side and market value (dirty, at the evaluated mid), so gross market value is unchanged.

The choice is one mixed-integer linear programme (``scipy.optimize.milp``, HiGHS), variables
``x_ij`` in [0, 1] the share of line ``i``'s market value moved to candidate ``j`` (binary with
``whole_lines``, the default: a line is kept or replaced whole)::

    minimise   sum_ij x_ij (cost_j - cost_i + te_aversion x te_ij)
    subject to sum_j x_ij <= 1                          (line i kept for the rest)
               sum_i x_ij <= 1                          (a bond replaces at most one line)
               |change of the gross-MV-weighted duration|        <= duration_tolerance (years)
               |change of the net DV01|         <= dv01_tolerance x gross DV01 of the basket
               |change of each rating and sector share of gross MV| <= mix_tolerance
               sum_ij x_ij te_ij               <= max_tracking_error_bp x gross MV / 1e4   (optional)

* ``cost`` is the expected liquidity cost of the line inside the basket, the dealers' curve
  ``pt_cost_bp(score, d)`` at the original basket's diversification ``d``
  (:mod:`server.analytics.pretrade`), in USD.
* ``te_ij`` is the daily tracking-error standard deviation (USD) of the swap alone under the
  dealers' factor model: the factor exposure of ``+v`` of the candidate and ``-v`` of the line, and
  both bonds' idiosyncratic risk. The sum over swaps bounds the tracking error of all of them
  together (the standard deviation of a sum is at most the sum of the standard deviations), so
  the programme stays linear and the cap is conservative. The reported tracking error is the
  exact one, new basket against original, netted.
* ``te_aversion`` is the USD of expected cost the client would give up to avoid one USD of daily
  tracking-error standard deviation: the exchange rate between the two objectives.

Every constraint holds for the original basket (no swap), so the programme is always feasible.
Tolerances of exactly zero make it an equality-constrained integer programme that may stop at
``time_limit_s`` with the best solution found (status ``time_limit``); a small tolerance solves
in well under a second.
Quantities of the new lines are rounded down to the bond's increment (at least its minimum
piece); before-and-after cost and risk are the full pre-trade analysis of each basket.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from dealer_bots.pricing.liquidity import pt_cost_bp
from server.analytics.pretrade import (
    SECTOR_NAMES,
    AnalyticsContext,
    Basket,
    PretradeAnalysis,
    analyse,
)
from server.analytics.pretrade import report as pretrade_report
from server.domain.bonds import RATINGS
from server.domain.errors import InvalidInput
from server.market.liquidity import MID_THRESHOLD

__all__ = ["Optimisation", "OptimiseConfig", "optimise", "report", "tracking_error", "with_overrides"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

TRADING_DAYS: Final = 252.0


@dataclass(frozen=True)
class OptimiseConfig:
    min_score: float = MID_THRESHOLD
    """Lines scoring below this are replaced if it pays; replacements score at least this."""
    min_score_gain: float = 10.0
    candidates_per_line: int = 8
    rating_notches: int = 0
    """0: the same rating (the line's sector/rating bucket); n: up to n notches away, within the grade."""
    same_sector: bool = True
    duration_tolerance: float = 0.25
    dv01_tolerance: float = 0.02
    mix_tolerance: float = 0.02
    te_aversion: float = 0.1
    max_tracking_error_bp: float | None = None
    outstanding_share_limit: float = 0.05
    whole_lines: bool = True
    time_limit_s: float = 10.0

    def __post_init__(self) -> None:
        checks = {
            "min_score": 1.0 <= self.min_score <= 100.0, "min_score_gain": self.min_score_gain >= 0.0,
            "candidates_per_line": 1 <= self.candidates_per_line <= 50, "rating_notches": 0 <= self.rating_notches <= 6,
            "duration_tolerance": self.duration_tolerance >= 0.0, "dv01_tolerance": self.dv01_tolerance >= 0.0,
            "mix_tolerance": self.mix_tolerance >= 0.0, "te_aversion": self.te_aversion >= 0.0,
            "max_tracking_error_bp": self.max_tracking_error_bp is None or self.max_tracking_error_bp >= 0.0,
            "outstanding_share_limit": 0.0 < self.outstanding_share_limit <= 1.0,
            "time_limit_s": 0.0 < self.time_limit_s <= 120.0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise InvalidInput(f"{bad[0]} is out of range", field=bad[0])


@dataclass(frozen=True, eq=False)
class Optimisation:
    config: OptimiseConfig
    before: PretradeAnalysis
    after: PretradeAnalysis
    status: str
    message: str
    line: IntArray  # (s,) original line of each chosen swap
    candidate: IntArray  # (s,) instrument index of its replacement
    weight: FloatArray  # (s,) share of the line's market value moved
    new_quantity: FloatArray  # (s,) face of the replacement
    swap_saving: FloatArray  # (s,) expected liquidity cost saved, USD (objective's cost model)
    swap_te: FloatArray  # (s,) daily tracking-error sigma of the swap alone, USD
    n_candidates: int
    n_eligible_lines: int
    tracking_error_usd: float  # exact daily sigma of (after - before), USD
    objective_usd: float


def _round_face(face: FloatArray, increment: IntArray, min_piece: IntArray) -> FloatArray:
    steps = np.floor(np.maximum(face - min_piece, 0.0) / increment)
    out = np.where(face >= min_piece, min_piece + steps * increment, 0.0)
    return np.asarray(out, dtype=np.float64)


def tracking_error(ctx: AnalyticsContext, before: Basket, after: Basket) -> float:
    """Daily standard deviation (USD) of the P&L of ``after`` minus ``before`` under the factor model
    (instruments in both are netted first; model-only lines carry no risk)."""
    risk = ctx.risk
    idx = np.concatenate([before.idx[before.has_instrument], after.idx[after.has_instrument]])
    if idx.size == 0:
        return 0.0
    sign = np.concatenate([-np.ones(int(before.has_instrument.sum())), np.ones(int(after.has_instrument.sum()))])
    face = np.concatenate([(before.side * before.quantity)[before.has_instrument],
                           (after.side * after.quantity)[after.has_instrument]]) * sign
    mv = face * risk.dirty[idx] / 100.0
    expo, idio = ctx.model.basket_exposure(ctx.snapshot, idx, mv, ctx.settle)
    return float(np.sqrt(max(ctx.model.portfolio_variance(expo, idio), 0.0)))


def _candidates(ctx: AnalyticsContext, basket: Basket, lines: IntArray, value: FloatArray,
                cfg: OptimiseConfig) -> tuple[IntArray, IntArray]:
    """(m, C) candidate instrument per eligible line (-1: none), and the count found per line.

    Lines are grouped by (sector, grade) bucket so each comparison matrix is bucket-sized; the loop
    runs over the buckets, never over lines."""
    u = ctx.universe
    risk = ctx.risk
    nb = u.n_bonds
    score = risk.score[:nb]
    dur = risk.duration[:nb]
    rating = u.rating_idx.astype(np.int64)
    sector = u.sector_idx.astype(np.int64)
    hy = u.is_hy
    in_basket = np.zeros(nb, dtype=bool)
    held = basket.idx[(basket.idx >= 0) & (basket.idx < nb)]
    in_basket[held] = True
    ok = (~in_basket) & (score >= cfg.min_score) & (u.ttm > 1.0)
    li = basket.idx[lines]
    key_line = (sector[li] if cfg.same_sector else np.zeros(li.size, dtype=np.int64)) * 2 + hy[li]
    key_bond = (sector if cfg.same_sector else np.zeros(nb, dtype=np.int64)) * 2 + hy
    c = cfg.candidates_per_line
    out = np.full((lines.size, c), -1, dtype=np.int64)
    for key in np.unique(key_line).tolist():
        rows = np.flatnonzero(key_line == key)
        pool = np.flatnonzero(ok & (key_bond == key))
        if pool.size == 0:
            continue
        r = li[rows]
        face_needed = np.abs(value[rows])[:, None] / (risk.dirty[pool][None, :] / 100.0)
        allowed = (
            (np.abs(rating[pool][None, :] - rating[r][:, None]) <= cfg.rating_notches)
            & (score[pool][None, :] >= score[r][:, None] + cfg.min_score_gain)
            & (face_needed <= cfg.outstanding_share_limit * u.amount_outstanding[pool][None, :])
            & (face_needed >= u.min_piece[pool][None, :])
        )
        distance = np.abs(dur[pool][None, :] - dur[r][:, None]) + 0.25 * np.abs(
            rating[pool][None, :] - rating[r][:, None])
        distance = np.where(allowed, distance, np.inf)
        k = min(c, pool.size)
        nearest = np.argpartition(distance, k - 1, axis=1)[:, :k] if k < pool.size else np.tile(
            np.arange(pool.size), (rows.size, 1))
        chosen_d = np.take_along_axis(distance, nearest, axis=1)
        order = np.argsort(chosen_d, axis=1)
        nearest = np.take_along_axis(nearest, order, axis=1)
        chosen_d = np.take_along_axis(chosen_d, order, axis=1)
        out[rows, :k] = np.where(np.isfinite(chosen_d), pool[nearest], -1)
    return out, (out >= 0).sum(axis=1)


def optimise(ctx: AnalyticsContext, basket: Basket, cfg: OptimiseConfig | None = None, *,
             n_dealers: int | None = None) -> Optimisation:
    """Replace illiquid lines of ``basket`` within the tolerances; see the module docstring."""
    cfg = cfg or OptimiseConfig()
    if not bool(basket.has_instrument.all()):
        bad = int(np.flatnonzero(~basket.has_instrument)[0])
        raise InvalidInput("optimisation needs every line to name an instrument (model-only lines have no risk to "
                           "match)", field=f"lines[{bad}].instrument")
    risk = ctx.risk
    u = ctx.universe
    before = analyse(ctx, basket, n_dealers=n_dealers)
    d = before.diversification
    value = np.nan_to_num(before.market_value)  # client's signed dirty MV
    abs_v = np.abs(value)
    gross_mv = float(abs_v.sum())
    corporate = basket.idx < u.n_bonds
    eligible = np.flatnonzero(corporate & (before.score < cfg.min_score))
    if eligible.size == 0 or gross_mv <= 0:
        return _unchanged(cfg, before, "nothing_to_replace",
                          f"no line scores below {cfg.min_score:g}: nothing to replace")
    cand, _found = _candidates(ctx, basket, eligible, value, cfg)
    pair_line, pair_slot = np.nonzero(cand >= 0)
    if pair_line.size == 0:
        return _unchanged(cfg, before, "no_candidates",
                          f"none of the {eligible.size} illiquid lines has a more liquid bond of the same sector "
                          f"and grade within {cfg.rating_notches} notch(es) and the size limits")
    li = eligible[pair_line]  # basket line of each variable
    j = cand[pair_line, pair_slot]  # instrument of each variable
    i_inst = basket.idx[li]
    v = value[li]
    av = abs_v[li]
    # costs: the line's expected liquidity cost in the basket, and the replacement's for the same market value
    cost_i = basket.quantity[li] * pt_cost_bp(risk.score[i_inst], d) * 1e-4
    face_j = av / (risk.dirty[j] / 100.0)
    cost_j = face_j * pt_cost_bp(risk.score[j], d) * 1e-4
    # tracking error of each swap alone (daily sigma, USD)
    diff = risk.exposure[j] - risk.exposure[i_inst]
    quad = np.einsum("pk,kl,pl->p", diff, risk.cov, diff)
    te = av * np.sqrt(np.maximum(quad + risk.idio_var[j] + risk.idio_var[i_inst], 0.0))
    c = cost_j - cost_i + cfg.te_aversion * te

    nvar = li.size
    cols = np.arange(nvar)
    rows_a: list[sparse.csr_array] = []
    lbs: list[FloatArray] = []
    ubs: list[FloatArray] = []

    def add(matrix: Any, lo: FloatArray, hi: FloatArray) -> None:
        rows_a.append(sparse.csr_array(matrix))
        lbs.append(np.asarray(lo, dtype=np.float64))
        ubs.append(np.asarray(hi, dtype=np.float64))

    m = eligible.size
    add(sparse.coo_array((np.ones(nvar), (pair_line, cols)), shape=(m, nvar)), np.zeros(m), np.ones(m))
    _, used = np.unique(j, return_inverse=True)
    n_used = int(used.max()) + 1
    add(sparse.coo_array((np.ones(nvar), (used, cols)), shape=(n_used, nvar)), np.zeros(n_used), np.ones(n_used))
    dur_change = av * (risk.duration[j] - risk.duration[i_inst]) / gross_mv
    dv01_change = v * (risk.duration[j] - risk.duration[i_inst]) * 1e-4
    gross_dv01 = float(np.nansum(np.abs(before.dv01)))
    dv01_tol = cfg.dv01_tolerance * gross_dv01
    add(np.vstack([dur_change, dv01_change]), np.array([-cfg.duration_tolerance, -dv01_tol]),
        np.array([cfg.duration_tolerance, dv01_tol]))
    rating_all = ctx.rating_code()
    sector_all = ctx.sector_code()
    for codes, size in ((rating_all, len(RATINGS)), (sector_all, len(SECTOR_NAMES))):
        moved = (np.eye(size)[codes[j]] - np.eye(size)[codes[i_inst]]) * (av / gross_mv)[:, None]
        live = np.flatnonzero(np.abs(moved).sum(axis=0) > 0)
        if live.size:
            add(moved[:, live].T, np.full(live.size, -cfg.mix_tolerance), np.full(live.size, cfg.mix_tolerance))
    if cfg.max_tracking_error_bp is not None:
        add(te[None, :], np.array([0.0]), np.array([cfg.max_tracking_error_bp * 1e-4 * gross_mv]))
    constraints = LinearConstraint(sparse.vstack(rows_a, format="csr"), np.concatenate(lbs), np.concatenate(ubs))
    integrality = np.ones(nvar) if cfg.whole_lines else np.zeros(nvar)
    res = milp(c, constraints=constraints, integrality=integrality, bounds=Bounds(0.0, 1.0),
               options={"time_limit": cfg.time_limit_s, "disp": False})
    if res.x is None:
        return _unchanged(cfg, before, "solver_failed", f"the solver found no solution: {res.message}")
    x = np.where(np.asarray(res.x) > 1e-6, np.asarray(res.x), 0.0)
    if cfg.whole_lines:
        x = np.round(x)
    pick = np.flatnonzero(x > 0)

    # -- the new basket: kept parts of the lines, then the replacements ----------------------------
    inc_all = np.concatenate([u.increment, np.full(len(u.treasuries), 100)]).astype(np.int64)
    min_all = np.concatenate([u.min_piece, np.full(len(u.treasuries), 100)]).astype(np.int64)
    moved_share = np.bincount(pair_line[pick], x[pick], minlength=m)
    keep_q = basket.quantity.copy()
    partial = basket.quantity[eligible] * (1.0 - moved_share)
    keep_q[eligible] = np.where(moved_share >= 1.0 - 1e-9, 0.0, _round_face(
        partial, inc_all[basket.idx[eligible]], min_all[basket.idx[eligible]]))
    new_q = _round_face(face_j[pick] * x[pick], inc_all[j[pick]], min_all[j[pick]])
    keep = keep_q > 0
    add_ok = new_q > 0
    new_idx = np.concatenate([basket.idx[keep], j[pick][add_ok]])
    new_side = np.concatenate([basket.side[keep], basket.side[li[pick]][add_ok]])
    new_qty = np.concatenate([keep_q[keep], new_q[add_ok]])
    after_basket = Basket.of(u, new_idx, new_side, new_qty)
    after = analyse(ctx, after_basket, n_dealers=n_dealers)
    status = {0: "optimal", 1: "time_limit"}.get(int(res.status), "feasible")
    n_swaps = int(pick.size)
    message = (f"{n_swaps} of {eligible.size} illiquid lines replaced" if cfg.whole_lines else
               f"{n_swaps} replacement legs for {int((moved_share > 0).sum())} of {eligible.size} illiquid lines")
    return Optimisation(
        config=cfg, before=before, after=after, status=status, message=message,
        line=li[pick], candidate=j[pick], weight=x[pick], new_quantity=new_q,
        swap_saving=(cost_i - cost_j)[pick] * x[pick], swap_te=te[pick] * x[pick],
        n_candidates=nvar, n_eligible_lines=int(eligible.size),
        tracking_error_usd=tracking_error(ctx, basket, after_basket), objective_usd=float(res.fun or 0.0))


def _unchanged(cfg: OptimiseConfig, before: PretradeAnalysis, status: str, message: str) -> Optimisation:
    empty_i = np.zeros(0, dtype=np.int64)
    empty_f = np.zeros(0)
    return Optimisation(cfg, before, before, status, message, empty_i, empty_i, empty_f, empty_f, empty_f, empty_f,
                        0, int((before.score < cfg.min_score).sum()), 0.0, 0.0)


# ---- the report ---------------------------------------------------------------------------------------

_SIDE_BY_SIDE: Final = (
    ("n_lines", ("basket", "n_lines")),
    ("gross_notional", ("basket", "gross_notional")),
    ("gross_market_value", ("basket", "gross_market_value")),
    ("net_market_value", ("basket", "net_market_value")),
    ("net_dv01", ("basket", "net_dv01")),
    ("net_cs01", ("basket", "net_cs01")),
    ("duration", ("basket", "duration")),
    ("liquidity_score", ("basket", "liquidity_score")),
    ("r_squared_combined", ("basket", "r_squared", "combined")),
    ("rfq_cost_usd", ("basket", "liquidity_cost", "rfq_cost_usd")),
    ("pt_cost_usd", ("basket", "liquidity_cost", "pt_cost_usd")),
    ("pt_cost_bp", ("basket", "liquidity_cost", "pt_cost_bp")),
    ("diversification", ("basket", "liquidity_cost", "diversification")),
    ("dealer_rfq_charge_usd", ("basket", "dealer_charge", "rfq_usd")),
    ("dealer_pt_charge_usd", ("basket", "dealer_charge", "pt_usd")),
    ("dealer_pt_charge_bp", ("basket", "dealer_charge", "pt_bp")),
    ("lines_flagged", ("basket", "flags", "lines_flagged")),
    ("illiquid_lines", ("basket", "flags", "illiquid")),
)


def _dig(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def report(o: Optimisation) -> dict[str, Any]:
    """JSON-ready: status, settings, before and after side by side, the swaps, the new lines."""
    ctx = o.before.context
    u = ctx.universe
    risk = ctx.risk
    b0 = o.before.basket
    before = pretrade_report(o.before, include_lines=False)
    after = pretrade_report(o.after, include_lines=False)
    side_by_side: list[dict[str, Any]] = []
    for name, path in _SIDE_BY_SIDE:
        x0, x1 = _dig(before, path), _dig(after, path)
        change = round(x1 - x0, 6) if isinstance(x0, int | float) and isinstance(x1, int | float) else None
        side_by_side.append({"metric": name, "before": x0, "after": x1, "change": change})
    mixes = {kind: {"before": _dig(before, ("basket", kind)), "after": _dig(after, ("basket", kind))}
             for kind in ("rating_mix", "sector_mix")}
    gross_mv = before["basket"]["gross_market_value"] or 0.0
    te_bp = o.tracking_error_usd / gross_mv * 1e4 if gross_mv else 0.0
    swaps = []
    for k in range(o.line.size):
        i, j = int(o.line[k]), int(o.candidate[k])
        old, new = u.instruments[int(b0.idx[i])], u.instruments[j]
        swaps.append({
            "line": i, "side": "buy" if b0.side[i] > 0 else "sell", "weight": round(float(o.weight[k]), 6),
            "replaced": {"instrument": old.cusip, "issuer": old.issuer, "rating": old.rating, "sector": old.sector,
                         "liquidity_score": round(float(o.before.score[i]), 2),
                         "duration": round(float(risk.duration[int(b0.idx[i])]), 4), "quantity": int(b0.quantity[i])},
            "by": {"instrument": new.cusip, "issuer": new.issuer, "rating": new.rating, "sector": new.sector,
                   "liquidity_score": round(float(risk.score[j]), 2), "duration": round(float(risk.duration[j]), 4),
                   "quantity": int(o.new_quantity[k])},
            "expected_saving_usd": round(float(o.swap_saving[k]), 2),
            "tracking_error_usd": round(float(o.swap_te[k]), 2),
        })
    b1 = o.after.basket
    cfg = o.config
    return {
        "status": o.status,
        "message": o.message,
        "settings": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "eligible_lines": o.n_eligible_lines,
        "candidates_considered": o.n_candidates,
        "objective_usd": round(o.objective_usd, 2),
        "tracking_error": {"daily_usd": round(o.tracking_error_usd, 2), "daily_bp": round(te_bp, 4),
                           "annual_bp": round(te_bp * float(np.sqrt(TRADING_DAYS)), 2),
                           "bound_daily_usd": round(float(o.swap_te.sum()), 2)},
        "side_by_side": side_by_side,
        "mix": mixes,
        "before": before,
        "after": after,
        "replacements": swaps,
        "lines": [{"instrument": b1.instruments[i], "side": "buy" if b1.side[i] > 0 else "sell",
                   "quantity": int(b1.quantity[i])} for i in range(b1.n)],
        "explanation": _explain(o, before, after),
    }


def _explain(o: Optimisation, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    cfg = o.config
    c0 = before["basket"]["liquidity_cost"]["pt_cost_usd"]
    c1 = after["basket"]["liquidity_cost"]["pt_cost_usd"]
    out = [
        f"Lines scoring below {cfg.min_score:g} are candidates for replacement by bonds of the same "
        f"{'sector and ' if cfg.same_sector else ''}grade within {cfg.rating_notches} rating notch(es), scoring at "
        f"least {cfg.min_score_gain:g} more, at the same side and market value.",
        f"The programme minimises expected liquidity cost + {cfg.te_aversion:g} x daily tracking-error sigma (USD), "
        f"keeping the duration within {cfg.duration_tolerance:g} years, the net DV01 within "
        f"{cfg.dv01_tolerance:.0%} of the gross DV01 and every rating and sector share within "
        f"{cfg.mix_tolerance:.0%}" + (f", the tracking-error bound within {cfg.max_tracking_error_bp:g} bp a day"
                                       if cfg.max_tracking_error_bp is not None else "") + ".",
        f"{o.message}: expected portfolio liquidity cost {c0:,.2f} -> {c1:,.2f} USD; tracking error against the "
        f"original basket {o.tracking_error_usd:,.2f} USD a day (factor model, exact).",
    ]
    return out


def with_overrides(cfg: OptimiseConfig, **overrides: Any) -> OptimiseConfig:
    """``cfg`` with the given fields replaced (``None`` values ignored)."""
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
