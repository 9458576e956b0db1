"""A real venue process on a loopback port, for integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "client-1": "test-client-1-key-0000000000",
    "client-2": "test-client-2-key-0000000000",
    "dealer-remote": "test-dealer-remote-key-00000",
    "dealer-other": "test-dealer-other-key-000000",
}
ROLES = {"client-1": "client", "client-2": "client", "dealer-remote": "dealer", "dealer-other": "dealer"}
PANEL = ("dealer-a", "dealer-b", "dealer-c", "dealer-d", "dealer-e")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_participants(path: Path) -> Path:
    path.write_text("".join(f'[[participant]]\nid = "{p}"\nrole = "{ROLES[p]}"\napi_key = "{k}"\n\n'
                            for p, k in KEYS.items()))
    return path


@dataclass
class VenueProcess:
    workdir: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    def start(self, timeout: float = 60.0) -> VenueProcess:
        participants = write_participants(self.workdir / "participants.toml")
        level = os.environ.get("RFQSIM_TEST_VENUE_LOG_LEVEL", "warning")
        env = {**os.environ, "RFQSIM_DEALER_PANEL": ",".join(PANEL), "RFQSIM_LOG_LEVEL": level, **self.env}
        self.log_path = self.workdir / f"venue-{self.port}.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port), "--database-url",
             self.database_url, "--participants", str(participants)],
            cwd=self.workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"venue exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"venue did not answer within {timeout} s:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def client(self, participant: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30,
                                 headers={"Authorization": f"Bearer {KEYS[participant]}"})


@contextlib.asynccontextmanager
async def stream(venue: VenueProcess, participant: str, from_seq: int | None = None,
                 header: bool = True) -> AsyncIterator[ClientConnection]:
    url = venue.ws_url
    params = [] if from_seq is None else [f"from_seq={from_seq}"]
    headers = {}
    if header:
        headers["Authorization"] = f"Bearer {KEYS[participant]}"
    else:
        params.append(f"api_key={KEYS[participant]}")
    if params:
        url += "?" + "&".join(params)
    async with connect(url, additional_headers=headers, max_size=2**26) as ws:
        hello = orjson.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["participant_id"] == participant
        yield ws


async def next_event(ws: ClientConnection, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
    """The next frame whose fields equal ``match`` (others are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise TimeoutError(f"no frame matching {match} within {timeout} s")
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), remaining))
        if all(frame.get(k) == v for k, v in match.items()):
            return dict(frame)


async def drain(ws: ClientConnection, quiet: float = 0.3) -> list[dict[str, Any]]:
    """Every frame until the socket stays quiet for ``quiet`` seconds."""
    frames: list[dict[str, Any]] = []
    while True:
        try:
            frames.append(orjson.loads(await asyncio.wait_for(ws.recv(), quiet)))
        except TimeoutError:
            return frames


async def wait_quotes(c: httpx.AsyncClient, path: str, n: int, timeout: float = 10) -> dict[str, Any]:
    """The inquiry at ``path`` once it has ``n`` live quotes (or as it is when ``timeout`` runs out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        body = (await c.get(path)).json()
        if len([q for q in body["quotes"] if q["state"] == "live"]) >= n or loop.time() > deadline:
            return dict(body)
        await asyncio.sleep(0.02)


def assert_error(r: httpx.Response, status: int, field: str | None = None, contains: str = "") -> dict[str, Any]:
    """``r`` is the venue's JSON error with this status (and field, and words in its reason)."""
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) >= {"code", "field", "reason"}
    if field is not None:
        assert err["field"] == field, err
    assert contains in err["reason"], err
    return dict(err)


def unique_db_name() -> str:
    return f"rfqsim_it_{secrets.token_hex(5)}"
