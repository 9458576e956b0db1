"""Post-trade TCA: signs, benchmarks, totals against the net prices, NAV."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.analytics.tca import Cover, costs, report
from server.market.universe import Universe
from tests.unit.analytics.conftest import context, universe


def make_trade(u: Universe, idx: list[int], sides: list[int], qty: list[int], prices: list[float],
               arrival: list[float] | None, kind: str = "portfolio") -> dict[str, Any]:
    lines = []
    for k, (i, s, q, p) in enumerate(zip(idx, sides, qty, prices, strict=True)):
        line: dict[str, Any] = {"instrument": u.instruments[i].cusip, "side": "buy" if s > 0 else "sell",
                                "quantity": q, "clean_price": p}
        if arrival is not None:
            line["arrival_mid"] = arrival[k]
        lines.append(line)
    net = round(float(sum(-s * q * p / 100 for s, q, p in zip(sides, qty, prices, strict=True))), 2)
    return {"trade_id": "T-1", "inquiry_id": "PT-1" if kind == "portfolio" else "RFQ-1", "kind": kind,
            "client_id": "client-1", "dealer_id": "dealer-a", "executed_ts": 0, "trade_date": "2026-11-20",
            "net_price": net if kind == "portfolio" else None, "lines": lines}


def test_a_buy_above_mid_and_a_sell_below_mid_are_costs() -> None:
    u = universe()
    mid = u.initial_market().mid_price
    trade = make_trade(u, [0, 1], [1, -1], [1_000_000, 2_000_000],
                       [float(mid[0]) + 0.05, float(mid[1]) - 0.10], [float(mid[0]), float(mid[1])])
    r = report(trade, u, u.initial_market(), cover=None)
    lines = r["lines"]
    assert lines[0]["cost_vs_arrival_bp"] == pytest.approx(5.0) and lines[0]["cost_vs_arrival_usd"] == 500.0
    assert lines[1]["cost_vs_arrival_bp"] == pytest.approx(10.0) and lines[1]["cost_vs_arrival_usd"] == 2_000.0
    arrival = r["benchmarks"]["arrival_mid"]
    assert arrival["cost_usd"] == 2_500.0 and arrival["cost_bp"] == pytest.approx(2_500.0 / 3e6 * 1e4, abs=1e-4)
    # the previous close is the universe's initial market: the same mids here
    assert r["benchmarks"]["previous_close"]["cost_usd"] == pytest.approx(2_500.0, abs=0.02)
    assert r["benchmarks"]["cover"]["available"] is False
    assert "positive = a cost to the client" in r["sign_convention"]


def test_portfolio_cover_and_nav_reconcile_with_the_net_prices() -> None:
    u = universe()
    mid = u.initial_market().mid_price
    idx, sides, qty = [3, 4, 5, 6], [1, -1, 1, -1], [1_000_000, 1_000_000, 3_000_000, 500_000]
    arrival = [float(mid[i]) for i in idx]
    traded = [m + 0.04 * s for m, s in zip(arrival, sides, strict=True)]
    covered = [m + 0.06 * s for m, s in zip(arrival, sides, strict=True)]
    trade = make_trade(u, idx, sides, qty, traded, arrival)
    cover_net = round(float(sum(-s * q * p / 100 for s, q, p in zip(sides, qty, covered, strict=True))), 2)
    r = report(trade, u, u.initial_market(), cover=Cover(np.array(covered), cover_net, "Q-9", "dealer-b"))
    cover = r["benchmarks"]["cover"]
    assert cover["available"] and cover["quote_id"] == "Q-9" and cover["dealer_id"] == "dealer-b"
    assert cover["cost_usd"] == pytest.approx(cover_net - trade["net_price"], abs=0.01)
    assert cover["cost_usd"] < 0  # better than the cover
    assert sum(ln["cost_vs_cover_usd"] for ln in r["lines"]) == pytest.approx(cover["cost_usd"], abs=0.05)
    nav = r["benchmarks"]["nav"]
    expected_nav = sum(s * m * q / 100 for s, m, q in zip(sides, arrival, qty, strict=True))
    assert nav["nav_usd"] == pytest.approx(expected_nav, abs=0.01)
    assert nav["cost_usd"] == pytest.approx(r["benchmarks"]["arrival_mid"]["cost_usd"], abs=0.02)
    assert nav["cost_usd"] == pytest.approx(0.04 * sum(qty) / 100, abs=0.02)


def test_missing_arrival_mids_make_the_benchmark_unavailable() -> None:
    u = universe()
    trade = make_trade(u, [0], [1], [1_000_000], [100.0], None, kind="rfq")
    r = report(trade, u, u.initial_market(), cover=None)
    assert r["benchmarks"]["arrival_mid"]["available"] is False
    assert r["lines"][0]["cost_vs_arrival_usd"] is None
    assert r["benchmarks"]["previous_close"]["available"] is True
    assert "nav" not in r["benchmarks"]


def test_pretrade_estimate_of_the_trade() -> None:
    ctx = context()
    u = ctx.universe
    mid = u.initial_market().mid_price
    trade = make_trade(u, [7], [1], [2_000_000], [float(mid[7]) + 0.1], [float(mid[7])], kind="rfq")
    r = report(trade, u, ctx.close, cover=None, context=ctx)
    est = r["pretrade_estimate"]
    assert est["basis"].startswith("RFQ") and est["dealer_charge_usd"] > est["liquidity_usd"] > 0
    assert est["realised_vs_arrival_usd"] == pytest.approx(2_000.0)
    assert r["lines"][0]["estimated_cost_bp"] == pytest.approx(est["dealer_charge_bp"], abs=1e-3)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1_999), st.sampled_from([1, -1]), st.integers(1, 50),
                          st.floats(-2.0, 2.0).filter(lambda x: abs(x) > 1e-4)),
                min_size=1, max_size=20, unique_by=lambda t: t[0]))
def test_costs_are_signed_for_the_client(lines: list[tuple[int, int, int, float]]) -> None:
    u = universe()
    mid = u.initial_market().mid_price
    idx = [i for i, _, _, _ in lines]
    sides = [s for _, s, _, _ in lines]
    qty = [q * 100_000 for _, _, q, _ in lines]
    prices = [float(mid[i]) + off for i, _, _, off in lines]
    trade = make_trade(u, idx, sides, qty, prices, [float(mid[i]) for i in idx])
    c = costs(trade, u, u.initial_market(), None)
    usd = c.cost_usd(c.arrival)
    # positive exactly when the client paid up on a buy or sold down on a sell
    signs = np.sign([s * off for _, s, _, off in lines])
    assert (np.sign(np.round(usd, 9)) == signs).all()
    np.testing.assert_allclose(usd, c.cost_bp(c.arrival) * c.quantity / 1e4, atol=1e-6)
    r = report(trade, u, u.initial_market(), cover=None, include_lines=False)
    assert r["benchmarks"]["arrival_mid"]["cost_usd"] == pytest.approx(float(usd.sum()), abs=0.01)
    assert r["benchmarks"]["nav"]["cost_usd"] == pytest.approx(float(usd.sum()), abs=0.02)
    assert "lines" not in r
