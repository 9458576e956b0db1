"""Bring a database's schema up to date: ``await migrate(url)``."""

from __future__ import annotations

from typing import Any

from server.persistence.store import EventStore


async def migrate(url: str, *, connect_args: dict[str, Any] | None = None) -> None:
    """Run the Alembic migrations (``upgrade head``) against ``url``; safe to run again."""
    store = await EventStore.open(url, connect_args=connect_args)
    try:
        await store.migrate()
    finally:
        await store.close()
