"""Run a scenario on the simulated runtime: the venue engine, the bot host, clients, market, metrics.

    result = simulate(load_scenario("scenarios/quickstart.toml"), seed=7, out_dir=Path("out"))

Wiring: one :class:`~server.venue.engine.Venue` with the scenario's clients and dealers, a
:class:`~server.bots.host.BotHost` whose ``market`` is the simulation's current snapshot, and a
:class:`~server.runtime.sim.SimRuntime`; the clients (:mod:`server.research.clients`) submit their
orders at arrival time; the market steps every ``market.step_s`` (and the venue is told the new
benchmark curve, ``SetBenchmarks``, so spread quotes book at the curve of the moment); one listener observes every
event batch, in order, for the event log, the clients, the impact model and the metrics.

Determinism: every random draw comes from a named stream of the run's seed
(:mod:`server.research.seeds`): the client flow ``("flow", ...)``, panels ``("panels",)``, the
market ``("market",)``, and each dealer ``("dealer", id)`` (for strategies with a ``seed``
config field). Nothing reads the wall clock or iterates a ``set`` of strings; the same scenario
and seed give the same event log, byte for byte, in any process.

Outputs of :func:`simulate` with ``out_dir``: ``events.jsonl`` (one canonical ``Event.to_json()``
per line), ``metrics.json``, ``metrics.txt`` (the tables), and charts (PNG) when matplotlib is
installed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from server.bots.host import BotHost, BotSpec
from server.bots.protocol import DealerStrategy, InquiryView
from server.domain import events as ev
from server.domain.commands import SetBenchmarks
from server.domain.events import Event
from server.domain.types import NS_PER_MS, NS_PER_SECOND, Role
from server.research.clients import ClientDesk
from server.research.flow import ClientOrder, FlowModel
from server.research.market import MarketState
from server.research.metrics import MetricsRecorder, hedge_ratios_of
from server.research.plugins import build_strategy, resolve_strategy
from server.research.scenario import Scenario, universe_for
from server.research.seeds import component_seed
from server.runtime.sim import SimRuntime
from server.venue.engine import Venue
from server.venue.rules import VenueRules

__all__ = ["ExternalDealer", "Simulation", "SimulationResult", "simulate"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ExternalDealer:
    """A dealer driven from outside the bot host (an RL agent): ``on_inquiry(view)`` is called
    ``latency_ns`` after each inquiry sent to it; it answers by ``Simulation.execute``."""

    dealer_id: str
    on_inquiry: Callable[[InquiryView], None]
    latency_ns: int = 10 * NS_PER_MS
    always_in_panel: bool = True


@dataclass(frozen=True)
class SimulationResult:
    scenario: Scenario
    seed: int
    metrics: dict[str, Any]
    events: int
    log_sha256: str
    wall_s: float
    log: list[Event] | None = None

    @property
    def log_bytes(self) -> bytes:
        """The event log as JSONL bytes (needs ``keep_log``)."""
        if self.log is None:
            raise ValueError("the run did not keep its log (keep_log=False)")
        return b"".join(e.to_json() + b"\n" for e in self.log)


class Simulation:
    """One run of a scenario. ``run()`` does it all; ``start()``/``advance()``/``finish()`` step it."""

    def __init__(self, scenario: Scenario, seed: int | None = None, *, keep_log: bool = False,
                 log_file: IO[bytes] | None = None, hash_log: bool = True, progress: Progress | None = None,
                 external: Sequence[ExternalDealer] = (), strategies: Mapping[str, DealerStrategy] | None = None
                 ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.universe = universe_for(scenario)
        self.start_ns = scenario.start_ns
        self.horizon_end = self.start_ns + scenario.horizon_ns
        self.end_ns = self.horizon_end + scenario.tail_ns
        self.progress = progress
        self._log_file = log_file
        self._hash = hashlib.sha256() if hash_log else None
        self.n_events = 0

        # dealers ---------------------------------------------------------------------------
        dealer_ids = scenario.dealer_ids
        self.bots: dict[str, DealerStrategy] = {}
        labels: dict[str, str] = {}
        specs: list[BotSpec] = []
        for settings, dealer_id in zip(scenario.dealers, dealer_ids, strict=True):
            ref = resolve_strategy(settings.strategy)
            given = (strategies or {}).get(dealer_id)
            bot = given if given is not None else build_strategy(
                ref, settings.config, seed=component_seed(self.seed, "dealer", dealer_id))
            self.bots[dealer_id] = bot
            labels[dealer_id] = ref.short_name
            specs.append(BotSpec(dealer_id, bot, latency_ns=round(settings.latency_ms * NS_PER_MS),
                                 deadline_ns=round(settings.deadline_ms * NS_PER_MS)))
        self.external = {x.dealer_id: x for x in external}
        for x in external:
            labels[x.dealer_id] = "external"
        all_dealers = (*dealer_ids, *(x.dealer_id for x in external if x.dealer_id not in dealer_ids))

        # clients and venue -------------------------------------------------------------------
        self.flow = FlowModel(scenario.flow, self.universe)
        client_types = self.flow.client_ids
        participants = {**{c: Role.CLIENT for c in client_types}, **{d: Role.DEALER for d in all_dealers}}
        rules = VenueRules(default_panel=tuple(all_dealers), default_pt_panel_size=min(3, len(all_dealers)),
                           max_rfq_panel=scenario.venue.max_rfq_panel, max_pt_panel=scenario.venue.max_pt_panel,
                           disclose_cover_to_winner=scenario.venue.disclose_cover_to_winner)
        self.venue = Venue(self.universe, participants, rules)
        self.market = MarketState(self.universe, scenario.market, self.seed, self._schedule)
        self.host = BotHost(specs, self.universe, self.market.snapshot)
        self.sim = SimRuntime(self.venue, self.host, start_ns=self.start_ns, keep_log=keep_log)
        self.sim.listeners.append(self._on_events)
        self.orders: list[ClientOrder] = self.flow.orders(self.seed, self.start_ns, scenario.horizon_ns)
        self.desk = ClientDesk(self.sim, self.venue, self.universe, self.market, scenario.flow, self.orders,
                               all_dealers, self.seed,
                               always_in_panel=[x.dealer_id for x in external if x.always_in_panel],
                               on_rejected=self._rejected)
        hedges: dict[str, tuple[float, float] | None] = {}
        for settings, dealer_id in zip(scenario.dealers, dealer_ids, strict=True):
            if settings.hedge == "none":
                hedges[dealer_id] = None
            elif settings.hedge == "auto":
                hedges[dealer_id] = hedge_ratios_of(self.bots[dealer_id])
            else:
                hedges[dealer_id] = (settings.hedge.rates_ratio, settings.hedge.credit_ratio)
        self.metrics = MetricsRecorder(self.universe, self.market, scenario.metrics,
                                       {d: labels[d] for d in all_dealers}, hedges, client_types,
                                       scenario.flow.liquidity_mix, self.sim.call_at, self.start_ns)
        self.rejections: list[tuple[int, str, str]] = []
        self._impacts: list[tuple[str, Event]] = []
        self._handlers = self._handler_table()
        self._curve = self.market.base.curve
        self._started = False
        self._ended = False
        self._wall = 0.0

    # ---- plumbing -------------------------------------------------------------------------------

    def _schedule(self, at: int, fn: Callable[[], None]) -> None:
        self.sim.call_at(at, fn)

    def _rejected(self, order: ClientOrder, reason: str) -> None:
        self.rejections.append((order.number, order.client_id, reason))
        self.metrics.on_rejected(order.client_id)

    def execute(self, command: Any) -> Any:
        """Apply a command now (an external dealer's answer), through the runtime."""
        return self.sim.execute(command)

    def _on_events(self, batch: list[Event]) -> None:
        if self._log_file is not None or self._hash is not None:
            blob = b"".join([e.to_json() + b"\n" for e in batch])
            if self._log_file is not None:
                self._log_file.write(blob)
            if self._hash is not None:
                self._hash.update(blob)
        self.n_events += len(batch)
        handlers = self._handlers
        self._impacts.clear()
        for e in batch:
            handler = handlers.get(e.type)
            if handler is not None:
                handler(e)
        if self._impacts:  # after the batch: trades are measured against the mid before the award moved it
            for what, e in self._impacts:
                self._impact(what, e)

    def _handler_table(self) -> dict[str, Callable[[Event], None]]:
        metrics = self.metrics
        desk = self.desk
        impact = self.market.impact_on
        external = bool(self.external)

        def created(e: Event) -> None:
            metrics.on_created(e.data)
            desk.on_event(e)
            if impact:
                self._impacts.append(("inquiry", e))

        def request(e: Event) -> None:
            metrics.on_request(e.audience)
            if external:
                self._deliver_external(e)

        def quoted(e: Event) -> None:
            metrics.on_quote(e.data)
            desk.on_event(e)

        def passed(e: Event) -> None:
            metrics.on_passed(e.data)
            desk.on_event(e)

        def ended(e: Event) -> None:
            metrics.on_end(e.data["state"], e.data["inquiry_id"])
            desk.on_event(e)
            if impact and e.type == ev.INQUIRY_AWARDED:
                self._impacts.append(("award", e))

        table: dict[str, Callable[[Event], None]] = {
            ev.INQUIRY_CREATED: created, ev.INQUIRY_REQUEST: request, ev.QUOTE_NEW: quoted,
            ev.QUOTE_REVISED: quoted, ev.QUOTE_PASSED: passed,
            ev.TRADE_BOOKED: lambda e: metrics.on_trade(e.data, e.ts),
            ev.DEALER_FEEDBACK: lambda e: metrics.on_feedback(e.data),
        }
        for t in ev.END_TYPES:
            table[t] = ended
        return table

    def _impact(self, what: str, e: Event) -> None:
        if not self.market.impact_on:
            return
        inquiry = self.metrics.inquiries.get(e.data["inquiry_id"])
        if inquiry is None:
            return
        signed = inquiry.sides.astype(np.float64) * inquiry.qty
        if what == "inquiry":
            self.market.on_inquiry(e.ts, inquiry.idx, signed, len(inquiry.panel), inquiry.is_portfolio)
        else:
            losers = sum(1 for dealer in inquiry.quoted if dealer != e.data["dealer_id"])
            self.market.on_award(e.ts, inquiry.idx, signed, losers, inquiry.is_portfolio)

    def _deliver_external(self, e: Event) -> None:
        targets = [d for d in e.audience if d in self.external]
        if not targets:
            return
        view = InquiryView.from_event(e.data, self.universe)
        for dealer_id in targets:
            x = self.external[dealer_id]
            self.sim.call_at(e.ts + x.latency_ns, _bind(x.on_inquiry, view))

    # ---- the run ---------------------------------------------------------------------------

    def start(self) -> None:
        """Schedule the clients, the market steps, the samples and the progress reports."""
        if self._started:
            return
        self._started = True
        self.desk.schedule()
        self.sim.call_at(self.end_ns, self._mark_end)
        if self.market.model is not None:
            self._every(self.market.step_ns, self._step_market)
        self._every(round(self.scenario.metrics.sample_s * NS_PER_SECOND), self.metrics.sample, first=self.start_ns)
        if self.progress is not None:
            span = self.end_ns - self.start_ns
            self._every(max(span // 200, 1), lambda now: self._report(now), first=self.start_ns)

    def _step_market(self, now: int) -> None:
        """Move the market; tell the venue the benchmark curve spread quotes now convert with."""
        self.market.step(now)
        curve = self.market.base.curve
        if curve != self._curve:
            self._curve = curve
            self.sim.execute(SetBenchmarks(curve.tenors, curve.yields))

    def _report(self, now: int) -> None:
        if self.progress is not None:
            self.progress(now - self.start_ns, self.end_ns - self.start_ns)

    def _every(self, period: int, fn: Callable[[int], None], first: int | None = None) -> None:
        at = self.start_ns + period if first is None else first

        def tick() -> None:
            now = self.sim.now
            fn(now)
            nxt = now + period
            if nxt <= self.end_ns:
                self.sim.call_at(nxt, tick)

        if at <= self.end_ns:
            self.sim.call_at(at, tick)

    def _mark_end(self) -> None:
        self._ended = True

    @property
    def ended(self) -> bool:
        """The clock has reached the end of the run."""
        return self._ended

    def advance(self, until: int | None = None) -> int:
        """Process scheduled items up to ``until`` (default: the end). Returns items processed."""
        self.start()
        t0 = time.perf_counter()
        done = self.sim.run(until=min(self.end_ns, until) if until is not None else self.end_ns)
        self._wall += time.perf_counter() - t0
        return done

    def step_one(self) -> bool:
        """Process the next scheduled item (without moving the clock past it). False once the end is reached."""
        self.start()
        if self._ended:
            return False
        t0 = time.perf_counter()
        done = self.sim.run(max_items=1)
        self._wall += time.perf_counter() - t0
        return done > 0 and not self._ended

    @property
    def now(self) -> int:
        return self.sim.now

    def finish(self) -> SimulationResult:
        """Run to the end (if not yet there) and build the result."""
        self.advance()
        if self.progress is not None:
            self.progress(self.end_ns - self.start_ns, self.end_ns - self.start_ns)
        metrics = self.metrics.result(self.host.stats())
        digest = self._hash.hexdigest() if self._hash is not None else None
        stats: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "start_ns": self.start_ns,
            "horizon_s": self.scenario.horizon_ns / NS_PER_SECOND,
            "end_s": (self.end_ns - self.start_ns) / NS_PER_SECOND,
            "orders": len(self.orders),
            "rfq_orders": sum(1 for o in self.orders if o.kind.value == "rfq"),
            "portfolio_orders": sum(1 for o in self.orders if o.kind.value == "portfolio"),
            "rejected_orders": len(self.rejections),
            "events": self.n_events,
            "market_steps": self.market.steps,
            "log_sha256": digest,
        }
        document = {"run": stats, **metrics}
        return SimulationResult(self.scenario, self.seed, document, self.n_events, digest or "",
                                self._wall, self.sim.log if self.sim.keep_log else None)

    def run(self) -> SimulationResult:
        self.start()
        return self.finish()


def _bind(fn: Callable[[InquiryView], None], view: InquiryView) -> Callable[[], None]:
    return lambda: fn(view)


def simulate(scenario: Scenario, seed: int | None = None, *, out_dir: Path | None = None, keep_log: bool = False,
             progress: Progress | None = None, charts: bool = True) -> SimulationResult:
    """Run ``scenario`` with ``seed`` (default: the scenario's); write the outputs to ``out_dir`` if given."""
    if out_dir is None:
        return Simulation(scenario, seed, keep_log=keep_log, progress=progress).run()
    from server.research.report import render_metrics, write_charts

    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "events.jsonl").open("wb") as log:
        result = Simulation(scenario, seed, keep_log=keep_log, log_file=log, progress=progress).run()
    (out_dir / "metrics.json").write_text(json.dumps(result.metrics, indent=2, sort_keys=False) + "\n",
                                          encoding="utf-8")
    (out_dir / "metrics.txt").write_text(render_metrics(result.metrics, width=140), encoding="utf-8")
    if charts:
        write_charts(result.metrics, out_dir)
    return result
