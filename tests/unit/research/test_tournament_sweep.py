"""Tournaments and sweeps: grids, parallel workers equal to one worker, the league, Ray."""

from __future__ import annotations

import math

import pytest

from server.research.scenario import ScenarioError
from server.research.stats import mean_ci
from server.research.sweep import grid_points, parse_grid, parse_value, run_sweep, sweep_table, write_rows
from server.research.tournament import league_table, run_tournament, tournament_scenario
from tests.unit.research.support import small_raw, small_scenario


def test_grid_parsing() -> None:
    axes = parse_grid(["dealers[0].config.skew_bp=0.5,1,2", "flow.quote_type=price,spread", "x=[1, 2],[3]"])
    assert axes == [("dealers[0].config.skew_bp", [0.5, 1, 2]), ("flow.quote_type", ["price", "spread"]),
                    ("x", [[1, 2], [3]])]
    assert len(grid_points(axes)) == 12 and grid_points([]) == [{}]
    assert parse_value("true") is True and parse_value('"a,b"') == "a,b" and parse_value("abc") == "abc"
    with pytest.raises(ScenarioError):
        parse_grid(["no-equals-sign"])


def test_mean_ci_uses_the_t_distribution() -> None:
    mean, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert math.isclose(mean - lo, hi - mean)
    assert mean == 2.5 and math.isclose(hi - mean, 3.182446305284263 * math.sqrt((5 / 3) / 4))
    assert mean_ci([7.0]) == (7.0, 7.0, 7.0)


def test_bad_grid_key_fails_before_running() -> None:
    with pytest.raises(ScenarioError) as info:
        run_sweep(small_raw(), parse_grid(["dealers[0].config.skew_bp=1,wide"]), [1])
    assert "dealers[0].config.skew_bp" in str(info.value)


def test_two_worker_sweep_equals_one_worker(tmp_path) -> None:
    raw = small_raw(horizon_hours=0.1, tail_s=120)
    axes = parse_grid(["dealers[0].config.skew_bp=0,2"])
    one = run_sweep(raw, axes, [1, 2], workers=1)
    two = run_sweep(raw, axes, [1, 2], workers=2)
    assert one.rows == two.rows and len(one.rows) == 4
    assert [(r["point"], r["seed"]) for r in one.rows] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert one.rows[0]["log_sha256"] != one.rows[2]["log_sha256"]  # the parameter changed the run
    csv_path, jsonl_path = write_rows(one.rows, tmp_path)
    assert csv_path.read_text().startswith("point,param:dealers[0].config.skew_bp,seed,")
    assert len(jsonl_path.read_text().splitlines()) == 4
    assert sweep_table(one).row_count == 2


def test_tournament_league() -> None:
    scenario = tournament_scenario(small_scenario(horizon_hours=0.1, tail_s=120),
                                   ["mid_spread", "tests.unit.research.support:ToyDealer", "mid_spread"])
    assert scenario.dealer_ids == ("mid_spread", "ToyDealer", "mid_spread-2")
    result = run_tournament(scenario, [1, 2, 3])
    assert [r.dealer for r in result.league] != [] and len(result.league) == 3
    means = [r.pnl_mean for r in result.league]
    assert means == sorted(means, reverse=True)
    for r in result.league:
        assert r.pnl_low <= r.pnl_mean <= r.pnl_high and 0.0 <= r.hit_ratio <= 1.0 and r.seeds == 3
        assert math.isclose(r.spread_capture + r.inventory_mtm + r.hedge, r.pnl_mean, rel_tol=1e-6, abs_tol=0.1)
    assert league_table(result).row_count == 3


def test_ray_executor_matches_local() -> None:
    pytest.importorskip("ray")
    raw = small_raw(horizon_hours=0.05, tail_s=60)
    axes = parse_grid(["dealers[1].config.skew_bp=0,3"])
    local = run_sweep(raw, axes, [4], workers=1)
    on_ray = run_sweep(raw, axes, [4], workers=2, ray_address="local")
    assert on_ray.rows == local.rows
