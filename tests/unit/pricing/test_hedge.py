"""Treasury key-rate and LQD/HYG credit hedges, and what they cost."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealer_bots.pricing.hedge import (
    HEDGE_NAMES,
    HedgeConfig,
    hedge_book,
    hedge_cost,
    hedge_notionals,
    hedge_r_squared,
    hedged_exposure,
    residual_variance,
)
from dealer_bots.pricing.risk import MarketRisk, line_risk
from server.market.evolution import stress_premium
from server.market.factors import HY, IG, RATES
from tests.unit.pricing.conftest import SETTLE, context

LQD, HYG = HEDGE_NAMES.index("LQD"), HEDGE_NAMES.index("HYG")


def baskets(max_lines: int = 80) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    n_all = context().universe.n_instruments

    @st.composite
    def make(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
        n = draw(st.integers(1, max_lines))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        idx = rng.choice(n_all, size=n, replace=False)
        face = rng.choice([-1.0, 1.0], n) * rng.integers(1, 50, n) * 100_000.0
        return idx, face

    return make()


@settings(max_examples=60, deadline=None)
@given(baskets())
def test_the_hedge_zeroes_key_rate_dv01_and_credit(basket: tuple[np.ndarray, np.ndarray]) -> None:
    ctx = context()
    idx, face = basket
    lines = line_risk(ctx, idx, face)
    expo = lines.exposure.sum(axis=0, keepdims=True)
    h = hedge_notionals(ctx.hedges, expo)
    left = hedged_exposure(ctx.hedges, expo, h)
    scale = float(np.abs(lines.exposure[:, RATES]).sum()) + 1.0
    np.testing.assert_allclose(left[0, RATES], 0.0, atol=1e-9 * scale)
    credit_scale = float(np.abs(lines.exposure[:, [IG, HY]]).sum()) + 1.0
    np.testing.assert_allclose(left[0, [IG, HY]], 0.0, atol=1e-9 * credit_scale)


@settings(max_examples=30, deadline=None)
@given(baskets())
def test_a_basket_hedge_is_the_sum_of_its_lines_hedges(basket: tuple[np.ndarray, np.ndarray]) -> None:
    ctx = context()
    lines = line_risk(ctx, *basket)
    per_line = hedge_notionals(ctx.hedges, lines.exposure)
    whole = hedge_notionals(ctx.hedges, lines.exposure.sum(axis=0, keepdims=True))
    np.testing.assert_allclose(whole[0], per_line.sum(axis=0), rtol=1e-9, atol=1e-3)


def test_long_credit_is_hedged_by_selling_the_etf_of_its_grade(ctx: MarketRisk) -> None:
    u = ctx.universe
    ig = int(np.flatnonzero(~u.is_hy)[0])
    hy = int(np.flatnonzero(u.is_hy)[0])
    lines = line_risk(ctx, np.array([ig, hy, ig]), np.array([1e6, 1e6, -1e6]))
    h = hedge_notionals(ctx.hedges, lines.exposure)
    assert h[0, LQD] < 0 and h[0, HYG] == 0.0
    assert h[1, HYG] < 0 and h[1, LQD] == 0.0
    assert h[2, LQD] > 0  # short credit: buy the ETF
    # scaled by spread beta: the ETF amount is the bond's DTS over the ETF's
    beta = ctx.exposure[ig, IG] / ctx.hedges.exposure[LQD, IG]
    assert h[0, LQD] == pytest.approx(-beta * lines.market_value[0])


def test_partial_hedge_ratios(ctx: MarketRisk) -> None:
    lines = line_risk(ctx, np.array([10, 20, 30]), np.array([1e6, 2e6, 1e6]))
    expo = lines.exposure.sum(axis=0, keepdims=True)
    none = hedge_book(ctx.model, ctx.universe, ctx.snapshot, SETTLE, HedgeConfig(rates_ratio=0.0, credit_ratio=0.0))
    assert np.all(hedge_notionals(none, expo) == 0.0)
    half = hedge_book(ctx.model, ctx.universe, ctx.snapshot, SETTLE, HedgeConfig(rates_ratio=0.5, credit_ratio=0.0))
    left = hedged_exposure(half, expo, hedge_notionals(half, expo))
    np.testing.assert_allclose(left[0, RATES], 0.5 * expo[0, RATES], rtol=1e-9)
    assert np.all(hedge_notionals(half, expo)[0, [LQD, HYG]] == 0.0)


def test_cost_is_half_spreads_plus_the_etf_premium(ctx: MarketRisk) -> None:
    book = ctx.hedges
    h = np.zeros((1, len(HEDGE_NAMES)))
    h[0, 2] = 10e6  # buy 10 mm of the 10y
    assert float(hedge_cost(book, h)[0]) == pytest.approx(10e6 * book.half_spread_bp[2] * 1e-4)
    sell_lqd = np.zeros((1, len(HEDGE_NAMES)))
    sell_lqd[0, LQD] = -100e6
    at_nav = float(hedge_cost(book, sell_lqd)[0])
    assert at_nav == pytest.approx(100e6 * 0.5e-4)  # LQD half-spread 0.5 bp
    for premium, sign in ((-0.01, +1), (0.01, -1)):
        snap = stress_premium(ctx.snapshot, "LQD", premium)
        stressed = hedge_book(ctx.model, ctx.universe, snap, SETTLE, HedgeConfig())
        # selling at a 1% discount pays 1% of the amount sold; at a premium it earns it
        assert float(hedge_cost(stressed, sell_lqd)[0]) == pytest.approx(at_nav + sign * 0.01 * 100e6)
        assert float(hedge_cost(stressed, -sell_lqd)[0]) == pytest.approx(at_nav - sign * 0.01 * 100e6)
    no_pass = replace(book, config=HedgeConfig(premium_pass_through=0.0, round_trip=2.0))
    snap = stress_premium(ctx.snapshot, "LQD", -0.02)
    assert float(hedge_cost(replace(no_pass, premium=hedge_book(
        ctx.model, ctx.universe, snap, SETTLE, HedgeConfig()).premium), sell_lqd)[0]) == pytest.approx(2 * at_nav)


def test_the_hedge_removes_most_of_a_diversified_baskets_risk(ctx: MarketRisk) -> None:
    ig = np.flatnonzero(~ctx.universe.is_hy)[:100]
    lines = line_risk(ctx, ig, np.full(ig.size, 1e6))
    expo = lines.exposure.sum(axis=0, keepdims=True)
    idio = np.array([lines.idio_var.sum()])
    zero = np.zeros((1, len(HEDGE_NAMES)))
    unhedged = residual_variance(ctx.hedges, ctx.cov, expo, idio, zero)
    h = hedge_notionals(ctx.hedges, expo)
    hedged = residual_variance(ctx.hedges, ctx.cov, hedged_exposure(ctx.hedges, expo, h), idio, h)
    at_nav = residual_variance(ctx.hedges, ctx.cov, hedged_exposure(ctx.hedges, expo, h), idio, h, at_nav=True)
    assert hedged[0] < 0.2 * unhedged[0]
    assert at_nav[0] < hedged[0]  # premium risk is part of the residual


def test_single_bond_r_squared_against_its_etf_is_moderate(ctx: MarketRisk) -> None:
    bonds = np.arange(ctx.universe.n_bonds)
    lines = line_risk(ctx, bonds, np.full(bonds.size, 1e6))
    h = hedge_notionals(ctx.hedges, lines.exposure)
    r2 = hedge_r_squared(ctx.hedges, ctx.cov, lines.exposure, lines.idio_var, h)
    assert 0.25 <= float(np.median(r2)) <= 0.65  # CALIBRATION 4: 0.3-0.6 for one bond
    t = line_risk(ctx, np.array([ctx.universe.n_bonds]), np.array([1e6]))
    assert hedge_r_squared(ctx.hedges, ctx.cov, t.exposure, t.idio_var,
                           hedge_notionals(ctx.hedges, t.exposure))[0] == 1.0


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        HedgeConfig(rates_ratio=1.5)
    with pytest.raises(ValueError):
        HedgeConfig(treasury_half_spread_bp=(0.1, 0.2))
