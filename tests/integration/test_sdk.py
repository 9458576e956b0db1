"""The Python SDK (clients.sdk) against a real venue process: async and sync clients, typed models and
errors, idempotent retries, the resumable event stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from clients.sdk import (
    AlreadyAwarded,
    AsyncVenueClient,
    Conflict,
    Event,
    EventStream,
    Forbidden,
    Inquiry,
    Instrument,
    InvalidRequest,
    NotFound,
    Quote,
    SyncEventStream,
    Trade,
    Unauthorized,
    Unavailable,
    VenueClient,
    VenueError,
)
from tests.support.server import KEYS, PANEL, VenueProcess, drain, free_port, stream


@pytest.fixture(scope="module")
def bonds(venue: VenueProcess) -> list[Instrument]:
    """Corporate bonds of the venue's universe, fetched through the SDK."""
    with VenueClient(venue.base_url, KEYS["client-1"]) as v:
        found = [b for b in v.iter_instruments(page_size=500) if b.kind == "corporate"]
    assert len(found) > 200
    return found


def ig(bonds: list[Instrument], n: int) -> Instrument:
    return [b for b in bonds if b.grade == "IG"][n]


def size_of(bond: Instrument, millions: int = 2) -> int:
    return max(bond.min_piece, millions * 1_000_000 // bond.increment * bond.increment)


def basket(bonds: list[Instrument], n: int, offset: int = 0) -> list[tuple[str, str, int]]:
    return [(b.cusip, "buy" if i % 2 else "sell", b.min_piece * 1000) for i, b in enumerate(bonds[offset:offset + n])]


async def client(venue: VenueProcess, who: str = "client-1", **kwargs: Any) -> AsyncVenueClient:
    return AsyncVenueClient(venue.base_url, KEYS[who], **kwargs)


class TestReferenceData:
    async def test_health_instruments_and_market(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        bond = [b for b in bonds if b.grade == "HY"][2]
        async with await client(venue) as c:
            health = await c.healthz()
            assert health.ok and health.seq is not None
            found = await c.instruments(bond.ticker, grade="HY", limit=100)
            assert bond.cusip in [i.cusip for i in found] and all(i.grade == "HY" for i in found)
            by_isin = await c.instrument(bond.isin)
            assert isinstance(by_isin, Instrument) and by_isin.cusip == bond.cusip
            assert by_isin.maturity == bond.maturity
            market = await c.market(bond.cusip)
            assert 1 <= market.liquidity_score <= 100 and market.dv01 > 0 and market.evaluated_mid_price > 0


class TestRfq:
    async def test_create_stream_quotes_and_award(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        bond = ig(bonds, 0)
        async with await client(venue) as c, c.events() as events:
            rfq = await c.create_rfq(bond.isin, "buy", "2mm" if size_of(bond) == 2_000_000 else size_of(bond))
            assert isinstance(rfq, Inquiry) and rfq.kind == "rfq" and rfq.is_open
            assert rfq.instrument == bond.cusip and rfq.panel == list(PANEL)
            quotes = await c.wait_quotes(rfq.id, 5, timeout=10)
            assert len(quotes) == 5 and all(isinstance(q, Quote) and q.price for q in quotes)
            assert sorted(q.dealer_id for q in quotes) == sorted(PANEL)
            best = min(quotes, key=lambda q: q.price or 0)
            chosen = (await c.rfq(rfq.id)).best_quote()
            assert chosen is not None and chosen.price == best.price
            trade = await c.award_rfq(rfq.id, best)
            assert isinstance(trade, Trade) and trade.dealer_id == best.dealer_id
            assert trade.lines[0].clean_price == best.price and trade.net_settlement < 0
            assert await c.trade(trade.trade_id) == trade
            # the stream saw it all, in order, typed
            mine: list[Event] = []
            async for event in events:
                if event.inquiry_id == rfq.id:
                    mine.append(event)
                if event.type == "trade.booked" and event.inquiry_id == rfq.id:
                    break
            types = [e.type for e in mine]
            assert types[0] == "inquiry.created" and types.count("quote.new") == 5
            assert types[-2:] == ["inquiry.awarded", "trade.booked"]
            assert [e.seq for e in mine] == sorted({e.seq for e in mine})
            streamed = mine[-1].trade()
            assert streamed is not None and streamed.trade_id == trade.trade_id
            assert {q.quote_id for q in (e.quote() for e in mine) if q} == {q.quote_id for q in quotes}
            assert (await c.rfq(rfq.id)).state == "awarded"

    async def test_quotes_iterator_ends_with_the_inquiry(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        async with await client(venue) as c:
            rfq = await c.create_rfq(ig(bonds, 1).cusip, "sell", size_of(ig(bonds, 1)), time_limit=1.0,
                                     panel="dealer-a,dealer-b,dealer-c")
            seen = [q async for q in c.quotes(rfq.id)]  # ends when the RFQ expires
            assert sorted(q.dealer_id for q in seen) == ["dealer-a", "dealer-b", "dealer-c"]
            ended = await c.rfq(rfq.id)
            assert ended.state == "expired" and not ended.is_open

    async def test_two_way_award_needs_the_side(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        bond = ig(bonds, 2)
        async with await client(venue) as c:
            rfq = await c.create_rfq(bond.cusip, "two-way", size_of(bond), quote_type="spread")
            assert rfq.side is None and rfq.quote_type == "spread"
            quotes = await c.wait_quotes(rfq.id, 5, timeout=10)
            assert all(q.is_two_way and q.bid_price and q.offer_price for q in quotes)
            best_bid = (await c.rfq(rfq.id)).best_quote("sell")
            assert best_bid is not None and best_bid.bid_price == max(q.bid_price or 0 for q in quotes)
            with pytest.raises(InvalidRequest) as missing:
                await c.award_rfq(rfq.id, best_bid)
            assert missing.value.status == 422 and missing.value.field == "side"
            trade = await c.award_rfq(rfq.id, best_bid.quote_id, side="sell")
            assert trade.lines[0].side == "sell" and trade.lines[0].clean_price == best_bid.bid_price
            assert trade.level == best_bid.bid and trade.net_settlement > 0

    async def test_cancel(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        async with await client(venue) as c:
            rfq = await c.create_rfq(ig(bonds, 3).cusip, "buy", size_of(ig(bonds, 3)))
            cancelled = await c.cancel_rfq(rfq.id, "changed my mind")
            assert cancelled.state == "cancelled" and cancelled.end_reason == "changed my mind"
            with pytest.raises(Conflict) as again:
                await c.cancel(rfq.id)
            assert again.value.code == "inquiry_cancelled"


class TestPortfolio:
    async def test_from_a_list_of_lines(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        lines: list[Any] = basket(bonds, 30)
        lines[0] = {"cusip": lines[0][0], "side": "B", "quantity": f"{lines[0][2] // 1000}k"}
        async with await client(venue) as c:
            pt = await c.create_portfolio(lines, name="from a list", time_limit=60)
            assert pt.kind == "portfolio" and pt.n_lines == 30 and pt.name == "from a list"
            assert pt.lines is not None and pt.lines[0].side == "buy" and len(pt.panel or []) == 3
            quotes = await c.wait_quotes(pt.id, timeout=20)  # every dealer answered
            assert len(quotes) == 3 and all(q.is_portfolio for q in quotes)
            best = max(quotes, key=lambda q: q.net_price or 0)
            trade = await c.award_portfolio(pt.id, best)
            assert trade.kind == "portfolio" and len(trade.lines) == 30 and trade.net_price == best.net_price
            slim = await c.portfolio(pt.id, lines=False)
            assert slim.lines is None and slim.state == "awarded" and slim.trade_id == trade.trade_id
            with pytest.raises(AlreadyAwarded) as again:
                await c.award(pt.id, quotes[0])
            assert again.value.trade_id == trade.trade_id

    async def test_from_a_csv_file(self, venue: VenueProcess, bonds: list[Instrument], tmp_path: Path) -> None:
        rows = ["CUSIP;B/S;Face"] + [f"{b.cusip};{'Buy' if i % 2 else 'Sell'};{b.min_piece * 2000}"
                                      for i, b in enumerate(bonds[40:65])]
        path = tmp_path / "basket.csv"
        path.write_text("\n".join(rows[:10]) + "\n\n" + "\n".join(rows[10:]) + "\n")  # a blank row is allowed
        stages: list[tuple[str, int, int]] = []
        async with await client(venue) as c:
            pt = await c.create_portfolio(path, panel=["dealer-a", "dealer-b"],
                                          progress=lambda s, d, t: stages.append((s, d, t)))
            assert pt.n_lines == 25 and pt.name == "basket.csv" and pt.panel == ["dealer-a", "dealer-b"]
            assert [ln.instrument for ln in pt.lines or []] == [b.cusip for b in bonds[40:65]]
            assert pt.lines is not None and pt.lines[1].side == "buy" and pt.lines[0].side == "sell"
            assert {s for s, _, _ in stages} == {"parse", "upload"}
            assert stages[-1][0] == "upload" and stages[-1][1] == stages[-1][2] > 0
            await c.cancel(pt.id)

    async def test_from_an_xlsx_file(self, venue: VenueProcess, bonds: list[Instrument], tmp_path: Path) -> None:
        import openpyxl

        hy = [b for b in bonds if b.grade == "HY"][10:22]
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["Security ID", "Direction", "Par Amount"])
        for i, b in enumerate(hy):
            sheet.append([b.isin, "Buy" if i % 2 else "Sell", b.min_piece * 1000])
        path = tmp_path / "basket.xlsx"
        book.save(path)
        async with await client(venue) as c:
            pt = await c.create_portfolio(str(path))
            assert pt.n_lines == len(hy) and pt.name == "basket.xlsx"
            assert [ln.instrument for ln in pt.lines or []] == [b.cusip for b in hy]
            quotes = await c.wait_quotes(pt.id, 3, timeout=20)
            trade = await c.award(pt.id, max(quotes, key=lambda q: q.net_price or 0))
            assert len(trade.lines) == len(hy)

    async def test_bad_files_name_the_row_and_column(self, venue: VenueProcess, bonds: list[Instrument],
                                                     tmp_path: Path) -> None:
        bad = tmp_path / "bad.csv"
        bad.write_text(f"cusip,side,quantity\n{bonds[0].cusip},buy,5mm\n{bonds[1].cusip},hold,1mm\n"
                       f"{bonds[2].cusip},sell,lots\n")
        async with await client(venue) as c:
            with pytest.raises(InvalidRequest) as local:
                await c.create_portfolio(bad)
            err = local.value
            assert err.field == "file:row 3:side" and "row 3" in err.reason and "'side'" in err.reason
            assert [e["field"] for e in err.errors] == ["file:row 3:side", "file:row 4:quantity"]
            assert "'quantity'" in err.errors[1]["reason"]
            # parsed fine, refused by the venue: restated by row and column (row 4: a blank row is skipped)
            wrong = tmp_path / "wrong.csv"
            wrong.write_text(f"ISIN,Side,Size\n{bonds[0].isin},buy,{bonds[0].min_piece * 1000}\n\n"
                             f"254687DC3,sell,1mm\n{bonds[0].isin},sell,{bonds[0].min_piece * 1000}\n")
            with pytest.raises(InvalidRequest) as venue_side:
                await c.create_portfolio(wrong)
            err = venue_side.value
            assert err.status == 422 and err.field == "file:row 4:identifier"
            assert "row 4" in err.reason and "'ISIN'" in err.reason and "expected 7" in err.reason
            assert err.errors[0]["venue_field"] == "lines[1].instrument"
            assert err.errors[1]["field"] == "file:row 5:identifier" and "duplicate of row 2" in err.errors[1]["reason"]
            # a spreadsheet with a bad cell
            import openpyxl

            book = openpyxl.Workbook()
            sheet = book.active
            assert sheet is not None
            sheet.append(["CUSIP", "Side", "Quantity"])
            sheet.append([bonds[0].cusip, "buy", 1_000_000])
            sheet.append([bonds[1].cusip, "buy", -5])
            book.save(tmp_path / "bad.xlsx")
            with pytest.raises(InvalidRequest) as sheet_err:
                await c.create_portfolio(tmp_path / "bad.xlsx")
            assert sheet_err.value.field == "file:row 3:quantity" and "'Quantity'" in sheet_err.value.reason
            (tmp_path / "cols.csv").write_text("isin,qty\nX,1\n")
            with pytest.raises(InvalidRequest) as cols:
                await c.create_portfolio(tmp_path / "cols.csv")
            assert cols.value.field == "file" and "side" in cols.value.reason
            with pytest.raises(InvalidRequest) as missing:
                await c.create_portfolio(tmp_path / "nope.csv")
            assert missing.value.field == "file"
            with pytest.raises(InvalidRequest) as in_list:
                await c.create_portfolio([(bonds[0].cusip, "buy", "5xx"), ("", "hold", 1)])
            assert [e["field"] for e in in_list.value.errors] == [
                "lines[0].quantity", "lines[1].instrument", "lines[1].side"]


class TestErrors:
    async def test_typed_exceptions(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        bond = ig(bonds, 5)
        async with AsyncVenueClient(venue.base_url, "not-a-key-at-all-0000") as stranger:
            with pytest.raises(Unauthorized) as e401:
                await stranger.trades()
            assert e401.value.status == 401 and e401.value.field == "Authorization"
            assert "unknown API key" in e401.value.reason
            with pytest.raises(Unauthorized):
                async with stranger.events():
                    pass
        async with await client(venue, "dealer-remote") as dealer:
            with pytest.raises(Forbidden) as e403:
                await dealer.create_rfq(bond.cusip, "buy", size_of(bond))
            assert e403.value.status == 403
        async with await client(venue) as c:
            with pytest.raises(NotFound) as e404:
                await c.rfq("RFQ-999999")
            assert e404.value.status == 404 and e404.value.field == "inquiry_id"
            with pytest.raises(NotFound):
                await c.trade("T-999999")
            with pytest.raises(InvalidRequest) as e422:
                await c.create_rfq("254687DC3", "buy", "1mm")
            assert e422.value.status == 422 and e422.value.field == "instrument" and "expected 7" in e422.value.reason
            with pytest.raises(InvalidRequest) as local:
                await c.create_rfq(bond.cusip, "buy", "5 bananas")
            assert local.value.field == "quantity"
            with pytest.raises(InvalidRequest) as e422_panel:
                await c.create_rfq(bond.cusip, "buy", size_of(bond), panel=["dealer-a", "nobody"])
            assert e422_panel.value.field == "panel[1]"
            # 409s
            rfq = await c.create_rfq(bond.cusip, "buy", size_of(bond), idempotency_key="sdk-errors-1")
            with pytest.raises(Conflict) as reused:
                await c.create_rfq(bond.cusip, "sell", size_of(bond), idempotency_key="sdk-errors-1")
            assert not isinstance(reused.value, AlreadyAwarded)
            assert reused.value.code == "idempotency_key_reused" and reused.value.field == "Idempotency-Key"
            quotes = await c.wait_quotes(rfq.id, 5, timeout=10)
            trade = await c.award_rfq(rfq.id, quotes[0])
            with pytest.raises(AlreadyAwarded) as e409:
                await c.award_rfq(rfq.id, quotes[1])
            assert e409.value.status == 409 and e409.value.code == "already_awarded"
            assert e409.value.trade_id == trade.trade_id
            assert isinstance(e409.value, Conflict) and isinstance(e409.value, VenueError)

    async def test_unreachable_venue(self) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        async with AsyncVenueClient(url, "k", retries=2, backoff=0.01) as c:
            with pytest.raises(Unavailable) as down:
                await c.healthz()
            assert url in down.value.reason
            with pytest.raises(Unavailable) as down:
                await c.trades()
            assert down.value.details["attempts"] == 3
            with pytest.raises(Unavailable):
                async with AsyncVenueClient(url, "k", backoff=0.01).events(max_retries=1):
                    pass


class Flaky(httpx.AsyncBaseTransport):
    """Forwards to the real transport; can lose the response of the first POSTs (after the venue acted on
    them) or answer 503 to the first GETs."""

    def __init__(self, lose_posts: int = 0, unavailable_gets: int = 0) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.lose_posts = lose_posts
        self.unavailable_gets = unavailable_gets
        self.sent: list[tuple[str, str, str | None]] = []
        self.lost: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path, request.headers.get("idempotency-key")))
        if request.method == "GET" and self.unavailable_gets > 0:
            self.unavailable_gets -= 1
            return httpx.Response(503, json={"error": {"code": "unavailable", "field": None, "reason": "busy"}})
        response = await self.real.handle_async_request(request)
        if request.method == "POST" and self.lose_posts > 0:
            self.lose_posts -= 1
            await response.aread()
            self.lost.append(json.loads(response.content))
            await response.aclose()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    async def aclose(self) -> None:
        await self.real.aclose()


class TestRetries:
    async def test_retried_create_and_award_book_once(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        bond = ig(bonds, 6)
        flaky = Flaky(lose_posts=1)
        async with await client(venue, backoff=0.01, transport=flaky) as c, await client(venue) as plain:
            rfq = await c.create_rfq(bond.cusip, "buy", size_of(bond))
            posts = [s for s in flaky.sent if s[0] == "POST"]
            assert len(posts) == 2 and posts[0][2] is not None and posts[0][2] == posts[1][2]  # one key, twice
            assert flaky.lost[0]["id"] == rfq.id  # the lost answer was this very RFQ: created once
            quotes = await plain.wait_quotes(rfq.id, 5, timeout=10)
            flaky.lose_posts = 1
            trade = await c.award_rfq(rfq.id, quotes[0])
            award_posts = [s for s in flaky.sent if s[0] == "POST"][2:]
            assert len(award_posts) == 2 and award_posts[0][2] == award_posts[1][2]
            assert flaky.lost[1]["trade"]["trade_id"] == trade.trade_id
            mine = [t async for t in plain.iter_trades(page_size=1000) if t.inquiry_id == rfq.id]
            assert [t.trade_id for t in mine] == [trade.trade_id]

    async def test_503_is_retried_and_gives_up_in_the_end(self, venue: VenueProcess) -> None:
        flaky = Flaky(unavailable_gets=2)
        async with await client(venue, backoff=0.01, transport=flaky) as c:
            page = await c.trades(limit=1)
            assert page is not None and len([s for s in flaky.sent if s[0] == "GET"]) == 3
            flaky.unavailable_gets = 10
            with pytest.raises(Unavailable) as gave_up:
                await c.trades(limit=1)
            assert gave_up.value.status == 503 and gave_up.value.reason == "busy"

    async def test_a_cancel_is_not_resent_after_it_may_have_reached_the_venue(self, venue: VenueProcess,
                                                                          bonds: list[Instrument]) -> None:
        async with await client(venue) as plain:
            rfq = await plain.create_rfq(ig(bonds, 7).cusip, "buy", size_of(ig(bonds, 7)))
        flaky = Flaky(lose_posts=1)
        async with await client(venue, backoff=0.01, transport=flaky) as c:
            with pytest.raises(Unavailable) as lost:
                await c.cancel_rfq(rfq.id)
            assert lost.value.code == "connection_lost" and len(flaky.sent) == 1
            assert (await c.rfq(rfq.id)).state == "cancelled"


class TestStream:
    async def test_resumes_after_a_forced_disconnect_with_no_gap_and_no_repeat(
            self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        collected: list[Event] = []
        async with await client(venue) as c:
            events = c.events()
            async with events:
                assert events.hello is not None and events.connections == 1
                rfq = await c.create_rfq(ig(bonds, 8).cusip, "buy", size_of(ig(bonds, 8)))
                await collect_until(events, collected, lambda e: e.type == "inquiry.created" and e.inquiry_id == rfq.id)
                await events.drop_connection()  # the socket dies under the iterator
                # the venue goes on while the client is cut off
                rfq2 = await c.create_rfq(ig(bonds, 9).cusip, "sell", size_of(ig(bonds, 9)))
                await c.wait_quotes(rfq2.id, 5, timeout=10)
                await c.cancel(rfq2.id)
                await collect_until(events, collected,
                                    lambda e: e.type == "inquiry.cancelled" and e.inquiry_id == rfq2.id)
                assert events.reconnects == 1 and events.connections == 2
                # live again; then dropped again while quotes stream
                rfq3 = await c.create_rfq(ig(bonds, 10).cusip, "buy", size_of(ig(bonds, 10)))
                await collect_until(events, collected,
                                    lambda e: e.type == "inquiry.created" and e.inquiry_id == rfq3.id)
                await events.drop_connection()
                # rfq3's quotes may already be in the client's buffer when the socket dies (the bots
                # answer within a millisecond); rfq4's events are made after the drop, so they can
                # only come through a new connection
                rfq4 = await c.create_rfq(ig(bonds, 12).cusip, "sell", size_of(ig(bonds, 12)))
                await collect_until(events, collected, lambda e: sum(
                    x.type == "quote.new" and x.inquiry_id in (rfq3.id, rfq4.id) for x in collected) == 10)
                assert events.reconnects == 2
        seqs = [e.seq for e in collected]
        assert seqs == sorted(set(seqs)), "no repeat, in order"
        # no gap: exactly what the venue's log holds for client-1 over that range
        async with stream(venue, "client-1", from_seq=seqs[0] - 1) as ws:
            logged = [f for f in await drain(ws, quiet=0.5) if f["seq"] <= seqs[-1]]
        assert seqs == [f["seq"] for f in logged]
        assert [e.to_dict() for e in collected] == logged
        kinds = [(e.type, e.inquiry_id) for e in collected]
        assert all(kinds.count(("quote.new", r.id)) == 5 for r in (rfq, rfq2, rfq3, rfq4))
        assert ("inquiry.created", rfq2.id) in kinds and ("inquiry.cancelled", rfq2.id) in kinds

    async def test_from_seq_replays_history(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        async with await client(venue) as c:
            async with c.events() as live:
                rfq = await c.create_rfq(ig(bonds, 11).cusip, "buy", size_of(ig(bonds, 11)))
                created = await live.wait_for(type="inquiry.created", inquiry_id=rfq.id, timeout=10)
            async with c.events(from_seq=created.seq - 1) as replay:
                again = await replay.wait_for(timeout=10)
            assert again == created and isinstance(again.data["lines"], list)
            with pytest.raises(InvalidRequest):
                c.events(from_seq=-1)
            async with c.events(include_control=True) as control:
                await control.send({"type": "ping", "ref": "p1"})
                pong = await control.wait_for(type="pong", timeout=10)
                assert pong.seq == -1 and pong["ref"] == "p1"
            with pytest.raises(Conflict) as ahead:  # the venue would skip everything up to it
                async with c.events(from_seq=10**9):
                    pass
            assert ahead.value.code == "from_seq_ahead"


class TestTrades:
    async def test_pages_and_iterator_walk_every_trade_once(self, venue: VenueProcess,
                                                            bonds: list[Instrument]) -> None:
        async with await client(venue, "client-2") as c:
            for n in range(3):
                bond = ig(bonds, 20 + n)
                rfq = await c.create_rfq(bond.cusip, "buy", size_of(bond))
                quotes = await c.wait_quotes(rfq.id, 1, timeout=10)
                await c.award_rfq(rfq.id, quotes[0])
            everything = await c.trades(limit=1000)
            assert everything.next_before_seq is None and len(everything.trades) >= 3
            first_page = await c.trades(limit=2)
            assert len(first_page.trades) == 2 and first_page.next_before_seq is not None
            walked = [t.trade_id async for t in c.iter_trades(page_size=2)]
            assert walked == [t.trade_id for t in everything.trades]
            assert [t.trade_id async for t in c.iter_trades(page_size=2, limit=3)] == walked[:3]
            assert all(t.client_id == "client-2" for t in everything.trades)


class TestSyncClient:
    def test_rfq_flow_events_and_errors(self, venue: VenueProcess, bonds: list[Instrument]) -> None:
        bond = ig(bonds, 30)
        with VenueClient(venue.base_url, KEYS["client-1"]) as v:
            assert v.healthz().ok
            with v.events() as events:
                rfq = v.create_rfq(bond.cusip, "sell", size_of(bond), panel=["dealer-a", "dealer-b", "dealer-c"])
                created = events.wait_for(type="inquiry.created", inquiry_id=rfq.id, timeout=10)
                events.drop_connection()
                quotes = v.wait_quotes(rfq.id, timeout=10)
                assert len(quotes) == 3
                best = v.rfq(rfq.id).best_quote()
                assert best is not None and best.price == max(q.price or 0 for q in quotes)
                trade = v.award_rfq(rfq.id, best)
                assert trade.lines[0].side == "sell" and trade.dealer_id == best.dealer_id
                after = list(_until(events, "trade.booked", rfq.id))
                assert after[0].seq > created.seq and events.reconnects >= 1
                assert [e.seq for e in after] == sorted({e.seq for e in after})
                assert sum(e.type == "quote.new" and e.inquiry_id == rfq.id for e in after) == 3
            assert v.trade(trade.trade_id) == trade
            assert trade.trade_id in [t.trade_id for t in v.iter_trades(page_size=3)]
            with pytest.raises(NotFound):
                v.portfolio("PT-999999")
            with pytest.raises(AlreadyAwarded) as again:
                v.award(rfq.id, quotes[0])
            assert again.value.trade_id == trade.trade_id

    def test_portfolio_from_a_file_and_quotes_iterator(self, venue: VenueProcess, bonds: list[Instrument],
                                                       tmp_path: Path) -> None:
        path = tmp_path / "pt.csv"
        path.write_text("identifier,side,quantity\n" + "".join(
            f"{b.cusip},{'sell' if i % 3 else 'buy'},{b.min_piece * 1000}\n" for i, b in enumerate(bonds[100:110])))
        with VenueClient(venue.base_url, KEYS["client-1"]) as v:
            pt = v.create_portfolio(path, time_limit=1.5, include_lines=False)
            assert pt.n_lines == 10 and pt.lines is None
            seen = list(v.quotes(pt.id))  # ends when the inquiry expires
            assert len(seen) == 3 and all(q.net_price is not None for q in seen)
            assert v.portfolio(pt.id).state == "expired"


async def collect_until(events: EventStream, into: list[Event], done: Callable[[Event], bool],
                        timeout: float = 10.0) -> None:
    """Append every event to ``into`` until ``done`` says so."""
    async def run() -> None:
        async for event in events:
            into.append(event)
            if done(event):
                return
        raise AssertionError("the stream ended")

    await asyncio.wait_for(run(), timeout)


def _until(events: SyncEventStream, kind: str, inquiry_id: str) -> Iterator[Event]:
    while True:
        event = events.next(timeout=10)
        yield event
        if event.type == kind and event.inquiry_id == inquiry_id:
            return


def test_event_frames_parse() -> None:
    frame = {"seq": 7, "ts": 1, "type": "quote.new", "inquiry_id": "RFQ-1", "quote_id": "Q-1", "dealer_id": "d",
             "version": 1, "replaces": None, "valid_until": 2, "quote_type": "price", "level": 100.0, "price": 100.0}
    event = Event.from_frame(orjson.loads(orjson.dumps(frame)))
    assert event.seq == 7 and event.inquiry_id == "RFQ-1" and event["dealer_id"] == "d"
    quote = event.quote()
    assert quote is not None and quote.state == "live" and quote.price == 100.0
    assert event.to_dict() == frame and event.trade() is None


def test_the_sdk_does_not_import_the_engine() -> None:
    import subprocess
    import sys

    code = ("import sys, clients.sdk, clients.cli; "
            "bad = sorted(m for m in sys.modules if m.startswith(('server.venue', 'server.runtime', 'server.api', "
            "'server.persistence', 'server.bots', 'server.market'))); print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
