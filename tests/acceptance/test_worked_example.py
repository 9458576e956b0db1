"""CALIBRATION.md section 1: the venue reproduces the worked example's pre-trade cost table, per line and
in total, in the analytics and through the API, the SDK and the CLI, and says how it gets its figures.

| identifier | notional   | score | RFQ bp | RFQ USD | PT improvement bp |
|------------|------------|-------|--------|---------|-------------------|
| 912828X39  | 25,000,000 | 98    | 0.5    | 1,250   | 0.1               |
| 254687DC3  | 10,000,000 | 75    | 3.0    | 3,000   | 1.0               |
| 023135AG9  |  5,000,000 | 42    | 12.0   | 6,000   | 5.0               |
| 88579YAA9  |  2,000,000 | 15    | 35.0   | 7,000   | 20.0              |
| total      | 42,000,000 |       |        | 17,250  | 7,250 (prose)     |

The table's improvements add up to 7,750 USD, not the prose's 7,250; the venue reports 7,750 (a PT cost of
9,500, a 45% saving) and explains the difference, and that the source's "24,500 USD net improvement"
counts the saving twice. Two identifiers carry wrong check digits (254687DC3 -> 7, 023135AG9 -> 1): as
instruments they are refused with the expected digit; as model-only lines (notional, liquidity score,
label) the liquidity-cost model prices them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from clients.cli import register
from clients.sdk import InvalidRequest, VenueClient
from server.analytics.pretrade import WORKED_EXAMPLE, AnalyticsContext, analyse, parse_lines, report
from server.domain.calendar import settlement_date
from server.market.universe import UniverseConfig, build_universe
from tests.support.server import KEYS, VenueProcess

RFQ_BP = [0.5, 3.0, 12.0, 35.0]
RFQ_USD = [1_250.0, 3_000.0, 6_000.0, 7_000.0]
IMPROVEMENT_BP = [0.1, 1.0, 5.0, 20.0]
IMPROVEMENT_USD = [250.0, 1_000.0, 2_500.0, 4_000.0]
PT_USD = [1_000.0, 2_000.0, 3_500.0, 3_000.0]
LINES: list[dict[str, Any]] = [{"notional": q, "liquidity_score": s, "label": label} for label, q, s in WORKED_EXAMPLE]


def check_report(body: dict[str, Any]) -> None:
    """The table, per line and in total, and the explanation."""
    lines = body["lines"]
    assert [ln["label"] for ln in lines] == [label for label, _, _ in WORKED_EXAMPLE]
    assert [ln["quantity"] for ln in lines] == [q for _, q, _ in WORKED_EXAMPLE]
    assert [ln["rfq_cost_bp"] for ln in lines] == RFQ_BP
    assert [ln["rfq_cost_usd"] for ln in lines] == RFQ_USD
    assert [ln["pt_improvement_bp"] for ln in lines] == IMPROVEMENT_BP
    assert [ln["pt_improvement_usd"] for ln in lines] == IMPROVEMENT_USD
    assert [ln["pt_cost_usd"] for ln in lines] == PT_USD
    liq = body["basket"]["liquidity_cost"]
    assert body["basket"]["gross_notional"] == 42_000_000
    assert liq["rfq_cost_usd"] == 17_250.0 == sum(RFQ_USD)
    assert liq["saving_usd"] == 7_750.0 == sum(IMPROVEMENT_USD)
    assert liq["pt_cost_usd"] == 9_500.0 == liq["rfq_cost_usd"] - liq["saving_usd"]
    assert abs(liq["saving_usd"] - 7_250.0) / 7_250.0 < 0.07  # near the prose's figure
    assert liq["saving_pct"] == pytest.approx(44.93, abs=0.01)
    assert liq["diversification"] == 1.0 and liq["diversification_source"] == "assumed"
    rec = body["recommendation"]
    assert rec["method"] == "portfolio_trade" and rec["saving_usd"] == 7_750.0
    text = " ".join(body["explanation"])
    for phrase in ("1,250 + 3,000 + 6,000 + 7,000 = 17,250", "250 + 1,000 + 2,500 + 4,000 = 7,750",
                   "17,250 - 7,750 = 9,500", "7,250", "24,500", "counts the saving twice", "CALIBRATION.md"):
        assert phrase in text, phrase
    notes = " ".join(body["notes"])
    assert "254687DC3 has check digit 3; expected 7" in notes and "023135AG9 has check digit 9; expected 1" in notes


def test_the_analytics_reproduce_the_table() -> None:
    u = build_universe(UniverseConfig())
    ctx = AnalyticsContext.build(u, u.initial_market(), settlement_date(u.as_of))
    check_report(report(analyse(ctx, parse_lines(LINES, u))))


# ---- through the venue -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def venue() -> Iterator[VenueProcess]:
    with tempfile.TemporaryDirectory(prefix="rfqsim-worked-") as tmp:
        workdir = Path(tmp)
        proc = VenueProcess(workdir, f"sqlite+aiosqlite:///{workdir / 'rfqsim.db'}").start()
        try:
            yield proc
        finally:
            proc.stop()


def test_the_api_reproduces_the_table(venue: VenueProcess) -> None:
    headers = {"Authorization": f"Bearer {KEYS['client-1']}"}
    with httpx.Client(base_url=venue.base_url, headers=headers, timeout=30) as c:
        r = c.post("/v1/analytics/pretrade", json={"lines": LINES})
        assert r.status_code == 200, r.text
        check_report(r.json())
        # as instruments, the two wrong check digits are refused with the expected digit
        r = c.post("/v1/analytics/pretrade", json={"lines": [
            {"instrument": label, "side": "buy", "quantity": q} for label, q, _ in WORKED_EXAMPLE]})
        assert r.status_code == 422
        problems = {e["field"]: e["reason"] for e in r.json()["error"]["details"]["errors"]}
        assert problems["lines[1].instrument"] == "CUSIP 254687DC3 has check digit 3; expected 7"
        assert problems["lines[2].instrument"] == "CUSIP 023135AG9 has check digit 9; expected 1"


def test_the_sdk_and_the_cli_reproduce_the_table(venue: VenueProcess, tmp_path: Path) -> None:
    with VenueClient(venue.base_url, KEYS["client-1"]) as sdk:
        got = sdk.pretrade([{**line, "notional": f"{line['notional'] // 1_000_000}mm"} for line in LINES])
        check_report(got.model_dump(mode="json"))
        assert got.rfq_cost_usd == 17_250.0 and got.saving_usd == 7_750.0
        with pytest.raises(InvalidRequest, match="expected 7"):
            sdk.pretrade([("254687DC3", "buy", "10mm")])
    path = tmp_path / "worked.json"
    path.write_text(json.dumps(LINES))
    app = typer.Typer(no_args_is_help=True, add_completion=False)
    register(app)
    result = CliRunner().invoke(app, ["pretrade", str(path)], catch_exceptions=False,
                                env={"RFQSIM_URL": venue.base_url, "RFQSIM_API_KEY": KEYS["client-1"],
                                     "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = result.output
    for figure in ("1,250.00", "3,000.00", "6,000.00", "7,000.00", "17,250.00 / 9,500.00", "7,750.00 USD (44.9%)",
                   "Recommendation: PORTFOLIO TRADE", "24,500", "expected 7", "expected 1"):
        assert figure in out, figure
