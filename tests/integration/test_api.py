"""The venue through its real interfaces: uvicorn on loopback, HTTP, websockets, SQLite."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from server.market.universe import UniverseConfig, build_universe
from tests.support.server import (
    KEYS,
    PANEL,
    VenueProcess,
    assert_error,
    drain,
    next_event,
    stream,
    wait_quotes,
)

UNIVERSE = build_universe(UniverseConfig(seed=7, n_bonds=2000))  # the venue's defaults
IG = [b for b in UNIVERSE.bonds if b.grade == "IG"]
HY = [b for b in UNIVERSE.bonds if b.grade == "HY"]


def basket(n: int, offset: int = 0) -> list[dict[str, Any]]:
    return [{"instrument": b.cusip, "side": "buy" if i % 2 else "sell", "quantity": b.min_piece * 1000}
            for i, b in enumerate(UNIVERSE.bonds[offset:offset + n])]


async def create_rfq(c: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    payload = {"instrument": IG[0].cusip, "side": "buy", "quantity": 1_000_000, **body}
    r = await c.post("/v1/rfqs", json=payload)
    assert r.status_code == 201, r.text
    return dict(r.json())


class TestAccess:
    async def test_health_and_authentication(self, venue: VenueProcess) -> None:
        async with httpx.AsyncClient(base_url=venue.base_url) as anon:
            assert (await anon.get("/healthz")).json()["status"] == "ok"
            assert_error(await anon.get("/v1/trades"), 401, "Authorization")
            r = await anon.get("/v1/trades", headers={"Authorization": "Bearer nope-nope-nope-nope"})
            assert_error(r, 401, contains="unknown API key")
        async with venue.client("dealer-remote") as dealer:
            assert_error(await dealer.post("/v1/rfqs", json={"instrument": IG[0].cusip, "quantity": 1000}), 403)

    async def test_websocket_refuses_unknown_keys(self, venue: VenueProcess) -> None:
        from websockets.asyncio.client import connect

        async with connect(venue.ws_url + "?api_key=wrong-key-wrong-key") as ws:
            frame = orjson.loads(await ws.recv())
            assert frame["type"] == "error" and frame["error"]["code"] == "unauthorized"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        async with stream(venue, "client-1") as ws:
            pass
        async with connect(venue.ws_url + f"?api_key={KEYS['client-1']}&from_seq=99999999") as ws:
            frame = orjson.loads(await ws.recv())
            assert frame["error"]["code"] == "from_seq_ahead" and frame["error"]["field"] == "from_seq"
        async with connect(venue.ws_url + f"?api_key={KEYS['client-1']}&from_seq=-3") as ws:
            assert orjson.loads(await ws.recv())["error"]["field"] == "from_seq"

    async def test_openapi_documents_routes_and_errors(self, venue: VenueProcess) -> None:
        async with httpx.AsyncClient(base_url=venue.base_url) as anon:
            spec = (await anon.get("/openapi.json")).json()
        for path in ("/v1/instruments", "/v1/instruments/{identifier}", "/v1/market/{identifier}", "/v1/rfqs",
                     "/v1/rfqs/{inquiry_id}", "/v1/rfqs/{inquiry_id}/award", "/v1/rfqs/{inquiry_id}/cancel",
                     "/v1/portfolio-inquiries", "/v1/portfolio-inquiries/{inquiry_id}/award",
                     "/v1/trades", "/v1/trades/{trade_id}", "/healthz"):
            assert path in spec["paths"], path
        award = spec["paths"]["/v1/rfqs/{inquiry_id}/award"]["post"]["responses"]
        assert {"404", "409", "422"} <= set(award)
        assert "ErrorResponse" in spec["components"]["schemas"]
        assert "text/csv" in spec["paths"]["/v1/portfolio-inquiries"]["post"]["requestBody"]["content"]
        assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert spec["security"] == [{"bearer": []}] and spec["paths"]["/healthz"]["get"]["security"] == []
        for path in ("/v1/rfqs", "/v1/rfqs/{inquiry_id}/award", "/v1/portfolio-inquiries",
                     "/v1/portfolio-inquiries/{inquiry_id}/award"):
            assert "Idempotency-Key" in [p["name"] for p in spec["paths"][path]["post"]["parameters"]], path


class TestInstruments:
    async def test_search_get_and_market(self, venue: VenueProcess) -> None:
        bond = HY[3]
        async with venue.client("client-1") as c:
            found = (await c.get("/v1/instruments", params={"q": bond.ticker, "grade": "HY"})).json()
            assert bond.cusip in [i["cusip"] for i in found["instruments"]]
            assert all(i["grade"] == "HY" for i in found["instruments"])
            by_isin = (await c.get(f"/v1/instruments/{bond.isin}")).json()
            assert by_isin["cusip"] == bond.cusip and by_isin["min_piece"] == bond.min_piece
            market = (await c.get(f"/v1/market/{bond.cusip}")).json()
            assert 1 <= market["liquidity_score"] <= 100 and market["spread_bp"] > 100
            assert market["dv01"] > 0 and market["modified_duration"] > 0
            assert_error(await c.get("/v1/instruments/254687DC3"), 422, "identifier", "expected 7")
            assert_error(await c.get("/v1/market/023135AG9"), 422, "identifier", "expected 1")
            assert_error(await c.get("/v1/instruments/037833100"), 404)
            assert_error(await c.get("/v1/instruments", params={"limit": 0}), 422, "limit")


class TestRfq:
    async def test_lifecycle_streams_quotes_and_books_one_trade(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c, stream(venue, "client-1") as ws:
            rfq = await create_rfq(c, quantity=2_000_000)
            created = await next_event(ws, type="inquiry.created", inquiry_id=rfq["id"])
            assert created["seq"] > 0 and created["panel"] == list(PANEL)
            quotes = [await next_event(ws, type="quote.new", inquiry_id=rfq["id"]) for _ in PANEL]
            assert sorted(q["dealer_id"] for q in quotes) == sorted(PANEL)
            seqs = [created["seq"]] + [q["seq"] for q in quotes]
            assert seqs == sorted(seqs)
            best = min(quotes, key=lambda q: q["price"])
            r = await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": best["quote_id"]})
            assert r.status_code == 200, r.text
            trade = r.json()["trade"]
            assert trade["dealer_id"] == best["dealer_id"] and trade["lines"][0]["clean_price"] == best["price"]
            assert trade["net_settlement"] < 0
            booked = await next_event(ws, type="trade.booked", inquiry_id=rfq["id"])
            assert booked["trade_id"] == trade["trade_id"]
            # committed before the award returned: the projection has it
            stored = (await c.get(f"/v1/trades/{trade['trade_id']}")).json()
            assert stored == trade
            listed = (await c.get("/v1/trades")).json()["trades"]
            assert trade["trade_id"] in [t["trade_id"] for t in listed]
            view = (await c.get(f"/v1/rfqs/{rfq['id']}")).json()
            assert view["state"] == "awarded" and view["trade_id"] == trade["trade_id"]
            assert {q["state"] for q in view["quotes"]} <= {"done", "covered", "traded_away"}

    async def test_nobody_else_sees_it(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c1, venue.client("client-2") as c2, \
                venue.client("dealer-remote") as outsider, stream(venue, "client-2") as ws2, \
                stream(venue, "dealer-remote", header=False) as wsd:
            rfq = await create_rfq(c1)
            view = await wait_quotes(c1, f"/v1/rfqs/{rfq['id']}", 5)
            qid = view["quotes"][0]["quote_id"]
            trade = (await c1.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": qid})).json()["trade"]
            for other in (c2, outsider):
                assert_error(await other.get(f"/v1/rfqs/{rfq['id']}"), 404)
                assert_error(await other.get(f"/v1/trades/{trade['trade_id']}"), 404)
                assert trade["trade_id"] not in [t["trade_id"] for t in (await other.get("/v1/trades")).json()[
                    "trades"]]
            assert_error(await c2.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": qid}), 404)
            assert_error(await c2.post(f"/v1/rfqs/{rfq['id']}/cancel"), 404)
            assert_error(await c1.get(f"/v1/portfolio-inquiries/{rfq['id']}"), 404)  # wrong kind
            assert [f for f in await drain(ws2) if f.get("inquiry_id") == rfq["id"]] == []
            assert [f for f in await drain(wsd) if f.get("inquiry_id") == rfq["id"]] == []

    async def test_a_dealer_sees_its_own_quote_only(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c, venue.client("dealer-remote") as d, \
                stream(venue, "dealer-remote") as wsd:
            rfq = await create_rfq(c, panel=["dealer-remote", "dealer-a", "dealer-b"])
            request = await next_event(wsd, type="inquiry.request", inquiry_id=rfq["id"])
            assert request["panel_size"] == 3 and "panel" not in request
            await wsd.send(orjson.dumps({"type": "quote", "inquiry_id": rfq["id"], "level": 100.5, "ref": "x1"}))
            ack = await next_event(wsd, type="ack", ref="x1")
            view = (await d.get(f"/v1/rfqs/{rfq['id']}")).json()
            assert [q["quote_id"] for q in view["quotes"]] == [ack["quote_id"]]
            assert "panel" not in view or view["panel"] is None
            client_view = await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", 3)
            assert len(client_view["quotes"]) == 3

    async def test_remote_dealer_quotes_over_the_websocket_and_wins(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c, stream(venue, "dealer-remote") as wsd:
            rfq = await create_rfq(c, side=None, panel=["dealer-remote"], quote_type="spread")
            request = await next_event(wsd, type="inquiry.request", inquiry_id=rfq["id"])
            assert request["lines"][0]["side"] is None
            await wsd.send(orjson.dumps({"type": "quote", "inquiry_id": rfq["id"], "level": 90, "ref": "bad"}))
            err = await next_event(wsd, type="error", ref="bad")
            assert err["error"]["field"] == "bid"
            await wsd.send(orjson.dumps({"type": "quote", "inquiry_id": rfq["id"], "bid": 95.0, "offer": 85.0,
                                         "valid_for": 20, "ref": "q"}))
            ack = await next_event(wsd, type="ack", ref="q")
            await wsd.send(b'{"type": "ping", "ref": "p"}')
            await next_event(wsd, type="pong", ref="p")
            r = await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": ack["quote_id"], "side": "sell"})
            assert r.status_code == 200, r.text
            assert r.json()["trade"]["lines"][0]["side"] == "sell"
            booked = await next_event(wsd, type="trade.booked", inquiry_id=rfq["id"])
            assert booked["dealer_id"] == "dealer-remote"
            done = await next_event(wsd, type="dealer.feedback", inquiry_id=rfq["id"])
            assert done["outcome"] == "done" and done["trade_id"] == booked["trade_id"]

    async def test_client_cannot_send_dealer_actions(self, venue: VenueProcess) -> None:
        async with stream(venue, "client-1") as ws:
            await ws.send(b'{"type": "quote", "inquiry_id": "RFQ-1", "level": 100, "ref": "r"}')
            err = await next_event(ws, type="error", ref="r")
            assert err["error"]["code"] == "forbidden"
            await ws.send(b"not json")
            assert (await next_event(ws, type="error"))["error"]["field"] == "message"


class TestBadInput:
    @pytest.mark.parametrize(("body", "field", "contains"), [
        ({"instrument": "254687DC3"}, "instrument", "expected 7"),
        ({"instrument": "023135AG9"}, "instrument", "expected 1"),
        ({"instrument": "12345"}, "instrument", ""),
        ({"quantity": 500}, "quantity", "minimum piece"),
        ({"quantity": 1_000_500}, "quantity", "increment"),
        ({"quantity": -1}, "quantity", ""),
        ({"side": "hold"}, "side", ""),
        ({"quote_type": "vibes"}, "quote_type", ""),
        ({"panel": ["dealer-a", "nobody"]}, "panel[1]", "unknown dealer"),
        ({"time_limit": 1e9}, "time_limit", ""),
        ({"surprise": 1}, "surprise", ""),
    ])
    async def test_rfq_requests(self, venue: VenueProcess, body: dict[str, Any], field: str, contains: str) -> None:
        async with venue.client("client-1") as c:
            payload = {"instrument": IG[1].cusip, "side": "buy", "quantity": 1_000_000, **body}
            assert_error(await c.post("/v1/rfqs", json=payload), 422, field, contains)

    async def test_malformed_json_is_a_422(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            r = await c.post("/v1/rfqs", content=b"{nope", headers={"content-type": "application/json"})
            assert_error(r, 422)
            r = await c.post("/v1/portfolio-inquiries", content=b"{nope", headers={"content-type": "application/json"})
            assert_error(r, 422, "body")
            r = await c.post("/v1/portfolio-inquiries", content=b"x", headers={"content-type": "image/png"})
            assert_error(r, 422, "Content-Type")

    async def test_the_frameworks_refusals_have_the_venues_error_shape(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            r = await c.post("/v1/rfqs", content=b'{"instrument": "\xff\xfe"}',
                             headers={"content-type": "application/json"})
            assert_error(r, 400, "body")
            assert r.json()["error"]["code"] == "bad_request"
            r = await c.get("/v1/no-such-thing")
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
            r = await c.delete("/v1/rfqs")
            assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
            assert "POST" in r.headers["allow"]

    async def test_award_refusals(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c, venue.client("client-2") as c2:
            rfq = await create_rfq(c, time_limit=1.5)
            view = await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", 5)
            qids = [q["quote_id"] for q in view["quotes"]]
            assert_error(await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": "Q-0"}), 404, "quote_id")
            other = await create_rfq(c2)
            assert_error(await c.post(f"/v1/rfqs/{other['id']}/award", json={"quote_id": qids[0]}), 404)
            assert_error(await c.post(f"/v1/rfqs/{rfq['id']}/award", json={}), 422, "quote_id")
            await asyncio.sleep(1.6)
            err = assert_error(await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": qids[0]}), 409)
            assert err["code"] in ("inquiry_expired", "inquiry_no_quotes")
            ended = (await c.get(f"/v1/rfqs/{rfq['id']}")).json()
            assert ended["state"] == "expired" and ended["trade_id"] is None

    async def test_portfolio_lines_are_checked_and_named(self, venue: VenueProcess) -> None:
        lines = basket(12)
        lines[3]["instrument"] = "254687DC3"
        lines[5]["quantity"] = lines[5]["quantity"] + 1
        lines[9] = dict(lines[0])
        async with venue.client("client-1") as c:
            r = await c.post("/v1/portfolio-inquiries", json={"lines": lines})
            err = assert_error(r, 422, "lines[3].instrument", "expected 7")
            assert [e["field"] for e in err["details"]["errors"]] == [
                "lines[3].instrument", "lines[5].quantity", "lines[9].instrument"]
            r = await c.post("/v1/portfolio-inquiries", json={"lines": [{**lines[0], "side": None}]})
            assert_error(r, 422, "lines[0].side")
            r = await c.post("/v1/portfolio-inquiries", json={"lines": basket(10) * 1001})
            assert_error(r, 422, "lines", "at most 10000")


class TestPortfolio:
    async def test_500_lines_all_or_nothing(self, venue: VenueProcess) -> None:
        lines = basket(500)
        async with venue.client("client-1") as c, stream(venue, "client-1") as ws:
            r = await c.post("/v1/portfolio-inquiries", json={"lines": lines, "name": "rebalance"})
            assert r.status_code == 201, r.text
            pt = r.json()
            assert pt["n_lines"] == 500 and len(pt["panel"]) == 3
            quotes = [await next_event(ws, type="quote.new", inquiry_id=pt["id"]) for _ in range(3)]
            for q in quotes:
                assert len(q["line_prices"]) == 500
            best = max(quotes, key=lambda q: q["net_price"])
            r = await c.post(f"/v1/portfolio-inquiries/{pt['id']}/award", json={"quote_id": best["quote_id"]})
            assert r.status_code == 200, r.text
            trade = r.json()["trade"]
            assert [ln["instrument"] for ln in trade["lines"]] == [ln["instrument"] for ln in lines]
            assert trade["net_price"] == best["net_price"]
            assert abs(trade["net_principal"] - best["net_price"]) <= 0.01 * 500
            slim = (await c.get(f"/v1/portfolio-inquiries/{pt['id']}", params={"lines": "false"})).json()
            assert "lines" not in slim or slim["lines"] is None
            assert all(q["line_prices"] is None for q in slim["quotes"])
            again = await c.post(f"/v1/portfolio-inquiries/{pt['id']}/award", json={"quote_id": quotes[0]["quote_id"]})
            assert_error(again, 409)
            assert len([t for t in (await c.get("/v1/trades", params={"limit": 1000})).json()["trades"]
                        if t["inquiry_id"] == pt["id"]]) == 1

    async def test_csv_body_and_file_upload(self, venue: VenueProcess) -> None:
        rows = ["CUSIP,Side,Size"] + [f"{b.cusip},{'B' if i % 2 else 'S'},{b.min_piece // 1000 * 2}mm"
                                       for i, b in enumerate(IG[:15])]
        text = "\n".join(rows) + "\n"
        async with venue.client("client-1") as c:
            r = await c.post("/v1/portfolio-inquiries", content=text, headers={"content-type": "text/csv"})
            assert r.status_code == 201, r.text
            assert r.json()["n_lines"] == 15 and r.json()["lines"][1]["side"] == "buy"
            files = {"file": ("basket.csv", io.BytesIO(text.encode()), "text/csv")}
            r = await c.post("/v1/portfolio-inquiries", files=files, data={"panel": "dealer-a,dealer-b"})
            assert r.status_code == 201, r.text
            assert r.json()["panel"] == ["dealer-a", "dealer-b"] and r.json()["name"] == "basket.csv"
            bad = "cusip,side,quantity\n" + f"{IG[0].cusip},buy,5mm\n{IG[1].cusip},hold,1mm\n{IG[2].cusip},sell,lots\n"
            files = {"file": ("bad.csv", io.BytesIO(bad.encode()), "text/csv")}
            err = assert_error(await c.post("/v1/portfolio-inquiries", files=files), 422, "file:row 3:side")
            assert "row 3" in err["reason"] and "'side'" in err["reason"]
            assert err["details"]["errors"][1]["field"] == "file:row 4:quantity"
            dup = "cusip,side,quantity\n" + f"{IG[0].cusip},buy,1mm\n\n{IG[1].cusip},sell,1mm\n254687DC3,buy,1mm\n"
            files = {"file": ("dup.csv", io.BytesIO(dup.encode()), "text/csv")}
            err = assert_error(await c.post("/v1/portfolio-inquiries", files=files), 422, "file:row 5:identifier")
            assert err["reason"].startswith("dup.csv: row 5, column identifier:") and "expected 7" in err["reason"]
            err = assert_error(await c.post("/v1/portfolio-inquiries", content="isin,qty\nX,1",
                                            headers={"content-type": "text/csv"}), 422, "file")
            assert "no identifier" not in err["reason"] and "side" in err["reason"]


    async def test_xlsx_upload(self, venue: VenueProcess) -> None:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["Security ID", "B/S", "Par Amount"])
        for i, b in enumerate(HY[:12]):
            sheet.append([b.isin, "Buy" if i % 2 else "Sell", b.min_piece * 1000])
        sheet.append(["025816CG2x", "Buy", 1000])
        data = io.BytesIO()
        book.save(data)
        files = {"file": ("basket.xlsx", data.getvalue(), "application/vnd.ms-excel")}
        async with venue.client("client-1") as c:
            err = assert_error(await c.post("/v1/portfolio-inquiries", files=files), 422)
            assert "row 14" in err["reason"] or err["field"].startswith("lines[12]")
            book.active.delete_rows(14)  # type: ignore[union-attr]
            data = io.BytesIO()
            book.save(data)
            files = {"file": ("basket.xlsx", data.getvalue(), "application/vnd.ms-excel")}
            r = await c.post("/v1/portfolio-inquiries", files=files)
            assert r.status_code == 201, r.text
            assert [ln["instrument"] for ln in r.json()["lines"]] == [b.cusip for b in HY[:12]]


class TestIdempotencyAndRaces:
    async def test_idempotent_create_and_award(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            body = {"instrument": IG[2].cusip, "side": "sell", "quantity": 1_000_000}
            first = await c.post("/v1/rfqs", json=body, headers={"Idempotency-Key": "create-1"})
            again = await c.post("/v1/rfqs", json=body, headers={"Idempotency-Key": "create-1"})
            assert first.status_code == again.status_code == 201
            assert first.json()["id"] == again.json()["id"]
            reused = await c.post("/v1/rfqs", json={**body, "quantity": 2_000_000},
                                  headers={"Idempotency-Key": "create-1"})
            assert_error(reused, 409, "Idempotency-Key")
            assert_error(await c.post("/v1/rfqs", json=body, headers={"Idempotency-Key": "k" * 201}), 422,
                         "Idempotency-Key", "at most 200")
            rid = first.json()["id"]
            view = await wait_quotes(c, f"/v1/rfqs/{rid}", 5)
            qid = view["quotes"][0]["quote_id"]
            a = await c.post(f"/v1/rfqs/{rid}/award", json={"quote_id": qid}, headers={"Idempotency-Key": "aw-1"})
            b = await c.post(f"/v1/rfqs/{rid}/award", json={"quote_id": qid}, headers={"Idempotency-Key": "aw-1"})
            assert a.status_code == b.status_code == 200 and a.json() == b.json()
            err = assert_error(await c.post(f"/v1/rfqs/{rid}/award", json={"quote_id": qid}), 409)
            assert err["code"] == "already_awarded" and err["details"]["trade_id"] == a.json()["trade"]["trade_id"]

    async def test_racing_awards_book_exactly_one_trade(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            rfq = await create_rfq(c, instrument=IG[5].cusip)
            view = await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", 5)
            qids = [q["quote_id"] for q in view["quotes"]] * 4
            results = await asyncio.gather(*(c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": q})
                                             for q in qids))
            codes = sorted(r.status_code for r in results)
            assert codes == [200] + [409] * (len(qids) - 1)
            trades = [t for t in (await c.get("/v1/trades", params={"limit": 1000})).json()["trades"]
                      if t["inquiry_id"] == rfq["id"]]
            assert len(trades) == 1


class TestTrades:
    async def test_pages_walk_every_trade_once(self, venue: VenueProcess) -> None:
        async with venue.client("client-2") as c:
            for n in range(3):
                rfq = await create_rfq(c, instrument=IG[30 + n].cusip)
                view = await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", 5)
                r = await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": view["quotes"][0]["quote_id"]})
                assert r.status_code == 200
            everything = (await c.get("/v1/trades", params={"limit": 1000})).json()
            assert everything["next_before_seq"] is None
            seen: list[str] = []
            cursor: int | None = None
            while True:
                params: dict[str, Any] = {"limit": 2}
                if cursor is not None:
                    params["before_seq"] = cursor
                page = (await c.get("/v1/trades", params=params)).json()
                seen += [t["trade_id"] for t in page["trades"]]
                cursor = page["next_before_seq"]
                if cursor is None:
                    break
            assert seen == [t["trade_id"] for t in everything["trades"]] and len(seen) >= 3


class TestStreamResume:
    async def test_reconnect_from_seq_loses_and_repeats_nothing(self, venue: VenueProcess) -> None:
        async with venue.client("client-1") as c:
            async with stream(venue, "client-1") as ws:
                rfq = await create_rfq(c)
                first = await next_event(ws, type="inquiry.created", inquiry_id=rfq["id"])
                seen = [first]
            # disconnected: activity continues
            rfq2 = await create_rfq(c, instrument=IG[7].cusip)
            await wait_quotes(c, f"/v1/rfqs/{rfq2['id']}", 5)
            await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", 5)
            async with stream(venue, "client-1", from_seq=first["seq"]) as ws:
                replayed = await drain(ws, quiet=0.5)
                seqs = [f["seq"] for f in replayed]
                assert seqs == sorted(set(seqs)) and seqs[0] > first["seq"]
                mine = [f for f in replayed if f.get("inquiry_id") in (rfq["id"], rfq2["id"])]
                assert len([f for f in mine if f["type"] == "quote.new"]) == 10
                assert any(f["type"] == "inquiry.created" and f["inquiry_id"] == rfq2["id"] for f in mine)
                # and then live
                rfq3 = await create_rfq(c, instrument=IG[8].cusip)
                live = await next_event(ws, type="inquiry.created", inquiry_id=rfq3["id"])
                assert live["seq"] > seqs[-1]
            assert seen
            async with stream(venue, "client-1", from_seq=0) as ws:
                history = await drain(ws, quiet=0.5)
            assert [f["seq"] for f in history] == sorted({f["seq"] for f in history})
            assert all(f.get("client_id", "client-1") == "client-1" for f in history)


class TestInquiries:
    async def test_either_kind_by_id_and_the_open_list(self, venue: VenueProcess) -> None:
        async with venue.client("client-2") as c, venue.client("dealer-remote") as d:
            rfq = await create_rfq(c, instrument=IG[40].cusip, panel=["dealer-remote", "dealer-a"])
            pt = (await c.post("/v1/portfolio-inquiries", json={"lines": basket(12, offset=300)})).json()
            assert (await c.get(f"/v1/inquiries/{rfq['id']}")).json()["kind"] == "rfq"
            slim = (await c.get(f"/v1/inquiries/{pt['id']}", params={"lines": "false"})).json()
            assert slim["kind"] == "portfolio" and slim["lines"] is None
            open_ids = [i["id"] for i in (await c.get("/v1/inquiries", params={"state": "open"})).json()["inquiries"]]
            assert open_ids[:2] == [pt["id"], rfq["id"]]
            dealer_view = [i["id"] for i in (await d.get("/v1/inquiries", params={"state": "open"})).json()[
                "inquiries"]]
            assert rfq["id"] in dealer_view and pt["id"] not in dealer_view
            assert_error(await d.get(f"/v1/inquiries/{pt['id']}"), 404)
            assert_error(await c.get("/v1/inquiries", params={"state": "sleepy"}), 422, "state")
