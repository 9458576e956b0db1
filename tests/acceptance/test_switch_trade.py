"""Acceptance: the switch-trade demo (``rfqsim demo switch-trade``).

A 2 bn USD fund moves from duration 7.5 to 6.0 and cuts its BBB weight; the list is executed as
sequential RFQs (leakage on, limit-checked: some lines are left undone) and as one portfolio trade
(all done, cheaper). In ``--sim`` mode with a fixed seed the figures are reproducible; one test runs
the live mode against a real venue process with a smaller fund.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from server.demo.cli import register
from server.demo.report import PNG_SIGNATURE, html_report, write_html
from server.demo.switch_trade import SwitchTradeConfig, SwitchTradeResult, run_switch_trade
from tests.support.server import KEYS, VenueProcess

SEED = 7
DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def result() -> SwitchTradeResult:
    return run_switch_trade(SwitchTradeConfig(seed=SEED))


def _app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, add_completion=False)

    @app.callback()
    def _root() -> None:
        """test app"""

    register(app)
    return app


# ---- the fund and the trade list ------------------------------------------------------------------

def test_the_fund_and_the_trade_list_follow_the_brief(result: SwitchTradeResult) -> None:
    fund, plan, cfg = result.fund, result.plan, result.config
    assert fund.nav_usd == pytest.approx(2e9, rel=1e-3)
    assert fund.duration == pytest.approx(7.5, abs=0.01)
    assert fund.bbb_weight == pytest.approx(0.60, abs=0.005)
    sells = [ln for ln in plan.lines if ln.side == "sell"]
    buys = [ln for ln in plan.lines if ln.side == "buy"]
    assert sells and buys
    assert all(ln.rating == "BBB" and ln.duration > fund.duration for ln in sells)  # long-duration BBB
    assert all(ln.rating in ("AAA", "AA", "A") and ln.duration < cfg.target_duration for ln in buys)  # shorter A+
    assert plan.sell_usd == pytest.approx(300e6, rel=0.05)
    assert plan.buy_usd == pytest.approx(300e6, rel=0.05)
    # done in full at the arrival mids, the list lands on the targets
    assert plan.planned.duration == pytest.approx(cfg.target_duration, abs=0.01)
    assert plan.planned.bbb_weight == pytest.approx(cfg.target_bbb_weight, abs=0.005)


# ---- the two paths ----------------------------------------------------------------------------------

def test_the_portfolio_trade_completes_and_costs_less_than_the_rfqs(result: SwitchTradeResult) -> None:
    rfq, pt = result.rfq, result.pt
    assert pt.completion == 1.0 and pt.undone_lines == 0 and pt.inquiries == 1
    assert len(pt.dealers) == 3 and len(rfq.dealers) == 5
    assert pt.cost_usd > 0 and rfq.cost_usd > 0  # both pay against the arrival mids
    assert pt.cost_bp < rfq.cost_bp  # per unit executed
    assert pt.cost_usd < rfq.cost_usd + rfq.opportunity_cost_usd  # and in all, counting what the RFQs left undone
    assert pt.elapsed_s < rfq.elapsed_s


def test_the_rfq_path_legs_out(result: SwitchTradeResult) -> None:
    rfq = result.rfq
    assert rfq.inquiries == len(result.plan.lines)  # one RFQ per line
    assert 0 < rfq.undone_lines < len(result.plan.lines)
    assert rfq.completion < 1.0
    assert rfq.executed_notional == sum(ln.quantity for ln, o in zip(result.plan.lines, rfq.lines, strict=True)
                                        if o.done)
    undone = [(ln, o) for ln, o in zip(result.plan.lines, rfq.lines, strict=True) if not o.done]
    for ln, o in undone:
        assert o.reason in ("best quote outside the limit", "no quote")
        if o.best_price is not None:  # the best quote was worse than the trader's limit
            assert ln.sign * (o.best_price - ln.limit_price) > 0
    assert rfq.opportunity_cost_usd > 0  # reported separately, not hidden
    assert rfq.elapsed_s > 60  # sequential RFQs take simulated minutes


def test_leakage_moves_prices_against_the_fund_and_the_basket_leaks_less(result: SwitchTradeResult) -> None:
    rfq, pt = result.rfq, result.pt
    # every RFQ moves its own bond's mid against the fund before the five dealers price it
    assert all(o.own_impact_bp is not None and o.own_impact_bp > 0 for o in rfq.lines)
    # and the earlier RFQs' leakage (issuer and sector spillover) reaches the later lines
    first = min(rfq.lines, key=lambda o: o.asked_s or 0.0)
    assert first.leak_at_ask_bp == 0.0
    assert rfq.earlier_leak_bp is not None and rfq.earlier_leak_bp > 0
    assert max(o.leak_at_ask_bp or 0.0 for o in rfq.lines) > 1.0
    # the portfolio inquiry, to three dealers, moves its lines far less
    assert pt.own_impact_bp is not None and rfq.own_impact_bp is not None
    assert 0 < pt.own_impact_bp < rfq.own_impact_bp / 2


def test_the_fund_reaches_its_targets_by_portfolio_trade(result: SwitchTradeResult) -> None:
    cfg = result.config
    assert abs(result.pt.fund_after.duration - cfg.target_duration) < 0.1
    assert result.pt.fund_after.bbb_weight == pytest.approx(cfg.target_bbb_weight, abs=0.005)
    # the leg-out leaves the RFQ path further from its targets
    rfq, pt = result.rfq.fund_after, result.pt.fund_after
    assert abs(rfq.duration - cfg.target_duration) > abs(pt.duration - cfg.target_duration)
    assert abs(rfq.bbb_weight - cfg.target_bbb_weight) > abs(pt.bbb_weight - cfg.target_bbb_weight)


def test_same_seed_same_numbers(result: SwitchTradeResult) -> None:
    again = run_switch_trade(SwitchTradeConfig(seed=SEED))
    assert again.figures() == result.figures()
    first, second = result.to_dict(), again.to_dict()
    first.pop("wall_s")
    second.pop("wall_s")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    other = run_switch_trade(SwitchTradeConfig(seed=SEED + 1))
    assert other.figures() != result.figures()


# ---- the report -------------------------------------------------------------------------------------

def test_the_html_report_embeds_real_png_charts(result: SwitchTradeResult, tmp_path: Path) -> None:
    path = write_html(result, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    images = DATA_URI.findall(text)
    assert len(images) >= 4
    for encoded in images:
        png = base64.b64decode(encoded, validate=True)
        assert png.startswith(PNG_SIGNATURE)
        assert len(png) > 1024
    assert "single-bond RFQs" in text and "portfolio trade" in text
    assert f"{result.rfq.cost_bp:.2f}" in text and f"{result.pt.cost_bp:.2f}" in text


def test_the_report_can_save_its_charts_next_to_it(result: SwitchTradeResult, tmp_path: Path) -> None:
    path = write_html(result, tmp_path / "r.html", save_png=True)
    files = sorted((tmp_path / "r_charts").glob("*.png"))
    assert len(files) == len(DATA_URI.findall(path.read_text(encoding="utf-8"))) >= 4  # and still embedded
    for f in files:
        data = f.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1024
    linked = html_report(result, {"cost.png": files[0].read_bytes()}, image_src=lambda name, png: f"r_charts/{name}")
    assert 'src="r_charts/cost.png"' in linked and "data:image/png" not in linked


# ---- the command line -------------------------------------------------------------------------------

def test_cli_sim_mode(result: SwitchTradeResult, tmp_path: Path) -> None:
    out = tmp_path / "switch.html"
    figures = tmp_path / "switch.json"
    run = CliRunner().invoke(_app(), ["demo", "switch-trade", "--sim", "--seed", str(SEED), "--out", str(out),
                                      "--json", str(figures)], env={"COLUMNS": "160"})
    assert run.exit_code == 0, run.output
    assert "RFQ path versus portfolio trade" in run.output and "run time" in run.output
    assert out.exists() and DATA_URI.search(out.read_text(encoding="utf-8"))
    assert json.loads(figures.read_text())["figures"] == json.loads(json.dumps(result.figures()))


def test_cli_refuses_bad_options(tmp_path: Path) -> None:
    app = _app()
    both = CliRunner().invoke(app, ["demo", "switch-trade", "--sim", "--url", "http://127.0.0.1:1"])
    assert both.exit_code == 2
    bad = CliRunner().invoke(app, ["demo", "switch-trade", "--nav", "lots", "--out", str(tmp_path / "x.html")])
    assert bad.exit_code == 2
    no_key = CliRunner().invoke(app, ["demo", "switch-trade", "--url", "http://127.0.0.1:1"],
                                env={"RFQSIM_API_KEY": ""})
    assert no_key.exit_code == 2


# ---- live mode --------------------------------------------------------------------------------------

def test_live_mode_against_a_real_venue(venue: VenueProcess, tmp_path: Path) -> None:
    out = tmp_path / "live.html"
    figures = tmp_path / "live.json"
    run = CliRunner().invoke(_app(), [
        "demo", "switch-trade", "--url", venue.base_url, "--api-key", KEYS["client-1"], "--nav", "200mm",
        "--fund-lines", "40", "--buy-lines", "6", "--out", str(out), "--json", str(figures)],
        env={"COLUMNS": "160"})
    assert run.exit_code == 0, run.output
    doc = json.loads(figures.read_text())
    assert doc["mode"] == "live" and doc["venue"] == venue.base_url
    fig = doc["figures"]
    assert fig["fund_start"]["nav_usd"] == pytest.approx(200e6, rel=1e-2)
    n_lines = fig["lines"]
    assert n_lines >= 8
    assert fig["rfq"]["inquiries"] == n_lines
    assert fig["pt"]["completion"] == 1.0 and fig["pt"]["inquiries"] == 1
    assert abs(fig["pt"]["duration_after"] - 6.0) < 0.1
    assert fig["pt"]["bbb_weight_after"] < fig["fund_start"]["bbb_weight"]
    # the venue booked exactly what the report says: one trade per RFQ done, one for the basket
    done_rfq = sum(1 for o in doc["rfq"]["lines"] if o["done"])
    assert done_rfq == n_lines - fig["rfq"]["undone_lines"]
    from clients.sdk import VenueClient

    with VenueClient(venue.base_url, KEYS["client-1"]) as client:
        trades = list(client.iter_trades())
    assert sum(1 for t in trades if t.kind == "rfq") == done_rfq
    assert sum(1 for t in trades if t.kind == "portfolio") == 1
    basket = next(t for t in trades if t.kind == "portfolio")
    assert len(basket.lines) == n_lines and basket.gross_notional == fig["pt"]["executed_notional"]
    images = DATA_URI.findall(out.read_text(encoding="utf-8"))
    assert images and all(base64.b64decode(i).startswith(PNG_SIGNATURE) for i in images)
