"""Risk of a basket from the dealer's side, net of buys against sells."""

from __future__ import annotations

import numpy as np
import pytest

from dealer_bots.pricing.risk import MarketRisk, basket_risk, line_risk
from server.domain import bondmath
from server.market.evolution import stress_premium
from server.market.factors import HY, IG, RATES
from server.market.universe import SECTORS, MarketSnapshot
from tests.unit.pricing.conftest import SETTLE


def test_the_dealer_is_long_what_the_client_sells(ctx: MarketRisk) -> None:
    i = np.array([3, 3])
    lines = line_risk(ctx, i, np.array([1e6, -1e6]))  # dealer buys (client sells), then sells
    assert lines.market_value[0] > 0 > lines.market_value[1]
    assert np.all(lines.kr_dv01[0] >= 0) and lines.kr_dv01[0].sum() > 0  # long bonds gain when yields fall
    assert lines.cs01[0] > 0 > lines.cs01[1]
    assert np.all(lines.exposure[0, RATES] <= 0)  # and lose when key rates rise
    np.testing.assert_allclose(lines.exposure[0], -lines.exposure[1])


def test_buys_net_against_sells(ctx: MarketRisk) -> None:
    idx = np.array([5, 40, 5, 40])
    risk = basket_risk(ctx, line_risk(ctx, idx, np.array([2e6, -1e6, -2e6, 1e6])))
    assert risk.market_value == pytest.approx(0.0, abs=1e-6)
    assert risk.dv01 == pytest.approx(0.0, abs=1e-9) and risk.cs01 == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(risk.exposure, 0.0, atol=1e-9)
    assert risk.gross_notional == 6e6 and risk.gross_market_value > 0.0


def test_basket_figures_add_up(ctx: MarketRisk) -> None:
    rng = np.random.default_rng(0)
    idx = rng.choice(ctx.universe.n_bonds, 60, replace=False)
    face = rng.choice([-1.0, 1.0], 60) * rng.choice([1e6, 3e6], 60)
    lines = line_risk(ctx, idx, face)
    risk = basket_risk(ctx, lines)
    assert risk.dv01 == pytest.approx(float(risk.kr_dv01.sum()))
    assert risk.cs01 == pytest.approx(risk.cs01_ig + risk.cs01_hy)
    assert sum(risk.sector_cs01.values()) == pytest.approx(risk.cs01)
    assert set(risk.sector_cs01) == set(SECTORS)
    assert risk.ig_exposure == pytest.approx(float(lines.exposure[~lines.is_hy, IG].sum()))
    assert risk.hy_exposure == pytest.approx(float(lines.exposure[lines.is_hy, HY].sum()))
    assert risk.idio_var == pytest.approx(float(lines.idio_var.sum()))


def test_key_rate_dv01s_sum_to_the_bondmath_dv01(ctx: MarketRisk) -> None:
    u = ctx.universe
    idx = np.arange(0, u.n_bonds, 7)
    face = np.full(idx.size, 1e6)
    lines = line_risk(ctx, idx, face)
    dv01 = bondmath.dv01(u.all_coupon[idx], u.all_maturity[idx], np.datetime64(SETTLE, "D"),
                         ctx.snapshot.mid_yield[idx], u.all_day_count[idx], u.all_frequency[idx])
    # to the difference between the evaluated mid (priced at the snapshot's date) and the price at settle
    np.testing.assert_allclose(lines.kr_dv01.sum(axis=1), face * dv01 / 100.0, rtol=1e-3)


def test_treasuries_carry_rates_risk_only(ctx: MarketRisk) -> None:
    t = ctx.universe.n_bonds + np.arange(4)
    lines = line_risk(ctx, t, np.full(4, 1e6))
    assert np.all(lines.cs01 == 0.0) and np.all(lines.idio_var == 0.0)
    assert np.all(lines.exposure[:, RATES.stop:] == 0.0)
    assert not lines.is_hy.any()


def test_tables_are_aligned_and_read_only(ctx: MarketRisk) -> None:
    n = ctx.universe.n_instruments
    for name in ("mid", "dirty", "idio_var", "score", "is_hy", "rfq_bp", "reduction", "holding_days"):
        a = getattr(ctx, name)
        assert a.shape == (n,), name
        assert not a.flags.writeable, name
    assert ctx.exposure.shape == (n, ctx.n_factors)


def test_line_arrays_must_match(ctx: MarketRisk) -> None:
    with pytest.raises(ValueError):
        line_risk(ctx, np.array([1, 2]), np.array([1e6]))


def moved_snapshot(ctx: MarketRisk, seed: int = 0) -> MarketSnapshot:
    """``ctx``'s snapshot with every mid moved as market impact moves them (spread, yield and price, consistent)."""
    snap = ctx.snapshot
    shift = np.random.default_rng(seed).normal(0.0, 0.5, len(snap)).clip(-1.5, 1.5)
    moved = MarketSnapshot.from_spreads(ctx.universe, snap.spread_bp + shift, snap.liquidity_score, curve=snap.curve,
                                        as_of=snap.as_of)
    return snap.with_mids(moved.mid_price, moved.mid_yield, moved.spread_bp)


def test_a_moved_context_has_the_new_mids_and_the_same_tables(ctx: MarketRisk) -> None:
    snap = moved_snapshot(ctx)
    moved = ctx.at(snap)
    assert moved.snapshot is snap and moved.mid is snap.mid_price and moved.settle == ctx.settle
    # dirty: the new mid plus accrued, as a full build at the moved snapshot has it, to the bit
    rebuilt = MarketRisk.build(ctx.universe, snap, ctx.settle, model=ctx.model)
    np.testing.assert_array_equal(moved.dirty, rebuilt.dirty)
    np.testing.assert_allclose(moved.dirty - moved.mid, ctx.dirty - ctx.mid, rtol=0.0, atol=1e-12)  # accrued
    assert not moved.dirty.flags.writeable
    for name in ("exposure", "idio_var", "krd", "duration", "cov", "score", "is_hy", "sector", "rfq_bp", "reduction",
                 "holding_days", "hedges", "model", "universe"):
        assert getattr(moved, name) is getattr(ctx, name), name
    assert moved.unit is ctx.unit
    # The exposures per USD are the base's; rebuilt, the durations would move by a small fraction of a percent.
    np.testing.assert_allclose(rebuilt.krd, ctx.krd, rtol=2e-3)
    # Positions are valued at the moved mids.
    lines = line_risk(moved, np.array([3]), np.array([1e6]))
    assert lines.market_value[0] == 1e6 * moved.dirty[3] / 100.0 and lines.mid[0] == snap.mid_price[3]
    np.testing.assert_array_equal(lines.exposure, ctx.exposure[[3]] * lines.market_value[:, None])


def test_moving_a_context_on(ctx: MarketRisk) -> None:
    assert ctx.at(ctx.snapshot) is ctx
    first = ctx.at(moved_snapshot(ctx, 1))
    assert first.at(first.snapshot) is first
    second_snap = moved_snapshot(ctx, 2)  # a sibling: moved from the same market step
    second = first.at(second_snap)
    np.testing.assert_array_equal(second.dirty, ctx.at(second_snap).dirty)
    assert second.unit is ctx.unit
    back = first.at(ctx.snapshot)  # the market step itself
    np.testing.assert_array_equal(back.dirty, ctx.dirty)
    assert back.mid is ctx.mid
    # A snapshot that is not the same market with other mids needs its own tables.
    with pytest.raises(ValueError):
        ctx.at(stress_premium(ctx.snapshot, "LQD", -0.01))
    with pytest.raises(ValueError):
        ctx.at(MarketSnapshot.from_spreads(ctx.universe, ctx.snapshot.spread_bp, ctx.snapshot.liquidity_score))
