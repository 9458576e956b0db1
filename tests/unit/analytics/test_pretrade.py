"""Pre-trade analytics: the cost model is the dealers' own, the risk figures add up, problem lines are
flagged, bad input names the field."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealer_bots.pricing import PricingConfig, price_basket
from dealer_bots.pricing.liquidity import pt_cost_bp, rfq_cost_bp
from dealer_bots.pricing.risk import line_risk
from server.analytics.pretrade import (
    WORKED_EXAMPLE,
    AnalyticsContext,
    Basket,
    analyse,
    is_worked_example,
    parse_lines,
    report,
    standalone_charges,
)
from server.domain.errors import InvalidInput
from tests.unit.analytics.conftest import big_universe, context, random_basket, universe

WORKED_LINES = [{"notional": q, "liquidity_score": s, "label": label} for label, q, s in WORKED_EXAMPLE]


def errors_of(exc: pytest.ExceptionInfo[InvalidInput]) -> list[dict[str, Any]]:
    listed = exc.value.details.get("errors")
    assert isinstance(listed, list)
    return listed


# ---- the worked example (CALIBRATION.md section 1) -------------------------------------------------


class TestWorkedExample:
    def test_rfq_costs_per_line_and_total(self, ctx: AnalyticsContext) -> None:
        a = analyse(ctx, parse_lines(WORKED_LINES, ctx.universe))
        assert a.rfq_bp.tolist() == [0.5, 3.0, 12.0, 35.0]
        assert np.round(a.rfq_usd, 6).tolist() == [1_250.0, 3_000.0, 6_000.0, 7_000.0]
        assert a.totals()["rfq_cost_usd"] == pytest.approx(17_250.0, abs=1e-6)

    def test_pt_improvements_follow_the_table(self, ctx: AnalyticsContext) -> None:
        a = analyse(ctx, parse_lines(WORKED_LINES, ctx.universe))
        assert a.diversification == 1.0 and a.diversification_source == "assumed"
        assert np.round(a.improvement_bp, 9).tolist() == [0.1, 1.0, 5.0, 20.0]
        assert np.round(a.improvement_usd, 6).tolist() == [250.0, 1_000.0, 2_500.0, 4_000.0]
        t = a.totals()
        assert t["saving_usd"] == pytest.approx(7_750.0, abs=1e-6)
        assert t["pt_cost_usd"] == pytest.approx(9_500.0, abs=1e-6)
        assert abs(t["saving_usd"] - 7_250.0) / 7_250.0 < 0.07  # near the source's prose figure
        assert t["saving_usd"] / t["rfq_cost_usd"] == pytest.approx(0.449, abs=0.001)

    def test_the_report_explains_the_consistent_arithmetic(self, ctx: AnalyticsContext) -> None:
        r = report(analyse(ctx, parse_lines(WORKED_LINES, ctx.universe)))
        liq = r["basket"]["liquidity_cost"]
        assert (liq["rfq_cost_usd"], liq["pt_cost_usd"], liq["saving_usd"]) == (17_250.0, 9_500.0, 7_750.0)
        assert r["recommendation"]["method"] == "portfolio_trade"
        assert r["recommendation"]["basis"] == "liquidity_curve"
        assert r["recommendation"]["saving_usd"] == 7_750.0
        text = " ".join(r["explanation"])
        assert "1,250 + 3,000 + 6,000 + 7,000 = 17,250" in text
        assert "250 + 1,000 + 2,500 + 4,000 = 7,750" in text
        assert "17,250 - 7,750 = 9,500" in text
        assert "7,250" in text and "24,500" in text and "twice" in text
        assert [ln["pt_improvement_bp"] for ln in r["lines"]] == [0.1, 1.0, 5.0, 20.0]
        assert all(ln["model_only"] and ln["dv01"] is None for ln in r["lines"])

    def test_wrong_check_digits_are_noted_and_refused_as_instruments(self, ctx: AnalyticsContext) -> None:
        r = report(analyse(ctx, parse_lines(WORKED_LINES, ctx.universe)))
        assert len(r["notes"]) == 2
        assert "254687DC3" in r["notes"][0] and "expected 7" in r["notes"][0]
        assert "023135AG9" in r["notes"][1] and "expected 1" in r["notes"][1]
        with pytest.raises(InvalidInput) as exc:
            parse_lines([{"instrument": label, "side": "buy", "quantity": q} for label, q, _ in WORKED_EXAMPLE],
                        ctx.universe)
        problems = {e["field"]: e["reason"] for e in errors_of(exc)}
        assert problems["lines[1].instrument"] == "CUSIP 254687DC3 has check digit 3; expected 7"
        assert problems["lines[2].instrument"] == "CUSIP 023135AG9 has check digit 9; expected 1"
        assert "no instrument" in problems["lines[0].instrument"]  # valid, but not in the synthetic universe

    def test_order_does_not_matter_and_other_baskets_are_not_the_example(self) -> None:
        assert is_worked_example(Basket.model_only([2e6, 25e6, 5e6, 10e6], [15, 98, 42, 75]))
        assert not is_worked_example(Basket.model_only([2e6, 25e6, 5e6, 10e6], [15, 98, 42, 76]))
        assert not is_worked_example(Basket.model_only([2e6, 25e6, 5e6], [15, 98, 42]))


# ---- the cost model is the dealers' ------------------------------------------------------------------


class TestDealerCostModel:
    def test_standalone_charge_equals_price_basket_on_one_line(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        idx = np.array([0, 5, 17, 600, 1500, 1999, u.n_bonds, u.n_bonds + 3])
        face = np.array([2e6, -1e6, 5e6, -3e6, 1e6, 4e6, -10e6, 2e6])
        cfg = PricingConfig()
        alone = standalone_charges(ctx.risk, cfg, line_risk(ctx.risk, idx, face), 5)
        total = np.sum(np.vstack(list(alone.values())), axis=0)
        for k in range(idx.size):
            priced = price_basket(ctx.risk, cfg, idx[k:k + 1], face[k:k + 1], n_dealers=5)
            assert total[k] == pytest.approx(priced.total_charge, rel=1e-9, abs=1e-6)
            for name, values in alone.items():
                assert values[k] == pytest.approx(float(getattr(priced.charges, name)[0]), rel=1e-9, abs=1e-6)

    def test_basket_charge_is_price_basket(self, ctx: AnalyticsContext) -> None:
        b = random_basket(ctx.universe, 40, seed=3)
        a = analyse(ctx, b, n_dealers=4)
        priced = price_basket(ctx.risk, PricingConfig(), b.idx, -(b.side * b.quantity).astype(float), n_dealers=4)
        np.testing.assert_allclose(a.dealer_pt_usd, priced.charges.total, rtol=1e-12)
        assert a.diversification == pytest.approx(priced.diversification)
        assert a.diversification_source == "dealer_model"
        np.testing.assert_allclose(a.pt_bp, pt_cost_bp(a.score, priced.diversification))
        np.testing.assert_allclose(a.rfq_bp, rfq_cost_bp(ctx.risk.score[b.idx]))

    def test_liquidity_part_of_the_dealer_charge_is_the_curve(self, ctx: AnalyticsContext) -> None:
        b = random_basket(ctx.universe, 25, seed=4)
        a = analyse(ctx, b)
        np.testing.assert_allclose(a.dealer_rfq["liquidity"], a.rfq_usd, rtol=1e-12)
        np.testing.assert_allclose(a.dealer_pt["liquidity"], a.pt_usd, rtol=1e-12)

    def test_a_line_alone_does_not_depend_on_the_rest_of_the_basket(self, ctx: AnalyticsContext) -> None:
        b = random_basket(ctx.universe, 30, seed=5)
        whole = analyse(ctx, b)
        part = analyse(ctx, Basket.of(ctx.universe, b.idx[:7], b.side[:7], b.quantity[:7]))
        np.testing.assert_allclose(part.dealer_rfq_usd, whole.dealer_rfq_usd[:7], rtol=1e-12)
        np.testing.assert_allclose(part.rfq_usd, whole.rfq_usd[:7], rtol=1e-12)

    def test_a_diversified_basket_is_cheaper_than_its_lines_alone(self, ctx: AnalyticsContext) -> None:
        a = analyse(ctx, random_basket(ctx.universe, 80, seed=6))
        t = a.totals()
        assert t["dealer_pt_usd"] < t["dealer_rfq_usd"] and t["pt_cost_usd"] < t["rfq_cost_usd"]
        assert 0.3 < a.diversification <= 1.0

    def test_diversification_can_be_set(self, ctx: AnalyticsContext) -> None:
        b = random_basket(ctx.universe, 20, seed=7)
        a = analyse(ctx, b, diversification=0.0)
        assert a.diversification_source == "request"
        np.testing.assert_allclose(a.pt_bp, a.rfq_bp)
        assert analyse(ctx, b, diversification=7.0).diversification == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 500).map(lambda k: k * 100_000), st.floats(1.0, 100.0)),
                min_size=1, max_size=30),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_liquidity_estimates_are_consistent(lines: list[tuple[int, float]], d1: float, d2: float) -> None:
    ctx = context()
    notional = [q for q, _ in lines]
    score = [s for _, s in lines]
    b = Basket.model_only(notional, score)
    lo, hi = sorted((d1, d2))
    a_lo, a_hi = analyse(ctx, b, diversification=lo), analyse(ctx, b, diversification=hi)
    q = np.asarray(notional, dtype=float)
    np.testing.assert_allclose(a_lo.rfq_usd, q * rfq_cost_bp(score) / 1e4)
    assert (a_hi.pt_usd <= a_lo.pt_usd + 1e-9).all()  # more diversification, lower cost
    assert (a_lo.pt_usd <= a_lo.rfq_usd + 1e-9).all() and (a_lo.improvement_usd >= -1e-9).all()
    t = a_hi.totals()
    assert t["saving_usd"] == pytest.approx(float(a_hi.improvement_usd.sum()), abs=1e-6)
    assert t["rfq_cost_usd"] - t["pt_cost_usd"] == pytest.approx(t["saving_usd"], abs=1e-6)
    # the least liquid line saves the largest share of its cost
    share = a_hi.improvement_bp / a_hi.rfq_bp
    order = np.argsort(a_hi.score)
    assert (np.diff(share[order]) <= 1e-9).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 25))
def test_risk_figures_flip_with_the_side_and_add_up(seed: int, n: int) -> None:
    ctx = context()
    b = random_basket(ctx.universe, n, seed=seed, corporates_only=False)
    flipped = Basket.of(ctx.universe, b.idx, -b.side, b.quantity)
    a, f = analyse(ctx, b), analyse(ctx, flipped)
    np.testing.assert_allclose(f.dv01, -a.dv01)
    np.testing.assert_allclose(f.cs01, -a.cs01)
    np.testing.assert_allclose(f.rfq_usd, a.rfq_usd)
    np.testing.assert_allclose(a.kr_dv01.sum(axis=1), a.dv01)
    r = report(a, include_lines=False)["basket"]
    assert r["net_dv01"] == pytest.approx(float(a.dv01.sum()), abs=0.01)
    assert r["gross_notional"] == pytest.approx(float(b.quantity.sum()))
    assert r["net_notional"] == pytest.approx(float((b.side * b.quantity).sum()))
    assert sum(r["rating_mix"].values()) == pytest.approx(1.0, abs=1e-5)
    assert sum(r["sector_mix"].values()) == pytest.approx(1.0, abs=1e-5)
    assert min(a.duration) - 1e-4 <= r["duration"] <= max(a.duration) + 1e-4
    # a buy gains when yields fall
    assert ((a.dv01 > 0) == (b.side > 0)).all()


# ---- the basket's figures ---------------------------------------------------------------------------


class TestBasketFigures:
    def test_a_diversified_ig_basket_tracks_lqd_closely_a_single_bond_loosely(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        ig = np.flatnonzero(~u.is_hy)
        first_per_issuer = ig[np.unique(u.issuer_idx[ig], return_index=True)[1]][:60]
        basket = Basket.of(u, first_per_issuer, np.ones(60, dtype=int), np.full(60, 2_000_000.0))
        r2 = analyse(ctx, basket).r_squared
        assert r2["LQD"] is not None and r2["LQD"] > 0.75
        assert r2["HYG"] is None
        single = analyse(ctx, Basket.of(u, first_per_issuer[:1], [1], [2_000_000.0])).r_squared
        assert single["LQD"] is not None and single["LQD"] < r2["LQD"]

    def test_model_only_basket_has_no_risk_figures(self, ctx: AnalyticsContext) -> None:
        r = report(analyse(ctx, parse_lines(WORKED_LINES, ctx.universe)))["basket"]
        assert r["net_dv01"] is None and r["net_cs01"] is None and r["gross_market_value"] is None
        assert r["dealer_charge"] is None and r["rating_mix"] == {}

    def test_mixed_basket_prices_model_lines_with_the_curve_only(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        lines = [*WORKED_LINES[:2], {"instrument": u.bonds[3].cusip, "side": "sell", "quantity": 3_000_000},
                 {"instrument": u.bonds[90].isin, "side": "buy", "quantity": 1_000_000}]
        a = analyse(ctx, parse_lines(lines, u))
        assert a.diversification_source == "dealer_model"
        assert np.isnan(a.dealer_rfq_usd[:2]).all() and np.isfinite(a.dealer_rfq_usd[2:]).all()
        r = report(a)
        assert r["recommendation"]["basis"] == "liquidity_curve"
        assert r["lines"][3]["instrument"] == u.bonds[90].cusip  # ISIN resolved to the CUSIP
        assert r["basket"]["dealer_charge"]["notional"] == 4_000_000.0
        assert any("model-only" in p for p in r["explanation"])

    def test_one_line_is_an_rfq(self, ctx: AnalyticsContext) -> None:
        b = Basket.of(ctx.universe, [10], [1], [2_000_000.0])
        rec = report(analyse(ctx, b))["recommendation"]
        assert rec["method"] == "rfq" and rec["saving_usd"] == 0.0

    def test_recommendation_uses_the_full_charge_for_instrument_baskets(self, ctx: AnalyticsContext) -> None:
        a = analyse(ctx, random_basket(ctx.universe, 50, seed=8))
        rec = report(a)["recommendation"]
        t = a.totals()
        assert rec["method"] == "portfolio_trade" and rec["basis"] == "full_dealer_charge"
        assert rec["saving_usd"] == pytest.approx(t["dealer_rfq_usd"] - t["dealer_pt_usd"], abs=0.01)

    def test_report_is_json_without_nans(self, ctx: AnalyticsContext) -> None:
        lines = [*WORKED_LINES, {"instrument": ctx.universe.bonds[0].cusip, "side": "buy", "quantity": 1_000_000}]
        r = report(analyse(ctx, parse_lines(lines, ctx.universe)))
        text = orjson.dumps(r)
        assert b"NaN" not in text and b"nan" not in text
        assert len(r["lines"]) == 5


# ---- problem lines ----------------------------------------------------------------------------------


class TestFlags:
    def test_illiquid_lines_are_flagged_with_the_reason(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        score = ctx.risk.score[: u.n_bonds]
        low, high = int(np.argmin(score)), int(np.argmax(score))
        r = report(analyse(ctx, Basket.of(u, [low, high], [1, -1], [1e6, 1e6])))
        flags = r["lines"][0]["flags"]
        assert [f["code"] for f in flags if f["code"] == "illiquid"] == ["illiquid"]
        assert f"liquidity score {score[low]:.0f}" in flags[0]["reason"] and "bp" in flags[0]["reason"]
        assert all(f["code"] != "illiquid" for f in r["lines"][1]["flags"])

    def test_size_against_the_issue_is_a_concentration(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        amount = float(u.amount_outstanding[0])
        a = analyse(ctx, Basket.of(u, [0, 1], [1, 1], [amount * 0.08, 1e6]))
        assert a.concentrated_size.tolist() == [True, False]
        reason = report(a)["lines"][0]["flags"]
        assert any(f["code"] == "concentrated" and "8.0% of the issue" in f["reason"] for f in reason)

    def test_issuer_concentration_in_a_large_basket(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        b = random_basket(u, 30, seed=9)
        quantity = b.quantity.copy()
        quantity[0] = quantity.sum() * 2  # one issuer two thirds of the basket
        a = analyse(ctx, Basket.of(u, b.idx, b.side, quantity))
        assert bool(a.concentrated_issuer[0])
        issuer = u.issuer_idx[b.idx]
        assert (a.concentrated_issuer == (issuer == issuer[0])).all()
        small = analyse(ctx, Basket.of(u, b.idx[:4], b.side[:4], quantity[:4]))
        assert not small.concentrated_issuer.any()  # fewer than 10 lines: not checked

    def test_hard_to_hedge_lines_have_a_low_hedge_r_squared(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        a = analyse(ctx, random_basket(u, 400, seed=10))
        assert a.hard_to_hedge.any() and (~a.hard_to_hedge).any()
        assert (a.hedge_r2[a.hard_to_hedge] < ctx.config.hard_to_hedge_r2).all()
        r = report(a)
        flagged = [ln for ln in r["lines"] if any(f["code"] == "hard_to_hedge" for f in ln["flags"])]
        assert len(flagged) == int(a.hard_to_hedge.sum())
        assert "explains only" in flagged[0]["flags"][-1]["reason"] or any(
            "explains only" in f["reason"] for f in flagged[0]["flags"])
        assert r["basket"]["flags"]["hard_to_hedge"] == len(flagged)

    def test_treasuries_are_never_hard_to_hedge(self, ctx: AnalyticsContext) -> None:
        u = ctx.universe
        tsy = np.arange(u.n_bonds, u.n_instruments)
        a = analyse(ctx, Basket.of(u, tsy, np.ones(tsy.size, dtype=int), np.full(tsy.size, 5e6)))
        assert not a.hard_to_hedge.any() and not a.illiquid.any()


# ---- input ------------------------------------------------------------------------------------------


class TestParse:
    def test_every_bad_line_is_named(self) -> None:
        u = universe()
        lines: list[Any] = [
            {"instrument": u.bonds[0].cusip, "side": "hold", "quantity": 1_000_000},
            {"instrument": u.bonds[1].cusip, "side": "buy", "quantity": -5},
            {"notional": 1_000_000, "liquidity_score": 150},
            {"notional": 1_000_000},
            "not a line",
            {"instrument": u.bonds[0].cusip, "side": "sell", "quantity": 1_000_000},
            {"instrument": u.bonds[2].cusip, "side": "buy", "quantity": 1_000_000, "price": 101},
        ]
        with pytest.raises(InvalidInput) as exc:
            parse_lines(lines, u)
        fields = [e["field"] for e in errors_of(exc)]
        assert fields == ["lines[0].side", "lines[1].quantity", "lines[2].liquidity_score", "lines[3].liquidity_score",
                          "lines[4]", "lines[5].instrument", "lines[6].price"]
        assert exc.value.field == "lines[0].side"
        dup = errors_of(exc)[5]["reason"]
        assert "duplicate of lines[0]" in dup

    def test_empty_and_too_long(self) -> None:
        with pytest.raises(InvalidInput) as exc:
            parse_lines([], universe())
        assert exc.value.field == "lines"
        with pytest.raises(InvalidInput, match="at most 10000"):
            parse_lines([{"notional": 1, "liquidity_score": 50}] * 10_001, universe())

    def test_labels_and_defaults(self) -> None:
        u = universe()
        b = parse_lines([{"notional": 1_000_000, "liquidity_score": 50},
                         {"notional": 2_000_000, "liquidity_score": 60, "label": "mine", "side": "sell"},
                         {"instrument": f" {u.bonds[4].cusip.lower()} ", "side": "buy", "quantity": 1_000}], u)
        assert b.labels == ("line 1", "mine", u.bonds[4].cusip)
        assert b.side.tolist() == [1, -1, 1]
        assert b.idx.tolist() == [-1, -1, 4]


def test_a_5000_line_basket_is_analysed_in_one_pass() -> None:
    u = big_universe()
    ctx = context(big=True)
    b = random_basket(u, 5_000, seed=11)
    a = analyse(ctx, b)
    r = report(a)
    assert len(r["lines"]) == 5_000 and r["basket"]["n_lines"] == 5_000
    assert r["recommendation"]["method"] == "portfolio_trade"
    assert np.isfinite(a.dealer_pt_usd).all() and np.isfinite(a.dealer_rfq_usd).all()


def test_context_at_an_impacted_snapshot_keeps_the_risk_tables_and_takes_the_mids() -> None:
    """The live venue folds impact into the mids between market steps; analytics then reuse the step's
    risk tables (``AnalyticsContext.at``) at the moved mids instead of building new ones."""
    base = context()
    snap = base.snapshot
    moved_prices = np.asarray(snap.mid_price) * (1.0 + 5e-4)  # every mid up 5 bp of price
    moved = snap.with_mids(moved_prices, snap.mid_yield, snap.spread_bp)
    at = base.at(moved)
    assert at.snapshot is moved and base.at(snap) is base
    assert at.risk.exposure is base.risk.exposure and at.risk.hedges is base.risk.hedges
    assert np.array_equal(at.risk.mid, moved.mid_price)
    basket = random_basket(base.universe, 40, seed=3)
    before, after = report(analyse(base, basket)), report(analyse(at, basket))
    assert after["basket"] != before["basket"]  # valued at the moved mids
    with pytest.raises(ValueError):
        base.at(dataclasses.replace(snap))  # another snapshot in its own right: it needs its own tables
