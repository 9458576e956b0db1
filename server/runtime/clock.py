"""Clocks. The engine never reads one; runtimes do."""

from __future__ import annotations

import time


class WallClock:
    """Wall-clock nanoseconds since the Unix epoch that never go backwards (the engine's ordering
    of events must not depend on NTP steps)."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        now = time.time_ns()
        if now <= self._last:
            now = self._last + 1
        self._last = now
        return now


class VirtualClock:
    """A clock a test or a simulation moves by hand."""

    def __init__(self, start_ns: int = 0) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        return self.now

    def advance(self, ns: int) -> int:
        if ns < 0:
            raise ValueError("time does not go backwards")
        self.now += ns
        return self.now
