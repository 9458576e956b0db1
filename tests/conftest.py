"""Shared fixtures."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.server import VenueProcess

# CI runs the property tests on a fixed sequence of examples (a red build must reproduce and must be
# caused by the change); development runs explore new examples every time.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _ping_postgres(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=10)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server for tests: env RFQSIM_TEST_POSTGRES_URL, or the default when unset.

    Set to the empty string to skip PostgreSQL tests. A URL that is in force but does not answer
    fails the tests: a silent skip would hide a broken database set-up.
    """
    url = os.environ.get("RFQSIM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    if url == "":
        pytest.skip("PostgreSQL tests skipped: RFQSIM_TEST_POSTGRES_URL is set to the empty string")
    try:
        asyncio.run(_ping_postgres(url))
    except Exception as exc:
        from sqlalchemy.engine import make_url

        shown = make_url(url).render_as_string(hide_password=True)
        pytest.fail(f"PostgreSQL at {shown} does not answer: {exc!r}. Start it, point "
                    "RFQSIM_TEST_POSTGRES_URL at a server, or set RFQSIM_TEST_POSTGRES_URL='' to skip "
                    "the PostgreSQL tests.", pytrace=False)
    return url


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VenueProcess]:
    """A real venue process on loopback (SQLite), one per test module."""
    workdir: Path = tmp_path_factory.mktemp("venue")
    proc = VenueProcess(workdir, f"sqlite+aiosqlite:///{workdir / 'rfqsim.db'}").start()
    try:
        yield proc
    finally:
        proc.stop()
