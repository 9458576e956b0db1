"""The logistic win probability and the markup that maximises expected P&L under it."""

from __future__ import annotations

import numpy as np
import pytest

from dealer_bots.pricing.competition import (
    CompetitionConfig,
    expected_pnl,
    markup_by_grid,
    optimal_markup,
    win_probability,
)

CFG = CompetitionConfig()


@pytest.mark.parametrize("cost", [-1.5, 0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_the_closed_form_is_the_maximum_of_expected_pnl(cost: float, n: int) -> None:
    m = float(optimal_markup(cost, n, CFG))
    assert m == pytest.approx(markup_by_grid(cost, n, CFG), abs=2e-4)
    # and a maximum: nearby markups earn less
    assert float(expected_pnl(m, cost, n, CFG)) >= float(expected_pnl([m - 0.01, m + 0.01], cost, n, CFG).max())


def test_more_dealers_tighter_markups() -> None:
    m = optimal_markup(1.0, np.arange(1, 11), CFG)
    assert np.all(np.diff(m) < 0.0)
    assert np.all(m > 1.0 / CFG.beta)  # never below 1/beta


def test_win_probability_falls_with_the_spread_and_the_number_of_dealers() -> None:
    p = win_probability(np.linspace(0.0, 3.0, 31), 4, CFG)
    assert np.all(np.diff(p) < 0.0)
    assert np.all(np.diff(win_probability(1.0, np.arange(1, 8), CFG)) < 0.0)
    # at the typical level each of n dealers wins 1 / (n + epsilon)
    for n in (1, 3, 6):
        assert float(win_probability(1.0, n, CFG)) == pytest.approx(1.0 / (n + CFG.epsilon))


def test_a_cheaper_dealer_keeps_more_markup_but_quotes_tighter() -> None:
    cost = np.array([0.2, 0.6, 1.0, 1.5])
    m = optimal_markup(cost, 4, CFG)
    assert np.all(np.diff(m) < 0.0)
    assert np.all(np.diff(cost + m) > 0.0)


def test_steeper_competition_and_the_scale() -> None:
    assert float(optimal_markup(1.0, 4, CompetitionConfig(beta=8.0))) < float(optimal_markup(1.0, 4, CFG))
    assert float(optimal_markup(1.0, 4, CompetitionConfig(markup_scale=0.5))) == pytest.approx(
        0.5 * float(optimal_markup(1.0, 4, CFG)))


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        CompetitionConfig(beta=0.0)
    with pytest.raises(ValueError):
        CompetitionConfig(epsilon=-1.0)
    with pytest.raises(ValueError):
        CompetitionConfig(markup_scale=-0.1)
