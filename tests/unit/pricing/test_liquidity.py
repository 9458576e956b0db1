"""The single-bond RFQ cost curve and its basket version."""

from __future__ import annotations

import numpy as np
import pytest

from dealer_bots.pricing.liquidity import (
    MAX_HOLDING_DAYS,
    holding_period_days,
    improvement_bp,
    max_reduction,
    pt_cost_bp,
    rfq_cost_bp,
    rfq_cost_usd,
)

GRID = np.linspace(1.0, 100.0, 2_000)


def test_the_curve_passes_exactly_through_the_four_points() -> None:
    assert rfq_cost_bp(np.array([98.0, 75.0, 42.0, 15.0])).tolist() == [0.5, 3.0, 12.0, 35.0]
    for score, bp in ((98, 0.5), (75, 3.0), (42, 12.0), (15, 35.0)):
        assert float(rfq_cost_bp(score)) == bp


def test_the_curve_is_positive_and_strictly_decreasing_from_1_to_100() -> None:
    c = rfq_cost_bp(GRID)
    assert np.all(c > 0.0) and np.all(np.diff(c) < 0.0)
    assert 35.0 < float(rfq_cost_bp(1.0)) < 80.0  # sensible extrapolation below score 15
    assert 0.3 < float(rfq_cost_bp(100.0)) < 0.5  # and above score 98


def test_scores_outside_1_100_are_clipped_and_nan_is_the_worst() -> None:
    assert float(rfq_cost_bp(-5.0)) == float(rfq_cost_bp(1.0))
    assert float(rfq_cost_bp(250.0)) == float(rfq_cost_bp(100.0))
    assert float(rfq_cost_bp(np.nan)) == float(rfq_cost_bp(1.0))


def test_usd_cost_is_notional_times_bp() -> None:
    np.testing.assert_allclose(rfq_cost_usd([25e6, -10e6], [98, 75]), [1_250.0, 3_000.0])


def test_a_basket_with_no_diversification_costs_the_rfq_cost() -> None:
    np.testing.assert_array_equal(pt_cost_bp(GRID, 0.0), rfq_cost_bp(GRID))


def test_full_diversification_gives_the_worked_example_improvements() -> None:
    np.testing.assert_allclose(improvement_bp([98, 75, 42, 15], 1.0), [0.1, 1.0, 5.0, 20.0], atol=1e-12)
    np.testing.assert_allclose(pt_cost_bp([98, 75, 42, 15], 1.0), [0.4, 2.0, 7.0, 15.0], atol=1e-12)


def test_the_saving_is_largest_for_the_least_liquid_bonds() -> None:
    r = max_reduction(GRID)
    assert np.all(np.diff(r) <= 0.0) and r[0] > r[-1]
    assert np.all((r > 0.0) & (r < 1.0))
    # in bp the improvement falls steeply with liquidity
    assert np.all(np.diff(improvement_bp(GRID, 1.0)) < 0.0)


def test_more_diversification_costs_less_and_broadcasts() -> None:
    d = np.linspace(0.0, 1.0, 11)[:, None]
    c = pt_cost_bp(np.array([[10.0, 50.0, 90.0]]), d)
    assert c.shape == (11, 3)
    assert np.all(np.diff(c, axis=0) < 0.0)
    # diversification is clipped to [0, 1]
    np.testing.assert_array_equal(pt_cost_bp(50.0, 2.0), pt_cost_bp(50.0, 1.0))
    np.testing.assert_array_equal(pt_cost_bp(50.0, -1.0), pt_cost_bp(50.0, 0.0))


def test_holding_period_runs_from_one_day_to_the_maximum() -> None:
    h = holding_period_days(GRID)
    assert float(holding_period_days(100.0)) == pytest.approx(1.0)
    assert float(holding_period_days(1.0)) == pytest.approx(MAX_HOLDING_DAYS)
    assert np.all(np.diff(h) < 0.0)
    assert float(holding_period_days(1.0, max_days=5.0)) == pytest.approx(5.0)
