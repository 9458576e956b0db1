"""Package optimisation: illiquid lines give way to more liquid bonds of the same bucket, within the
tolerances, trading tracking error against cost."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.analytics.optimise import OptimiseConfig, optimise, report, tracking_error, with_overrides
from server.analytics.pretrade import AnalyticsContext, Basket
from server.domain.errors import InvalidInput
from tests.unit.analytics.conftest import context, random_basket


def basket_with_illiquid_lines(ctx: AnalyticsContext, n: int = 60, seed: int = 1) -> Basket:
    b = random_basket(ctx.universe, n, seed=seed)
    assert (ctx.risk.score[b.idx] < 40).sum() >= 5
    return b


class TestOptimise:
    def test_replaces_illiquid_lines_within_the_tolerances(self, ctx: AnalyticsContext) -> None:
        b = basket_with_illiquid_lines(ctx)
        cfg = OptimiseConfig()
        o = optimise(ctx, b, cfg)
        assert o.status == "optimal" and o.line.size > 0
        u, risk = ctx.universe, ctx.risk
        old, new = b.idx[o.line], o.candidate
        assert (u.sector_idx[new] == u.sector_idx[old]).all()
        assert (u.rating_idx[new] == u.rating_idx[old]).all()  # rating_notches = 0: the same bucket
        assert (risk.score[new] >= np.maximum(cfg.min_score, risk.score[old] + cfg.min_score_gain)).all()
        assert not np.isin(new, b.idx).any() and np.unique(new).size == new.size
        before, after = o.before, o.after
        t0, t1 = before.totals(), after.totals()
        assert t1["pt_cost_usd"] < t0["pt_cost_usd"] and t1["dealer_pt_usd"] < t0["dealer_pt_usd"]
        r0 = report(o)["before"]["basket"]
        r1 = report(o)["after"]["basket"]
        assert abs(r1["duration"] - r0["duration"]) <= cfg.duration_tolerance + 0.01
        assert abs(r1["net_dv01"] - r0["net_dv01"]) <= cfg.dv01_tolerance * r0["gross_dv01"] * 1.05
        assert r1["gross_market_value"] == pytest.approx(r0["gross_market_value"], rel=0.01)  # rounded faces
        for k, share in r0["rating_mix"].items():
            assert abs(r1["rating_mix"].get(k, 0.0) - share) <= cfg.mix_tolerance + 0.005
        assert int(after.illiquid.sum()) < int(before.illiquid.sum())

    def test_the_sides_are_kept(self, ctx: AnalyticsContext) -> None:
        b = basket_with_illiquid_lines(ctx, seed=2)
        o = optimise(ctx, b)
        after = o.after.basket
        new_side = dict(zip(after.idx.tolist(), after.side.tolist(), strict=True))
        for line, j in zip(o.line.tolist(), o.candidate.tolist(), strict=True):
            assert new_side[j] == b.side[line]
            assert b.idx[line] not in new_side  # whole lines go
        assert after.n == b.n

    def test_tracking_error_is_exact_and_below_the_bound(self, ctx: AnalyticsContext) -> None:
        o = optimise(ctx, basket_with_illiquid_lines(ctx, seed=3))
        assert 0.0 < o.tracking_error_usd <= float(o.swap_te.sum()) * 1.05
        assert o.tracking_error_usd == pytest.approx(tracking_error(ctx, o.before.basket, o.after.basket))

    def test_aversion_to_tracking_error_holds_the_basket(self, ctx: AnalyticsContext) -> None:
        b = basket_with_illiquid_lines(ctx, seed=4)
        loose = optimise(ctx, b, OptimiseConfig(te_aversion=0.0))
        tight = optimise(ctx, b, OptimiseConfig(te_aversion=1_000.0))
        assert loose.line.size > 0 and tight.line.size == 0
        assert tight.tracking_error_usd == 0.0
        capped = optimise(ctx, b, OptimiseConfig(te_aversion=0.0, max_tracking_error_bp=0.0))
        assert capped.line.size == 0

    def test_tighter_tolerances_replace_fewer_lines(self, ctx: AnalyticsContext) -> None:
        b = basket_with_illiquid_lines(ctx, n=120, seed=5)
        free = optimise(ctx, b, OptimiseConfig(te_aversion=0.0, duration_tolerance=5.0, dv01_tolerance=1.0))
        tight = optimise(ctx, b, OptimiseConfig(te_aversion=0.0, duration_tolerance=0.002, dv01_tolerance=0.0002))
        assert tight.status == "optimal" and tight.line.size <= free.line.size
        moved = abs(float(np.nansum(tight.after.dv01)) - float(np.nansum(tight.before.dv01)))
        assert moved <= 0.001 * float(np.nansum(np.abs(tight.before.dv01))) + 50.0  # only face rounding

    def test_split_lines(self, ctx: AnalyticsContext) -> None:
        o = optimise(ctx, basket_with_illiquid_lines(ctx, seed=6), OptimiseConfig(whole_lines=False))
        assert o.status == "optimal" and o.line.size > 0
        assert ((o.weight > 0) & (o.weight <= 1.0 + 1e-9)).all()

    def test_nothing_to_replace(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        liquid = np.flatnonzero(ctx.risk.score[: u.n_bonds] > 80)[:10]
        o = optimise(ctx, Basket.of(u, liquid, np.ones(10, dtype=int), np.full(10, 1e6)))
        assert o.status == "nothing_to_replace" and o.after is o.before
        r = report(o)
        assert r["replacements"] == [] and len(r["lines"]) == 10

    def test_model_only_lines_cannot_be_optimised(self, ctx: AnalyticsContext) -> None:
        with pytest.raises(InvalidInput) as exc:
            optimise(ctx, Basket.model_only([1e6], [20.0]))
        assert exc.value.field == "lines[0].instrument"

    def test_bad_settings_name_the_field(self) -> None:
        with pytest.raises(InvalidInput) as exc:
            OptimiseConfig(candidates_per_line=0)
        assert exc.value.field == "candidates_per_line"
        assert with_overrides(OptimiseConfig(), te_aversion=None, min_score=30.0).min_score == 30.0

    def test_report_side_by_side(self, ctx: AnalyticsContext) -> None:
        o = optimise(ctx, basket_with_illiquid_lines(ctx, seed=7))
        r = report(o)
        rows = {row["metric"]: row for row in r["side_by_side"]}
        assert rows["pt_cost_usd"]["after"] < rows["pt_cost_usd"]["before"]
        pt = rows["pt_cost_usd"]
        assert pt["change"] == pytest.approx(pt["after"] - pt["before"], abs=0.01)
        assert len(r["replacements"]) == o.line.size
        s = r["replacements"][0]
        assert s["by"]["liquidity_score"] > s["replaced"]["liquidity_score"]
        assert {ln["instrument"] for ln in r["lines"]} >= {sw["by"]["instrument"] for sw in r["replacements"]}
        assert r["tracking_error"]["daily_usd"] > 0 and len(r["explanation"]) == 3


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 1_000), st.floats(0.002, 0.5), st.floats(0.0002, 0.05))
def test_tolerances_always_hold(seed: int, duration_tol: float, dv01_tol: float) -> None:
    ctx = context()
    b = random_basket(ctx.universe, 40, seed=seed)
    o = optimise(ctx, b, OptimiseConfig(te_aversion=0.0, duration_tolerance=duration_tol, dv01_tolerance=dv01_tol))
    mv0 = np.abs(np.nan_to_num(o.before.market_value))
    mv1 = np.abs(np.nan_to_num(o.after.market_value))
    d0 = float(mv0 @ o.before.duration / mv0.sum())
    d1 = float(mv1 @ o.after.duration / mv1.sum())
    gross_dv01 = float(np.abs(o.before.dv01).sum())
    slack = 0.002 * gross_dv01 + 50.0  # faces rounded down to the increment
    assert abs(d1 - d0) <= duration_tol + 0.01
    assert abs(float(o.after.dv01.sum()) - float(o.before.dv01.sum())) <= dv01_tol * gross_dv01 + slack
    assert o.after.totals()["pt_cost_usd"] <= o.before.totals()["pt_cost_usd"] + 1e-6 or o.line.size == 0
