"""The live runtime: asyncio and the wall clock around the same engine.

Commands run one at a time on the event loop (the engine is synchronous, so no lock is needed).
The venue's own in-process consumers (listeners such as the market's impact model, and the
in-process dealer bots) observe events as the engine produces them, as in the simulated runtime;
a bot with zero latency answers at once, and its quote joins the same commit as the inquiry.
Everything leaves the process only once durable: the caller's ``execute`` returns after the
commit (group commit), and stream subscribers get events in sequence order after it, as do the
deliveries of bots whose latency puts their answer later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from server.bots.host import BotHost, Delivery
from server.domain.commands import Command, Tick
from server.domain.errors import VenueError
from server.domain.events import Event
from server.domain.types import NS_PER_SECOND
from server.venue.engine import Outcome, Venue

log = logging.getLogger("rfqsim.runtime")

MAX_INLINE_ROUNDS = 8  # bots answering events caused by bots' answers, at once: a bound, not a design

Commit = Callable[[Sequence[Event]], Awaitable[None]]


class VenueUnavailable(VenueError):
    status = 503
    code = "unavailable"


class Subscription:
    """A participant's live feed: events in sequence order, a bounded backlog. A consumer that falls
    ``maxsize`` events behind is dropped (``lagged``, its backlog cleared) and resumes from its last
    sequence number. ``wait`` returns when there is something to look at: events, a lag, the venue
    closing the feed, or an ``interrupt`` (the consumer's peer went away). One future per wait,
    resolved by ``push``: the consumer runs in the very next turn of the event loop."""

    __slots__ = ("_waiter", "closed", "events", "lagged", "maxsize", "participant_id")

    def __init__(self, participant_id: str, maxsize: int) -> None:
        self.participant_id = participant_id
        self.maxsize = maxsize
        self.events: deque[Event] = deque()
        self.lagged = False
        self.closed = False  # the venue is shutting down
        self._waiter: asyncio.Future[None] | None = None

    def push(self, event: Event) -> None:
        if self.lagged or self.closed:
            return
        if len(self.events) >= self.maxsize:
            self.lagged = True
            self.events.clear()
        else:
            self.events.append(event)
        self.interrupt()

    def close(self) -> None:
        self.closed = True
        self.interrupt()

    def interrupt(self) -> None:
        """Wake the consumer's ``wait``."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        if self.events or self.lagged or self.closed:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


def _stopwatch() -> Callable[[], int]:
    """Nanoseconds since the call, for the bot host's deadline check (the bot's own compute time)."""
    started = time.perf_counter_ns()
    return lambda: time.perf_counter_ns() - started


class LiveRuntime:
    def __init__(self, venue: Venue, bots: BotHost | None = None, *, commit: Commit | None = None,
                 clock: Callable[[], int] = time.time_ns, queue_size: int = 10_000) -> None:
        self.venue = venue
        self.bots = bots
        self.clock = clock
        self._commit = commit
        self._queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = {}
        self._pending: deque[Event] = deque()  # produced, not yet published
        # bot deliveries due later, each after the commit of the event (by seq) that caused it
        self._deferred: deque[tuple[int, list[Delivery]]] = deque()
        self._committed_seq = venue.seq
        self.published_seq = venue.seq
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._failed: BaseException | None = None
        self._closed = False
        self.listeners: list[Callable[[list[Event]], None]] = []

    # commands -------------------------------------------------------------------
    async def execute(self, command: Command) -> Outcome:
        """Apply ``command`` at the wall-clock time; return once its events are committed."""
        return (await self.execute_many([command]))[0]

    async def execute_many(self, commands: Sequence[Command]) -> list[Outcome]:
        """Apply ``commands`` one after another at the same instant and commit their events together,
        with the answers of the in-process bots that answer at once."""
        return await self._execute(commands, from_bots=False)

    async def _execute(self, commands: Sequence[Command], *, from_bots: bool) -> list[Outcome]:
        if self._failed is not None:
            raise VenueUnavailable(f"the venue stopped accepting commands: {self._failed}")
        outcomes, events = self._apply(commands, self.clock(), from_bots=from_bots)
        if events:
            try:
                self._observe(events)
            except Exception:  # the engine has applied them: they are committed whatever a consumer did
                log.exception("an in-process consumer failed on events %d-%d", events[0].seq, events[-1].seq)
            self._pending.extend(events)
            try:
                if self._commit is not None:
                    await self._commit(events)
            except Exception as exc:
                # The engine applied events the store refused: state and log disagree. Stop taking
                # commands rather than trade on state that a restart would not rebuild.
                self._failed = exc
                log.exception("event store commit failed; the venue stops accepting commands")
                raise VenueUnavailable("the event store is unavailable") from exc
            self.committed(events[-1].seq)
        self._arm_timer()
        return outcomes

    def committed(self, seq: int) -> None:
        """Events up to ``seq`` are durable: publish them. The group commit writer calls this right
        after its commit (``GroupCommitWriter.on_commit``), a turn of the event loop before the
        command's caller resumes; the caller's own call then finds nothing left to publish."""
        if seq > self._committed_seq:
            self._committed_seq = seq
            self._publish()

    def _apply(self, commands: Sequence[Command], now: int, *, from_bots: bool) -> tuple[list[Outcome], list[Event]]:
        """Run ``commands`` through the engine; a bot's refused command falls back to a pass (once)."""
        outcomes = [self.venue.execute(command, now) for command in commands]
        events = [e for outcome in outcomes for e in outcome.events]
        if from_bots and self.bots is not None:
            fallbacks = [f for c, o in zip(commands, outcomes, strict=True) if o.error is not None
                         for f in [self.bots.rejected(c, o.error.reason)] if f is not None]
            for fallback in fallbacks:
                events.extend(self.venue.execute(fallback, now).events)
        return outcomes, events

    def _observe(self, events: list[Event]) -> None:
        """The in-process consumers see ``events`` (extended in place with what they cause): listeners,
        then the bots; deliveries due now are answered now, later ones wait for the commit."""
        batch = events
        for _ in range(MAX_INLINE_ROUNDS):
            self._tell_listeners(batch)
            if self.bots is None or self._closed:
                return
            deliveries = self.bots.on_events(batch)
            if not deliveries:
                return
            now = self.clock()
            due_now = [d for d in deliveries if d.due_ns <= now]
            later = [d for d in deliveries if d.due_ns > now] if len(due_now) < len(deliveries) else []
            if later:
                self._deferred.append((events[-1].seq, later))
            if not due_now:
                return
            commands = [self.bots.respond(d, self.clock(), elapsed=_stopwatch()) for d in due_now]
            _, batch = self._apply(commands, self.clock(), from_bots=True)
            if not batch:
                return
            events.extend(batch)
        log.warning("in-process bots kept answering each other for %d rounds; the rest waits", MAX_INLINE_ROUNDS)
        self._tell_listeners(batch)
        if self.bots is not None:
            self._deferred.append((events[-1].seq, self.bots.on_events(batch)))

    def _tell_listeners(self, batch: list[Event]) -> None:
        for listener in self.listeners:
            try:
                listener(batch)
            except Exception:  # isolation: the bots and the log go on
                log.exception("listener %r failed on events %d-%d", listener, batch[0].seq, batch[-1].seq)

    # streams --------------------------------------------------------------------
    def subscribe(self, participant_id: str) -> Subscription:
        sub = Subscription(participant_id, self._queue_size)
        self._subscribers.setdefault(participant_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subscribers.get(sub.participant_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[sub.participant_id]

    # lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        self._arm_timer()

    async def stop(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        for subs in self._subscribers.values():
            for sub in subs:
                sub.close()

    @property
    def healthy(self) -> bool:
        return self._failed is None and not self._closed

    # internals ------------------------------------------------------------------
    def _publish(self) -> None:
        batch: list[Event] = []
        while self._pending and self._pending[0].seq <= self._committed_seq:
            batch.append(self._pending.popleft())
        if not batch:
            return
        self.published_seq = batch[-1].seq
        for event in batch:
            for participant_id in event.audience:
                for sub in self._subscribers.get(participant_id, ()):
                    sub.push(event)
        if self._closed:
            return
        loop: asyncio.AbstractEventLoop | None = None
        while self._deferred and self._deferred[0][0] <= self._committed_seq:
            _, deliveries = self._deferred.popleft()
            due: dict[int, list[Delivery]] = {}  # deliveries due together are answered together
            for delivery in deliveries:
                due.setdefault(delivery.due_ns, []).append(delivery)
            loop = loop or asyncio.get_running_loop()
            for at, group in due.items():
                loop.call_later(max(0.0, (at - self.clock()) / NS_PER_SECOND), self._deliver, group)

    def _deliver(self, deliveries: list[Delivery]) -> None:
        if self._closed or self.bots is None:
            return
        commands = [self.bots.respond(d, self.clock(), elapsed=_stopwatch()) for d in deliveries]
        self._spawn(self._execute(commands, from_bots=True))

    def _arm_timer(self) -> None:
        if self._closed:
            return
        due = self.venue.next_timer()
        if due is None or (self._timer_at is not None and self._timer_at <= due):
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer_at = due
        self._timer = loop.call_later(max(0.0, (due - self.clock()) / NS_PER_SECOND), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._spawn(self.execute(Tick()))

    def _spawn(self, coro: Awaitable[object]) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("runtime task failed", exc_info=task.exception())
