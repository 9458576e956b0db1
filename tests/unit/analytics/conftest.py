"""Fixtures for the analytics: the venue's default universe, a big one for 5,000-line baskets, their contexts."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pytest

from server.analytics.pretrade import AnalyticsContext, Basket
from server.domain.calendar import settlement_date
from server.market.universe import Universe, UniverseConfig, build_universe

SETTLE = settlement_date(date(2026, 11, 20))


@lru_cache(maxsize=1)
def universe() -> Universe:
    return build_universe(UniverseConfig())  # the venue's default: seed 7, 2,000 bonds


@lru_cache(maxsize=1)
def big_universe() -> Universe:
    return build_universe(UniverseConfig(seed=5, n_bonds=5_200, n_issuers=850))


@lru_cache(maxsize=2)
def context(big: bool = False) -> AnalyticsContext:
    u = big_universe() if big else universe()
    return AnalyticsContext.build(u, u.initial_market(), SETTLE)


@pytest.fixture
def ctx() -> AnalyticsContext:
    return context()


def random_basket(u: Universe, n: int, seed: int = 0, *, corporates_only: bool = True) -> Basket:
    rng = np.random.default_rng(seed)
    pool = u.n_bonds if corporates_only else u.n_instruments
    idx = rng.choice(pool, size=n, replace=False)
    side = np.where(rng.random(n) < 0.6, 1, -1)
    min_piece = np.concatenate([u.min_piece, np.full(len(u.treasuries), 100)])
    qty = min_piece[idx] * rng.integers(500, 3_000, size=n)
    return Basket.of(u, idx, side, qty)
