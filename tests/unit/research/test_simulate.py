"""Simulations: metrics sanity, the hedge overlay, outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

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
