"""The switch-trade scenario: a bond fund shortens its duration and cuts its BBB exposure, twice.

A 2 bn USD investment-grade corporate bond fund sits at a duration of 7.5 years with a BBB
overweight. It moves to 6.0 years and a lower BBB weight with a switch: it sells its longest
BBB lines and buys shorter A-or-better bonds, about 300 mm each side. The same list is executed
twice from the same starting market:

(a) **RFQ path**: one single-bond RFQ per line, one after another (``rfq_concurrency`` at a
    time, ``rfq_gap_s`` between them, as a trader would), to five dealers, on the evolving market
    with impact and leakage on: every inquiry moves the mids of its bond, its issuer and its
    sector in the direction of the fund's trade, so later lines are priced off worse mids. The
    trader awards the best quote only inside a limit set before the exercise (see ``limit_bp``);
    lines with no acceptable quote are left undone: a leg-out.
(b) **PT path**: the whole list as one portfolio inquiry to three dealers; the best net price is
    awarded; every line is done.

Definitions (what the report shows):

* **cost** = sum over executed lines of ``side x (execution price - arrival mid) x quantity / 100``
  (``side`` +1 buy, -1 sell; arrival mid: the evaluated mid at the *start* of the exercise), in USD
  and in bp of the executed face notional. Positive: the fund paid.
* **opportunity cost** (RFQ path): for the lines left undone, how far their mids moved against the
  fund between the start and the end of the exercise (``side x (end mid - arrival mid) x qty /
  100``), plus what completing them later is expected to cost (the single-bond RFQ cost curve of
  CALIBRATION.md section 1 at each line's liquidity score). Reported separately, never netted
  into the cost.
* **completion** = executed face notional / the list's face notional.
* **elapsed** = time from the first inquiry to the last award (simulated time in ``--sim`` mode,
  wall time against a live venue).
* **fund after**: duration and BBB weight of the fund's net asset value (bonds at the starting
  evaluated mids plus accrued, plus the cash the trades settled; cash has zero duration), so a
  leg-out shows up as a missed target.

The building blocks here work on a :class:`BondTable` (identifiers, ratings, evaluated mids,
durations, liquidity scores), built from the reference universe in simulation or from the
venue's API in live mode, so both modes construct the same fund and the same trade list.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from dealer_bots.pricing.liquidity import rfq_cost_bp

__all__ = [
    "A_OR_BETTER",
    "BondTable",
    "Fund",
    "FundState",
    "LineOutcome",
    "PathResult",
    "PlanLine",
    "SwitchPlan",
    "SwitchTradeConfig",
    "SwitchTradeResult",
    "build_fund",
    "fund_state",
    "limit_bp",
    "plan_switch",
    "prepare",
    "run_switch_trade",
    "summarise_path",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

A_OR_BETTER = ("AAA", "AA", "A")
IG = ("AAA", "AA", "A", "BBB")
FACE_ROUND = 10_000  # trade and position sizes are rounded to this face (a multiple of every increment)


@dataclass(frozen=True)
class SwitchTradeConfig:
    """Everything the scenario depends on. Defaults: the issue's 2 bn fund, 7.5 -> 6.0 years."""

    seed: int = 7
    """The demo's seed: the fund's draw and the market's random path (``--sim``)."""
    fund_nav_usd: float = 2_000_000_000.0
    fund_lines: int = 160
    """Bonds in the fund."""
    start_duration: float = 7.5
    start_bbb_weight: float = 0.60
    target_duration: float = 6.0
    target_bbb_weight: float = 0.45
    """The switch sells ``(start_bbb_weight - target_bbb_weight) x NAV`` of BBB (300 mm by default)."""
    long_bbb_duration: float = 11.0
    """BBB bonds at least this long are the fund's 'long BBB' sleeve (the sells come from it)."""
    long_bbb_share: float = 0.22
    """Share of the fund's NAV in the long-BBB sleeve before the optimiser adjusts the weights."""
    max_position_share: float = 0.05
    """No position above this share of the bond's amount outstanding."""
    buy_lines: int = 25
    buy_min_duration: float = 1.0
    buy_max_duration: float = 5.0
    """Buys are A-or-better bonds with modified duration in this range ('shorter')."""
    min_issue_usd: float = 300_000_000.0
    """Index rule: bonds of smaller issues are not held or bought."""
    # -- execution --------------------------------------------------------------------------------
    rfq_panel: tuple[str, ...] | None = None
    """Dealers per RFQ (None: the venue's default panel, five dealers)."""
    pt_panel: tuple[str, ...] | None = None
    """Dealers of the portfolio inquiry (None: the venue's default, its first three)."""
    rfq_concurrency: int = 1
    """RFQs in flight at once."""
    rfq_gap_s: float = 20.0
    """Time between one RFQ ending and the next starting (the trader's pace)."""
    rfq_decision_s: float = 10.0
    """The trader decides when every dealer answered, or this long after asking."""
    pt_decision_s: float = 60.0
    rfq_time_limit_s: float = 30.0
    pt_time_limit_s: float = 300.0
    limit_base_bp: float = 5.0
    limit_spread_bp: float = 1.5
    limit_multiple: float = 1.5
    """The trader's limit per line: mid at the start -/+ ``limit_base_bp + limit_spread_bp x duration +
    limit_multiple x RFQ cost curve(score)`` bp of price (see :func:`limit_bp`)."""
    # -- the simulated venue (``--sim``) ----------------------------------------------------------
    universe_seed: int = 7
    universe_size: int = 2000
    market_step_s: float = 60.0
    impact_bp: float = 2.0
    dealer_leakage_slope: float = 0.25
    portfolio_leakage_factor: float = 0.2

    def __post_init__(self) -> None:
        if self.fund_nav_usd <= 0 or self.fund_lines < 10:
            raise ValueError("the fund needs a positive NAV and at least 10 lines")
        if not 0.0 <= self.target_bbb_weight < self.start_bbb_weight <= 1.0:
            raise ValueError("target_bbb_weight must be below start_bbb_weight (a cut), both in [0, 1]")
        if not 0.0 < self.target_duration < self.start_duration:
            raise ValueError("target_duration must be positive and below start_duration (a shortening)")
        if self.rfq_concurrency < 1 or self.buy_lines < 2:
            raise ValueError("rfq_concurrency must be >= 1 and buy_lines >= 2")
        if not 0.0 < self.buy_min_duration < self.buy_max_duration:
            raise ValueError("need 0 < buy_min_duration < buy_max_duration")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("rfq_panel", "pt_panel"):
            out[k] = list(out[k]) if out[k] is not None else None
        return out


def limit_bp(cfg: SwitchTradeConfig, score: FloatArray | float, duration: FloatArray | float) -> FloatArray:
    """The trader's tolerance per line, bp of price against the mid at the start of the exercise.

    ``limit_base_bp`` flat, plus ``limit_spread_bp x duration``: room for the market to move (a spread
    move, so more price for longer bonds), plus ``limit_multiple x`` the single-bond RFQ cost curve at
    the bond's liquidity score (CALIBRATION.md section 1): more room for less liquid bonds."""
    return np.asarray(cfg.limit_base_bp + cfg.limit_spread_bp * np.asarray(duration)
                      + cfg.limit_multiple * rfq_cost_bp(score), dtype=np.float64)


# ---- the bonds ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BondTable:
    """Investment-grade corporate bonds with their evaluated market at the start (arrays aligned)."""

    cusip: tuple[str, ...]
    name: tuple[str, ...]  # ticker coupon maturity
    issuer: tuple[str, ...]
    sector: tuple[str, ...]
    rating: NDArray[np.str_]
    amount: FloatArray  # amount outstanding, USD face
    mid: FloatArray  # evaluated mid, clean per 100
    accrued: FloatArray  # per 100 at settlement
    duration: FloatArray  # modified duration, years
    score: FloatArray  # liquidity score 1..100

    @property
    def n(self) -> int:
        return len(self.cusip)

    @property
    def dirty(self) -> FloatArray:
        return np.asarray(self.mid + self.accrued, dtype=np.float64)

    @property
    def is_bbb(self) -> BoolArray:
        return np.asarray(self.rating == "BBB")

    @property
    def a_or_better(self) -> BoolArray:
        return np.asarray(np.isin(self.rating, A_OR_BETTER))

    def position_of(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.cusip)}


# ---- the fund -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundState:
    nav_usd: float
    bonds_usd: float
    cash_usd: float
    duration: float
    bbb_weight: float
    lines: int


@dataclass(frozen=True, eq=False)
class Fund:
    face: FloatArray  # USD face per bond of the table (0: not held)
    state: FundState
    universe_bbb_weight: float  # BBB share of the eligible universe's market value: what "overweight" is against


def fund_state(table: BondTable, face: FloatArray, cash: float = 0.0) -> FundState:
    """NAV, duration and BBB weight of holdings ``face`` plus ``cash`` at the table's starting market."""
    mv = face * table.dirty / 100.0
    bonds = float(mv.sum())
    nav = bonds + cash
    dur = float(mv @ table.duration) / nav if nav > 0 else math.nan
    bbb = float(mv @ table.is_bbb) / nav if nav > 0 else math.nan
    return FundState(nav, bonds, cash, dur, bbb, int(np.count_nonzero(face > 0)))


def _draw(rng: np.random.Generator, pool: IntArray, k: int, weight: FloatArray) -> IntArray:
    k = min(k, len(pool))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    p = weight[pool] / weight[pool].sum()
    return np.sort(rng.choice(pool, size=k, replace=False, p=p)).astype(np.int64)


def _fit_weights(w0: FloatArray, a: FloatArray, b: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """``argmin sum(((w - w0) / w0) ** 2)`` subject to ``a w = b`` and ``lo <= w <= hi``.

    A weighted least-squares projection onto the equality constraints (closed form), then an
    active-set loop: weights pushed past a bound are fixed at it and the rest re-solved."""
    w = w0.copy()
    free = np.ones(len(w0), dtype=bool)
    fixed = np.zeros(len(w0))
    for _ in range(len(w0) + 1):
        s = w0[free] ** 2
        af = a[:, free]
        rhs = b - a[:, ~free] @ fixed[~free] - af @ w0[free]
        mu = np.linalg.solve((af * s) @ af.T, rhs)
        w_free = w0[free] + s * (af.T @ mu)
        w = fixed.copy()
        w[free] = w_free
        below = free & (w < lo - 1e-15)
        above = free & (w > hi + 1e-15)
        if not below.any() and not above.any():
            return w
        fixed[below] = lo[below]
        fixed[above] = hi[above]
        free &= ~(below | above)
        if free.sum() < a.shape[0]:
            break
    raise ValueError("cannot build a fund with these targets from this universe (the weight bounds bind)")


def build_fund(table: BondTable, cfg: SwitchTradeConfig, rng: np.random.Generator) -> Fund:
    """A fund of ``cfg.fund_lines`` bonds at ``start_duration`` and ``start_bbb_weight`` (exactly, up to rounding).

    Three sleeves are drawn (bigger issues more likely): long BBB (duration >= ``long_bbb_duration``),
    other BBB, and A-or-better; each starts at its share of NAV with random weights inside it, then
    the weights are moved as little as possible (relative least squares) to hit the duration and the
    BBB weight, each within a quarter and four times its draw and under ``max_position_share`` of the
    issue. Positions are rounded to 10,000 face."""
    eligible = table.amount >= cfg.min_issue_usd
    idx = np.arange(table.n, dtype=np.int64)
    long_bbb = idx[eligible & table.is_bbb & (table.duration >= cfg.long_bbb_duration)]
    other_bbb = idx[eligible & table.is_bbb & (table.duration < cfg.long_bbb_duration)]
    better = idx[eligible & table.a_or_better]
    n = cfg.fund_lines
    n_long = max(round(n * cfg.long_bbb_share * 1.1), 3)
    n_bbb = max(round(n * cfg.start_bbb_weight) - n_long, 3)
    n_better = max(n - n_long - n_bbb, 3)
    weight = np.sqrt(table.amount)
    picks = [_draw(rng, long_bbb, n_long, weight), _draw(rng, other_bbb, n_bbb, weight),
             _draw(rng, better, n_better, weight)]
    shares = (cfg.long_bbb_share, cfg.start_bbb_weight - cfg.long_bbb_share, 1.0 - cfg.start_bbb_weight)
    w0_parts = []
    for pick, share in zip(picks, shares, strict=True):
        raw = rng.lognormal(0.0, 0.35, size=len(pick))
        w0_parts.append(share * raw / raw.sum() if len(pick) else raw)
    held = np.concatenate(picks)
    w0 = np.concatenate(w0_parts)
    dur = table.duration[held]
    bbb = table.is_bbb[held].astype(np.float64)
    a = np.vstack([np.ones(len(held)), dur, bbb])
    b = np.array([1.0, cfg.start_duration, cfg.start_bbb_weight])
    cap = cfg.max_position_share * table.amount[held] * table.dirty[held] / 100.0 / cfg.fund_nav_usd
    w = _fit_weights(w0, a, b, np.minimum(0.25 * w0, cap), np.minimum(4.0 * w0, cap))
    face = np.zeros(table.n)
    face[held] = np.round(w * cfg.fund_nav_usd / (table.dirty[held] / 100.0) / FACE_ROUND) * FACE_ROUND
    universe_mv = np.where(eligible, table.amount * table.dirty / 100.0, 0.0)
    return Fund(face, fund_state(table, face), float(universe_mv @ table.is_bbb / universe_mv.sum()))


# ---- the trade list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanLine:
    i: int  # row of the bond table
    cusip: str
    name: str
    side: Literal["buy", "sell"]
    quantity: int  # face
    rating: str
    sector: str
    duration: float
    score: float
    mid: float  # arrival evaluated mid (start of the exercise), clean
    dirty: float
    limit_bp: float  # the trader's tolerance against the arrival mid
    limit_price: float

    @property
    def sign(self) -> int:
        return 1 if self.side == "buy" else -1

    @property
    def market_value(self) -> float:
        return self.quantity * self.dirty / 100.0


@dataclass(frozen=True)
class SwitchPlan:
    lines: tuple[PlanLine, ...]
    planned: FundState  # the fund if every line traded at its arrival mid
    sell_usd: float
    buy_usd: float
    required_buy_duration: float

    @property
    def notional(self) -> int:
        return sum(ln.quantity for ln in self.lines)

    def execution_order(self) -> list[int]:
        """Positions in ``lines`` in the order the RFQ trader works them: sells and buys alternately
        (cash and duration stay roughly balanced as the trader goes), each side in list order."""
        sells = [k for k, ln in enumerate(self.lines) if ln.side == "sell"]
        buys = [k for k, ln in enumerate(self.lines) if ln.side == "buy"]
        out: list[int] = []
        for j in range(max(len(sells), len(buys))):
            out.extend(x[j] for x in (sells, buys) if j < len(x))
        return out


def _line(table: BondTable, cfg: SwitchTradeConfig, i: int, side: Literal["buy", "sell"], qty: int) -> PlanLine:
    tol = float(limit_bp(cfg, float(table.score[i]), float(table.duration[i])))
    mid = float(table.mid[i])
    sign = 1 if side == "buy" else -1
    return PlanLine(i, table.cusip[i], table.name[i], side, qty, str(table.rating[i]), table.sector[i],
                    float(table.duration[i]), float(table.score[i]), mid, float(table.dirty[i]), tol,
                    mid * (1.0 + sign * tol * 1e-4))


def plan_switch(table: BondTable, fund: Fund, cfg: SwitchTradeConfig, rng: np.random.Generator) -> SwitchPlan:
    """The trade list, by a transparent greedy rule.

    1. **Sells**: ``(start_bbb_weight - target_bbb_weight) x NAV`` of market value, from the fund's
       BBB positions, longest duration first, each sold whole (the last one in part).
    2. **Buys**: the same market value (cash-neutral at mid), in ``buy_lines`` A-or-better bonds not
       held, of issues of at least 500 mm, with modified duration in ``[buy_min_duration,
       buy_max_duration]``. Their value-weighted duration must be
       ``D* = (target x NAV - fund duration x NAV + sum of sold MV x duration) / buys``; half the
       lines are drawn below ``D*`` and half above, equal value within each half, and the two
       halves' totals are split so the buys average exactly ``D*``.

    Sizes are rounded to 10,000 face; the planned fund (every line done at its arrival mid) lands on
    the targets up to that rounding."""
    state = fund.state
    nav = state.nav_usd
    mv = fund.face * table.dirty / 100.0
    sell_target = (state.bbb_weight - cfg.target_bbb_weight) * nav
    if sell_target <= 0:
        raise ValueError("the fund is already at or below the target BBB weight")
    held_bbb = np.flatnonzero((fund.face > 0) & table.is_bbb)
    order = held_bbb[np.lexsort((held_bbb, -table.duration[held_bbb]))]
    sells: list[tuple[int, int]] = []
    left = sell_target
    for i in order.tolist():
        if left <= FACE_ROUND * table.dirty[i] / 100.0:
            break
        take = min(float(mv[i]), left)
        qty = int(round(take / (table.dirty[i] / 100.0) / FACE_ROUND) * FACE_ROUND)
        qty = min(qty, int(fund.face[i]))
        if qty <= 0:
            continue
        sells.append((i, qty))
        left -= qty * table.dirty[i] / 100.0
    if not sells:
        raise ValueError("the fund holds no BBB bonds to sell")
    sell_mv = sum(q * table.dirty[i] / 100.0 for i, q in sells)
    sold_dur = sum(q * table.dirty[i] / 100.0 * table.duration[i] for i, q in sells)
    need = (cfg.target_duration - state.duration) * nav + sold_dur  # buys' MV x duration
    d_star = need / sell_mv
    eligible = ((fund.face == 0) & table.a_or_better & (table.amount >= max(cfg.min_issue_usd, 500_000_000.0))
                & (table.duration >= cfg.buy_min_duration) & (table.duration <= cfg.buy_max_duration))
    pool = np.flatnonzero(eligible).astype(np.int64)
    lo_pool = pool[table.duration[pool] < d_star]
    hi_pool = pool[table.duration[pool] >= d_star]
    if not len(lo_pool) or not len(hi_pool):
        raise ValueError(f"the buys would need an average duration of {d_star:.2f} years, outside the "
                         f"{cfg.buy_min_duration:g}-{cfg.buy_max_duration:g} year range of the candidates")
    weight = np.sqrt(table.amount)
    n_lo = cfg.buy_lines // 2
    lo = _draw(rng, lo_pool, n_lo, weight)
    hi = _draw(rng, hi_pool, cfg.buy_lines - n_lo, weight)
    d_lo = float(table.duration[lo].mean())
    d_hi = float(table.duration[hi].mean())
    alpha = (d_hi - d_star) / (d_hi - d_lo)  # share of the buys' value in the short half
    buys: list[tuple[int, int]] = []
    for group, total in ((lo, alpha * sell_mv), (hi, (1.0 - alpha) * sell_mv)):
        each = total / len(group)  # equal value per line: the half's value-weighted duration is its mean
        for i in group.tolist():
            qty = int(round(each / (table.dirty[i] / 100.0) / FACE_ROUND) * FACE_ROUND)
            if qty > 0:
                buys.append((i, qty))
    lines = [_line(table, cfg, i, "sell", q) for i, q in sells] + [_line(table, cfg, i, "buy", q) for i, q in buys]
    after = fund.face.copy()
    for ln in lines:
        after[ln.i] += ln.sign * ln.quantity
    cash = -sum(ln.sign * ln.market_value for ln in lines)
    buy_mv = sum(ln.market_value for ln in lines if ln.side == "buy")
    return SwitchPlan(tuple(lines), fund_state(table, after, cash), sell_mv, buy_mv, d_star)


# ---- outcomes ---------------------------------------------------------------------------------------


@dataclass
class LineOutcome:
    """What happened to one line of the list on one path."""

    line: int  # position in the plan
    done: bool = False
    price: float | None = None  # clean execution price
    net_money: float = 0.0  # cash to the fund (negative: paid), accrued included
    dealer: str | None = None
    inquiry_id: str | None = None
    asked_s: float | None = None  # seconds after the exercise started
    done_s: float | None = None
    quotes: int = 0
    passes: int = 0
    best_price: float | None = None  # best quote seen (also when it was outside the limit)
    mid_at_ask: float | None = None  # evaluated mid just before the line was asked
    leak_at_ask_bp: float | None = None  # of its move since the start, what earlier inquiries' impact did (sim
    #                                      mode): bp of price, positive when against the fund
    own_impact_bp: float | None = None  # how far the line's own RFQ moved its mid against the fund (sim mode)
    end_mid: float | None = None  # evaluated mid at the end of the exercise
    reason: str = ""


@dataclass
class PathResult:
    path: Literal["rfq", "pt"]
    dealers: list[str]
    inquiries: int
    lines: list[LineOutcome]
    elapsed_s: float
    target_notional: int
    executed_notional: int
    completion: float
    cost_usd: float
    cost_bp: float
    undone_lines: int
    opportunity_market_usd: float
    opportunity_completion_usd: float
    fund_after: FundState
    own_impact_bp: float | None = None
    """Face-weighted mean of how far each line's own inquiry moved its mid against the fund before the
    dealers priced it (sim mode; None against a live venue, where it is not observable)."""
    earlier_leak_bp: float | None = None
    """Face-weighted mean of how far earlier inquiries' impact had moved each line's mid when it was asked."""
    cost_by_bucket: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def opportunity_cost_usd(self) -> float:
        return self.opportunity_market_usd + self.opportunity_completion_usd

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["opportunity_cost_usd"] = self.opportunity_cost_usd
        return out


BUCKETS = (("illiquid (<40)", 0.0, 40.0), ("mid (40-70)", 40.0, 70.0), ("liquid (>=70)", 70.0, 101.0))


def summarise_path(path: Literal["rfq", "pt"], table: BondTable, fund: Fund, plan: SwitchPlan,
                   outcomes: Sequence[LineOutcome], *, dealers: Sequence[str], inquiries: int,
                   elapsed_s: float) -> PathResult:
    """Cost, completion, opportunity cost and the fund after, from the lines' outcomes."""
    cost = 0.0
    done_qty = 0
    opp_market = 0.0
    opp_complete = 0.0
    cash = 0.0
    face = fund.face.copy()
    by_bucket = {name: {"lines": 0.0, "done": 0.0, "notional": 0.0, "executed": 0.0, "cost_usd": 0.0}
                 for name, _, _ in BUCKETS}
    for ln, out in zip(plan.lines, outcomes, strict=True):
        bucket = next(name for name, lo, hi in BUCKETS if lo <= ln.score < hi)
        b = by_bucket[bucket]
        b["lines"] += 1
        b["notional"] += ln.quantity
        if out.done and out.price is not None:
            c = ln.sign * (out.price - ln.mid) * ln.quantity / 100.0
            cost += c
            done_qty += ln.quantity
            cash += out.net_money
            face[ln.i] += ln.sign * ln.quantity
            b["done"] += 1
            b["executed"] += ln.quantity
            b["cost_usd"] += c
        else:
            if out.end_mid is not None:
                opp_market += ln.sign * (out.end_mid - ln.mid) * ln.quantity / 100.0
            opp_complete += ln.quantity * float(rfq_cost_bp(ln.score)) * 1e-4
    for b in by_bucket.values():
        b["cost_bp"] = b["cost_usd"] / b["executed"] * 1e4 if b["executed"] > 0 else 0.0
    target = plan.notional

    def weighted(values: list[float | None]) -> float | None:
        pairs = [(v, ln.quantity) for v, ln in zip(values, plan.lines, strict=True) if v is not None]
        total = sum(q for _, q in pairs)
        return sum(v * q for v, q in pairs) / total if pairs and total > 0 else None

    return PathResult(
        path=path, dealers=list(dealers), inquiries=inquiries, lines=list(outcomes), elapsed_s=elapsed_s,
        target_notional=target, executed_notional=done_qty, completion=done_qty / target if target else 0.0,
        cost_usd=cost, cost_bp=cost / done_qty * 1e4 if done_qty else 0.0,
        undone_lines=sum(1 for o in outcomes if not o.done), opportunity_market_usd=opp_market,
        opportunity_completion_usd=opp_complete, fund_after=fund_state(table, face, cash),
        own_impact_bp=weighted([o.own_impact_bp for o in outcomes]),
        earlier_leak_bp=weighted([o.leak_at_ask_bp for o in outcomes]), cost_by_bucket=by_bucket)


@dataclass
class SwitchTradeResult:
    """Both paths and everything needed to print or render them (``to_dict`` is JSON-ready)."""

    mode: Literal["sim", "live"]
    config: SwitchTradeConfig
    venue: str  # "in-process (simulated clock)" or the URL
    fund: FundState
    plan: SwitchPlan
    rfq: PathResult
    pt: PathResult
    universe_bbb_weight: float
    wall_s: float = 0.0  # the run's own wall time (not part of the deterministic figures)
    notes: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The headline numbers of both paths (deterministic under the seed in ``--sim`` mode)."""
        out: dict[str, Any] = {
            "fund_start": asdict(self.fund),
            "universe_bbb_weight": self.universe_bbb_weight,
            "planned": asdict(self.plan.planned),
            "target_duration": self.config.target_duration,
            "target_bbb_weight": self.config.target_bbb_weight,
            "lines": len(self.plan.lines),
            "sell_usd": self.plan.sell_usd,
            "buy_usd": self.plan.buy_usd,
        }
        for p in (self.rfq, self.pt):
            out[p.path] = {
                "cost_usd": p.cost_usd, "cost_bp": p.cost_bp, "completion": p.completion,
                "executed_notional": p.executed_notional, "target_notional": p.target_notional,
                "undone_lines": p.undone_lines, "opportunity_cost_usd": p.opportunity_cost_usd,
                "opportunity_market_usd": p.opportunity_market_usd,
                "opportunity_completion_usd": p.opportunity_completion_usd,
                "elapsed_s": p.elapsed_s, "duration_after": p.fund_after.duration,
                "bbb_weight_after": p.fund_after.bbb_weight, "inquiries": p.inquiries,
                "own_impact_bp": p.own_impact_bp, "earlier_leak_bp": p.earlier_leak_bp,
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "venue": self.venue, "config": self.config.to_dict(), "figures": self.figures(),
            "plan": [asdict(ln) for ln in self.plan.lines], "required_buy_duration": self.plan.required_buy_duration,
            "rfq": self.rfq.to_dict(), "pt": self.pt.to_dict(), "wall_s": self.wall_s, "notes": list(self.notes),
        }


# ---- the run ----------------------------------------------------------------------------------------

Progress = Callable[[str], None]


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    from server.research.seeds import stream

    return stream(seed, "demo", "fund"), stream(seed, "demo", "buys")


def prepare(table: BondTable, cfg: SwitchTradeConfig) -> tuple[Fund, SwitchPlan]:
    """The fund and its trade list, from the demo's seed (the same in both modes)."""
    fund_rng, buy_rng = _streams(cfg.seed)
    fund = build_fund(table, cfg, fund_rng)
    return fund, plan_switch(table, fund, cfg, buy_rng)


def run_switch_trade(cfg: SwitchTradeConfig, *, url: str | None = None, api_key: str | None = None,
                     progress: Progress | None = None) -> SwitchTradeResult:
    """Run both paths: in-process on the simulated clock (``url`` None) or against the venue at ``url``."""
    t0 = time.perf_counter()
    say = progress or (lambda message: None)
    if url is None:
        from server.demo.sim import bond_table, run_pt_sim, run_rfq_sim, sim_universe, start_ns

        universe = sim_universe(cfg.universe_seed, cfg.universe_size)
        table, ig = bond_table(universe, universe.initial_market(), start_ns(universe))
        fund, plan = prepare(table, cfg)
        say(f"fund of {fund.state.lines} bonds; switch of {len(plan.lines)} lines")
        rfq = run_rfq_sim(cfg, universe, table, ig, fund, plan)
        say(f"RFQ path: {len(plan.lines) - rfq.undone_lines}/{len(plan.lines)} lines done")
        pt = run_pt_sim(cfg, universe, table, ig, fund, plan)
        say("portfolio trade: " + ("done" if pt.completion == 1.0 else "not done"))
        notes = ["Both paths start from the same simulated market (same seed, same random market path) with "
                 "fresh dealers; impact and leakage on."]
        result = SwitchTradeResult("sim", cfg, "in-process (simulated clock)", fund.state, plan, rfq, pt,
                                   fund.universe_bbb_weight, notes=notes)
    else:
        import asyncio

        result = asyncio.run(_run_live(cfg, url, api_key, say))
    result.wall_s = time.perf_counter() - t0
    return result


async def _run_live(cfg: SwitchTradeConfig, url: str, api_key: str | None, say: Progress) -> SwitchTradeResult:
    from clients.sdk import AsyncVenueClient
    from server.demo.live import fetch_bond_table, run_pt_live, run_rfq_live

    async with AsyncVenueClient(url, api_key) as venue:
        table = await fetch_bond_table(venue, cfg, say)
        fund, plan = prepare(table, cfg)
        say(f"fund of {fund.state.lines} bonds; switch of {len(plan.lines)} lines")
        rfq = await run_rfq_live(venue, cfg, table, fund, plan, say)
        pt = await run_pt_live(venue, cfg, table, fund, plan, say)
    notes = ["Both paths ran on the same live venue, the RFQ path first: the dealers' books after the RFQs "
             "were still theirs when the portfolio inquiry arrived.",
             "Elapsed times are on the venue's clock (wall time). Leakage shows only if the venue's evaluated mids "
             "move with inquiries (the default live venue's mids are static)."]
    return SwitchTradeResult("live", cfg, url, fund.state, plan, rfq, pt, fund.universe_bbb_weight, notes=notes)
