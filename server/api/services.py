"""Assemble a running venue: universe, event store, engine (rebuilt from the log), bots, runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from server.bots.host import BotHost, BotSpec
from server.domain import events as ev
from server.domain.commands import Configure, ExpireOpen, SetBenchmarks
from server.domain.errors import VenueError
from server.domain.events import Event
from server.domain.types import NS_PER_MS, NS_PER_SECOND, Role
from server.market.universe import MarketSnapshot, Universe, UniverseConfig, build_universe
from server.participants import Directory, Participant, generate_dev_participants, load_participants
from server.persistence.store import EventStore, GroupCommitWriter
from server.runtime.clock import WallClock
from server.runtime.live import LiveRuntime
from server.settings import Settings
from server.venue.engine import ConfigurationMismatch, Venue
from server.venue.rules import VenueRules

log = logging.getLogger("rfqsim")


class StartupError(RuntimeError):
    """The venue cannot start with these settings; the message says why."""


def default_bot_specs(dealer_ids: tuple[str, ...], settings: Settings) -> list[BotSpec]:
    """The in-process panel: one bot per id, by ``dealer_strategies`` (cycling), else the reference panel."""
    from dealer_bots.registry import default_strategy
    from server.research.plugins import StrategyError, build_strategy, resolve_strategy

    latency = int(settings.bot_latency_ms * NS_PER_MS)
    deadline = int(settings.bot_deadline_ms * NS_PER_MS)
    specs = []
    for i, dealer_id in enumerate(dealer_ids):
        if settings.dealer_strategies:
            name = settings.dealer_strategies[i % len(settings.dealer_strategies)]
            try:
                bot = build_strategy(resolve_strategy(name))
            except (StrategyError, ValueError) as exc:
                raise StartupError(f"dealer_strategies: {name!r}: {exc}") from None
        else:
            bot = default_strategy(i, dealer_id)
        specs.append(BotSpec(dealer_id, bot, latency, deadline))
    return specs


class LiveMarket:
    """The research simulation's market (evolution + impact, ``server.research.market.MarketState``)
    driven by the live runtime's wall clock: a step every ``market_step_s``, the venue told the new
    benchmark curve, impact fed from committed inquiries and awards."""

    def __init__(self, universe: Universe, settings: Settings, clock: WallClock) -> None:
        from server.research.market import MarketState
        from server.research.scenario import MarketSettings

        self.clock = clock
        self._handles: list[asyncio.TimerHandle] = []
        market = MarketSettings(evolution=settings.market_evolution, step_s=settings.market_step_s,
                                impact=settings.market_impact, impact_refresh_s=settings.market_impact_refresh_s)
        self.state = MarketState(universe, market, settings.seed, self._schedule)
        self._task: asyncio.Task[None] | None = None

    def snapshot(self) -> MarketSnapshot:
        return self.state.snapshot()

    def _schedule(self, at: int, fn: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self._handles = [h for h in self._handles if not h.cancelled()][-64:]
        self._handles.append(loop.call_later(max(0.0, (at - self.clock()) / NS_PER_SECOND), fn))

    def start(self, runtime: LiveRuntime) -> None:
        runtime.listeners.append(lambda batch: self._observe(runtime.venue, batch))
        if self.state.model is not None:
            self._task = asyncio.create_task(self._steps(runtime))

    async def _steps(self, runtime: LiveRuntime) -> None:
        curve = self.state.base.curve
        while True:
            await asyncio.sleep(self.state.step_ns / NS_PER_SECOND)
            self.state.step(self.clock())
            if self.state.base.curve != curve:
                curve = self.state.base.curve
                try:
                    await runtime.execute(SetBenchmarks(curve.tenors, curve.yields))
                except VenueError:
                    log.exception("could not update the benchmark curve")

    def _observe(self, venue: Venue, batch: list[Event]) -> None:
        if not self.state.impact_on:
            return
        for e in batch:
            if e.type not in (ev.INQUIRY_CREATED, ev.INQUIRY_AWARDED):
                continue
            inquiry = venue.inquiries.get(e.data["inquiry_id"])
            if inquiry is None:
                continue
            signed = inquiry.sides.astype(np.float64) * inquiry.quantities
            if e.type == ev.INQUIRY_CREATED:
                self.state.on_inquiry(e.ts, inquiry.idx, signed, len(inquiry.panel), inquiry.is_portfolio)
            else:
                quoted = {q.dealer_id for q in inquiry.quotes.values()}
                self.state.on_award(e.ts, inquiry.idx, signed, len(quoted - {e.data["dealer_id"]}),
                                    inquiry.is_portfolio)

    async def stop(self) -> None:
        for handle in self._handles:
            handle.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@dataclass
class VenueServices:
    settings: Settings
    universe: Universe
    directory: Directory
    venue: Venue
    store: EventStore
    writer: GroupCommitWriter
    runtime: LiveRuntime
    bots: BotHost
    live_market: LiveMarket
    generated_participants: list[Participant] = field(default_factory=list)
    recovered_events: int = 0
    expired_on_start: int = 0

    @classmethod
    async def start(cls, settings: Settings) -> VenueServices:
        participants, generated = _participants(settings)
        remote = {p.id for p in participants}
        in_process = tuple(d for d in settings.dealer_panel if d not in remote)
        everyone = participants + [Participant(d, Role.DEALER) for d in in_process]
        directory = Directory(everyone)
        universe = build_universe(UniverseConfig(seed=settings.seed, n_bonds=settings.universe_size))
        rules = VenueRules(
            default_panel=tuple(settings.dealer_panel),
            rfq_time_limit_ns=int(settings.rfq_time_limit_s * NS_PER_SECOND),
            pt_time_limit_ns=int(settings.pt_time_limit_s * NS_PER_SECOND),
            disclose_cover_to_winner=settings.disclose_cover,
        )
        configuration = {"seed": settings.seed, "universe_size": settings.universe_size}
        venue = Venue(universe, directory.roles(), rules, expected_configuration=configuration)
        store = await EventStore.open(settings.database_url)
        await store.migrate()
        recovered = 0
        batch = []
        try:
            async for event in store.load():
                batch.append(event)
                if len(batch) >= 5000:
                    venue.replay(batch)
                    recovered += len(batch)
                    batch = []
            venue.replay(batch)
        except ConfigurationMismatch as exc:
            await store.close()
            raise StartupError(f"{settings.database_url}: {exc}. Start with the same --seed and universe size, "
                               "or with a new database.") from None
        recovered += len(batch)
        clock = WallClock()
        configured = venue.execute(Configure(tuple(configuration.items())), clock())
        await store.append(configured.events)
        expired = 0
        if venue.open_inquiries:
            outcome = venue.execute(ExpireOpen("venue restarted"), clock())
            await store.append(outcome.events)
            expired = sum(1 for e in outcome.events if e.type == "inquiry.expired")
        live_market = LiveMarket(universe, settings, clock)
        specs = default_bot_specs(in_process, settings)
        writer = GroupCommitWriter(store)
        writer.start()
        bots = BotHost(specs, universe, live_market.snapshot)
        runtime = LiveRuntime(venue, bots, commit=writer.write, clock=clock,
                              queue_size=settings.stream_queue_size)
        writer.on_commit = runtime.committed  # streams hear of a commit in the writer's turn
        runtime.start()
        live_market.start(runtime)
        if recovered:
            log.info("rebuilt the venue from %d logged events; %d open inquiries expired", recovered, expired)
        return cls(settings, universe, directory, venue, store, writer, runtime, bots, live_market, generated,
                   recovered, expired)

    def current_market(self) -> MarketSnapshot:
        """The evaluated market now: what bots quote against and what arrival mids are taken from."""
        return self.live_market.snapshot()

    async def stop(self) -> None:
        await self.live_market.stop()
        await self.runtime.stop()
        await self.writer.stop()
        await self.store.close()


def _participants(settings: Settings) -> tuple[list[Participant], list[Participant]]:
    if settings.participants is not None:
        return load_participants(settings.participants), []
    path = settings.dev_participants_file
    if path.exists():
        return load_participants(path), []
    people = generate_dev_participants(path)
    return people, people
