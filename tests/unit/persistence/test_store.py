"""The event store on real databases (SQLite file and PostgreSQL schema), the same tests on both."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from server.domain import events as ev
from server.domain.events import Event
from server.persistence import EventStore, GroupCommitWriter, StoreConflict, StoreError
from server.persistence.migrate import migrate
from server.persistence.models import Base, trades_table
from server.persistence.store import normalize_url

from .conftest import Target

CLIENTS = ("client-a", "client-b")
DEALERS = ("dealer-1", "dealer-2", "dealer-3", "dealer-4")
OUTCOMES = (ev.INQUIRY_AWARDED, ev.INQUIRY_EXPIRED, ev.INQUIRY_CANCELLED, ev.INQUIRY_NO_QUOTES)
T0 = 1_700_000_000_000_000_000


def scenario(n_inquiries: int, *, seq0: int = 1, prefix: str = "INQ") -> list[Event]:
    """A synthetic log: every inquiry created, requested, quoted, ended, fed back; one in four traded."""
    rng = random.Random(f"{prefix}-{n_inquiries}-{seq0}")
    out: list[Event] = []
    seqs = itertools.count(seq0)

    def emit(type_: str, audience: list[str], data: dict[str, Any]) -> None:
        seq = next(seqs)
        out.append(Event(seq, T0 + seq * 1_000, type_, tuple(sorted(set(audience))), data))

    for i in range(n_inquiries):
        inquiry_id = f"{prefix}-{i:05d}"
        client = CLIENTS[(i // len(OUTCOMES)) % len(CLIENTS)]
        kind = "portfolio" if i % 3 == 0 else "rfq"
        panel = sorted(rng.sample(DEALERS, 3))
        n_lines = rng.randint(2, 6) if kind == "portfolio" else 1
        lines: list[dict[str, Any]] = [
            {"instrument": f"037833{rng.randrange(100, 999)}", "side": rng.choice(["buy", "sell"]),
             "quantity": rng.randrange(1, 50) * 100_000} for _ in range(n_lines)]
        emit(ev.INQUIRY_CREATED, [client], {
            "inquiry_id": inquiry_id, "kind": kind, "client_id": client, "panel": panel,
            "quote_type": "price", "lines": lines, "created_ts": T0 + i,
            "expires_ts": T0 + i + 30_000_000_000,
            "name": f"Basket {i} — Société Générale ✓" if kind == "portfolio" else None,
            "idempotency_key": f"idem-{i}", "fingerprint": f"{rng.getrandbits(64):016x}"})
        emit(ev.INQUIRY_REQUEST, panel, {"inquiry_id": inquiry_id, "kind": kind, "lines": lines})
        quotes = []
        for dealer in panel:
            if rng.random() < 0.8:
                quote_id = f"Q-{i:05d}-{dealer}"
                quotes.append((quote_id, dealer))
                emit(ev.QUOTE_NEW, [client, dealer], {"inquiry_id": inquiry_id, "quote_id": quote_id,
                                                      "dealer_id": dealer, "price": 99.0 + rng.random(),
                                                      "valid_until": T0 + i + 10**10})
            else:
                emit(ev.QUOTE_PASSED, [client, dealer], {"inquiry_id": inquiry_id, "dealer_id": dealer})
        outcome = OUTCOMES[i % len(OUTCOMES)]
        if outcome == ev.INQUIRY_AWARDED and not quotes:
            outcome = ev.INQUIRY_NO_QUOTES
        if outcome == ev.INQUIRY_AWARDED:
            quote_id, dealer = rng.choice(quotes)
            trade_id = f"T-{inquiry_id}"
            emit(ev.INQUIRY_AWARDED, [client], {"inquiry_id": inquiry_id, "state": "awarded",
                                               "quote_id": quote_id, "dealer_id": dealer,
                                               "trade_id": trade_id})
            gross = sum(line["quantity"] for line in lines)
            emit(ev.TRADE_BOOKED, [client, dealer], {
                "trade_id": trade_id, "inquiry_id": inquiry_id, "kind": kind, "quote_id": quote_id,
                "client_id": client, "dealer_id": dealer, "executed_ts": T0 + i + 5,
                "trade_date": "2025-03-14", "settlement_date": "2025-03-17", "currency": "USD",
                "net_settlement": round(gross * (0.99 + rng.random() / 50) + 0.005, 2),
                "gross_notional": gross, "lines": lines})
        else:
            emit(outcome, [client], {"inquiry_id": inquiry_id, "state": outcome.split(".")[1],
                                     "reason": "synthetic"})
        for dealer in panel:
            emit(ev.DEALER_FEEDBACK, [dealer],
                 {"inquiry_id": inquiry_id, "dealer_id": dealer, "result": "closed"})
    return out


async def append_in_chunks(store: EventStore, events: list[Event]) -> None:
    sizes = itertools.cycle([1, 7, 50, 3, 120])
    i = 0
    while i < len(events):
        n = next(sizes)
        await store.append(events[i:i + n])
        i += n


async def all_events(store: EventStore, **kwargs: int) -> list[Event]:
    return [e async for e in store.load(**kwargs)]


# ------------------------------------------------------------------------------------ the log


async def test_round_trip_is_byte_exact(store: EventStore) -> None:
    events = scenario(40)
    assert len(events) > 300
    assert {e.type for e in events} >= {ev.INQUIRY_CREATED, ev.INQUIRY_REQUEST, ev.QUOTE_NEW, ev.QUOTE_PASSED,
                                        *OUTCOMES, ev.TRADE_BOOKED, ev.DEALER_FEEDBACK}
    assert await store.last_seq() == 0
    await append_in_chunks(store, events)

    loaded = await all_events(store)
    assert loaded == events
    assert [e.to_json() for e in loaded] == [e.to_json() for e in events]
    assert await store.last_seq() == events[-1].seq
    # streaming in small batches, and resuming after a seq
    assert await all_events(store, batch=17) == events
    assert await all_events(store, after_seq=123, batch=50) == events[123:]
    assert await all_events(store, after_seq=events[-1].seq) == []


async def test_payload_is_stored_verbatim(store: EventStore) -> None:
    events = scenario(3)
    await store.append(events)
    async with store.engine.connect() as conn:
        result = await conn.execute(text("SELECT seq, type, inquiry_id, payload FROM events ORDER BY seq"))
        rows = result.all()
    assert [(r[0], r[1], r[2]) for r in rows] == [(e.seq, e.type, e.inquiry_id) for e in events]
    assert [r[3].encode() for r in rows] == [e.to_json() for e in events]


async def test_events_for_filters_by_audience(store: EventStore) -> None:
    events = scenario(30)
    await append_in_chunks(store, events)
    for participant in (*CLIENTS, *DEALERS):
        visible = [e for e in events if participant in e.audience]
        assert visible
        assert await store.events_for(participant, 0) == visible
        cut = visible[len(visible) // 2].seq
        assert await store.events_for(participant, cut) == [e for e in visible if e.seq > cut]
        assert await store.events_for(participant, 0, limit=5) == visible[:5]
    assert await store.events_for("nobody", 0) == []
    # a dealer never sees inquiry.created (it carries the panel) nor another dealer's quote
    assert all(e.type != ev.INQUIRY_CREATED for e in await store.events_for("dealer-1", 0))
    assert all(e.data.get("dealer_id") in (None, "dealer-2")
               for e in await store.events_for("dealer-2", 0) if e.type == ev.QUOTE_NEW)


async def test_empty_append_is_a_no_op(store: EventStore) -> None:
    await store.append([])
    assert await store.last_seq() == 0


# ------------------------------------------------------------------------------------ projections


async def test_inquiry_projection_follows_the_lifecycle(store: EventStore) -> None:
    events = scenario(12)
    created = [e for e in events if e.type == ev.INQUIRY_CREATED]
    ends = {e.data["inquiry_id"]: e for e in events if e.type in ev.END_TYPES}

    await store.append(created[:1])  # on its own first: open
    row = await store.inquiry_row(created[0].data["inquiry_id"])
    assert row is not None and row["state"] == "open" and row["trade_id"] is None
    assert row["last_seq"] == created[0].seq
    await store.append(events[1:])

    assert {e.data["state"] for e in ends.values()} == {"awarded", "expired", "cancelled", "no_quotes"}
    for c in created:
        d = c.data
        row = await store.inquiry_row(d["inquiry_id"])
        end = ends[d["inquiry_id"]]
        assert row == {
            "id": d["inquiry_id"], "kind": d["kind"], "client_id": d["client_id"], "state": end.data["state"],
            "created_ts": d["created_ts"], "expires_ts": d["expires_ts"], "n_lines": len(d["lines"]),
            "panel": d["panel"], "trade_id": end.data.get("trade_id"), "last_seq": end.seq,
        }
    assert await store.inquiry_row("INQ-nope") is None


async def test_trade_projection(store: EventStore) -> None:
    events = scenario(24)
    await append_in_chunks(store, events)
    booked = [e for e in events if e.type == ev.TRADE_BOOKED]
    assert len(booked) >= 4

    for b in booked:
        assert await store.trade(b.data["trade_id"]) == b.data
    assert await store.trade("T-nope") is None

    async with store.engine.connect() as conn:
        rows = {r.id: r for r in (await conn.execute(select(trades_table))).all()}
    for b in booked:
        r = rows[b.data["trade_id"]]
        assert isinstance(r.net_settlement, Decimal)
        assert r.net_settlement == Decimal(str(b.data["net_settlement"]))
        assert r.trade_date == date(2025, 3, 14) and r.settlement_date == date(2025, 3, 17)
        assert (r.inquiry_id, r.quote_id, r.client_id, r.dealer_id) == (
            b.data["inquiry_id"], b.data["quote_id"], b.data["client_id"], b.data["dealer_id"])
        assert (r.gross_notional, r.n_lines, r.seq, r.executed_ts) == (
            b.data["gross_notional"], len(b.data["lines"]), b.seq, b.data["executed_ts"])


async def test_trades_for_newest_first_and_paged(store: EventStore) -> None:
    events = scenario(60)
    await append_in_chunks(store, events)
    booked = [e for e in events if e.type == ev.TRADE_BOOKED]
    for participant in (*CLIENTS, *DEALERS):
        mine = [b for b in reversed(booked) if participant in (b.data["client_id"], b.data["dealer_id"])]
        assert mine
        assert await store.trades_for(participant) == [b.data for b in mine]
        assert await store.trades_for(participant, limit=2) == [b.data for b in mine[:2]]
        if len(mine) > 2:
            page2 = await store.trades_for(participant, limit=2, before_seq=mine[1].seq)
            assert page2 == [b.data for b in mine[2:4]]
    assert await store.trades_for("nobody") == []


async def test_trades_for_a_participant_on_both_sides(store: EventStore) -> None:
    created = scenario(1, prefix="SELF")[0]
    data = {"trade_id": "T-SELF", "inquiry_id": "SELF-00000", "kind": "rfq", "quote_id": "Q1",
            "client_id": "x", "dealer_id": "x", "executed_ts": 1, "trade_date": "2025-01-02",
            "settlement_date": "2025-01-03", "currency": "USD", "net_settlement": 0.1, "gross_notional": 1,
            "lines": []}
    await store.append([created, Event(created.seq + 1, 1, ev.TRADE_BOOKED, ("x",), data)])
    assert await store.trades_for("x") == [data]


# ------------------------------------------------------------------------------------ refusals


async def assert_unchanged(store: EventStore, before: list[Event]) -> None:
    assert await all_events(store) == before
    await store.flush()
    async with store.engine.connect() as conn:
        n_audience = await conn.scalar(text("SELECT count(*) FROM event_audience"))
    assert n_audience == sum(len(set(e.audience)) for e in before)


async def test_second_trade_for_an_inquiry_is_refused(store: EventStore) -> None:
    events = scenario(4)
    await store.append(events)
    first = next(e for e in events if e.type == ev.TRADE_BOOKED)
    seq = events[-1].seq
    more = scenario(2, seq0=seq + 1, prefix="MORE")
    second = Event(more[-1].seq + 1, 0, ev.TRADE_BOOKED, first.audience,
                   {**first.data, "trade_id": "T-again", "net_settlement": 1.25})
    with pytest.raises(StoreConflict, match="already booked for this inquiry"):
        await store.append([*more, second])
    await assert_unchanged(store, events)
    assert await store.trade("T-again") is None
    assert await store.inquiry_row("MORE-00000") is None
    # the same batch without the offending trade goes through
    await store.append(more)
    assert await store.last_seq() == more[-1].seq


async def test_duplicate_seq_is_refused(store: EventStore) -> None:
    events = scenario(3)
    await store.append(events)
    clash = scenario(2, seq0=events[-1].seq - 1, prefix="CLASH")  # first event reuses a seq
    with pytest.raises(StoreConflict, match="seq already recorded"):
        await store.append(clash)
    await assert_unchanged(store, events)
    assert await store.inquiry_row("CLASH-00000") is None

    fresh = scenario(1, seq0=events[-1].seq + 1, prefix="DUP")
    with pytest.raises(StoreConflict):  # a duplicate within one batch
        await store.append([*fresh, fresh[-1]])
    await assert_unchanged(store, events)


async def test_malformed_payload_is_refused(store: EventStore) -> None:
    bad = Event(1, 0, ev.INQUIRY_CREATED, ("c",), {"inquiry_id": "I-1", "kind": "rfq"})
    with pytest.raises(StoreError, match="lacks the field 'client_id'"):
        await store.append([bad])
    assert await store.last_seq() == 0


# ------------------------------------------------------------------------------------ schema


async def test_migrate_twice_and_schema_matches_models(store: EventStore) -> None:
    await store.migrate()
    await store.migrate()
    async with store.engine.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    assert version == "0001"
    assert diff == []


async def test_reopen_keeps_everything(target: Target) -> None:
    events = scenario(10)
    s = await target.open()
    await s.migrate()
    await s.append(events)
    await s.close()

    s = await target.open()
    try:
        await s.migrate()
        assert await all_events(s) == events
        assert await s.last_seq() == events[-1].seq
        row = await s.inquiry_row(events[0].data["inquiry_id"])
        assert row is not None and row["state"] == "awarded"
    finally:
        await s.close()


async def test_sqlite_pragmas_and_migrate_helper(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "venue.db"
    await migrate(f"sqlite:///{path}")  # plain URL rewritten, parent folders created
    assert path.exists()
    s = await EventStore.open(f"sqlite:///{path}")
    try:
        async with s.engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await conn.scalar(text("PRAGMA synchronous")) == 1  # NORMAL
            assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
            assert await conn.scalar(text("PRAGMA busy_timeout")) > 0
            assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == "0001"
    finally:
        await s.close()


def test_url_rewriting() -> None:
    assert normalize_url("postgresql://u:p@h:5432/db").drivername == "postgresql+asyncpg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert normalize_url("sqlite+aiosqlite:///x.db").drivername == "sqlite+aiosqlite"
    with pytest.raises(ValueError, match="unsupported database URL"):
        normalize_url("mysql://u@h/db")


async def test_open_fails_clearly_when_the_database_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open the database"):
        await EventStore.open("postgresql://nobody@127.0.0.1:1/none")


# ------------------------------------------------------------------------------------ group commit


async def test_group_commit_many_concurrent_writers(store: EventStore) -> None:
    before = store.transactions
    writer = GroupCommitWriter(store)
    writer.start()
    rng = random.Random(5)
    seqs = itertools.count(1)
    written: list[Event] = []

    async def one_writer(i: int) -> None:
        await asyncio.sleep(rng.random() * 0.005)
        # like the engine: events get their seqs and are handed over without an await in between
        batch = [Event(next(seqs), i, ev.QUOTE_NEW, (f"client-{i % 7}", f"dealer-{i % 5}"),
                       {"inquiry_id": f"I-{i}", "n": k}) for k in range(rng.randint(1, 3))]
        written.extend(batch)
        await writer.write(batch)

    await asyncio.gather(*(one_writer(i) for i in range(200)))
    await writer.stop()
    commits = store.transactions - before

    assert await all_events(store) == sorted(written, key=lambda e: e.seq)
    assert [e.seq for e in await all_events(store)] == list(range(1, len(written) + 1))
    assert writer.events_written == len(written)
    assert commits == writer.commits
    assert 1 <= commits < 200


async def test_a_cancelled_waiter_leaves_its_events_in_the_batch(store: EventStore) -> None:
    taken = await store.last_seq()
    writer = GroupCommitWriter(store)
    writer.start()
    first = [Event(taken + 1, 0, ev.QUOTE_PASSED, ("a",), {})]
    second = [Event(taken + 2, 0, ev.QUOTE_PASSED, ("a",), {})]
    waiter = asyncio.create_task(writer.write(first))
    await asyncio.sleep(0)  # queued
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await writer.write(second)  # after the cancelled one, in order
    await writer.stop()
    assert [e.seq for e in await all_events(store)][-2:] == [taken + 1, taken + 2]


async def test_group_commit_failure_reaches_the_whole_batch_only(store: EventStore) -> None:
    await store.append(scenario(1))  # seqs 1..n
    taken = await store.last_seq()
    writer = GroupCommitWriter(store)
    writer.start()
    ok = Event(taken + 1, 0, ev.QUOTE_PASSED, ("a",), {})
    clash = Event(taken, 0, ev.QUOTE_PASSED, ("b",), {})  # seq already recorded
    f1 = writer.submit([clash])  # the writer itself has committed nothing yet: the database refuses
    f2 = writer.submit([ok, Event(taken + 2, 0, ev.QUOTE_PASSED, ("a",), {})])
    results = await asyncio.gather(f1, f2, return_exceptions=True)
    assert all(isinstance(r, StoreConflict) for r in results)  # one batch: both waiters fail
    assert await store.last_seq() == taken

    await writer.write([ok])  # the writer goes on
    await writer.write([Event(taken + 2, 0, ev.QUOTE_PASSED, ("a",), {})])
    await writer.stop()
    assert await store.last_seq() == taken + 2
    assert writer.commits == 2


async def test_group_commit_refuses_out_of_order(store: EventStore) -> None:
    writer = GroupCommitWriter(store)
    writer.start()
    await writer.write([Event(10, 0, ev.QUOTE_PASSED, ("a",), {})])
    with pytest.raises(StoreConflict, match="out of order"):
        await writer.write([Event(5, 0, ev.QUOTE_PASSED, ("a",), {})])
    # within one batch, writes ahead of a later seq are refused too; the rest is committed
    f1 = writer.submit([Event(20, 0, ev.QUOTE_PASSED, ("a",), {})])
    f2 = writer.submit([Event(15, 0, ev.QUOTE_PASSED, ("a",), {})])
    f3 = writer.submit([Event(22, 0, ev.QUOTE_PASSED, ("a",), {}), Event(21, 0, ev.QUOTE_PASSED, ("a",), {})])
    r = await asyncio.gather(f1, f2, f3, return_exceptions=True)
    assert r[0] is None and isinstance(r[1], StoreConflict) and r[2] is None
    await writer.stop()
    assert [e.seq for e in await all_events(store)] == [10, 20, 21, 22]


async def test_group_commit_stop_flushes(store: EventStore) -> None:
    writer = GroupCommitWriter(store, max_batch_events=40)
    with pytest.raises(RuntimeError, match="not running"):
        writer.submit([])
    writer.start()
    events = scenario(20)
    futures = [writer.submit(events[i:i + 3]) for i in range(0, len(events), 3)]
    await writer.stop()
    assert all(f.done() and f.exception() is None for f in futures)
    assert await all_events(store) == events
    assert writer.commits >= len(events) // 40  # capped batch size
    with pytest.raises(RuntimeError, match="not running"):
        await writer.write(events[:1])


async def test_in_memory_sqlite_serialises_concurrent_use() -> None:
    s = await EventStore.open("sqlite://")
    try:
        await s.migrate()
        writer = GroupCommitWriter(s)
        writer.start()
        events = scenario(20)
        await asyncio.gather(*(writer.write(events[i:i + 3]) for i in range(0, len(events), 3)),
                             *(s.events_for("client-a", 0) for _ in range(10)))
        await writer.stop()
        assert await all_events(s) == events
    finally:
        await s.close()


async def test_sqlite_file_writer_rows_equal_the_sqlalchemy_rows(tmp_path: Path) -> None:
    """A SQLite file appends through the store's compiled statements on its own connection; an in-memory database
    through SQLAlchemy's executemany. The same log gives the same rows in every table, typed alike."""
    events = scenario(40)
    stores = [await EventStore.open(f"sqlite:///{tmp_path / 'venue.db'}"), await EventStore.open("sqlite://")]
    assert stores[0]._sync_writer is not None and stores[1]._sync_writer is None
    tables: list[dict[str, list[tuple[Any, ...]]]] = []
    try:
        for s in stores:
            await s.migrate()
            for i in range(0, len(events), 7):
                await s.append(events[i:i + 7])
            await s.flush()
            async with s.engine.connect() as conn:
                tables.append({name: [tuple(r) for r in (await conn.execute(
                    text(f"SELECT * FROM {name} ORDER BY 1, 2"))).all()]
                    for name in ("events", "event_audience", "inquiries", "trades")})
                rows = (await conn.execute(select(trades_table))).all()
                assert rows and all(isinstance(r.net_settlement, Decimal) and isinstance(r.trade_date, date)
                                    for r in rows)
    finally:
        for s in stores:
            await s.close()
    file_rows, memory_rows = tables
    assert all(file_rows[name] for name in file_rows)
    assert file_rows == memory_rows


async def test_sqlite_wal_is_checkpointed_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Appends commit on the caller's thread without checkpointing; a passive checkpoint runs on a
    background thread every CHECKPOINT_EVERY commits, and closing the store empties the WAL."""
    from server.persistence import store as store_module

    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 4)
    path = tmp_path / "venue.db"
    s = await EventStore.open(f"sqlite:///{path}")
    events = scenario(30)
    try:
        await s.migrate()
        assert s._sync_writer is not None
        with s._sync_writer.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        for i in range(0, len(events), 3):
            await s.append(events[i:i + 3])
            await asyncio.sleep(0)
        if s._checkpoint is not None:
            await s._checkpoint
        assert s.checkpoints >= 1
    finally:
        await s.close()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    again = await EventStore.open(f"sqlite:///{path}")
    try:
        assert await all_events(again) == events
    finally:
        await again.close()


async def test_sqlite_wal_stays_bounded_under_continuous_appends(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A passive checkpoint that runs while appends go on never catches up with them, and the WAL
    restarts only from a fully checkpointed one: without a short catch-up between two commits the
    WAL would grow for as long as the load lasts (and every commit and read slow down with it)."""
    from server.persistence import store as store_module

    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 20)
    path = tmp_path / "venue.db"
    wal = path.with_name(path.name + "-wal")
    s = await EventStore.open(f"sqlite:///{path}")
    sizes = []
    try:
        await s.migrate()
        seq0 = 1
        for round_ in range(40):
            events = scenario(20, seq0=seq0, prefix=f"R{round_}")
            seq0 += len(events)
            for i in range(0, len(events), 4):
                await s.append(events[i:i + 4])  # back to back, as under load
                await asyncio.sleep(0)  # a turn of the event loop between commits
            sizes.append(wal.stat().st_size)
        assert s.checkpoints >= 10
    finally:
        await s.close()
    # about 25 commits per round: without restarts the WAL grows by the same amount every round (to
    # eight times its size after the first ten); restarting, it stays within a checkpoint interval or
    # two of frames (a restart can miss a turn when a checkpoint is still running)
    first = sorted(sizes[:10])[5]
    assert max(sizes[20:]) < 4 * first, sizes


# ------------------------------------------------------------------ the audience index behind the log


async def audience_rows(store: EventStore) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM event_audience")))


def visible(events: list[Event], participant: str) -> list[Event]:
    return [e for e in events if participant in e.audience]


async def test_sqlite_file_indexes_the_audience_behind_the_log(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """On a SQLite file the audience index is committed in batches after the events: a moment behind,
    never behind a read of it."""
    from server.persistence import store as store_module

    monkeypatch.setattr(store_module, "AUDIENCE_DELAY_S", 3600.0)  # no timer during the first part
    events = scenario(12)
    s = await EventStore.open(f"sqlite:///{tmp_path / 'venue.db'}")
    try:
        await s.migrate()
        await s.append(events[:20])
        await s.append(events[20:])
        assert await audience_rows(s) == 0 and s.transactions == 2  # the log first, alone
        more = scenario(3, seq0=len(events) + 1, prefix="MORE")
        await s.append(more)
        for participant in ("client-a", "client-b", "dealer-1", "dealer-3"):  # a read does not wait
            assert await s.events_for(participant, 0) == visible(events + more, participant)
        assert s.audience_flushes == 1
        assert await audience_rows(s) == sum(len(set(e.audience)) for e in events + more)

        monkeypatch.setattr(store_module, "AUDIENCE_DELAY_S", 0.01)
        last = scenario(2, seq0=len(events) + len(more) + 1, prefix="LAST")
        await s.append(last)  # the timer commits the batch with no read
        for _ in range(200):
            if s.audience_flushes == 2:
                break
            await asyncio.sleep(0.01)
        assert await audience_rows(s) == sum(len(set(e.audience)) for e in events + more + last)
    finally:
        await s.close()


async def test_a_full_batch_of_audience_rows_is_committed_at_once(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from server.persistence import store as store_module

    monkeypatch.setattr(store_module, "AUDIENCE_BATCH", 10)
    events = scenario(6)
    s = await EventStore.open(f"sqlite:///{tmp_path / 'venue.db'}")
    try:
        await s.migrate()
        await s.append(events)
        assert await audience_rows(s) == sum(len(set(e.audience)) for e in events) and s.audience_flushes == 1
    finally:
        await s.close()


CRASH = """
import asyncio, os, sys
from server.persistence import EventStore
from tests.unit.persistence.test_store import scenario

async def main():
    s = await EventStore.open(sys.argv[1])
    await s.migrate()
    events = scenario(10)
    await s.append(events[:30])
    await s.flush()
    await s.append(events[30:])  # committed; its audience rows are still pending
    os._exit(0)  # killed before the batch: no close, no flush

asyncio.run(main())
"""


async def test_audience_rows_a_crash_left_out_are_restored_from_the_log(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'venue.db'}"
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", CRASH, url], cwd=root, check=True, timeout=120)
    events = scenario(10)
    s = await EventStore.open(url)
    try:
        assert await all_events(s) == events  # the log is whole
        indexed = await audience_rows(s)
        assert 0 < indexed < sum(len(set(e.audience)) for e in events)  # the index lost the last batch
        for participant in ("client-a", "client-b", "dealer-1", "dealer-4"):
            assert await s.events_for(participant, 0) == visible(events, participant)
        assert await audience_rows(s) == sum(len(set(e.audience)) for e in events)
        await s.flush()  # idempotent
        assert await audience_rows(s) == sum(len(set(e.audience)) for e in events)
    finally:
        await s.close()
