"""The event store: the append-only event log and its projections, on SQLite or PostgreSQL.

Events are the record (DESIGN.md, principle 2). ``EventStore.append`` writes a batch of events,
the audience rows that make each participant's stream an index range scan, and the inquiry and
trade projections, all in one transaction: either the whole batch is recorded or none of it.
On a SQLite file the audience rows are the exception: they follow in batches, a moment later
(``EventStore.flush``), since they were most of the pages each commit wrote; reads of them catch
up first, and a restart restores from the log whatever a crash left out.
``EventStore.load`` streams the log back in seq order for replay at start-up; each event's
canonical JSON is stored verbatim, so a replayed event serialises to the very same bytes.

``GroupCommitWriter`` sits in front of a store in the live runtime: many coroutines hand it events,
one background task commits everything pending in a single transaction (group commit).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Date, String, bindparam, create_engine, event, func, insert, select, text, union_all, update
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from server.domain.events import (
    INQUIRY_AWARDED,
    INQUIRY_CANCELLED,
    INQUIRY_CREATED,
    INQUIRY_EXPIRED,
    INQUIRY_NO_QUOTES,
    TRADE_BOOKED,
    Event,
)
from server.persistence.models import event_audience_table, events_table, inquiries_table, trades_table

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger("rfqsim.store")

SQLITE_BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_EVERY = 200  # commits of the SQLite writer between background WAL checkpoints
WAL_SIZE_LIMIT = 64 << 20  # bytes the WAL file is cut back to when it starts over
# SQLite file: the audience index (event_audience) is written behind the log, in batches: at most
# this many seconds or rows after the events it indexes, and before any read of it.
AUDIENCE_DELAY_S = 0.05
AUDIENCE_BATCH = 5_000
_AUDIENCE_CATCH_UP = "INSERT OR IGNORE INTO event_audience (participant_id, seq) VALUES (?, ?)"
_MIGRATION_LOCK_KEY = 0x7266_7173_696D  # "rfqsim": PostgreSQL advisory lock held while migrating
_WRITE = "rfqsim_write"  # execution option: on SQLite, take the write lock at BEGIN

_END_TYPES = frozenset({INQUIRY_AWARDED, INQUIRY_EXPIRED, INQUIRY_CANCELLED, INQUIRY_NO_QUOTES})
_JSON_OPTS = orjson.OPT_SORT_KEYS


class StoreError(Exception):
    """The store refused a batch; nothing of it was written."""


class StoreConflict(StoreError):
    """The batch breaks a uniqueness rule of the record: an event seq that is already taken, or a
    second trade for one inquiry. Nothing of the batch was written."""


# --------------------------------------------------------------------------------------------- URLs


def normalize_url(url: str | URL) -> URL:
    """Rewrite plain ``postgresql://`` / ``postgres://`` / ``sqlite://`` URLs to the async drivers."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+asyncpg")
    elif u.drivername == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    if u.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError(f"unsupported database URL {u.render_as_string(hide_password=True)!r}: "
                         "use sqlite+aiosqlite:///path/file.db or postgresql+asyncpg://user@host/db")
    return u


def _sqlite_file(u: URL) -> Path | None:
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


# ------------------------------------------------------------------------------------ event -> rows


def _field(ev: Event, name: str) -> Any:
    try:
        return ev.data[name]
    except KeyError:
        raise StoreError(f"event seq={ev.seq} type={ev.type!r} lacks the field {name!r}") from None


class _Rows:
    """The rows one batch of events turns into, computed before the transaction opens."""

    __slots__ = ("audience", "events", "inquiries", "trades", "updates")

    def __init__(self, events: Sequence[Event]) -> None:
        self.events: list[dict[str, Any]] = []
        self.audience: list[dict[str, Any]] = []
        self.inquiries: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []  # inquiry state changes, in seq order
        for ev in events:
            self.events.append({"seq": ev.seq, "ts": ev.ts, "type": ev.type, "inquiry_id": ev.inquiry_id,
                                "payload": ev.to_json().decode()})
            self.audience.extend({"participant_id": p, "seq": ev.seq} for p in dict.fromkeys(ev.audience))
            if ev.type == INQUIRY_CREATED:
                self.inquiries.append(_inquiry_row(ev))
            elif ev.type in _END_TYPES:
                self.updates.append({"b_id": _field(ev, "inquiry_id"), "b_state": _field(ev, "state"),
                                     "b_trade_id": ev.data.get("trade_id"), "b_seq": ev.seq})
            elif ev.type == TRADE_BOOKED:
                self.trades.append(_trade_row(ev))


def _inquiry_row(ev: Event) -> dict[str, Any]:
    return {
        "id": _field(ev, "inquiry_id"),
        "kind": _field(ev, "kind"),
        "client_id": _field(ev, "client_id"),
        "state": "open",
        "created_ts": int(_field(ev, "created_ts")),
        "expires_ts": int(_field(ev, "expires_ts")),
        "n_lines": len(_field(ev, "lines")),
        "panel": orjson.dumps(list(_field(ev, "panel"))).decode(),
        "trade_id": None,
        "last_seq": ev.seq,
    }


def _trade_row(ev: Event) -> dict[str, Any]:
    return {
        "id": _field(ev, "trade_id"),
        "inquiry_id": _field(ev, "inquiry_id"),
        "quote_id": _field(ev, "quote_id"),
        "client_id": _field(ev, "client_id"),
        "dealer_id": _field(ev, "dealer_id"),
        "executed_ts": int(_field(ev, "executed_ts")),
        "trade_date": date.fromisoformat(_field(ev, "trade_date")),
        "settlement_date": date.fromisoformat(_field(ev, "settlement_date")),
        "net_settlement": Decimal(str(_field(ev, "net_settlement"))),
        "gross_notional": int(_field(ev, "gross_notional")),
        "n_lines": len(ev.data.get("lines") or ()),
        "payload": orjson.dumps(ev.data, option=_JSON_OPTS).decode(),
        "seq": ev.seq,
    }


_ins = inquiries_table.c
# An ending event sets the state; only "inquiry.awarded" carries a trade id (the others keep NULL).
_UPDATE_INQUIRY = (
    update(inquiries_table)
    .where(_ins.id == bindparam("b_id"))
    .values(state=bindparam("b_state"),
            trade_id=func.coalesce(bindparam("b_trade_id", type_=String(40)), _ins.trade_id),
            last_seq=bindparam("b_seq"))
)
_INSERT_EVENTS = insert(events_table)
_INSERT_AUDIENCE = insert(event_audience_table)
_INSERT_INQUIRIES = insert(inquiries_table)
_INSERT_TRADES = insert(trades_table)
# An append's statements, in order, each with the ``_Rows`` attribute holding its parameters.
_APPEND: tuple[tuple[str, Any], ...] = (
    ("events", _INSERT_EVENTS), ("audience", _INSERT_AUDIENCE), ("inquiries", _INSERT_INQUIRIES),
    ("trades", _INSERT_TRADES), ("updates", _UPDATE_INQUIRY),
)


def _conflict_message(exc: IntegrityError | sqlite3.IntegrityError) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wraps the driver's; sqlite3's is the driver's
    detail = str(orig) if orig is not None else str(exc)
    low = detail.lower()
    if "trades" in low and "inquiry_id" in low:
        what = "a trade is already booked for this inquiry"
    elif "trades" in low:
        what = "trade id already booked"
    elif "events" in low or "event_audience" in low:
        what = "event seq already recorded"
    elif "inquiries" in low:
        what = "inquiry id already recorded"
    else:
        what = "integrity rule broken"
    return f"batch refused, nothing written: {what} ({detail.strip().splitlines()[0]})"


# ------------------------------------------------------------------------------------------ store


class EventStore:
    """The event log and its projections. Open with ``await EventStore.open(url)``."""

    def __init__(self, engine: AsyncEngine, *, single_connection: bool = False,
                 sync_writer: Engine | None = None) -> None:
        self._engine = engine
        # SQLite file: appends run on the caller's thread (the event loop) with the stdlib driver. In WAL
        # mode with synchronous=NORMAL a commit writes the WAL without an fsync: a batch costs less than a
        # hop to a writer thread and back (measured, bench/bench_api.py: about a fifth of the venue's
        # CPU per lifecycle), and nothing else holds the interpreter lock meanwhile. What does fsync, the
        # checkpoint that copies the WAL into the database, is taken off the writer connections
        # (wal_autocheckpoint=0) and run in the background, passive, every CHECKPOINT_EVERY commits.
        self._sync_writer = sync_writer
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="rfqsim-checkpoint") if sync_writer else None
        self._checkpoint: asyncio.Future[Any] | None = None
        self._commits_since_checkpoint = 0
        self._wal_catch_up = False  # a background checkpoint ended: finish its tail before the next commit
        self.checkpoints = 0  # background checkpoints completed
        self.transactions = 0  # appends committed (one transaction each)
        self._write_conn: Any = None  # SQLite: the DBAPI connection appends commit on
        # SQLite file: audience rows of committed events not yet in event_audience, in seq order
        self._audience: list[dict[str, Any]] = []
        self._audience_timer: asyncio.TimerHandle | None = None
        self._audience_checked = False  # rows a crash left out are restored before the first use
        self.audience_flushes = 0  # batches of audience rows committed
        self._sqlite_sql: dict[str, tuple[str, Any]] | None = None
        self.dialect = engine.dialect.name  # "sqlite" or "postgresql"
        # An in-memory SQLite database lives on one shared connection: take turns on it.
        self._turn: asyncio.Lock | None = asyncio.Lock() if single_connection else None

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def write_engine(self) -> Engine:
        """The (sync) engine whose connections commit appends: for listening to commit events."""
        return self._sync_writer if self._sync_writer is not None else self._engine.sync_engine

    @classmethod
    async def open(cls, url: str | URL, *, echo: bool = False,
                   connect_args: dict[str, Any] | None = None) -> EventStore:
        """Create the engine and check that the database answers.

        SQLite (``sqlite+aiosqlite:///path/file.db``; ``sqlite:///`` is rewritten): the parent
        folder is created if missing. Every connection runs in WAL mode with ``synchronous=NORMAL``:
        a committed transaction survives the process being killed at any point (it is in the WAL
        file); only an operating-system crash or a power loss may lose the last few commits, never
        corrupt the file. ``foreign_keys=ON``, and a busy timeout so a second process waits for
        the write lock instead of failing. Transactions are begun explicitly (``BEGIN``, and
        ``BEGIN IMMEDIATE`` for writes), so DDL is transactional too. ``sqlite+aiosqlite://`` is an
        in-memory database (for tests): one shared connection that the store's calls take turns on.

        PostgreSQL (``postgresql+asyncpg://...``; ``postgresql://`` is rewritten). ``connect_args``
        go to the driver, e.g. ``{"server_settings": {"search_path": "my_schema"}}`` for asyncpg.
        """
        u = normalize_url(url)
        args = dict(connect_args or {})
        single_connection = False
        sync_writer: Engine | None = None
        if u.get_backend_name() == "sqlite":
            path = _sqlite_file(u)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            single_connection = not u.database or u.database == ":memory:"
            engine = create_async_engine(u, echo=echo, connect_args=args)
            _install_sqlite_hooks(engine.sync_engine)
            if not single_connection:
                sync_writer = create_engine(u.set(drivername="sqlite+pysqlite"), echo=echo,
                                            connect_args={**args, "check_same_thread": False})
                _install_sqlite_hooks(sync_writer, autocheckpoint=False)
        else:
            engine = create_async_engine(u, echo=echo, connect_args=args, pool_pre_ping=True)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            await engine.dispose()
            raise StoreError(f"cannot open the database {u.render_as_string(hide_password=True)}: "
                             f"{exc}") from exc
        return cls(engine, single_connection=single_connection, sync_writer=sync_writer)

    async def close(self) -> None:
        await self._engine.dispose()
        if self._sync_writer is not None and self._checkpointer is not None:
            if self._checkpoint is not None:
                with contextlib.suppress(Exception):
                    await self._checkpoint
            if self._audience_timer is not None:
                self._audience_timer.cancel()
                self._audience_timer = None
            if self._audience:
                try:
                    self._flush_audience()
                except StoreError as exc:  # the next start restores the rows from the log
                    log.warning("%s", exc)
            if self._write_conn is not None:
                self._write_conn.close()
                self._write_conn = None
            loop = asyncio.get_running_loop()
            with contextlib.suppress(Exception):  # leave the database file whole, the WAL empty
                await loop.run_in_executor(self._checkpointer, self._checkpoint_sync, "TRUNCATE")
            await loop.run_in_executor(self._checkpointer, self._sync_writer.dispose)
            self._checkpointer.shutdown(wait=True)

    async def __aenter__(self) -> EventStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        if self._turn is None:
            async with self._engine.connect() as conn:
                yield conn
        else:
            async with self._turn, self._engine.connect() as conn:
                yield conn

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self._connect() as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn

    # -- schema

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic ``upgrade head``). Safe to run again,
        and from several processes at once (PostgreSQL: an advisory lock; SQLite: the write lock)."""
        async with self._writing() as conn:
            if self.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            await conn.run_sync(_upgrade_head)

    # -- writing

    async def append(self, events: Sequence[Event]) -> None:
        """Record a batch of events and update the projections, in one transaction.

        Raises ``StoreConflict`` (a seq already taken, a second trade for an inquiry) or
        ``StoreError`` (a malformed payload, a value too long for its column); in either case
        nothing of the batch is written.
        """
        if not events:
            return
        rows = _Rows(events)
        if self._sync_writer is not None:
            if not self._audience_checked:
                self._catch_up_audience()
            if self._wal_catch_up:
                await self._checkpoint_tail()
            self._append_sync(rows)
            self._commits_since_checkpoint += 1
            if rows.audience:
                self._audience.extend(rows.audience)
                if len(self._audience) >= AUDIENCE_BATCH:
                    self._flush_audience()
                elif self._audience_timer is None:
                    self._audience_timer = asyncio.get_running_loop().call_later(AUDIENCE_DELAY_S,
                                                                                 self._flush_audience_later)
            if self._commits_since_checkpoint >= CHECKPOINT_EVERY and self._checkpoint is None:
                self._start_checkpoint()
            return
        try:
            async with self._writing() as conn:
                for name, statement in _APPEND:
                    params = getattr(rows, name)
                    if params:
                        await conn.execute(statement, params)
            self.transactions += 1
        except IntegrityError as exc:
            raise StoreConflict(_conflict_message(exc)) from exc
        except DataError as exc:
            raise StoreError(f"batch refused, nothing written: {exc.orig}") from exc

    def _writer(self) -> Any:
        assert self._sync_writer is not None
        if self._write_conn is None:
            self._write_conn = self._sync_writer.raw_connection()  # the connect hooks have run: WAL, pragmas
        return self._write_conn

    def _append_sync(self, rows: _Rows) -> None:
        """The SQLite append: the same statements as ``append`` but the audience index's, compiled once
        and run with the driver's ``executemany`` on the store's own write connection (SQLAlchemy's
        per-row parameter handling and per-transaction bookkeeping cost more than SQLite's writing).

        The audience rows follow in batches (``_flush_audience``): one participant's rows are
        contiguous in event_audience, so each commit wrote a page per participant of the batch's
        audience, most of the pages a commit wrote (bench/bench_api.py)."""
        assert self._sync_writer is not None
        statements = self._sqlite_statements(self._sync_writer.dialect)
        try:
            with self._sqlite_transaction() as cursor:
                for name, _ in _APPEND:
                    params = getattr(rows, name)
                    if params and name != "audience":
                        sql, convert = statements[name]
                        cursor.executemany(sql, [convert(p) for p in params] if convert else params)
        except sqlite3.IntegrityError as exc:
            raise StoreConflict(_conflict_message(exc)) from exc
        except sqlite3.DataError as exc:
            raise StoreError(f"batch refused, nothing written: {exc}") from exc
        self.transactions += 1

    @contextlib.contextmanager
    def _sqlite_transaction(self) -> Iterator[sqlite3.Cursor]:
        """``BEGIN IMMEDIATE`` on the store's write connection; ``COMMIT``, or ``ROLLBACK`` on any error."""
        cursor = self._writer().cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            cursor.close()

    def _flush_audience(self) -> None:
        """Commit the audience rows the log is ahead by (SQLite file), in one transaction."""
        if self._audience_timer is not None:
            self._audience_timer.cancel()
            self._audience_timer = None
        if not self._audience:
            return
        assert self._sync_writer is not None
        sql, _ = self._sqlite_statements(self._sync_writer.dialect)["audience"]
        try:
            with self._sqlite_transaction() as cursor:
                cursor.executemany(sql, self._audience)
        except sqlite3.Error as exc:
            raise StoreError(f"the audience index is behind the log and could not catch up: {exc}") from exc
        self._audience = []
        self.audience_flushes += 1
        self._commits_since_checkpoint += 1

    def _flush_audience_later(self) -> None:
        self._audience_timer = None
        try:
            self._flush_audience()
        except StoreError as exc:  # the rows stay pending; reads retry and report it
            log.warning("%s; retrying", exc)
            self._audience_timer = asyncio.get_running_loop().call_later(AUDIENCE_DELAY_S * 20,
                                                                         self._flush_audience_later)

    def _catch_up_audience(self) -> None:
        """After a restart: index the audience of the events a crash left unindexed (those after the
        last indexed one; a crash can only lose the newest batch). Idempotent."""
        try:
            with self._sqlite_transaction() as cursor:
                high = cursor.execute("SELECT coalesce(max(seq), 0) FROM event_audience").fetchone()[0]
                rows = [(p, seq) for seq, payload in
                        cursor.execute("SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq", (high,))
                        for p in dict.fromkeys(orjson.loads(payload)["audience"])]
                if rows:
                    cursor.executemany(_AUDIENCE_CATCH_UP, rows)
        except sqlite3.Error as exc:
            raise StoreError(f"could not restore the audience index from the log: {exc}") from exc
        if rows:
            log.info("restored the audience index of %d events from the log", len({seq for _, seq in rows}))
        self._audience_checked = True

    def _start_checkpoint(self) -> None:
        assert self._checkpointer is not None
        self._commits_since_checkpoint = 0
        fut = asyncio.get_running_loop().run_in_executor(self._checkpointer, self._checkpoint_sync, "PASSIVE")
        self._checkpoint = fut

        def done(f: asyncio.Future[Any]) -> None:
            self._checkpoint = None
            if not f.cancelled() and f.exception() is None:
                self.checkpoints += 1
                self._wal_catch_up = True
            elif not f.cancelled():
                log.warning("SQLite checkpoint failed (the WAL keeps growing until one succeeds): %s", f.exception())

        fut.add_done_callback(done)

    async def _checkpoint_tail(self) -> None:
        """Finish what the last background checkpoint began, before this commit: the frames appended
        while it ran. The WAL only starts over from the beginning once it is checkpointed to its end,
        which a checkpoint running beside a stream of commits never reaches; this one runs between
        two commits (they wait for it, the event loop does not) and takes as long as copying the few
        frames written meanwhile. Without it the WAL would grow for as long as the load lasts."""
        assert self._checkpointer is not None
        self._wal_catch_up = False
        try:
            await asyncio.get_running_loop().run_in_executor(self._checkpointer, self._checkpoint_sync, "PASSIVE")
        except Exception as exc:  # the next background checkpoint tries again
            log.warning("SQLite checkpoint failed (the WAL keeps growing until one succeeds): %s", exc)

    def _checkpoint_sync(self, mode: str) -> None:
        """Copy the WAL into the database (``PASSIVE``: as far as readers allow, never waiting)."""
        assert self._sync_writer is not None
        with self._sync_writer.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").all()

    def _sqlite_statements(self, dialect: Dialect) -> dict[str, tuple[str, Any]]:
        """SQL text with named parameters for each statement of an append, compiled by SQLAlchemy for
        this dialect, and the conversion of a row's values SQLAlchemy's types would do (dates and
        decimals of the trades projection)."""
        if self._sqlite_sql is None:
            date_bind = Date().bind_processor(dialect)
            money_bind = trades_table.c.net_settlement.type.bind_processor(dialect)

            def trade(row: dict[str, Any]) -> dict[str, Any]:
                out = dict(row)
                for key in ("trade_date", "settlement_date"):
                    out[key] = date_bind(row[key]) if date_bind else row[key]
                out["net_settlement"] = money_bind(row["net_settlement"]) if money_bind else row["net_settlement"]
                return out

            named = type(dialect)(paramstyle="named")  # type: ignore[call-arg]  # sqlite3 binds :name

            def compiled(stmt: Any, keys: Sequence[str]) -> str:
                return str(stmt.compile(dialect=named, column_keys=list(keys)))

            # an insert names every column of its table (the rows of _Rows carry them all); the update its binds
            self._sqlite_sql = {
                name: (compiled(statement, [c.key for c in statement.table.columns] if name != "updates" else ()),
                       trade if name == "trades" else None)
                for name, statement in _APPEND
            }
        return self._sqlite_sql

    # -- reading

    async def last_seq(self) -> int:
        """The highest recorded seq, 0 when the log is empty."""
        async with self._connect() as conn:
            value = await conn.scalar(select(func.max(events_table.c.seq)))
        return int(value) if value is not None else 0

    async def load(self, after_seq: int = 0, batch: int = 5000) -> AsyncIterator[Event]:
        """Every event with seq > ``after_seq``, in seq order: ``async for event in store.load()``.

        Streams in batches of ``batch`` events (keyset pagination on seq); no transaction is held
        open while the caller consumes an event.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        seq_col, payload_col = events_table.c.seq, events_table.c.payload
        cursor = after_seq
        while True:
            async with self._connect() as conn:
                result = await conn.execute(
                    select(seq_col, payload_col).where(seq_col > cursor).order_by(seq_col).limit(batch))
                rows = result.all()
            for row in rows:
                yield Event.from_json(row[1])
            if len(rows) < batch:
                return
            cursor = rows[-1][0]

    async def flush(self) -> None:
        """Bring what is written behind the log (on a SQLite file, the audience index) up to date with
        it: after this, every table holds every committed event. Reads that need it do it themselves."""
        if self._sync_writer is not None:
            if not self._audience_checked:
                self._catch_up_audience()
            self._flush_audience()

    async def events_for(self, participant_id: str, after_seq: int, limit: int = 1000) -> list[Event]:
        """The events ``participant_id`` may see with seq > ``after_seq``, in seq order."""
        await self.flush()
        a, e = event_audience_table.c, events_table.c
        stmt = (select(e.payload).select_from(event_audience_table.join(events_table, e.seq == a.seq))
                .where(a.participant_id == participant_id, a.seq > after_seq)
                .order_by(a.seq).limit(limit))
        async with self._connect() as conn:
            payloads = (await conn.scalars(stmt)).all()
        return [Event.from_json(p) for p in payloads]

    async def trades_for(self, participant_id: str, *, limit: int = 100,
                         before_seq: int | None = None) -> list[dict[str, Any]]:
        """Trades where ``participant_id`` is the client or the dealer, newest first (the
        ``trade.booked`` payloads). Page with ``before_seq`` = the last trade's booking seq."""
        return (await self.trades_page(participant_id, limit=limit, before_seq=before_seq))[0]

    async def trades_page(self, participant_id: str, *, limit: int = 100,
                          before_seq: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """A page of ``trades_for`` and the ``before_seq`` of the next page (None: no more)."""
        t = trades_table.c
        branches = []
        for col in (t.client_id, t.dealer_id):  # two index range scans, merged
            q = select(t.seq, t.payload).where(col == participant_id)
            if before_seq is not None:
                q = q.where(t.seq < before_seq)
            branches.append(select(q.order_by(t.seq.desc()).limit(limit + 1).subquery()))  # +1: is there more?
        both = union_all(*branches).subquery()
        stmt = select(both.c.seq, both.c.payload).order_by(both.c.seq.desc()).limit(2 * (limit + 1))
        async with self._connect() as conn:
            rows = (await conn.execute(stmt)).all()
        out: list[dict[str, Any]] = []
        seen: set[int] = set()
        last_seq: int | None = None
        more = False
        for seq, payload in rows:
            if seq not in seen:  # a participant both client and dealer of a trade
                if len(out) == limit:
                    more = True
                    break
                seen.add(seq)
                out.append(orjson.loads(payload))
                last_seq = seq
        return out, (last_seq if more else None)

    async def trade(self, trade_id: str) -> dict[str, Any] | None:
        async with self._connect() as conn:
            payload = await conn.scalar(select(trades_table.c.payload).where(trades_table.c.id == trade_id))
        return None if payload is None else orjson.loads(payload)

    async def inquiry_row(self, inquiry_id: str) -> dict[str, Any] | None:
        """The inquiry projection: id, kind, client_id, state, created_ts, expires_ts, n_lines,
        panel (list), trade_id, last_seq."""
        async with self._connect() as conn:
            result = await conn.execute(select(inquiries_table).where(_ins.id == inquiry_id))
            row = result.mappings().first()
        if row is None:
            return None
        out = dict(row)
        out["panel"] = orjson.loads(out["panel"])
        return out


def _install_sqlite_hooks(engine: Engine, *, autocheckpoint: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver (it skips it for DDL and SELECT); see _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not autocheckpoint:  # the store checkpoints in the background (EventStore._start_checkpoint)
                cursor.execute("PRAGMA wal_autocheckpoint=0")
                cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")  # a WAL that starts over shrinks
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, so two writers queue on busy_timeout instead of
        # one failing at once when it tries to upgrade a read lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def alembic_config() -> Config:
    """Alembic configuration built in code: no alembic.ini needed."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return cfg


def _upgrade_head(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


# ------------------------------------------------------------------------------- group commit


def _consume(fut: asyncio.Future[None]) -> None:
    # A waiter that was cancelled no longer looks at its future: mark the exception as retrieved.
    if not fut.cancelled():
        fut.exception()


class GroupCommitWriter:
    """Group commit in front of an ``EventStore``.

    ``await writer.write(events)`` queues the events and returns once the transaction holding them
    is committed. One background task takes everything pending and commits it with a single
    ``store.append`` (at most ``max_batch_events`` per transaction), in the order it was queued.

    Order: seq order is kept across transactions. Events must be handed over in seq order;
    ``submit`` queues synchronously, so the order of the calls is the order of the log. A write
    whose lowest seq is not above every seq already committed (or ahead of it in the same batch)
    is refused with ``StoreConflict`` rather than recorded out of order.

    Failure: if a transaction fails, every waiter of that batch gets the exception and nothing of
    the batch is written; the writer goes on with later batches. A waiter that is cancelled does
    not withdraw its events: they are committed all the same.

    ``on_commit`` (optional) is called with the highest committed seq right after each commit, in
    the writer's own turn of the event loop, before the waiters resume (a turn later): the live
    runtime publishes from it, so streams do not wait for the waiter's turn.
    """

    def __init__(self, store: EventStore, *, max_batch_events: int = 10_000,
                 on_commit: Callable[[int], None] | None = None) -> None:
        self._store = store
        self.on_commit = on_commit
        self._max_batch = max_batch_events
        self._pending: collections.deque[tuple[list[Event], asyncio.Future[None]]] = collections.deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_seq: int | None = None  # highest seq committed through this writer
        self.commits = 0  # transactions committed
        self.events_written = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._stopping

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="rfqsim-group-commit")

    async def stop(self) -> None:
        """Commit everything queued, then stop the background task."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        try:
            await task
        finally:
            self._task = None

    def submit(self, events: Sequence[Event]) -> asyncio.Future[None]:
        """Queue ``events`` now; the future resolves when they are committed."""
        if not self.running:
            raise RuntimeError("GroupCommitWriter is not running: call start() first")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_consume)
        batch = list(events)
        if not batch:
            fut.set_result(None)
            return fut
        self._pending.append((batch, fut))
        self._wakeup.set()
        return fut

    async def write(self, events: Sequence[Event]) -> None:
        """Queue ``events`` and wait until the transaction holding them is committed. A caller
        cancelled while it waits does not take its events out of the batch: they are committed
        all the same (awaiting the future itself, not a shield of it, saves the waiter a turn of
        the event loop)."""
        await self.submit(events)

    def _take(self) -> tuple[list[Event], list[asyncio.Future[None]]]:
        events: list[Event] = []
        waiters: list[asyncio.Future[None]] = []
        high = self._last_seq
        while self._pending and (not events or len(events) + len(self._pending[0][0]) <= self._max_batch):
            batch, fut = self._pending.popleft()
            batch.sort(key=lambda ev: ev.seq)
            if high is not None and batch[0].seq <= high:
                if not fut.done():
                    fut.set_exception(StoreConflict(f"out of order: seq {batch[0].seq} handed to the writer "
                                                    f"after seq {high}; nothing written"))
                continue
            high = batch[-1].seq
            events.extend(batch)
            waiters.append(fut)
        return events, waiters

    async def _run(self) -> None:
        try:
            while True:
                if not self._pending:
                    if self._stopping:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                events, waiters = self._take()
                if not events:
                    continue
                try:
                    await self._store.append(events)
                except Exception as exc:
                    for fut in waiters:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                except BaseException as exc:  # cancelled mid-commit: the outcome is unknown
                    for fut in waiters:
                        if not fut.done():
                            fut.set_exception(RuntimeError(f"group commit interrupted: {exc!r}"))
                    raise
                self._last_seq = events[-1].seq
                self.commits += 1
                self.events_written += len(events)
                if self.on_commit is not None:
                    try:
                        self.on_commit(events[-1].seq)
                    except Exception:  # the waiters still learn that their events are committed
                        log.exception("on_commit failed after seq %d", events[-1].seq)
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(None)
        finally:
            self._stopping = True
            while self._pending:
                _, fut = self._pending.popleft()
                if not fut.done():
                    fut.set_exception(RuntimeError("GroupCommitWriter stopped before writing the events"))
