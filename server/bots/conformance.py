"""Conformance checker: run a dealer bot through a battery of inquiries and report what it got wrong.

``run_conformance("package.module:Class")`` (or a class, or an instance) builds a reference
universe, a venue (:class:`server.venue.engine.Venue`), a bot host and a simulated runtime, sends
the bot single-bond RFQs (investment grade, high yield, illiquid and a Treasury; client buys,
sells and two-way requests for market; price, spread and yield quotes) and portfolio inquiries
(1 line, one-sided IG and HY baskets, an illiquid basket, a two-sided mixed basket and a
5,000-line basket), and checks each answer:

* ``exception``: the bot raised (the host would turn it into a pass);
* ``action``: it returned something that is not a ``Quote``, ``Pass``, ``Withdraw`` or ``None``;
* ``deadline``: its own compute time (``time.perf_counter_ns`` around ``on_inquiry``: the checker is
  a tool, not the engine) exceeded the deadline;
* ``finite``: a level, bid, offer, net price or line price is NaN or infinite;
* ``reconciles``: a basket's net price differs from the sum of its lines by more than the venue's
  tolerance (1 cent);
* ``accepted``: the venue refused the quote (wrong form for the quote type, out of bounds, ...),
  with the venue's own reason: validation is the venue's, not a copy of it;
* ``side``: a level on the wrong side of the evaluated mid (a bid above mid, an offer below; a
  basket whose net price gives the client more than the mid value);
* ``lines_side`` (warning): basket lines priced through mid (legal if the net is on the right side);
* ``passed`` (warning): the bot passed of its own accord, with its reason.

A report passes when no check of severity ``error`` failed. ``format_report`` renders it as text.
"""

from __future__ import annotations

import importlib
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from server.bots.host import BotHost, BotSpec
from server.bots.protocol import (
    DealerStrategy,
    Feedback,
    InquiryView,
    InventoryView,
    MarketView,
    Pass,
    Quote,
    Withdraw,
)
from server.domain import events as ev
from server.domain.calendar import add_business_days, is_business_day, ns_from_date
from server.domain.commands import Command, CreatePortfolio, CreateRfq, LineSpec
from server.domain.types import NS_PER_MS, NS_PER_SECOND, QuoteType, Role, Side
from server.market.universe import MarketSnapshot, Universe, UniverseConfig, build_universe
from server.runtime.sim import SimRuntime
from server.venue.engine import Venue
from server.venue.rules import VenueRules

__all__ = [
    "CaseResult",
    "Check",
    "ConformanceReport",
    "format_report",
    "load_bot",
    "run_conformance",
]

Severity = Literal["error", "warning"]
CLIENT = "conformance-client"
DEALER = "dealer-under-test"
SILENT = ("silent-1", "silent-2", "silent-3")  # panel members who never answer: the bot sees a panel of 4
_PT_SIZES = np.array([250_000, 500_000, 1_000_000, 2_000_000, 5_000_000], dtype=np.int64)
_LARGE_PT_SIZES = np.array([100_000, 250_000, 500_000], dtype=np.int64)  # a 5,000-line basket of ~1.4 bn
_RFQ_SIZE = 1_000_000


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    message: str = ""
    severity: Severity = "error"


@dataclass(slots=True)
class CaseResult:
    name: str
    description: str
    n_lines: int
    outcome: str = "no_response"  # quoted, passed, error, late, rejected, not_an_action, no_response
    elapsed_ms: float | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.severity == "error")

    def failed(self, severity: Severity = "error") -> list[Check]:
        return [c for c in self.checks if not c.ok and c.severity == severity]


@dataclass(slots=True)
class ConformanceReport:
    target: str
    deadline_ms: float
    cases: list[CaseResult] = field(default_factory=list)
    setup_error: str | None = None

    @property
    def passed(self) -> bool:
        return self.setup_error is None and all(c.ok for c in self.cases)

    def failures(self) -> list[tuple[CaseResult, Check]]:
        return [(c, k) for c in self.cases for k in c.failed("error")]

    def warnings(self) -> list[tuple[CaseResult, Check]]:
        return [(c, k) for c in self.cases for k in c.failed("warning")]

    def case(self, name: str) -> CaseResult:
        for c in self.cases:
            if c.name == name:
                return c
        raise KeyError(name)


# ---- loading ---------------------------------------------------------------------------------


def load_bot(target: str | type | DealerStrategy) -> tuple[str, DealerStrategy]:
    """The bot named by ``"package.module:Class"`` (instantiated without arguments), a class, or an instance."""
    if isinstance(target, str):
        module_name, sep, attr = target.partition(":")
        if not sep or not module_name or not attr:
            raise ValueError(f"{target!r} is not an import path of the form 'package.module:Class'")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        name = target
    else:
        obj = target
        cls = target if isinstance(target, type) else type(target)
        name = f"{cls.__module__}:{cls.__qualname__}"
    bot = obj() if isinstance(obj, type) else obj
    if not isinstance(bot, DealerStrategy):
        raise TypeError(f"{name} is not a dealer bot: it needs on_inquiry(inquiry, market, inventory) and "
                        "on_feedback(feedback)")
    return name, bot


class _Probe:
    """Wraps the bot: times ``on_inquiry`` and records what it returned or raised."""

    def __init__(self, bot: DealerStrategy) -> None:
        self.bot = bot
        self.elapsed_ns: dict[str, int] = {}
        self.actions: dict[str, object] = {}
        self.errors: dict[str, str] = {}

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Any:
        start = time.perf_counter_ns()
        try:
            action = self.bot.on_inquiry(inquiry, market, inventory)
        except Exception as exc:
            self.elapsed_ns[inquiry.inquiry_id] = time.perf_counter_ns() - start
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f" (at {frame.filename}:{frame.lineno})" if frame else ""
            self.errors[inquiry.inquiry_id] = f"{type(exc).__name__}: {exc}{where}"
            raise
        self.elapsed_ns[inquiry.inquiry_id] = time.perf_counter_ns() - start
        self.actions[inquiry.inquiry_id] = action
        return action

    def on_feedback(self, feedback: Feedback) -> None:
        self.bot.on_feedback(feedback)


# ---- the battery -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Case:
    name: str
    description: str
    command: Callable[[tuple[str, ...]], Command]
    n_lines: int


@lru_cache(maxsize=4)
def _universe(seed: int, n_bonds: int) -> Universe:
    return build_universe(UniverseConfig(seed=seed, n_bonds=n_bonds, n_issuers=max(60, n_bonds // 6)))


def _pick(candidates: NDArray[np.int64], score: NDArray[np.float64], target: float) -> int:
    return int(candidates[np.argmin(np.abs(score[candidates] - target))])


def _battery(universe: Universe, market: MarketSnapshot, seed: int, large: int) -> list[_Case]:
    rng = np.random.default_rng(seed)
    nb = universe.n_bonds
    score = np.asarray(market.liquidity_score, dtype=np.float64)
    ig = np.flatnonzero(~universe.is_hy).astype(np.int64)
    hy = np.flatnonzero(universe.is_hy).astype(np.int64)
    bonds = {"ig": _pick(ig, score, 75.0) if ig.size else 0,
             "hy": _pick(hy, score, 45.0) if hy.size else 0,
             "illiquid": int(np.argmin(score[:nb])),
             "ust10": nb + min(2, len(universe.treasuries) - 1)}
    cusip = [b.cusip for b in universe.instruments]
    cases: list[_Case] = []
    sides: tuple[tuple[str, Side | None], ...] = (("buy", Side.BUY), ("sell", Side.SELL), ("two-way", None))
    for label in ("ig", "hy", "illiquid"):
        i = bonds[label]
        for side_name, side in sides:
            for qt in QuoteType:
                def rfq(panel: tuple[str, ...], i: int = i, side: Side | None = side, qt: QuoteType = qt) -> Command:
                    return CreateRfq(CLIENT, cusip[i], side, _RFQ_SIZE, quote_type=qt, panel=panel)
                desc = f"RFQ {label.upper()} {cusip[i]} (score {score[i]:.0f}), client {side_name}, {qt.value}"
                cases.append(_Case(f"rfq-{label}-{side_name}-{qt.value}", desc, rfq, 1))
    t = bonds["ust10"]
    cases.append(_Case("rfq-treasury-buy-price", f"RFQ on the 10y Treasury {cusip[t]}, client buys, price",
                       lambda panel: CreateRfq(CLIENT, cusip[t], Side.BUY, _RFQ_SIZE, panel=panel), 1))

    def basket(name: str, desc: str, idx: NDArray[np.int64], side: NDArray[np.int8],
               sizes: NDArray[np.int64] = _PT_SIZES) -> None:
        qty = sizes[rng.integers(0, len(sizes), size=idx.size)]
        lines = tuple(LineSpec(cusip[int(i)], Side.BUY if s > 0 else Side.SELL, int(q))
                      for i, s, q in zip(idx.tolist(), side.tolist(), qty.tolist(), strict=True))
        cases.append(_Case(name, desc, lambda panel: CreatePortfolio(CLIENT, lines, panel=panel, name=name),
                           len(lines)))

    def choose(pool: NDArray[np.int64], n: int) -> NDArray[np.int64]:
        return np.asarray(rng.choice(pool, size=min(n, pool.size), replace=False), dtype=np.int64)

    def one_way(n: int, sign: int) -> NDArray[np.int8]:
        return np.full(n, sign, dtype=np.int8)

    def two_way(n: int) -> NDArray[np.int8]:
        return np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)

    basket("pt-1-line", "portfolio of one IG line, client sells", np.array([bonds["ig"]]), one_way(1, -1))
    if ig.size:
        sel = choose(ig, 50)
        basket("pt-ig-sell-50", f"{sel.size} IG lines, client sells all", sel, one_way(sel.size, -1))
    if hy.size:
        sel = choose(hy, 50)
        basket("pt-hy-buy-50", f"{sel.size} HY lines, client buys all", sel, one_way(sel.size, 1))
    worst = np.argsort(score[:nb], kind="stable")[:20].astype(np.int64)
    basket("pt-illiquid-20", "the 20 least liquid bonds, both sides", worst, two_way(worst.size))
    sel = choose(np.arange(nb, dtype=np.int64), 200)
    basket("pt-mixed-200", f"{sel.size} IG and HY lines, both sides", sel, two_way(sel.size))
    sel = choose(np.arange(nb, dtype=np.int64), large)
    basket(f"pt-large-{sel.size}", f"{sel.size} lines, both sides", sel, two_way(sel.size), _LARGE_PT_SIZES)
    return cases


# ---- running ---------------------------------------------------------------------------------


def run_conformance(target: str | type | DealerStrategy, *, deadline_ms: float = 2_000.0, large_basket: int = 5_000,
                    seed: int = 7, universe: Universe | None = None) -> ConformanceReport:
    """Run the battery against the bot ``target`` and report every check."""
    try:
        name, bot = load_bot(target)
    except Exception as exc:
        shown = target if isinstance(target, str) else repr(target)
        return ConformanceReport(str(shown), deadline_ms, setup_error=f"cannot load the bot: "
                                 f"{type(exc).__name__}: {exc}")
    report = ConformanceReport(name, deadline_ms)
    if universe is None:
        universe = _universe(seed, max(2_000, large_basket + 1_000))
    market = universe.initial_market()
    large = max(1, min(large_basket, universe.n_bonds))
    probe = _Probe(bot)
    deadline_ns = int(deadline_ms * NS_PER_MS)
    participants = {CLIENT: Role.CLIENT, DEALER: Role.DEALER, **{d: Role.DEALER for d in SILENT}}
    venue = Venue(universe, participants, VenueRules(max_lines=max(10_000, large)))
    host = BotHost([BotSpec(DEALER, probe, 0, deadline_ns=max(deadline_ns, NS_PER_SECOND))], universe, lambda: market)
    day = universe.as_of if is_business_day(universe.as_of) else add_business_days(universe.as_of, 1)
    sim = SimRuntime(venue, host, start_ns=ns_from_date(day, 15))
    panel = (DEALER, *SILENT)
    for case in _battery(universe, market, seed, large):
        report.cases.append(_run_case(sim, probe, market, case, panel, deadline_ns))
        sim.run(until=sim.now + NS_PER_MS)
    return report


def _run_case(sim: SimRuntime, probe: _Probe, market: MarketSnapshot, case: _Case, panel: tuple[str, ...],
              deadline_ns: int) -> CaseResult:
    result = CaseResult(case.name, case.description, case.n_lines)
    start = len(sim.log)
    n_rejections = len(sim.rejections)
    outcome = sim.execute(case.command(panel))
    if outcome.error is not None or outcome.ref is None:
        reason = outcome.error.reason if outcome.error is not None else "no inquiry"
        result.outcome = "setup_error"
        result.checks.append(Check("setup", False, f"the checker's own inquiry was refused: {reason}"))
        return result
    inquiry_id = outcome.ref
    sim.run(until=sim.now)
    inquiry = sim.venue.inquiries[inquiry_id]
    events = [e for e in sim.log[start:] if e.data.get("inquiry_id") == inquiry_id
              and e.data.get("dealer_id") == DEALER]
    quoted = [e for e in events if e.type in (ev.QUOTE_NEW, ev.QUOTE_REVISED)]
    passed = [e for e in events if e.type == ev.QUOTE_PASSED]
    rejections = [r for r in sim.rejections[n_rejections:] if getattr(r[1], "inquiry_id", None) == inquiry_id]
    elapsed = probe.elapsed_ns.get(inquiry_id)
    result.elapsed_ms = None if elapsed is None else elapsed / NS_PER_MS
    checks = result.checks
    error = probe.errors.get(inquiry_id)
    checks.append(Check("exception", error is None, f"raised {error}" if error else ""))
    action = probe.actions.get(inquiry_id)
    is_action = action is None or isinstance(action, Quote | Pass | Withdraw)
    checks.append(Check("action", is_action, "" if is_action else
                        f"returned {type(action).__name__} ({action!r:.80}), not a Quote, Pass or Withdraw"))
    if elapsed is not None:
        checks.append(Check("deadline", elapsed <= deadline_ns,
                            f"took {elapsed / NS_PER_MS:.3f} ms, over the {deadline_ns / NS_PER_MS:g} ms deadline"
                            if elapsed > deadline_ns else ""))
    if isinstance(action, Quote):
        checks.append(_finite(action))
        if inquiry.is_portfolio:
            tolerance = sim.venue.rules.reconcile_tolerance_usd
            checks.append(_reconciles(action, inquiry.sides, inquiry.quantities, tolerance))
    for _, _, reason in rejections:
        checks.append(Check("accepted", False, f"the venue refused the quote: {reason}"))
    if quoted:
        data = quoted[-1].data
        mid = np.asarray(market.mid_price, dtype=np.float64)[inquiry.idx]
        if inquiry.is_portfolio:
            checks.extend(_portfolio_side(data, inquiry.sides, inquiry.quantities, mid))
        else:
            checks.append(_single_side(data, inquiry.sides, float(mid[0])))
        result.outcome = "quoted"
    elif error is not None:
        result.outcome = "error"
    elif rejections:
        result.outcome = "rejected"
    elif not is_action:
        result.outcome = "not_an_action"
    elif passed:
        reason = str(passed[-1].data.get("reason") or "")
        result.outcome = "passed"
        if reason == "missed its response deadline":
            result.outcome = "late"
            checks.append(Check("deadline", False, "the host recorded a missed deadline"))
        else:
            checks.append(Check("passed", False, f"passed: {reason or 'no reason given'}", "warning"))
    else:
        result.outcome = "no_response"
        if isinstance(action, Withdraw):
            checks.append(Check("passed", False, "withdrew instead of quoting", "warning"))
    return result


def _finite(q: Quote) -> Check:
    bad = [f"{name}={value!r}" for name, value in (("level", q.level), ("bid", q.bid), ("offer", q.offer),
                                                   ("net_price", q.net_price))
           if value is not None and not math.isfinite(value)]
    if q.line_prices is not None:
        prices = np.asarray(q.line_prices, dtype=np.float64)
        nonfinite = np.flatnonzero(~np.isfinite(prices))
        if nonfinite.size:
            first = int(nonfinite[0])
            bad.append(f"{nonfinite.size} line prices (first: line {first} = {float(prices[first])!r})")
    return Check("finite", not bad, ("non-finite " + ", ".join(bad)) if bad else "")


def _reconciles(q: Quote, sides: NDArray[np.int8], qty: NDArray[np.int64], tolerance: float) -> Check:
    if q.net_price is None or q.line_prices is None:
        return Check("reconciles", False, "a portfolio quote needs net_price and line_prices")
    prices = np.asarray(q.line_prices, dtype=np.float64)
    if prices.shape != sides.shape:
        return Check("reconciles", False, f"{prices.size} line prices for {sides.size} lines")
    implied = float(np.sum(-sides * qty * prices) / 100.0)
    diff = implied - float(q.net_price)
    ok = math.isfinite(diff) and abs(diff) <= tolerance
    return Check("reconciles", ok, "" if ok else
                 f"net price {q.net_price:,.2f} but the line prices give {implied:,.2f} (off by {diff:,.2f} USD; "
                 f"the venue allows {tolerance:.2f})")


def _single_side(data: dict[str, Any], sides: NDArray[np.int8], mid: float) -> Check:
    tol = 1e-9
    s = int(sides[0])
    if s > 0 and data.get("price") is not None and data["price"] < mid - tol:
        return Check("side", False, f"offer {data['level']} (price {data['price']:.6f}) is below the evaluated mid "
                     f"{mid:.6f}")
    if s < 0 and data.get("price") is not None and data["price"] > mid + tol:
        return Check("side", False, f"bid {data['level']} (price {data['price']:.6f}) is above the evaluated mid "
                     f"{mid:.6f}")
    if s == 0:
        problems = []
        if data.get("bid_price") is not None and data["bid_price"] > mid + tol:
            problems.append(f"bid {data['bid']} (price {data['bid_price']:.6f}) is above")
        if data.get("offer_price") is not None and data["offer_price"] < mid - tol:
            problems.append(f"offer {data['offer']} (price {data['offer_price']:.6f}) is below")
        if problems:
            return Check("side", False, " and ".join(problems) + f" the evaluated mid {mid:.6f}")
    return Check("side", True)


def _portfolio_side(data: dict[str, Any], sides: NDArray[np.int8], qty: NDArray[np.int64],
                    mid: NDArray[np.float64]) -> list[Check]:
    prices = np.asarray(data["line_prices"], dtype=np.float64)
    mid_net = float(np.sum(-sides * qty * mid) / 100.0)  # the client's proceeds at the evaluated mids
    net = float(data["net_price"])
    out = [Check("side", net <= mid_net + 0.01, "" if net <= mid_net + 0.01 else
                 f"net price {net:,.2f} gives the client {net - mid_net:,.2f} USD more than the mid value "
                 f"{mid_net:,.2f}")]
    through = np.flatnonzero((prices - mid) * sides < -1e-9)
    msg = ""
    if through.size:
        i = int(through[0])
        msg = (f"{through.size} of {prices.size} lines priced through mid (first: line {i}, "
               f"{prices[i]:.6f} vs mid {mid[i]:.6f})")
    out.append(Check("lines_side", through.size == 0, msg, "warning"))
    return out


# ---- text ------------------------------------------------------------------------------------


def format_report(report: ConformanceReport) -> str:
    """The report as text: a verdict, one row per case, then every error and warning."""
    if report.setup_error is not None:
        return f"Conformance of {report.target}: FAILED\n  {report.setup_error}\n"
    errors, warnings = report.failures(), report.warnings()
    verdict = "PASSED" if report.passed else "FAILED"
    timed = [c for c in report.cases if c.elapsed_ms is not None]
    lines = [f"Conformance of {report.target}: {verdict} ({len(report.cases)} cases, {len(errors)} errors, "
             f"{len(warnings)} warnings; deadline {report.deadline_ms:g} ms)"]
    if timed:
        slow = max(timed, key=lambda c: c.elapsed_ms or 0.0)
        lines.append(f"slowest: {slow.name} ({slow.n_lines} lines) {slow.elapsed_ms:.2f} ms")
    width = max((len(c.name) for c in report.cases), default=4)
    lines.append(f"  {'case':<{width}}  {'lines':>5}  {'outcome':<13} {'ms':>9}  result")
    for c in report.cases:
        ms = "" if c.elapsed_ms is None else f"{c.elapsed_ms:9.2f}"
        verdict_c = "ok" if c.ok else "FAIL: " + ", ".join(k.name for k in c.failed())
        if c.ok and c.failed("warning"):
            verdict_c = "ok (warning: " + ", ".join(k.name for k in c.failed("warning")) + ")"
        lines.append(f"  {c.name:<{width}}  {c.n_lines:>5}  {c.outcome:<13} {ms:>9}  {verdict_c}")
    if errors:
        lines.append("errors:")
        lines.extend(f"  {c.name}: [{k.name}] {k.message}" for c, k in errors)
    if warnings:
        lines.append("warnings:")
        lines.extend(f"  {c.name}: [{k.name}] {k.message}" for c, k in warnings)
    return "\n".join(lines) + "\n"
