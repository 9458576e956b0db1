"""Assemble a running venue: universe, event store, engine (rebuilt from the log), bots, runtime."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from server.bots.host import BotHost, BotSpec
from server.domain.commands import Configure, ExpireOpen
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
    """The in-process panel: reference dealers, one per id, cycling through distinct strategies."""
    from dealer_bots.registry import default_strategy

    latency = int(settings.bot_latency_ms * NS_PER_MS)
    deadline = int(settings.bot_deadline_ms * NS_PER_MS)
    return [BotSpec(d, default_strategy(i, d), latency, deadline) for i, d in enumerate(dealer_ids)]


@dataclass
class VenueServices:
    settings: Settings
    universe: Universe
    market: MarketSnapshot
    directory: Directory
    venue: Venue
    store: EventStore
    writer: GroupCommitWriter
    runtime: LiveRuntime
    bots: BotHost
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
        market = universe.initial_market()
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
        writer = GroupCommitWriter(store)
        writer.start()
        bots = BotHost(default_bot_specs(in_process, settings), universe, lambda: market)
        runtime = LiveRuntime(venue, bots, commit=writer.write, clock=clock,
                              queue_size=settings.stream_queue_size)
        runtime.start()
        if recovered:
            log.info("rebuilt the venue from %d logged events; %d open inquiries expired", recovered, expired)
        return cls(settings, universe, market, directory, venue, store, writer, runtime, bots, generated,
                   recovered, expired)

    def current_market(self) -> MarketSnapshot:
        """The evaluated market now: what bots quote against and what arrival mids are taken from."""
        return self.market

    async def stop(self) -> None:
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
