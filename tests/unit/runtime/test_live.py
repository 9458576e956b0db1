"""The live runtime: in-process consumers see events as the engine makes them, everything outside the
process only after the commit; zero-latency bots answer inside the inquiry's commit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from dealer_bots.registry import default_strategy
from server.bots.host import BotHost, BotSpec
from server.bots.protocol import InquiryView, InventoryView, MarketView, Quote
from server.domain import events as ev
from server.domain.commands import CreateRfq
from server.domain.events import Event
from server.domain.types import NS_PER_MS, Side
from server.runtime.live import LiveRuntime, VenueUnavailable
from tests.support.engine import DEALERS, T0, ig_bond, make_venue, small_universe


class Store:
    """A commit that records its batches and can be held open or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def __call__(self, events: Sequence[Event]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise OSError("disk full")
        self.batches.append(list(events))


def runtime(latency_ms: dict[str, float] | None = None, store: Store | None = None,
            bots: dict[str, Any] | None = None) -> tuple[LiveRuntime, Store]:
    u = small_universe()
    market = u.initial_market()
    latency_ms = latency_ms or {}
    specs = [BotSpec(d, (bots or {}).get(d) or default_strategy(i, d), int(latency_ms.get(d, 0) * NS_PER_MS),
                     2_000 * NS_PER_MS) for i, d in enumerate(DEALERS)]
    store = store or Store()
    start = time.time_ns()
    rt = LiveRuntime(make_venue(), BotHost(specs, u, lambda: market), commit=store,
                     clock=lambda: T0 + time.time_ns() - start)
    rt.start()
    return rt, store


def rfq() -> CreateRfq:
    return CreateRfq("c1", ig_bond(0), Side.BUY, 1_000_000)


async def test_zero_latency_bots_answer_inside_the_inquirys_commit() -> None:
    rt, store = runtime()
    outcome = await rt.execute(rfq())
    assert outcome.error is None
    assert len(store.batches) == 1
    types = [e.type for e in store.batches[0]]
    assert types[0] == ev.INQUIRY_CREATED
    assert types.count(ev.QUOTE_NEW) + types.count(ev.QUOTE_PASSED) == len(DEALERS)
    assert [e.seq for e in store.batches[0]] == sorted(e.seq for e in store.batches[0])
    # the caller's answer already holds the quotes: they were committed with the inquiry
    assert len(rt.venue.inquiries[outcome.ref].quotes) == types.count(ev.QUOTE_NEW)
    await rt.stop()


async def test_nothing_reaches_a_subscriber_before_the_commit() -> None:
    store = Store()
    store.gate = asyncio.Event()
    rt, _ = runtime(store=store)
    sub = rt.subscribe("c1")
    task = asyncio.create_task(rt.execute(rfq()))
    await asyncio.sleep(0.05)
    inquiry = next(iter(rt.venue.inquiries.values()))
    assert inquiry.quotes, "the in-process bots answered at once"
    assert not sub.events and rt.published_seq == 0 and not task.done()
    store.gate.set()
    await task
    seen = list(sub.events)
    assert seen and all(e.seq <= rt.published_seq for e in seen)
    assert {e.type for e in seen} >= {ev.INQUIRY_CREATED, ev.QUOTE_NEW}
    await rt.stop()


async def test_a_bot_with_latency_is_asked_only_after_the_commit() -> None:
    store = Store()
    store.gate = asyncio.Event()
    rt, _ = runtime({d: 20 for d in DEALERS[1:]}, store=store)  # d1 at once, the others 20 ms later
    task = asyncio.create_task(rt.execute(rfq()))
    await asyncio.sleep(0.1)  # well past the 20 ms: still nothing, the commit is held
    inquiry = next(iter(rt.venue.inquiries.values()))
    assert {q.dealer_id for q in inquiry.quotes.values()} | set(inquiry.passed) <= {"d1"}
    store.gate.set()
    await task
    await asyncio.sleep(0.1)
    answered = {q.dealer_id for q in inquiry.quotes.values()} | set(inquiry.passed)
    assert answered == set(DEALERS)
    assert len(store.batches) >= 2  # the late answers in their own commits
    await rt.stop()


async def test_a_failed_commit_publishes_nothing_and_asks_no_late_bot() -> None:
    store = Store()
    store.fail = True
    rt, _ = runtime({d: 5 for d in DEALERS[1:]}, store=store)
    sub = rt.subscribe("c1")
    with pytest.raises(VenueUnavailable):
        await rt.execute(rfq())
    await asyncio.sleep(0.05)
    assert not sub.events and rt.published_seq == 0
    inquiry = next(iter(rt.venue.inquiries.values()))
    assert {q.dealer_id for q in inquiry.quotes.values()} | set(inquiry.passed) <= {"d1"}
    with pytest.raises(VenueUnavailable):
        await rt.execute(rfq())
    await rt.stop()


class Invalid:
    """Quotes a price the venue refuses (negative)."""

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Quote:
        return Quote(level=-5.0)

    def on_feedback(self, feedback: object) -> None:
        pass


async def test_a_refused_inline_answer_is_a_pass_in_the_same_commit() -> None:
    rt, store = runtime(bots={"d2": Invalid()})
    outcome = await rt.execute(rfq())
    assert len(store.batches) == 1
    passes = [e for e in store.batches[0] if e.type == ev.QUOTE_PASSED and e.data["dealer_id"] == "d2"]
    assert len(passes) == 1 and "invalid quote" in passes[0].data["reason"]
    assert rt.bots is not None and rt.bots.stats()["d2"].rejected == 1
    assert "d2" in rt.venue.inquiries[outcome.ref].passed
    await rt.stop()


def event(seq: int) -> Event:
    return Event(seq, T0 + seq, ev.QUOTE_NEW, ("c1",), {"inquiry_id": "RFQ-1"})


async def test_a_subscription_wakes_its_consumer_on_each_kind_of_news() -> None:
    from server.runtime.live import Subscription

    sub = Subscription("c1", maxsize=3)
    waiting = asyncio.create_task(sub.wait())
    await asyncio.sleep(0)
    assert not waiting.done()
    sub.push(event(1))
    sub.push(event(2))
    await asyncio.sleep(0)  # one future, resolved by the first push: the consumer runs in the next turn
    assert waiting.done() and [e.seq for e in sub.events] == [1, 2]
    await asyncio.wait_for(sub.wait(), 0.1)  # events queued: returns at once

    sub.events.clear()
    waiting = asyncio.create_task(sub.wait())
    await asyncio.sleep(0)
    sub.interrupt()  # the consumer's peer went away
    await asyncio.wait_for(waiting, 0.1)
    assert not sub.events and not sub.lagged and not sub.closed

    sub.close()
    await asyncio.wait_for(sub.wait(), 0.1)
    sub.push(event(3))
    assert not sub.events  # nothing after the venue closed the feed


async def test_a_subscription_too_far_behind_is_marked_lagged_and_its_backlog_dropped() -> None:
    from server.runtime.live import Subscription

    sub = Subscription("c1", maxsize=3)
    for seq in range(1, 4):
        sub.push(event(seq))
    assert len(sub.events) == 3 and not sub.lagged
    sub.push(event(4))
    assert sub.lagged and not sub.events  # the consumer resumes from its last seq, from the log
    sub.push(event(5))
    assert not sub.events
    await asyncio.wait_for(sub.wait(), 0.1)


async def test_stopping_the_runtime_closes_every_feed() -> None:
    rt, _ = runtime()
    subs = [rt.subscribe("c1"), rt.subscribe("c1"), rt.subscribe("d1")]
    waiting = [asyncio.create_task(s.wait()) for s in subs]
    await asyncio.sleep(0)
    await rt.stop()
    await asyncio.wait_for(asyncio.gather(*waiting), 0.5)
    assert all(s.closed for s in subs)


async def test_a_failing_listener_keeps_neither_the_bots_nor_the_log_from_the_events() -> None:
    rt, store = runtime()

    def broken(batch: list[Event]) -> None:
        raise RuntimeError("listener bug")

    rt.listeners.append(broken)
    sub = rt.subscribe("c1")
    outcome = await rt.execute(rfq())
    assert outcome.error is None and len(store.batches) == 1
    types = [e.type for e in store.batches[0]]
    assert types[0] == ev.INQUIRY_CREATED
    assert types.count(ev.QUOTE_NEW) + types.count(ev.QUOTE_PASSED) == len(DEALERS)  # the bots still answered
    assert [e.seq for e in sub.events] == [e.seq for e in store.batches[0] if "c1" in e.audience]
    await rt.stop()


async def test_streams_hear_of_a_commit_in_the_writers_turn_before_the_caller_resumes() -> None:
    from server.persistence import EventStore, GroupCommitWriter

    store = await EventStore.open("sqlite://")
    await store.migrate()
    writer = GroupCommitWriter(store)
    writer.start()
    u = small_universe()
    market = u.initial_market()
    bots = BotHost([BotSpec(d, default_strategy(i, d)) for i, d in enumerate(DEALERS)], u, lambda: market)
    rt = LiveRuntime(make_venue(), bots, commit=writer.write)
    writer.on_commit = rt.committed
    rt.start()
    sub = rt.subscribe("c1")
    try:
        task = asyncio.create_task(rt.execute(rfq()))
        deadline = asyncio.get_running_loop().time() + 5
        while not sub.events and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0)  # one turn at a time: the caller cannot slip past unseen
        assert sub.events and not task.done()  # published from the writer's turn: the caller is a turn behind
        outcome = await task
        assert outcome.error is None and rt.published_seq == sub.events[-1].seq
        seqs = [e.seq for e in sub.events]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))  # once each, in order
    finally:
        await rt.stop()
        await writer.stop()
        await store.close()
