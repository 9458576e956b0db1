"""Basis risk, capital, inventory and axes, balance sheet."""

from __future__ import annotations

import numpy as np
import pytest

from dealer_bots.pricing.charges import (
    TRADING_DAYS,
    Z_99,
    BalanceSheetConfig,
    InventoryConfig,
    balance_sheet,
    basis_risk_charge,
    capital_charge,
    desire,
    inventory_skew,
    liquidation_days,
)

INV = InventoryConfig(skew_bp=2.0, position_scale=10e6)


def test_basis_risk_is_risk_aversion_times_sigma_times_root_holding_period() -> None:
    assert float(basis_risk_charge(100.0**2, 4.0, 0.5)) == pytest.approx(0.5 * 100.0 * 2.0)
    np.testing.assert_allclose(basis_risk_charge(np.array([0.0, 1.0, -1.0]), 1.0, 1.0), [0.0, 1.0, 0.0])


def test_capital_is_cost_of_capital_times_var_times_holding_period() -> None:
    sigma, days = 1_000.0, 5.0
    expected = 0.12 * Z_99 * sigma * np.sqrt(10.0) * days / TRADING_DAYS
    assert float(capital_charge(sigma**2, days, 0.12)) == pytest.approx(expected)


def test_liquidation_days_are_value_weighted() -> None:
    assert liquidation_days([1.0, -3.0], [1.0, 5.0]) == pytest.approx(4.0)
    assert liquidation_days([0.0], [7.0]) == 1.0


def test_a_long_position_makes_the_dealer_keen_to_sell_and_reluctant_to_buy() -> None:
    want = desire(np.array([5e6, -20e6, 0.0]), INV)
    np.testing.assert_allclose(want, [-0.5, 1.0, 0.0])
    # the trade (dealer's face): buy more of the long, buy back the short, sell the long
    skew = inventory_skew(np.array([1e6, 1e6]), want[:2], INV)
    assert skew[0] > 0.0  # adding to a long: a worse level
    assert skew[1] < 0.0  # reducing a short: a better level
    sell = inventory_skew(np.array([-1e6]), want[:1], INV)
    assert sell[0] < 0.0  # selling the long: a better level
    assert float(sell[0]) == pytest.approx(-2.0e-4 * 0.5 * 1e6)


def test_axes_add_to_the_desire_and_are_clipped() -> None:
    want = desire(np.zeros(3), INV, axes=np.array([1.0, -1.0, 0.0]))
    np.testing.assert_allclose(want, [1.0, -1.0, 0.0])
    assert float(desire(np.array([-10e6]), INV, axes=np.array([1.0]))[0]) == 1.0
    # an axe to buy cancels a long position's wish to sell
    assert float(desire(np.array([10e6]), INV, axes=np.array([1.0]))[0]) == 0.0


def test_balance_sheet_under_the_limit_is_free() -> None:
    dirty = np.full(10, 100.0)
    bs = balance_sheet(np.zeros(10), dirty, np.array([1, 2]), np.array([1e6, -1e6]), BalanceSheetConfig(limit_usd=1e7))
    assert bs.total == 0.0 and not bs.over_pass_limit and bs.gross_after == pytest.approx(2e6)


def test_balance_sheet_above_the_limit_widens_then_passes() -> None:
    dirty = np.full(10, 100.0)
    cfg = BalanceSheetConfig(limit_usd=10e6, widen_bp=10.0, pass_multiple=1.5)
    pos = np.zeros(10)
    pos[0] = 8e6
    bs = balance_sheet(pos, dirty, np.array([1, 2]), np.array([3e6, 1e6]), cfg)  # to 12 mm
    assert bs.gross_before == pytest.approx(8e6) and bs.gross_after == pytest.approx(12e6)
    assert bs.total == pytest.approx(2e6 * 10e-4) and not bs.over_pass_limit
    np.testing.assert_allclose(bs.charge, [1.5e6 * 10e-4, 0.5e6 * 10e-4])  # by how much each line grows the book
    big = balance_sheet(pos, dirty, np.array([1]), np.array([10e6]), cfg)  # to 18 mm > 15 mm
    assert big.over_pass_limit


def test_a_trade_that_shrinks_the_book_is_never_charged() -> None:
    dirty = np.full(4, 100.0)
    pos = np.array([30e6, 0.0, 0.0, 0.0])
    cfg = BalanceSheetConfig(limit_usd=10e6)
    bs = balance_sheet(pos, dirty, np.array([0]), np.array([-5e6]), cfg)
    assert bs.total == 0.0 and not bs.over_pass_limit and bs.gross_after < bs.gross_before


def test_configs_are_validated() -> None:
    with pytest.raises(ValueError):
        InventoryConfig(position_scale=0.0)
    with pytest.raises(ValueError):
        BalanceSheetConfig(pass_multiple=0.5)
