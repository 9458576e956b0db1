"""The simulation's market: impacted views name the market step's snapshot they were moved from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pytest

from server.domain.calendar import ns_from_date
from server.market.universe import Universe, UniverseConfig, build_universe
from server.research.market import MarketState
from server.research.scenario import MarketSettings

MM = 1_000_000


@pytest.fixture(scope="module")
def u() -> Universe:
    return build_universe(UniverseConfig(n_bonds=300, n_issuers=60))


def market(u: Universe, *, impact: bool = True, repricing: Literal["linear", "exact"] = "linear") -> MarketState:
    def schedule(at: int, fn: Callable[[], None]) -> None:  # impact_refresh_s = 0: nothing is scheduled
        raise AssertionError("unexpected")

    settings = MarketSettings(impact=impact, impact_repricing=repricing)
    return MarketState(u, settings, seed=1, schedule=schedule)


@pytest.mark.parametrize("repricing", ["linear", "exact"])
def test_an_impacted_view_names_the_market_step_it_was_moved_from(u: Universe,
                                                                   repricing: Literal["linear", "exact"]) -> None:
    state = market(u, repricing=repricing)
    now = ns_from_date(u.as_of, 15)
    assert state.snapshot() is state.base and state.base.basis is None
    state.on_inquiry(now, np.array([7]), np.array([25 * MM]), 5, False)
    view = state.snapshot()
    assert view is not state.base and view.basis is state.base
    assert view.mid_price[7] > state.base.mid_price[7]
    for name in ("as_of", "curve", "liquidity_score", "etf_nav", "etf_price"):
        assert getattr(view, name) is getattr(state.base, name), name
    state.on_award(now + 10**9, np.array([7]), np.array([25 * MM]), 4, False)
    assert state.snapshot() is not view and state.snapshot().basis is state.base
    # A market step is a snapshot in its own right, and the view after it is moved from it.
    first = state.base
    state.step(now + 60 * 10**9)
    assert state.base is not first and state.base.basis is None
    assert state.snapshot().basis is state.base


def test_without_impact_the_view_is_the_market_step(u: Universe) -> None:
    state = market(u, impact=False)
    now = ns_from_date(u.as_of, 15)
    state.on_inquiry(now, np.array([7]), np.array([25 * MM]), 5, False)
    state.step(now + 60 * 10**9)
    assert state.snapshot() is state.base and state.base.basis is None
