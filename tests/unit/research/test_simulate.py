"""Simulations: metrics sanity, the hedge overlay, outputs."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from server.domain.events import Event
from server.research.report import render_metrics
from server.research.scenario import parse_scenario
from server.research.simulate import Simulation, simulate
from tests.unit.research.support import small_raw, small_scenario


def test_metrics_sanity() -> None:
    result = Simulation(small_scenario(), 3).run()
    m = result.metrics
    assert m["trades"] > 10 and m["run"]["orders"] > 50 and m["run"]["rejected_orders"] == 0
    won = 0
    for d in m["dealers"].values():
        assert 0.0 <= d["hit_ratio"] <= 1.0 and 0.0 <= d["response_rate"] <= 1.0
        assert d["inquiries_quoted"] <= d["inquiries_received"]
        p = d["pnl"]
        assert math.isclose(p["spread_capture"] + p["inventory_mtm"] + p["hedge"], p["total"], abs_tol=0.05)
        assert d["hedges"] is False and p["hedge"] == 0.0 and "zero" in d["hedge_note"]
        assert set(d["markouts_bp"]) == {"60s", "300s"}
        assert d["markout_trades"]["300s"] == d["trades"]  # the tail lets every trade reach its markouts
        won += d["trades"]
    assert won == m["trades"]
    for c in m["clients"].values():
        assert 0.0 <= c["completion_rate"] <= 1.0
        assert c["awarded"] + c["cancelled"] + c["expired"] + c["no_quotes"] == c["inquiries"]
    assert sum(k["done"] for k in m["by_kind"].values()) == m["trades"]
    assert len(m["series"]["t_s"]) == len(m["series"]["dealers"]["a"]["pnl_usd"]) > 5
    # the patient clients (band rule) cancel some; the urgent ones take the best
    assert m["client_types"]["urgent"]["completion_rate"] >= m["client_types"]["patient"]["completion_rate"]
    assert "Dealers" in render_metrics(m)


def test_hedge_overlay_for_a_hedging_dealer() -> None:
    raw = small_raw()
    raw["dealers"] = [
        {"id": "hedger", "strategy": "mid_spread", "hedge": {"rates_ratio": 1.0, "credit_ratio": 1.0}},
        {"id": "plain", "strategy": "mid_spread", "config": {"skew_bp": 0.5}, "hedge": "none"},
    ]
    m = Simulation(parse_scenario(raw), 2).run().metrics
    hedger, plain = m["dealers"]["hedger"], m["dealers"]["plain"]
    assert hedger["hedges"] and hedger["trades"] > 0 and hedger["hedge_cost_usd"] > 0
    assert hedger["pnl"]["hedge"] != 0.0 and plain["pnl"]["hedge"] == 0.0
    for d in (hedger, plain):
        p = d["pnl"]
        assert math.isclose(p["spread_capture"] + p["inventory_mtm"] + p["hedge"], p["total"], abs_tol=0.05)
    assert hedger["max_capital_usd"] > 0 and plain["max_capital_usd"] >= 0


def test_outputs(tmp_path: Path) -> None:
    result = simulate(small_scenario(horizon_hours=0.1), 1, out_dir=tmp_path, keep_log=True)
    lines = (tmp_path / "events.jsonl").read_bytes()
    assert lines == result.log_bytes
    events = [Event.from_json(line) for line in lines.splitlines()]
    assert [e.seq for e in events] == list(range(1, len(events) + 1)) and len(events) == result.events
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["run"]["log_sha256"] == result.log_sha256
    assert "Client cost by kind" in (tmp_path / "metrics.txt").read_text()
    assert (tmp_path / "pnl.png").stat().st_size > 1000 and (tmp_path / "markouts.png").exists()


def _reference_hedge_trade(metrics: Any, book: Any, idx: Any, x: Any, now: int) -> None:
    """The hedge overlay of one trade with every input looked up afresh (what ``_hedge_trade`` caches)."""
    from dealer_bots.pricing.hedge import hedge_notionals

    market = metrics.market
    settle = market.settle(now)
    table = market.factor_model.exposure_table(market.base, settle)
    mv = x * table.dirty_price[idx] / 100.0
    hb = metrics._hedge_book(book.hedge, now)
    h = hedge_notionals(hb, (mv @ table.exposures[idx])[None, :])[0]
    view = market.view
    units = np.zeros_like(book.hedge_units)
    tsy = metrics._tsy
    units[: tsy.size] = h[: tsy.size] / (table.dirty_price[tsy] / 100.0)
    for j, ticker in enumerate(("LQD", "HYG"), start=tsy.size):
        px = float(view.etf_price.get(ticker, 0.0))
        units[j] = h[j] / px if px > 0 else 0.0
    book.hedge_units += units
    book.hedge_cash -= float(units @ metrics._hedge_prices(view))
    book.hedge_cost += float(np.abs(h) @ hb.half_spread_bp) * 1e-4


def test_hedge_overlay_inputs_follow_the_market() -> None:
    """The overlay's cached inputs (exposure table, hedge book, hedge prices) are those of the moment of
    each trade: across market steps and impacted views, every book's hedge equals the one computed afresh."""
    raw = small_raw(horizon_hours=0.2)
    raw["market"] = {"step_s": 30, "impact": True, "impact_refresh_s": 0}
    raw["dealers"] = [
        {"id": "hedger", "strategy": "mid_spread", "hedge": {"rates_ratio": 1.0, "credit_ratio": 0.8}},
        {"id": "other", "strategy": "mid_spread", "config": {"skew_bp": 0.5},
         "hedge": {"rates_ratio": 0.5, "credit_ratio": 1.0}},
    ]
    sim = Simulation(parse_scenario(raw), 4)
    metrics = sim.metrics
    shadows = {d: copy.deepcopy(b) for d, b in metrics.books.items()}
    real = metrics._hedge_trade
    checked = 0

    def both(book: Any, idx: Any, x: Any, now: int) -> None:
        nonlocal checked
        real(book, idx, x, now)
        shadow = shadows[next(d for d, b in metrics.books.items() if b is book)]
        _reference_hedge_trade(metrics, shadow, idx, x, now)
        assert np.array_equal(book.hedge_units, shadow.hedge_units)
        assert (book.hedge_cash, book.hedge_cost) == (shadow.hedge_cash, shadow.hedge_cost)
        checked += 1

    metrics._hedge_trade = both  # type: ignore[method-assign]
    sim.run()
    assert checked > 20 and sim.market.steps > 5
