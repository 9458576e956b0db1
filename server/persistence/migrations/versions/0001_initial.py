"""Initial schema: the event log, its audience index, and the inquiry and trade projections.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# INTEGER PRIMARY KEY is the rowid on SQLite (the log is clustered by seq); BIGINT elsewhere.
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("inquiry_id", sa.String(40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
    )
    op.create_index("ix_events_inquiry_id", "events", ["inquiry_id"])

    op.create_table(
        "event_audience",
        sa.Column("participant_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["events.seq"], name="fk_event_audience_seq_events"),
        sa.PrimaryKeyConstraint("participant_id", "seq", name="pk_event_audience"),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "inquiries",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.Column("expires_ts", sa.BigInteger(), nullable=False),
        sa.Column("n_lines", sa.Integer(), nullable=False),
        sa.Column("panel", sa.Text(), nullable=False),
        sa.Column("trade_id", sa.String(40), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inquiries"),
    )

    op.create_table(
        "trades",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("inquiry_id", sa.String(40), nullable=False),
        sa.Column("quote_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("executed_ts", sa.BigInteger(), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("settlement_date", sa.Date(), nullable=False),
        sa.Column("net_settlement", sa.Numeric(20, 2), nullable=False),
        sa.Column("gross_notional", sa.BigInteger(), nullable=False),
        sa.Column("n_lines", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
        sa.UniqueConstraint("inquiry_id", name="uq_trades_inquiry_id"),
    )
    op.create_index("ix_trades_client_id_seq", "trades", ["client_id", "seq"])
    op.create_index("ix_trades_dealer_id_seq", "trades", ["dealer_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_trades_dealer_id_seq", table_name="trades")
    op.drop_index("ix_trades_client_id_seq", table_name="trades")
    op.drop_table("trades")
    op.drop_table("inquiries")
    op.drop_table("event_audience")
    op.drop_index("ix_events_inquiry_id", table_name="events")
    op.drop_table("events")
