"""Database tables: the event log and the projections derived from it.

The ``events`` table is the record (DESIGN.md, principle 2): one row per event, its canonical JSON
(``Event.to_json()``) stored verbatim so a replay is byte-exact. ``event_audience`` says who may
see each event and lets one participant's stream be read with an index range scan; on a SQLite
file it is committed in batches a moment behind the events (``EventStore.flush``; every read of it
catches it up first, and a restart restores what a crash left out from the log).
``inquiries`` and ``trades`` are projections, written in the same transaction as the events that
change them; they can always be rebuilt from the log.

The schema is created by the Alembic migrations in ``migrations/versions``; these classes must stay
in step with them (a test compares the two).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import cast

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, MetaData, Numeric, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# On SQLite an ``INTEGER PRIMARY KEY`` is the table's rowid: the log is clustered by seq and a
# range scan by seq reads consecutive pages. Elsewhere it is a 64-bit integer.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EventRow(Base):
    """One event of the venue-wide log; ``seq`` is assigned by the engine, never by the database."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    inquiry_id: Mapped[str | None] = mapped_column(String(40), index=True)
    payload: Mapped[str] = mapped_column(Text)  # Event.to_json() decoded as UTF-8, byte-exact


class EventAudienceRow(Base):
    """Who may see an event: one row per (participant, event)."""

    __tablename__ = "event_audience"
    # clustered by (participant_id, seq) on SQLite
    __table_args__ = ({"sqlite_with_rowid": False},)

    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("events.seq"), primary_key=True)


class InquiryRow(Base):
    """Projection: one row per inquiry, its current state."""

    __tablename__ = "inquiries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    created_ts: Mapped[int] = mapped_column(BigInteger)
    expires_ts: Mapped[int] = mapped_column(BigInteger)
    n_lines: Mapped[int] = mapped_column(Integer)
    panel: Mapped[str] = mapped_column(Text)  # JSON list of dealer ids
    trade_id: Mapped[str | None] = mapped_column(String(40))
    last_seq: Mapped[int] = mapped_column(BigInteger)  # seq of the last event that changed the row


class TradeRow(Base):
    """Projection: one row per booked trade. At most one trade per inquiry, enforced by the database."""

    __tablename__ = "trades"
    __table_args__ = (
        Index("ix_trades_client_id_seq", "client_id", "seq"),
        Index("ix_trades_dealer_id_seq", "dealer_id", "seq"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    inquiry_id: Mapped[str] = mapped_column(String(40), unique=True)
    quote_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    dealer_id: Mapped[str] = mapped_column(String(64))
    executed_ts: Mapped[int] = mapped_column(BigInteger)
    trade_date: Mapped[date] = mapped_column(Date)
    settlement_date: Mapped[date] = mapped_column(Date)
    # Exact on PostgreSQL. SQLite has no decimal type: it keeps a float64, which is exact to the
    # cent below about 10**13 USD, and SQLAlchemy hands back a Decimal rounded to 2 places.
    net_settlement: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    gross_notional: Mapped[int] = mapped_column(BigInteger)
    n_lines: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)  # the trade.booked data as canonical JSON
    seq: Mapped[int] = mapped_column(BigInteger)


events_table = cast(Table, EventRow.__table__)
event_audience_table = cast(Table, EventAudienceRow.__table__)
inquiries_table = cast(Table, InquiryRow.__table__)
trades_table = cast(Table, TradeRow.__table__)
