"""Persistence fixtures: a fresh database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from server.persistence.store import EventStore, normalize_url


@dataclass(frozen=True)
class Target:
    """Where a test's database lives; ``open()`` may be called again to reopen it."""

    backend: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)

    async def open(self) -> EventStore:
        return await EventStore.open(self.url, connect_args=self.connect_args)


@pytest.fixture
async def pg_target(postgres_url: str) -> AsyncIterator[Target]:
    """A fresh schema on the test PostgreSQL server, dropped afterwards."""
    schema = f"rfqsim_test_{secrets.token_hex(6)}"
    admin = create_async_engine(normalize_url(postgres_url), poolclass=NullPool)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Target("postgres", postgres_url, {"server_settings": {"search_path": schema}})
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "sqlite":
        return Target("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'db' / 'rfqsim.db'}")
    pg: Target = request.getfixturevalue("pg_target")
    return pg


@pytest.fixture
async def store(target: Target) -> AsyncIterator[EventStore]:
    """An open, migrated store on an empty database."""
    s = await target.open()
    await s.migrate()
    try:
        yield s
    finally:
        await s.close()
