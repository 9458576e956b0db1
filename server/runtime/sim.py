"""The simulated runtime: a virtual clock and a discrete-event heap.

Nothing waits: the clock jumps to the next scheduled item (a client command, a bot's answer, an
inquiry's expiry). The same seed and scenario give the same event log, byte for byte.
"""

from __future__ import annotations

import gc
import heapq
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from server.bots.host import BotHost, Delivery
from server.domain.commands import Command, Tick
from server.domain.events import Event
from server.venue.engine import Outcome, Venue

Listener = Callable[[list[Event]], None]


# Heap items are plain tuples (time, tie-breaking order, payload, outcome callback): tuple comparison is
# done in C, a dataclass's generated ``__lt__`` in Python (a measurable share of a simulation's time).
_Item = tuple[int, int, Any, "Callable[[Outcome], None] | None"]

# While ``run`` processes items, the garbage collector's full (oldest-generation) collections wait: the
# venue keeps every inquiry, quote and trade, so the old generation grows with the run and each full
# collection walks all of it (about a tenth of a simulation's time), to find next to no garbage (the
# engine, bots and research layer make almost no reference cycles). The young generations are collected
# as usual; the collector's thresholds are restored when ``run`` returns.
_FULL_COLLECTION_HOLD = 1_000_000


class SimRuntime:
    def __init__(self, venue: Venue, bots: BotHost | None = None, *, start_ns: int = 0,
                 keep_log: bool = True) -> None:
        self.venue = venue
        self.bots = bots
        self.now = start_ns
        self.log: list[Event] = []
        self.keep_log = keep_log
        self.listeners: list[Listener] = []
        self.rejections: list[tuple[int, Command, str]] = []
        self._heap: list[_Item] = []
        self._order = itertools.count()
        self._ticks: set[int] = set()

    # scheduling ---------------------------------------------------------------
    def submit(self, command: Command, at: int | None = None,
               on_outcome: Callable[[Outcome], None] | None = None) -> None:
        """Schedule ``command`` at engine time ``at`` (default: now)."""
        when = self.now if at is None else at
        if when < self.now:
            raise ValueError(f"cannot schedule in the past ({when} < {self.now})")
        heapq.heappush(self._heap, (when, next(self._order), command, on_outcome))

    def call_at(self, at: int, fn: Callable[[], None]) -> None:
        """Schedule a plain callback (used by scenario drivers)."""
        heapq.heappush(self._heap, (max(at, self.now), next(self._order), fn, None))

    def execute(self, command: Command) -> Outcome:
        """Apply ``command`` now and process what it causes (deliveries are scheduled, not run)."""
        outcome = self.venue.execute(command, self.now)
        if outcome.error is not None:
            self.rejections.append((self.now, command, outcome.error.reason))
            if self.bots is not None:
                fallback = self.bots.rejected(command, outcome.error.reason)
                if fallback is not None:
                    self._after(outcome.events)
                    return self.execute(fallback)
        self._after(outcome.events)
        return outcome

    def run(self, until: int | None = None, max_items: int | None = None) -> int:
        """Process scheduled items in time order up to ``until`` (inclusive). Returns items processed."""
        thresholds = gc.get_threshold()
        gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], _FULL_COLLECTION_HOLD))
        try:
            done = 0
            while self._heap and (until is None or self._heap[0][0] <= until):
                if max_items is not None and done >= max_items:
                    break
                at, _, payload, on_outcome = heapq.heappop(self._heap)
                self.now = max(self.now, at)
                if isinstance(payload, Delivery):
                    assert self.bots is not None
                    self.execute(self.bots.respond(payload, self.now))
                elif callable(payload) and not isinstance(payload, Tick):
                    payload()
                else:
                    if isinstance(payload, Tick):
                        self._ticks.discard(at)
                    outcome = self.execute(payload)
                    if on_outcome is not None:
                        on_outcome(outcome)
                done += 1
        finally:
            gc.set_threshold(*thresholds)
        if until is not None and until > self.now:
            self.now = until
        return done

    # internals ----------------------------------------------------------------
    def _after(self, events: Iterable[Event]) -> None:
        batch = events if type(events) is list else list(events)
        if not batch:
            return
        if self.keep_log:
            self.log.extend(batch)
        for listener in self.listeners:
            listener(batch)
        if self.bots is not None:
            for delivery in self.bots.on_events(batch):
                heapq.heappush(self._heap, (delivery.due_ns, next(self._order), delivery, None))
        due = self.venue.next_timer()
        if due is not None and due not in self._ticks:
            self._ticks.add(due)
            heapq.heappush(self._heap, (max(due, self.now), next(self._order), Tick(), None))
