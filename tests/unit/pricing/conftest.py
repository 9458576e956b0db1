"""Fixtures for the pricing toolkit: universes, their initial markets and per-snapshot risk tables."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import pytest

from dealer_bots.pricing.risk import MarketRisk
from server.domain.calendar import settlement_date
from server.market.factors import FactorModel
from server.market.universe import Universe, UniverseConfig, build_universe

SETTLE = settlement_date(date(2026, 11, 20))


@lru_cache(maxsize=1)
def universe() -> Universe:
    return build_universe(UniverseConfig(seed=3, n_bonds=600, n_issuers=110))


@lru_cache(maxsize=1)
def big_universe() -> Universe:
    """Enough bonds for 5,000-line baskets."""
    return build_universe(UniverseConfig(seed=5, n_bonds=5_200, n_issuers=850))


@lru_cache(maxsize=2)
def context(big: bool = False) -> MarketRisk:
    u = big_universe() if big else universe()
    return MarketRisk.build(u, u.initial_market(), SETTLE, model=FactorModel(u))


@pytest.fixture
def ctx() -> MarketRisk:
    return context()
