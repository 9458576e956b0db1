"""The switch trade in-process, on the simulated clock: the venue engine, five reference dealers,
the evolving market with impact and leakage (``server.research.market.MarketState``).

Each path runs on its own fresh venue built from the same seed: the same universe, the same
starting market, the same random market path (the ``("market",)`` stream) and dealers with empty
books, so the two paths differ only by how the list is traded. Wiring as in
``server.research.simulate``: one listener sees every event batch in order; inquiries move the
mids when they are created (leakage, more with more dealers asked, less for a portfolio) and
awards when they are booked (the losing dealers' pre-hedging).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from dealer_bots.registry import default_strategy
from server.bots.host import BotHost, BotSpec
from server.demo.switch_trade import (
    BondTable,
    Fund,
    LineOutcome,
    PathResult,
    SwitchPlan,
    SwitchTradeConfig,
    summarise_path,
)
from server.domain import bondmath
from server.domain import events as ev
from server.domain.bonds import RATINGS
from server.domain.calendar import dates_at, ns_from_date
from server.domain.commands import Award, Cancel, CreatePortfolio, CreateRfq, LineSpec
from server.domain.events import Event
from server.domain.types import NS_PER_MS, NS_PER_SECOND, Role, Side
from server.market.universe import MarketSnapshot, Universe, UniverseConfig, build_universe
from server.research.market import MarketState
from server.research.scenario import MarketSettings
from server.runtime.sim import SimRuntime
from server.venue.engine import Venue
from server.venue.rules import VenueRules
from server.venue.state import Quote

__all__ = ["CLIENT_ID", "DEALERS", "SimDesk", "bond_table", "run_pt_sim", "run_rfq_sim", "sim_universe"]

CLIENT_ID = "fund"
DEALERS = ("dealer-a", "dealer-b", "dealer-c", "dealer-d", "dealer-e")
"""The venue's default panel: ETF-hedging, flow, axe, cautious and base net-risk dealers."""
_LATENCY_MS = (40.0, 15.0, 30.0, 60.0, 25.0)
_REACTION_NS = 500 * NS_PER_MS  # the trader looks at a full board half a second after the last answer


@lru_cache(maxsize=4)
def sim_universe(seed: int, size: int) -> Universe:
    return build_universe(UniverseConfig(seed=seed, n_bonds=size))


def start_ns(universe: Universe) -> int:
    """14:00 UTC on the universe's date (as scenarios start by default)."""
    return ns_from_date(universe.as_of, 14)


def bond_table(universe: Universe, snapshot: MarketSnapshot, now: int) -> tuple[BondTable, np.ndarray]:
    """The investment-grade corporates of ``universe`` at ``snapshot``; also their universe indices.
    Accrued interest and duration at T+1 settlement of ``now``, as the venue books trades."""
    nb = universe.n_bonds
    ig = np.flatnonzero(~np.asarray(universe.is_hy)).astype(np.int64)
    settle = np.datetime64(dates_at(now)[1], "D")
    mid = np.asarray(snapshot.mid_price, dtype=np.float64)[:nb]
    ytm = np.asarray(snapshot.mid_yield, dtype=np.float64)[:nb]
    md = bondmath.modified_duration(universe.coupon, universe.maturity, settle, ytm, universe.day_count,
                                    universe.frequency)
    ai = bondmath.accrued_interest(universe.coupon, universe.maturity, settle, universe.day_count,
                                   universe.frequency)
    bonds = universe.bonds
    table = BondTable(
        cusip=tuple(bonds[i].cusip for i in ig.tolist()),
        name=tuple(bonds[i].name for i in ig.tolist()),
        issuer=tuple(bonds[i].issuer for i in ig.tolist()),
        sector=tuple(bonds[i].sector for i in ig.tolist()),
        rating=np.asarray(RATINGS)[np.asarray(universe.rating_idx)[ig]],
        amount=np.asarray(universe.amount_outstanding, dtype=np.float64)[ig],
        mid=mid[ig].copy(), accrued=np.asarray(ai, dtype=np.float64)[ig], duration=np.asarray(md)[ig],
        score=np.asarray(snapshot.liquidity_score, dtype=np.float64)[ig].copy())
    return table, ig


@dataclass
class _Open:
    lines: list[int]  # positions in the plan
    panel: tuple[str, ...]
    answered: set[str] = field(default_factory=set)
    quoted: set[str] = field(default_factory=set)
    early: bool = False
    decided: bool = False


class SimDesk:
    """One venue on the simulated clock with the fund as its only client."""

    def __init__(self, cfg: SwitchTradeConfig, universe: Universe) -> None:
        self.cfg = cfg
        self.universe = universe
        participants = {CLIENT_ID: Role.CLIENT, **{d: Role.DEALER for d in DEALERS}}
        rules = VenueRules(default_panel=DEALERS, default_pt_panel_size=3,
                           rfq_time_limit_ns=round(cfg.rfq_time_limit_s * NS_PER_SECOND),
                           pt_time_limit_ns=round(cfg.pt_time_limit_s * NS_PER_SECOND))
        self.venue = Venue(universe, participants, rules)
        self.sim = SimRuntime(self.venue, None, start_ns=start_ns(universe), keep_log=False)
        settings = MarketSettings(step_s=cfg.market_step_s, impact_params={
            "impact_bp": cfg.impact_bp, "dealer_leakage_slope": cfg.dealer_leakage_slope,
            "portfolio_leakage_factor": cfg.portfolio_leakage_factor})
        self.market = MarketState(universe, settings, cfg.seed, self.sim.call_at)
        specs = [BotSpec(d, default_strategy(k, d), latency_ns=round(_LATENCY_MS[k] * NS_PER_MS))
                 for k, d in enumerate(DEALERS)]
        self.host = BotHost(specs, universe, self.market.snapshot)
        self.sim.bots = self.host
        self.sim.listeners.append(self._on_events)
        self.start = self.sim.now
        self.open: dict[str, _Open] = {}
        self._creating: _Open | None = None
        self.finished = False
        self.on_decide: Callable[[str, _Open], None] = lambda inquiry_id, entry: None
        self.on_trade: Callable[[dict[str, object]], None] = lambda trade: None
        self.on_end: Callable[[str], None] = lambda inquiry_id: None

    # ---- the market -----------------------------------------------------------------------------

    def mids(self) -> np.ndarray:
        return np.asarray(self.market.view.mid_price, dtype=np.float64)

    def displacement_bp(self, i: int) -> float:
        """Impact displacement of instrument ``i`` now, bp of price (positive: up)."""
        return float(self.market.impact.displacement_bp(self.sim.now)[i])

    def run(self) -> None:
        """Step the market every ``market_step_s`` and process everything until the trader is finished."""
        step = self.market.step_ns

        def tick() -> None:
            if self.finished:
                return
            self.market.step(self.sim.now)
            self.sim.call_at(self.sim.now + step, tick)

        self.sim.call_at(self.start + step, tick)
        self.sim.run()

    def seconds(self, ns: int | None = None) -> float:
        return ((self.sim.now if ns is None else ns) - self.start) / NS_PER_SECOND

    # ---- inquiries ------------------------------------------------------------------------------

    def send(self, command: CreateRfq | CreatePortfolio, lines: list[int], panel: tuple[str, ...]) -> str | None:
        self._creating = _Open(lines, panel)
        try:
            outcome = self.sim.execute(command)
        finally:
            self._creating = None
        return outcome.ref if outcome.error is None else None

    def _on_events(self, batch: list[Event]) -> None:
        impacts: list[Event] = []
        for e in batch:
            t = e.type
            if t == ev.INQUIRY_CREATED:
                pending = self._creating
                if pending is not None:
                    self.open[e.data["inquiry_id"]] = pending
                    impacts.append(e)
            elif t in (ev.QUOTE_NEW, ev.QUOTE_REVISED, ev.QUOTE_PASSED):
                entry = self.open.get(e.data["inquiry_id"])
                if entry is None:
                    continue
                entry.answered.add(e.data["dealer_id"])
                if t != ev.QUOTE_PASSED:
                    entry.quoted.add(e.data["dealer_id"])
                if not entry.early and len(entry.answered) >= len(entry.panel):
                    entry.early = True
                    self.sim.call_at(e.ts + _REACTION_NS, self._decider(e.data["inquiry_id"]))
            elif t == ev.TRADE_BOOKED:
                self.on_trade(e.data)
            elif t in ev.END_TYPES:
                if t == ev.INQUIRY_AWARDED:
                    impacts.append(e)
                inquiry_id = e.data["inquiry_id"]
                if inquiry_id in self.open:
                    self.on_end(inquiry_id)
        for e in impacts:  # after the batch, as the research simulation does
            self._impact(e)

    def _impact(self, e: Event) -> None:
        inquiry = self.venue.inquiries.get(e.data["inquiry_id"])
        entry = self.open.get(e.data["inquiry_id"])
        if inquiry is None or entry is None:
            return
        signed = inquiry.sides.astype(np.float64) * inquiry.quantities.astype(np.float64)
        if e.type == ev.INQUIRY_CREATED:
            self.market.on_inquiry(e.ts, inquiry.idx, signed, len(inquiry.panel), inquiry.is_portfolio)
        else:
            losers = sum(1 for d in entry.quoted if d != e.data["dealer_id"])
            self.market.on_award(e.ts, inquiry.idx, signed, losers, inquiry.is_portfolio)

    def schedule_decision(self, inquiry_id: str, after_s: float) -> None:
        self.sim.call_at(self.sim.now + round(after_s * NS_PER_SECOND), self._decider(inquiry_id))

    def _decider(self, inquiry_id: str) -> Callable[[], None]:
        def decide() -> None:
            entry = self.open.get(inquiry_id)
            if entry is None or entry.decided:
                return
            entry.decided = True
            self.on_decide(inquiry_id, entry)

        return decide

    def live_quotes(self, inquiry_id: str) -> list[Quote]:
        inquiry = self.venue.inquiries[inquiry_id]
        now = self.sim.now
        if inquiry.state.terminal or now >= inquiry.expires_ts:
            return []
        return [q for q in inquiry.current_quotes() if q.live_at(now)]

    def award(self, inquiry_id: str, quote_id: str) -> bool:
        return self.sim.execute(Award(CLIENT_ID, inquiry_id, quote_id)).error is None

    def cancel(self, inquiry_id: str, reason: str) -> None:
        inquiry = self.venue.inquiries[inquiry_id]
        if not inquiry.state.terminal:
            self.sim.execute(Cancel(CLIENT_ID, inquiry_id, reason))


def _trade_lines(trade: dict[str, object]) -> list[dict[str, object]]:
    lines = trade["lines"]
    assert isinstance(lines, list)
    return lines


class _Trader:
    """What both paths share: the plan and the panel, an outcome per line, the first and last trade
    times, and the desk's decide and trade callbacks pointed at the path."""

    def __init__(self, cfg: SwitchTradeConfig, desk: SimDesk, plan: SwitchPlan, uidx: list[int],
                 panel: tuple[str, ...]) -> None:
        self.cfg = cfg
        self.desk = desk
        self.plan = plan
        self.uidx = uidx
        self.panel = panel
        self.outcomes = [LineOutcome(line=k) for k in range(len(plan.lines))]
        self.first: int | None = None
        self.last: int | None = None
        desk.on_decide = self.decide
        desk.on_trade = self.on_trade

    def decide(self, inquiry_id: str, entry: _Open) -> None:
        raise NotImplementedError

    def on_trade(self, trade: dict[str, object]) -> None:
        raise NotImplementedError


class _RfqTrader(_Trader):
    """Path (a): one RFQ per line to the RFQ panel, ``rfq_concurrency`` at a time, limit-checked."""

    def __init__(self, cfg: SwitchTradeConfig, desk: SimDesk, plan: SwitchPlan, uidx: list[int],
                 panel: tuple[str, ...]) -> None:
        super().__init__(cfg, desk, plan, uidx, panel)
        self.queue = plan.execution_order()
        self.by_inquiry: dict[str, int] = {}
        self.in_flight = 0
        self.inquiries = 0
        desk.on_end = self.on_end

    def send_next(self) -> None:
        desk = self.desk
        if not self.queue:
            if self.in_flight == 0 and not desk.finished:
                self.finish()
            return
        k = self.queue.pop(0)
        ln = self.plan.lines[k]
        out = self.outcomes[k]
        out.asked_s = desk.seconds()
        out.mid_at_ask = float(desk.mids()[self.uidx[k]])
        before = desk.displacement_bp(self.uidx[k])
        out.leak_at_ask_bp = ln.sign * before
        if self.first is None:
            self.first = desk.sim.now
        self.inquiries += 1
        cmd = CreateRfq(CLIENT_ID, ln.cusip, Side(ln.side), ln.quantity, panel=self.panel,
                        evaluated_mids=desk.market.view.mid_price)
        inquiry_id = desk.send(cmd, [k], self.panel)
        if inquiry_id is None:
            out.reason = "refused by the venue"
            desk.sim.call_at(desk.sim.now, self.send_next)
            return
        out.own_impact_bp = ln.sign * (desk.displacement_bp(self.uidx[k]) - before)
        self.in_flight += 1
        self.by_inquiry[inquiry_id] = k
        out.inquiry_id = inquiry_id
        desk.schedule_decision(inquiry_id, self.cfg.rfq_decision_s)

    def decide(self, inquiry_id: str, entry: _Open) -> None:
        desk = self.desk
        k = self.by_inquiry[inquiry_id]
        ln = self.plan.lines[k]
        out = self.outcomes[k]
        side = Side(ln.side)
        live = desk.live_quotes(inquiry_id)
        inquiry = desk.venue.inquiries[inquiry_id]
        out.quotes = len({q.dealer_id for q in inquiry.quotes.values()})
        out.passes = len(inquiry.passed)
        priced = [(price, q) for q in live if (price := q.client_price(side)) is not None]
        ranked = [q for _, q in sorted(priced, key=lambda pq: (ln.sign * pq[0], pq[1].dealer_id))]
        if ranked:
            out.best_price = ranked[0].client_price(side)
        for q in ranked:
            price = q.client_price(side)
            if price is None or ln.sign * (price - ln.limit_price) > 0:
                break  # ranked best first: nothing further is inside the limit either
            if desk.award(inquiry_id, q.quote_id):
                return
        out.reason = "no quote" if not live else "best quote outside the limit"
        desk.cancel(inquiry_id, out.reason)

    def on_trade(self, trade: dict[str, object]) -> None:
        k = self.by_inquiry.get(str(trade["inquiry_id"]))
        if k is None:
            return
        line = _trade_lines(trade)[0]
        _fill(self.outcomes[k], self.plan.lines[k].sign, line, str(trade["dealer_id"]), self.desk.seconds())
        self.last = self.desk.sim.now

    def on_end(self, inquiry_id: str) -> None:
        k = self.by_inquiry.get(inquiry_id)
        if k is None:
            return
        if not self.outcomes[k].reason:
            self.outcomes[k].reason = "expired"
        self.in_flight -= 1
        self.desk.sim.call_at(self.desk.sim.now + round(self.cfg.rfq_gap_s * NS_PER_SECOND), self.send_next)

    def finish(self) -> None:
        self.desk.finished = True
        mids = self.desk.mids()
        for k, out in enumerate(self.outcomes):
            out.end_mid = float(mids[self.uidx[k]])


def _fill(out: LineOutcome, sign: int, line: dict[str, object], dealer: str, at_s: float) -> None:
    price = line["clean_price"]
    money = line["net_money"]
    assert isinstance(price, int | float) and isinstance(money, int | float)
    out.done = True
    out.reason = "done"
    out.price = float(price)
    out.net_money = -sign * float(money)  # cash to the fund: it pays for buys, receives for sells
    out.dealer = dealer
    out.done_s = at_s


def _check_panel(panel: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [d for d in panel if d not in DEALERS]
    if unknown:
        raise ValueError(f"unknown dealer {', '.join(unknown)}: the simulated venue's dealers are {', '.join(DEALERS)}")
    return panel


def run_rfq_sim(cfg: SwitchTradeConfig, universe: Universe, table: BondTable, ig: np.ndarray, fund: Fund,
                plan: SwitchPlan) -> PathResult:
    """Path (a) on a fresh simulated venue."""
    panel = _check_panel(cfg.rfq_panel if cfg.rfq_panel is not None else DEALERS)
    desk = SimDesk(cfg, universe)
    trader = _RfqTrader(cfg, desk, plan, [int(ig[ln.i]) for ln in plan.lines], panel)
    for _ in range(cfg.rfq_concurrency):
        desk.sim.call_at(desk.start, trader.send_next)
    desk.run()
    first = trader.first if trader.first is not None else desk.start
    last = trader.last if trader.last is not None else first
    return summarise_path("rfq", table, fund, plan, trader.outcomes, dealers=list(panel),
                          inquiries=trader.inquiries, elapsed_s=(last - first) / NS_PER_SECOND)


class _PtTrader(_Trader):
    """Path (b): the whole list as one portfolio inquiry; the best net price is awarded."""

    def __init__(self, cfg: SwitchTradeConfig, desk: SimDesk, plan: SwitchPlan, uidx: list[int],
                 panel: tuple[str, ...]) -> None:
        super().__init__(cfg, desk, plan, uidx, panel)
        self.inquiry_id: str | None = None
        desk.on_end = lambda inquiry_id: self.finish()

    def send(self) -> None:
        desk = self.desk
        mids = desk.mids()
        before = [desk.displacement_bp(i) for i in self.uidx]
        for k, out in enumerate(self.outcomes):
            out.asked_s = 0.0
            out.mid_at_ask = float(mids[self.uidx[k]])
            out.leak_at_ask_bp = self.plan.lines[k].sign * before[k]
        lines = tuple(LineSpec(ln.cusip, Side(ln.side), ln.quantity) for ln in self.plan.lines)
        cmd = CreatePortfolio(CLIENT_ID, lines, panel=self.panel, name="switch trade",
                              evaluated_mids=desk.market.view.mid_price)
        self.first = desk.sim.now
        inquiry_id = desk.send(cmd, list(range(len(self.plan.lines))), self.panel)
        if inquiry_id is None:
            for out in self.outcomes:
                out.reason = "refused by the venue"
            self.finish()
            return
        self.inquiry_id = inquiry_id
        for k, out in enumerate(self.outcomes):
            out.inquiry_id = inquiry_id
            out.own_impact_bp = self.plan.lines[k].sign * (desk.displacement_bp(self.uidx[k]) - before[k])
        desk.schedule_decision(inquiry_id, self.cfg.pt_decision_s)

    def decide(self, inquiry_id: str, entry: _Open) -> None:
        desk = self.desk
        live = desk.live_quotes(inquiry_id)
        inquiry = desk.venue.inquiries[inquiry_id]
        n_quotes = len({q.dealer_id for q in inquiry.quotes.values()})
        for out in self.outcomes:
            out.quotes = n_quotes
            out.passes = len(inquiry.passed)
        ranked = sorted(live, key=lambda q: (-(q.net_price if q.net_price is not None else -np.inf), q.dealer_id))
        for q in ranked:
            if desk.award(inquiry_id, q.quote_id):
                return
        for out in self.outcomes:
            out.reason = "no quote"
        desk.cancel(inquiry_id, "no quote")

    def on_trade(self, trade: dict[str, object]) -> None:
        self.last = self.desk.sim.now
        for k, line in enumerate(_trade_lines(trade)):
            _fill(self.outcomes[k], self.plan.lines[k].sign, line, str(trade["dealer_id"]), self.desk.seconds())

    def finish(self) -> None:
        self.desk.finished = True
        mids = self.desk.mids()
        for k, out in enumerate(self.outcomes):
            out.end_mid = float(mids[self.uidx[k]])


def run_pt_sim(cfg: SwitchTradeConfig, universe: Universe, table: BondTable, ig: np.ndarray, fund: Fund,
               plan: SwitchPlan) -> PathResult:
    """Path (b) on a fresh simulated venue."""
    panel = _check_panel(cfg.pt_panel if cfg.pt_panel is not None else DEALERS[:3])
    desk = SimDesk(cfg, universe)
    trader = _PtTrader(cfg, desk, plan, [int(ig[ln.i]) for ln in plan.lines], panel)
    desk.sim.call_at(desk.start, trader.send)
    desk.run()
    first = trader.first if trader.first is not None else desk.start
    last = trader.last if trader.last is not None else first
    return summarise_path("pt", table, fund, plan, trader.outcomes, dealers=list(panel),
                          inquiries=1 if trader.inquiry_id else 0, elapsed_s=(last - first) / NS_PER_SECOND)
