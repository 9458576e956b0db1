"""Pre-trade analytics, package optimisation and TCA through a real venue process: HTTP, the SDK, the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from clients.cli import register
from clients.sdk import InvalidRequest, NotFound, VenueClient
from server.market.universe import UniverseConfig, build_universe
from tests.support.server import KEYS, PANEL, VenueProcess, assert_error, next_event, stream, wait_quotes

UNIVERSE = build_universe(UniverseConfig(seed=7, n_bonds=2000))  # the venue's defaults
MARKET = UNIVERSE.initial_market()
SCORE = MARKET.liquidity_score
CORP = list(range(UNIVERSE.n_bonds))
ILLIQUID = [i for i in CORP if SCORE[i] < 35]
LIQUID = [i for i in CORP if SCORE[i] > 75]
WORKED: list[dict[str, Any]] = [{"notional": 25_000_000, "liquidity_score": 98, "label": "912828X39"},
          {"notional": 10_000_000, "liquidity_score": 75, "label": "254687DC3"},
          {"notional": 5_000_000, "liquidity_score": 42, "label": "023135AG9"},
          {"notional": 2_000_000, "liquidity_score": 15, "label": "88579YAA9"}]


def line(i: int, side: str = "buy", pieces: int = 1000) -> dict[str, Any]:
    bond = UNIVERSE.bonds[i]
    return {"instrument": bond.cusip, "side": side, "quantity": bond.min_piece * pieces}


def mixed_basket(n_illiquid: int = 12, n_liquid: int = 28, offset: int = 0) -> list[dict[str, Any]]:
    chosen = ILLIQUID[offset:offset + n_illiquid] + LIQUID[offset:offset + n_liquid]
    return [line(i, "buy" if k % 3 else "sell") for k, i in enumerate(chosen)]


def csv_text(lines: list[dict[str, Any]]) -> str:
    return "CUSIP,Side,Size\n" + "\n".join(f"{ln['instrument']},{ln['side']},{ln['quantity']}" for ln in lines) + "\n"


# ---- pre-trade ---------------------------------------------------------------------------------------


class TestPretrade:
    async def test_json_basket(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            r = await c.post("/v1/analytics/pretrade", json={"lines": mixed_basket()})
        assert r.status_code == 200, r.text
        body = r.json()
        b = body["basket"]
        assert b["n_lines"] == 40 and b["n_model_lines"] == 0
        assert b["gross_notional"] == sum(ln["quantity"] for ln in mixed_basket())
        assert b["net_dv01"] is not None and b["duration"] > 0 and b["r_squared"]["combined"] is not None
        assert abs(sum(b["rating_mix"].values()) - 1) < 1e-4 and b["dealer_charge"]["n_dealers"] == len(PANEL)
        assert body["recommendation"]["method"] == "portfolio_trade"
        assert body["recommendation"]["basis"] == "full_dealer_charge"
        assert body["recommendation"]["saving_usd"] > 0
        first = body["lines"][0]
        assert first["instrument"] == mixed_basket()[0]["instrument"]
        assert first["evaluated_mid"] == pytest.approx(float(MARKET.mid_price[ILLIQUID[0]]), abs=1.0)  # it moves
        assert {f["code"] for f in first["flags"]} >= {"illiquid"}
        assert all(ln["rfq_cost_bp"] >= ln["pt_cost_bp"] for ln in body["lines"])
        assert b["flags"]["illiquid"] >= 12

    async def test_csv_body_and_uploads_give_the_same_answer(self, venue: VenueProcess, tmp_path: Path) -> None:
        lines = mixed_basket(5, 10, offset=3)
        async with venue.client("client-1") as c:
            as_json = (await c.post("/v1/analytics/pretrade", json={"lines": lines})).json()
            as_csv = await c.post("/v1/analytics/pretrade?lines=false", content=csv_text(lines),
                                  headers={"content-type": "text/csv"})
            assert as_csv.status_code == 200, as_csv.text
            assert as_csv.json()["lines"] is None
            upload = await c.post("/v1/analytics/pretrade", files={"file": ("b.csv", csv_text(lines), "text/csv")},
                                  data={"panel_size": "3"})
            assert upload.status_code == 200, upload.text
            import openpyxl

            book = openpyxl.Workbook()
            sheet = book.active
            assert sheet is not None
            sheet.append(["ISIN", "B/S", "Face"])
            for ln in lines:
                sheet.append([UNIVERSE.bond(ln["instrument"]).isin, ln["side"][0].upper(), ln["quantity"]])
            buf = io.BytesIO()
            book.save(buf)
            xlsx = await c.post("/v1/analytics/pretrade", files={"file": ("b.xlsx", buf.getvalue(), "application/x")})
            assert xlsx.status_code == 200, xlsx.text
        for other in (as_csv.json(), xlsx.json()):
            assert other["basket"]["liquidity_cost"] == as_json["basket"]["liquidity_cost"]
            assert other["recommendation"] == as_json["recommendation"]
        assert upload.json()["basket"]["dealer_charge"]["n_dealers"] == 3

    async def test_worked_example(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            r = await c.post("/v1/analytics/pretrade", json={"lines": WORKED})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [ln["rfq_cost_usd"] for ln in body["lines"]] == [1_250.0, 3_000.0, 6_000.0, 7_000.0]
        assert [ln["pt_improvement_usd"] for ln in body["lines"]] == [250.0, 1_000.0, 2_500.0, 4_000.0]
        assert body["basket"]["liquidity_cost"]["saving_usd"] == 7_750.0
        assert any("24,500" in p for p in body["explanation"])

    async def test_bad_input_names_the_field(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c, httpx.AsyncClient(base_url=venue.base_url) as anon:
            post = c.post
            assert_error(await post("/v1/analytics/pretrade", json={"lines": [
                {"instrument": "254687DC3", "side": "buy", "quantity": 10_000_000}]}), 422,
                "lines[0].instrument", "expected 7")
            err = assert_error(await post("/v1/analytics/pretrade", json={"lines": [
                line(1), {"instrument": "023135AG9", "side": "buy", "quantity": 1}, line(1)]}), 422,
                "lines[1].instrument", "expected 1")
            assert [e["field"] for e in err["details"]["errors"]] == ["lines[1].instrument", "lines[2].instrument"]
            assert_error(await post("/v1/analytics/pretrade", json={"lines": [
                {"notional": 1_000_000, "liquidity_score": 0}]}), 422, "lines[0].liquidity_score")
            bad_csv = csv_text([line(1), line(2)]).replace(",buy,", ",hold,", 1)
            assert_error(await post("/v1/analytics/pretrade", content=bad_csv, headers={"content-type": "text/csv"}),
                         422, "file:row 2:side", "'hold' is not buy or sell")
            assert_error(await post("/v1/analytics/pretrade", json={"lines": [line(1)], "diversification": 2}), 422,
                         "diversification")
            assert_error(await post("/v1/analytics/pretrade", json={"lines": [line(1)], "colour": "red"}), 422,
                         "colour")
            assert_error(await post("/v1/analytics/pretrade", json={"basket": []}), 422, "lines")
            assert_error(await post("/v1/analytics/pretrade", json={"lines": []}), 422, "lines")
            assert_error(await post("/v1/analytics/pretrade", content=b"{not json"), 422, "body")
            assert_error(await post("/v1/analytics/pretrade", content=b"x", headers={"content-type": "image/png"}),
                         422, "Content-Type")
            assert_error(await anon.post("/v1/analytics/pretrade", json={"lines": WORKED}), 401)


json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=10)
good_line = line(ILLIQUID[0])
good_model = WORKED[3]
line_keys = ["instrument", "side", "quantity", "label", "notional", "liquidity_score"]
option_keys = ["diversification", "panel_size", "duration_tolerance", "te_aversion", "whole_lines", "min_score"]


def mutated(base: dict[str, Any], keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=3).map(lambda extra: {**base, **extra})


fuzz_bodies = st.one_of(
    json_values,
    st.builds(lambda lines, opts: {"lines": lines, **opts},
              st.lists(st.one_of(mutated(good_line, line_keys), mutated(good_model, line_keys)), min_size=1,
                       max_size=4),
              st.dictionaries(st.sampled_from(option_keys), json_values, max_size=2)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["/v1/analytics/pretrade", "/v1/analytics/optimise"]), fuzz_bodies)
def test_bad_bodies_get_4xx_never_5xx(venue: VenueProcess, path: str, body: Any) -> None:
    with httpx.Client(base_url=venue.base_url, headers={"Authorization": f"Bearer {KEYS['client-1']}"},
                      timeout=60) as client:
        r = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code < 500, (body, r.text)
    if r.status_code >= 400:
        assert set(r.json()["error"]) >= {"code", "field", "reason"}


# ---- optimisation --------------------------------------------------------------------------------------


class TestOptimise:
    async def test_illiquid_lines_are_replaced_within_the_tolerances(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            r = await c.post("/v1/analytics/optimise", json={"lines": mixed_basket(), "duration_tolerance": 0.2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "optimal" and body["replacements"]
        rows = {row["metric"]: row for row in body["side_by_side"]}
        assert rows["pt_cost_usd"]["after"] < rows["pt_cost_usd"]["before"]
        assert rows["illiquid_lines"]["after"] < rows["illiquid_lines"]["before"]
        assert abs(rows["duration"]["change"]) <= 0.2 + 0.01
        assert abs(rows["net_dv01"]["change"]) <= 0.02 * body["before"]["basket"]["gross_dv01"] * 1.05
        assert body["settings"]["duration_tolerance"] == 0.2
        for swap in body["replacements"]:
            assert swap["by"]["sector"] == swap["replaced"]["sector"]
            assert swap["by"]["rating"] == swap["replaced"]["rating"]
            assert swap["by"]["liquidity_score"] > swap["replaced"]["liquidity_score"]
        assert body["tracking_error"]["daily_usd"] > 0
        # the new basket is a valid portfolio inquiry
        async with venue.client("client-1") as c:
            created = await c.post("/v1/portfolio-inquiries", json={"lines": body["lines"]})
            assert created.status_code == 201, created.text
            await c.post(f"/v1/portfolio-inquiries/{created.json()['id']}/cancel")

    async def test_bad_input(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            assert_error(await c.post("/v1/analytics/optimise", json={"lines": WORKED}), 422, "lines[0].instrument",
                         "needs every line to name an instrument")
            assert_error(await c.post("/v1/analytics/optimise", json={"lines": mixed_basket(),
                                                                       "candidates_per_line": 0}),
                         422, "candidates_per_line")
            assert_error(await c.post("/v1/analytics/optimise?te_aversion=-1", content=csv_text(mixed_basket()),
                                      headers={"content-type": "text/csv"}), 422, "te_aversion")


# ---- TCA -----------------------------------------------------------------------------------------------


class TestTca:
    async def test_rfq_trade_with_the_reference_dealers(self, venue: VenueProcess) -> None:
        bond = UNIVERSE.bonds[LIQUID[40]]
        async with venue.client("client-1") as c, venue.client("client-2") as c2, \
                venue.client("dealer-remote") as outsider:
            rfq = (await c.post("/v1/rfqs", json={"instrument": bond.cusip, "side": "buy",
                                                  "quantity": 2_000_000})).json()
            view = await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", len(PANEL) - 1)
            best = min((q for q in view["quotes"] if q["state"] == "live"), key=lambda q: q["price"])
            trade = (await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": best["quote_id"]})).json()["trade"]
            r = await c.get(f"/v1/trades/{trade['trade_id']}/tca")
            assert r.status_code == 200, r.text
            t = r.json()
            arrival = t["benchmarks"]["arrival_mid"]
            assert t["viewer_role"] == "client" and arrival["available"]
            assert arrival["cost_usd"] > 0 and arrival["cost_bp"] > 0  # the dealers price on their side of mid
            arrival_mid = trade["lines"][0]["arrival_mid"]
            assert t["lines"][0]["arrival_mid"] == arrival_mid
            assert arrival["cost_usd"] == pytest.approx((trade["lines"][0]["clean_price"] - arrival_mid) * 2e4,
                                                        abs=0.05)
            close = t["benchmarks"]["previous_close"]  # the universe's as_of close; the live market has moved since
            mid = float(MARKET.mid_price[LIQUID[40]])
            assert close["cost_usd"] == pytest.approx((trade["lines"][0]["clean_price"] - mid) * 2e4, abs=0.05)
            cover = t["benchmarks"]["cover"]
            assert cover["available"] and cover["cost_usd"] <= 0  # the best quote beats the cover
            assert cover["dealer_id"] != trade["dealer_id"]
            assert "nav" not in t["benchmarks"]
            assert t["pretrade_estimate"]["dealer_charge_usd"] > 0
            assert t["lines"][0]["cost_vs_arrival_bp"] == pytest.approx(arrival["cost_bp"], abs=1e-3)
            assert_error(await c2.get(f"/v1/trades/{trade['trade_id']}/tca"), 404, "trade_id")
            assert_error(await outsider.get(f"/v1/trades/{trade['trade_id']}/tca"), 404, "trade_id")
            assert_error(await c.get("/v1/trades/T-999999/tca"), 404, "trade_id")

    async def test_portfolio_trade(self, venue: VenueProcess) -> None:
        lines = mixed_basket(6, 24, offset=20)
        async with venue.client("client-1") as c:
            pt = (await c.post("/v1/portfolio-inquiries", json={"lines": lines})).json()
            view = await wait_quotes(c, f"/v1/portfolio-inquiries/{pt['id']}?lines=false", 3)
            best = max((q for q in view["quotes"] if q["state"] == "live"), key=lambda q: q["net_price"])
            award = await c.post(f"/v1/portfolio-inquiries/{pt['id']}/award", json={"quote_id": best["quote_id"]})
            trade = award.json()["trade"]
            t = (await c.get(f"/v1/trades/{trade['trade_id']}/tca")).json()
        b = t["benchmarks"]
        assert b["arrival_mid"]["cost_usd"] > 0 and b["nav"]["available"]
        assert b["nav"]["cost_usd"] == pytest.approx(b["arrival_mid"]["cost_usd"], abs=1.0)
        assert b["cover"]["available"] and b["cover"]["cost_usd"] <= 0
        assert b["cover"]["net_price"] == trade["net_price"]
        assert len(t["lines"]) == 30
        assert sum(ln["cost_vs_arrival_usd"] for ln in t["lines"]) == pytest.approx(b["arrival_mid"]["cost_usd"],
                                                                                    abs=0.5)
        est = t["pretrade_estimate"]
        assert est["basis"].startswith("portfolio")
        # the pre-trade estimate means what the quotes mean: the same order as the realised cost (the winner's
        # config, its inventory and the market's moves since arrival make the difference)
        realised = b["arrival_mid"]["cost_usd"]
        estimate = realised - est["realised_minus_estimate_usd"]
        assert estimate > 0 and 1 / 3 < realised / estimate < 3

    async def test_the_dealer_sees_its_trade_without_the_cover_dealer(self, venue: VenueProcess) -> None:
        bond = UNIVERSE.bonds[LIQUID[41]]
        mid = float(MARKET.mid_price[LIQUID[41]])
        async with venue.client("client-1") as c, venue.client("dealer-remote") as d, \
                venue.client("dealer-other") as other, stream(venue, "dealer-remote") as wsd:
            rfq = (await c.post("/v1/rfqs", json={"instrument": bond.cusip, "side": "buy", "quantity": 1_000_000,
                                                  "panel": ["dealer-remote", "dealer-a"]})).json()
            await next_event(wsd, type="inquiry.request", inquiry_id=rfq["id"])
            await wsd.send(orjson.dumps({"type": "quote", "inquiry_id": rfq["id"], "level": round(mid + 0.02, 4),
                                         "ref": "q"}))
            ack = await next_event(wsd, type="ack", ref="q")
            await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", 2)
            trade = (await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": ack["quote_id"]})).json()["trade"]
            as_dealer = await d.get(f"/v1/trades/{trade['trade_id']}/tca")
            as_client = (await c.get(f"/v1/trades/{trade['trade_id']}/tca")).json()
            assert_error(await other.get(f"/v1/trades/{trade['trade_id']}/tca"), 404)
        assert as_dealer.status_code == 200, as_dealer.text
        t = as_dealer.json()
        assert t["viewer_role"] == "dealer" and t["dealer_id"] == "dealer-remote"
        arrival_mid = t["lines"][0]["arrival_mid"]
        assert t["benchmarks"]["arrival_mid"]["cost_usd"] == pytest.approx((round(mid + 0.02, 4) - arrival_mid) * 1e4,
                                                                           abs=0.05)
        cover = t["benchmarks"]["cover"]
        assert cover["available"] and "dealer_id" not in cover and "quote_id" not in cover
        assert as_client["benchmarks"]["cover"]["dealer_id"] == "dealer-a"
        assert cover["cost_usd"] == as_client["benchmarks"]["cover"]["cost_usd"]


# ---- SDK and CLI ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk(venue: VenueProcess) -> Iterator[VenueClient]:
    with VenueClient(venue.base_url, KEYS["client-1"]) as v:
        yield v


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, add_completion=False)
    register(app)
    return app


def run(app: typer.Typer, venue: VenueProcess, *args: str) -> Result:
    env = {"RFQSIM_URL": venue.base_url, "RFQSIM_API_KEY": KEYS["client-1"], "COLUMNS": "250"}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


class TestSdk:
    def test_pretrade_lines_paths_and_model_lines(self, sdk: VenueClient, tmp_path: Path) -> None:
        basket = [(ln["instrument"], ln["side"], f"{ln['quantity'] // 1000}k") for ln in mixed_basket(4, 8)]
        report = sdk.pretrade(basket)
        assert report.recommendation.method == "portfolio_trade" and report.lines is not None
        assert report.lines[0].quantity == mixed_basket(4, 8)[0]["quantity"]
        assert report.flagged and report.rfq_cost_usd > report.pt_cost_usd
        path = tmp_path / "basket.csv"
        path.write_text(csv_text(mixed_basket(4, 8)))
        from_file = sdk.pretrade(path, include_lines=False)
        assert from_file.lines is None and from_file.saving_usd == report.saving_usd
        worked = sdk.pretrade([{**w, "notional": f"{w['notional'] // 1_000_000}mm"} for w in WORKED])
        assert worked.rfq_cost_usd == 17_250.0 and worked.saving_usd == 7_750.0
        assert sdk.pretrade(basket, diversification=0.0).saving_usd == 0.0

    def test_optimise_and_tca(self, sdk: VenueClient) -> None:
        result = sdk.optimise(mixed_basket(8, 20, offset=5), te_aversion=0.05, duration_tolerance=0.3)
        assert result.status == "optimal" and result.replacements
        before, after = result.metric("pt_cost_usd")
        assert after < before and result.after.recommendation.method == "portfolio_trade"
        assert result.lines is not None
        inquiry = sdk.create_portfolio([(ln.instrument, ln.side, ln.quantity) for ln in result.lines])
        quotes = sdk.wait_quotes(inquiry.id, n=3, timeout=10)
        trade = sdk.award(inquiry.id, max(quotes, key=lambda q: q.net_price or 0))
        tca = sdk.tca(trade.trade_id)
        assert tca.kind == "portfolio" and (tca.cost_usd("arrival_mid") or 0) > 0
        assert tca.cost_bp("nav") is not None and tca.lines is not None and len(tca.lines) == len(result.lines)
        assert sdk.tca(trade.trade_id, include_lines=False).lines is None

    def test_errors_are_typed(self, sdk: VenueClient, tmp_path: Path) -> None:
        with pytest.raises(InvalidRequest) as exc:
            sdk.pretrade([("254687DC3", "buy", "10mm")])
        assert exc.value.field == "lines[0].instrument" and "expected 7" in exc.value.reason
        with pytest.raises(InvalidRequest) as exc:
            sdk.pretrade([{"notional": "1mm", "liquidity_score": 500}, ("X", "hold", 5)])
        assert [e["field"] for e in exc.value.errors] == ["lines[0].liquidity_score", "lines[1].side"]
        path = tmp_path / "bad.csv"
        path.write_text("cusip,side,qty\n" + f"{UNIVERSE.bonds[1].cusip},buy,1000000\n254687DC3,sell,1000000\n")
        with pytest.raises(InvalidRequest) as exc:
            sdk.pretrade(path)
        assert exc.value.field == "file:row 3:identifier" and "expected 7" in exc.value.reason
        with pytest.raises(NotFound):
            sdk.tca("T-424242")


class TestCli:
    def test_pretrade_worked_example(self, app: typer.Typer, venue: VenueProcess, tmp_path: Path) -> None:
        path = tmp_path / "worked.json"
        path.write_text(json.dumps({"lines": WORKED}))
        result = run(app, venue, "pretrade", str(path))
        assert result.exit_code == 0, result.output
        out = result.output
        assert "Recommendation: PORTFOLIO TRADE" in out and "7,750.00 USD" in out
        assert "1,250 + 3,000 + 6,000 + 7,000 = 17,250" in out and "24,500" in out
        assert "expected 7" in out and "expected 1" in out

    def test_pretrade_csv_with_optimise_and_save(self, app: typer.Typer, venue: VenueProcess, tmp_path: Path) -> None:
        basket = tmp_path / "basket.csv"
        basket.write_text(csv_text(mixed_basket(6, 14, offset=30)))
        new = tmp_path / "new.csv"
        result = run(app, venue, "pretrade", str(basket), "--optimise", "--save", str(new), "--lines", "5")
        assert result.exit_code == 0, result.output
        assert "20 lines (first 5)" in result.output and "illiquid" in result.output
        assert "Optimisation: optimal" in result.output and "tracking error" in result.output
        rows = list(csv.reader(new.read_text().splitlines()))
        assert rows[0] == ["identifier", "side", "quantity"] and len(rows) == 21
        as_json = run(app, venue, "pretrade", str(basket), "--json")
        assert as_json.exit_code == 0 and json.loads(as_json.output)["basket"]["n_lines"] == 20

    def test_pretrade_bad_file(self, app: typer.Typer, venue: VenueProcess, tmp_path: Path) -> None:
        path = tmp_path / "bad.csv"
        path.write_text("cusip,side,qty\n254687DC3,buy,5mm\n")
        result = run(app, venue, "pretrade", str(path))
        assert result.exit_code == 2 and "bad.csv: row 2" in result.output and "expected 7" in result.output
        assert run(app, venue, "pretrade", str(path), "--save", str(tmp_path / "x.csv")).exit_code == 2

    def test_tca(self, app: typer.Typer, venue: VenueProcess, sdk: VenueClient) -> None:
        bond = UNIVERSE.bonds[LIQUID[60]]
        inquiry = sdk.create_rfq(bond.cusip, "sell", "1mm")
        quotes = sdk.wait_quotes(inquiry.id, n=len(PANEL) - 1, timeout=10)
        trade = sdk.award(inquiry.id, max(quotes, key=lambda q: q.price or 0))
        result = run(app, venue, "tca", trade.trade_id)
        assert result.exit_code == 0, result.output
        for word in (f"TCA of {trade.trade_id}", "arrival mid", "previous close", "cover", "pre-trade estimate",
                     bond.cusip):
            assert word in result.output, word
        assert run(app, venue, "tca", "T-777777").exit_code == 1
