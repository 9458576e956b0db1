"""A lean keep-alive HTTP/1.1 client for benchmarks: it measures the server, not the client.

httpx is the right client for applications and tests; at thousands of requests per second on a
2-core machine its own overhead would dominate the figures, so the benchmarks speak HTTP/1.1 over
asyncio streams directly (JSON bodies, Content-Length framing, no chunked responses expected).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson


class Connection:
    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.base = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        assert self.reader is not None and self.writer is not None
        payload = b"" if body is None else orjson.dumps(body)
        head = f"{method} {path} HTTP/1.1\r\n{self.base}Content-Length: {len(payload)}\r\n"
        if payload:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        data = await self.reader.readexactly(length) if length else b""
        return status, orjson.loads(data) if data else None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


def start_venue(workdir: Path, port: int, participants: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    import os

    import httpx

    log = (workdir / "venue.log").open("wb")
    prefix: list[str] = []
    if os.environ.get("RFQSIM_BENCH_PROFILE"):  # e.g. /tmp/venue.txt: py-spy collapsed stacks of the venue
        prefix = [str(Path(sys.executable).parent / "py-spy"), "record", "--gil", "--rate",
                  os.environ.get("RFQSIM_BENCH_PROFILE_RATE", "100"), "--format", "raw", "-o",
                  os.environ["RFQSIM_BENCH_PROFILE"], "--"]
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--participants", str(participants),
         "--database-url", f"sqlite+aiosqlite:///{workdir / 'bench.db'}", "--log-level", "warning"],
        cwd=workdir, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((workdir / "venue.log").read_text())
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("venue did not start")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]
