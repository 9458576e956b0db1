"""The simulated runtime holds off the collector's full collections while it runs, and only then."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from server.runtime.sim import SimRuntime
from server.venue.engine import Venue
from tests.support.engine import small_universe


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _runtime() -> SimRuntime:
    return SimRuntime(Venue(small_universe(), {}), start_ns=0)


def test_no_full_collection_during_a_run_and_thresholds_restored() -> None:
    sim = _runtime()
    generations: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    keep: list[object] = []

    def allocate() -> None:
        keep.extend([{"n": [i]} for i in range(200)])  # survivors, as the venue's state is
        for _ in range(50):
            _Cycle()  # cyclic garbage: the young collections still find it

    for k in range(2_000):
        sim.call_at(k, allocate)
    before = gc.get_threshold()
    gc.collect()
    gc.callbacks.append(record)
    try:
        sim.run()
    finally:
        gc.callbacks.remove(record)
    assert gc.get_threshold() == before
    assert generations and 2 not in generations and 0 in generations


def test_thresholds_restored_when_a_callback_raises() -> None:
    sim = _runtime()

    def fail() -> None:
        raise RuntimeError("boom")

    sim.call_at(5, fail)
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        sim.run()
    assert gc.get_threshold() == before
