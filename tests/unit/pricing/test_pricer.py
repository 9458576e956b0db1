"""Putting the charges together: line prices, allocation, diversification, competition."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dealer_bots.pricing.charges import BalanceSheetConfig
from dealer_bots.pricing.liquidity import rfq_cost_bp
from dealer_bots.pricing.pricer import COMPONENTS, PricingConfig, allocate, floor_lines, price_basket
from dealer_bots.pricing.risk import MarketRisk

CFG = PricingConfig()


def random_basket(ctx: MarketRisk, n: int, seed: int, two_sided: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = rng.choice(ctx.universe.n_bonds, n, replace=False)
    sign = rng.choice([-1.0, 1.0], n) if two_sided else np.ones(n)
    return idx, sign * rng.choice([500_000.0, 1_000_000.0, 3_000_000.0], n)


@pytest.mark.parametrize("seed", range(5))
def test_prices_carry_exactly_the_charges_and_sit_on_the_dealers_side(ctx: MarketRisk, seed: int) -> None:
    idx, face = random_basket(ctx, 120, seed)
    p = price_basket(ctx, CFG, idx, face, n_dealers=4)
    total = p.charges.total
    np.testing.assert_allclose((p.lines.mid - p.prices) * face / 100.0, total, rtol=1e-9, atol=1e-6)
    assert p.mid_value - float(face @ p.prices) / 100.0 == pytest.approx(p.total_charge, rel=1e-9)
    assert np.all((p.prices - p.lines.mid) * -np.sign(face) > 0.0)  # a bid below mid, an offer above
    assert np.all(total >= CFG.min_edge_bp * 1e-4 * np.abs(face) * (1 - 1e-9))
    b = p.breakdown()
    for name in COMPONENTS:
        assert b[f"{name}_usd"] == pytest.approx(float(getattr(p.charges, name).sum()))
        assert b[f"{name}_bp"] == pytest.approx(b[f"{name}_usd"] / np.abs(face).sum() * 1e4)
    assert b["total_usd"] == pytest.approx(p.total_charge)


def test_a_bond_alone_pays_the_full_rfq_liquidity_cost(ctx: MarketRisk) -> None:
    i = np.array([17])
    p = price_basket(ctx, CFG, i, np.array([2e6]))
    assert p.diversification == 0.0 and p.raw_diversification == 0.0
    assert float(p.charges.liquidity[0]) == pytest.approx(2e6 * float(rfq_cost_bp(ctx.score[17])) * 1e-4)
    assert p.total_charge > float(p.charges.liquidity[0])  # and hedging, risk, capital, markup on top


def test_a_bigger_basket_is_more_diversified_and_cheaper_per_line(ctx: MarketRisk) -> None:
    ig = np.flatnonzero(~ctx.universe.is_hy)
    small = price_basket(ctx, CFG, ig[:5], np.full(5, 1e6), n_dealers=4)
    big = price_basket(ctx, CFG, ig[:150], np.full(150, 1e6), n_dealers=4)
    assert big.raw_diversification > small.raw_diversification
    assert big.diversification > small.diversification
    assert big.breakdown()["total_bp"] < small.breakdown()["total_bp"]


def test_more_dealers_tighter_quotes(ctx: MarketRisk) -> None:
    idx, face = random_basket(ctx, 50, 1)
    totals = [price_basket(ctx, CFG, idx, face, n_dealers=n).total_charge for n in (1, 2, 4, 6)]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == 4


def test_inventory_the_trade_reduces_gets_a_better_price(ctx: MarketRisk) -> None:
    i = np.array([42])
    flat = price_basket(ctx, CFG, i, np.array([-2e6]))  # the dealer sells 2 mm
    pos = np.zeros(ctx.universe.n_instruments)
    pos[42] = 5e6
    reducing = price_basket(ctx, CFG, i, np.array([-2e6]), positions=pos)
    adding = price_basket(ctx, CFG, i, np.array([2e6]), positions=pos)
    flat_buy = price_basket(ctx, CFG, i, np.array([2e6]))
    assert reducing.prices[0] < flat.prices[0]  # a lower offer
    assert adding.prices[0] < flat_buy.prices[0]  # a lower bid
    assert reducing.charges.inventory[0] < 0.0 < adding.charges.inventory[0]
    axes = np.zeros(ctx.universe.n_instruments)
    axes[42] = 1.0  # axed to buy
    axed = price_basket(ctx, CFG, i, np.array([2e6]), axes=axes)
    assert axed.prices[0] > flat_buy.prices[0]  # a higher bid


def test_balance_sheet_limit_widens_then_flags_a_pass(ctx: MarketRisk) -> None:
    idx, face = random_basket(ctx, 40, 2, two_sided=False)
    gross = float(np.abs(face) @ ctx.dirty[idx]) / 100.0
    free = price_basket(ctx, CFG, idx, face)
    tight = replace(CFG, balance_sheet=BalanceSheetConfig(limit_usd=gross * 0.8, widen_bp=10.0, pass_multiple=1.5))
    widened = price_basket(ctx, tight, idx, face)
    assert not widened.balance.over_pass_limit
    assert widened.balance.total == pytest.approx(0.2 * gross * 10e-4)
    assert widened.total_charge > free.total_charge
    tiny = replace(CFG, balance_sheet=BalanceSheetConfig(limit_usd=gross * 0.5, pass_multiple=1.5))
    assert price_basket(ctx, tiny, idx, face).balance.over_pass_limit


def test_floor_lines_keeps_the_total_and_the_floor() -> None:
    total = np.array([5.0, -2.0, 1.0, 0.0])
    floor = np.full(4, 0.5)
    out = floor_lines(total, floor)
    assert out.sum() == pytest.approx(total.sum()) and np.all(out >= floor - 1e-12)
    np.testing.assert_array_equal(floor_lines(np.array([1.0, 2.0]), np.array([0.5, 0.5])), [1.0, 2.0])
    np.testing.assert_array_equal(floor_lines(np.array([-3.0, 1.0]), np.array([0.5, 0.5])), [0.5, 0.5])


def test_allocate_is_proportional_with_a_fallback() -> None:
    np.testing.assert_allclose(allocate(10.0, np.array([1.0, 3.0]), np.ones(2)), [2.5, 7.5])
    np.testing.assert_allclose(allocate(10.0, np.zeros(2), np.array([1.0, 4.0])), [2.0, 8.0])
    np.testing.assert_allclose(allocate(10.0, np.zeros(2), np.zeros(2)), [5.0, 5.0])


def test_a_gain_on_the_hedge_is_not_quoted_through_mid(ctx: MarketRisk) -> None:
    from server.market.evolution import stress_premium

    snap = stress_premium(ctx.snapshot, "LQD", -0.05)  # buying LQD 5% below NAV
    cheap = MarketRisk.build(ctx.universe, snap, ctx.settle, model=ctx.model)
    ig = np.flatnonzero(~ctx.universe.is_hy)[:50]
    p = price_basket(cheap, CFG, ig, np.full(50, -1e6))  # the dealer sells bonds, buys LQD
    assert p.charges.hedge.sum() < 0.0
    assert np.all(p.charges.total > 0.0) and p.total_charge > 0.0


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        PricingConfig(risk_aversion=-1.0)
    with pytest.raises(ValueError):
        PricingConfig(diversification_ref=0.0)
    with pytest.raises(ValueError):
        PricingConfig(max_holding_days=0.5)


def test_high_yield_is_less_hedgeable_than_investment_grade(ctx: MarketRisk) -> None:
    u = ctx.universe
    ig = np.flatnonzero(~u.is_hy)[:80]
    hy = np.flatnonzero(u.is_hy)[:80]
    p_ig = price_basket(ctx, CFG, ig, np.full(80, 1e6))
    p_hy = price_basket(ctx, CFG, hy, np.full(80, 1e6))
    assert p_hy.hedgeability < p_ig.hedgeability
    assert 0.0 < p_hy.diversification < 1.0 and 0.0 < p_ig.diversification < 1.0
