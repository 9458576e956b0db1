"""Durability: trades booked, the venue killed (SIGKILL), started again: every trade intact, open
inquiries expired with the reason, the stream history complete. On SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_api import IG, basket, create_rfq
from tests.support.server import VenueProcess, drain, stream, wait_quotes


async def book_some_trades(venue: VenueProcess) -> tuple[list[dict[str, Any]], str]:
    trades = []
    async with venue.client("client-1") as c:
        for n in range(3):
            rfq = await create_rfq(c, instrument=IG[10 + n].cusip)
            view = await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", 5)
            best = min(view["quotes"], key=lambda q: q["price"])
            r = await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": best["quote_id"]})
            assert r.status_code == 200, r.text
            trades.append(r.json()["trade"])
        r = await c.post("/v1/portfolio-inquiries", json={"lines": basket(50, offset=100)})
        pt = r.json()
        view = await wait_quotes(c, f"/v1/portfolio-inquiries/{pt['id']}", 3)
        best = max(view["quotes"], key=lambda q: q["net_price"])
        r = await c.post(f"/v1/portfolio-inquiries/{pt['id']}/award", json={"quote_id": best["quote_id"]})
        assert r.status_code == 200, r.text
        trades.append(r.json()["trade"])
        left_open = await create_rfq(c, instrument=IG[20].cusip, time_limit=600)
        await wait_quotes(c, f"/v1/rfqs/{left_open['id']}", 5)
    return trades, left_open["id"]


async def check_restart(workdir: Path, database_url: str) -> None:
    first = VenueProcess(workdir, database_url).start()
    try:
        trades, open_id = await book_some_trades(first)
    finally:
        first.kill()
    second = VenueProcess(workdir, database_url).start()
    try:
        async with second.client("client-1") as c:
            listed = (await c.get("/v1/trades", params={"limit": 1000})).json()["trades"]
            assert {t["trade_id"] for t in trades} <= {t["trade_id"] for t in listed}
            for trade in trades:
                assert (await c.get(f"/v1/trades/{trade['trade_id']}")).json() == trade
            view = (await c.get(f"/v1/rfqs/{open_id}")).json()
            assert view["state"] == "expired" and view["end_reason"] == "venue restarted"
            # trading goes on, with fresh identifiers
            rfq = await create_rfq(c, instrument=IG[21].cusip)
            assert rfq["id"] != open_id
            fresh = await wait_quotes(c, f"/v1/rfqs/{rfq['id']}", 5)
            r = await c.post(f"/v1/rfqs/{rfq['id']}/award", json={"quote_id": fresh["quotes"][0]["quote_id"]})
            assert r.status_code == 200, r.text
            assert r.json()["trade"]["trade_id"] not in {t["trade_id"] for t in trades}
        async with stream(second, "client-1", from_seq=0) as ws:
            history = await drain(ws, quiet=0.5)
        seqs = [f["seq"] for f in history]
        assert seqs == sorted(set(seqs))
        booked = {f["trade_id"] for f in history if f["type"] == "trade.booked"}
        assert {t["trade_id"] for t in trades} <= booked
        assert any(f["type"] == "inquiry.expired" and f["inquiry_id"] == open_id for f in history)
        async with httpx.AsyncClient(base_url=second.base_url) as anon:
            assert (await anon.get("/healthz")).json()["open_inquiries"] == 0
    finally:
        second.stop()


async def test_restart_on_sqlite(tmp_path: Path) -> None:
    await check_restart(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'rfqsim.db'}")


@pytest.mark.postgres
async def test_restart_on_postgresql(tmp_path: Path, pg_database_url: str) -> None:
    await check_restart(tmp_path, pg_database_url)


async def test_restart_with_another_universe_is_refused_clearly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rfqsim.db'}"
    first = VenueProcess(tmp_path, url).start()
    async with first.client("client-1") as c:
        await create_rfq(c)
    first.stop()
    with pytest.raises(RuntimeError, match="written with"):
        VenueProcess(tmp_path, url, env={"RFQSIM_SEED": "8"}).start(timeout=30)
