"""Alembic environment for rfqsim.

Normally run through ``EventStore.migrate()``, which hands over an open connection (already in a
transaction, holding the migration lock) in ``config.attributes["connection"]``. Without one, it
connects to ``sqlalchemy.url`` itself (the async drivers: ``sqlite+aiosqlite``, ``postgresql+asyncpg``);
in offline mode it prints the SQL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from server.persistence.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: run migrations through EventStore.migrate()")
    asyncio.run(_run_from_url(url))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
