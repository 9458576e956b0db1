"""One scripted session through the simulated and the live runtime: the same events, in order."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dealer_bots.registry import default_strategy
from server.bots.host import BotHost, BotSpec
from server.domain import events as ev
from server.domain.commands import Award, Command, CreatePortfolio, CreateRfq, LineSpec
from server.domain.events import Event
from server.domain.types import NS_PER_MS, Role, Side
from server.runtime.live import LiveRuntime
from server.runtime.sim import SimRuntime
from server.venue.engine import Venue
from server.venue.rules import VenueRules
from tests.support.engine import DEALERS, T0, small_universe

MS = NS_PER_MS
LATENCY = {"d1": 1 * MS, "d2": 3 * MS, "d3": 5 * MS, "d4": 7 * MS, "d5": 9 * MS}


def build() -> tuple[Venue, BotHost]:
    u = small_universe()
    market = u.initial_market()
    venue = Venue(u, {"c1": Role.CLIENT, **{d: Role.DEALER for d in DEALERS}},
                  VenueRules(default_panel=DEALERS, min_time_limit_ns=100 * MS))
    bots = BotHost([BotSpec(d, default_strategy(i, d), LATENCY[d], 1_000 * MS) for i, d in enumerate(DEALERS)],
                   u, lambda: market)
    return venue, bots


def script() -> list[tuple[int, Any]]:
    """(offset in ms, command or award-picker) pairs."""
    u = small_universe()
    basket = tuple(LineSpec(b.cusip, Side.BUY if i % 2 else Side.SELL, 1_000_000) for i, b in enumerate(u.bonds[:25]))

    def best(inquiry_id: str) -> Award:
        return Award("c1", inquiry_id, "")  # filled in at run time from the venue's state

    return [
        (0, CreateRfq("c1", u.bonds[0].cusip, Side.BUY, 1_000_000)),
        (40, ("award", "RFQ-1")),
        (60, CreatePortfolio("c1", basket)),
        (120, ("award", "PT-1")),
        (140, CreateRfq("c1", u.bonds[1].cusip, None, 2_000_000, time_limit_ns=150 * MS)),  # left to expire
        (400, None),
    ]


def pick(venue: Venue, inquiry_id: str) -> Command:
    inquiry = venue.inquiries[inquiry_id]
    quotes = inquiry.current_quotes()
    if inquiry.is_portfolio:
        chosen = max(quotes, key=lambda q: (q.net_price, q.dealer_id))
    else:
        chosen = min(quotes, key=lambda q: (q.price, q.dealer_id))
    return Award("c1", inquiry_id, chosen.quote_id)


def normalise(events: list[Event]) -> list[tuple[Any, ...]]:
    """Drop what only the clock decides (timestamps) and keep everything else."""
    timed = {"created_ts", "expires_ts", "valid_until", "executed_ts"}
    return [(e.seq, e.type, e.audience, {k: v for k, v in e.data.items() if k not in timed}) for e in events]


def run_sim() -> list[Event]:
    venue, bots = build()
    sim = SimRuntime(venue, bots, start_ns=T0)
    for offset, item in script():
        sim.run(until=T0 + offset * MS)
        if isinstance(item, tuple):
            assert not sim.execute(pick(venue, item[1])).error
        elif item is not None:
            assert not sim.execute(item).error
    sim.run(until=T0 + 1_000 * MS)
    return sim.log


async def run_live() -> list[Event]:
    venue, bots = build()
    start = time.time_ns()
    runtime = LiveRuntime(venue, bots, clock=lambda: T0 + time.time_ns() - start)
    log: list[Event] = []
    runtime.listeners.append(log.extend)
    runtime.start()
    for offset, item in script():
        await asyncio.sleep(max(0.0, (start + offset * MS - time.time_ns()) / 1e9))
        if isinstance(item, tuple):
            assert not (await runtime.execute(pick(venue, item[1]))).error
        elif item is not None:
            assert not (await runtime.execute(item)).error
    await asyncio.sleep(0.3)
    await runtime.stop()
    return log


async def test_sim_and_live_runtimes_produce_the_same_event_sequence() -> None:
    sim = run_sim()
    live = await run_live()
    types = [e.type for e in sim]
    assert types.count(ev.TRADE_BOOKED) == 2 and ev.INQUIRY_EXPIRED in types
    # RFQ to five, basket to three, RFM to five; the cautious dealer passes on the two illiquid HY bonds
    assert types.count(ev.QUOTE_NEW) == 11 and types.count(ev.QUOTE_PASSED) == 2
    assert normalise(live) == normalise(sim)


def test_simulated_runtime_is_deterministic_byte_for_byte() -> None:
    a, b = run_sim(), run_sim()
    assert b"".join(e.to_json() for e in a) == b"".join(e.to_json() for e in b)
