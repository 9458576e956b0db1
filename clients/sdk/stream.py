"""``WS /v1/stream`` as a resumable async iterator of :class:`~clients.sdk.models.Event`.

A dropped connection (network error, venue restart, ``lagged``) is reopened with backoff and
``?from_seq=<last seq seen>``, so the iterator yields every event once, in order: the venue
replays what was missed, and anything at or below the last sequence number is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from clients.sdk.errors import Conflict, InvalidRequest, Unauthorized, Unavailable
from clients.sdk.models import Event

log = logging.getLogger("rfqsim.sdk.stream")


def ws_url(base_url: str, path: str = "/v1/stream") -> str:
    """``http://host:port`` -> ``ws://host:port/v1/stream`` (``https`` -> ``wss``)."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower(), "ws")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, "", ""))


class EventStream:
    """An async iterator (and async context manager) over the caller's events.

    ``from_seq=None`` starts with the events after the moment of connection; ``from_seq=N`` replays
    the caller's events after N first. ``last_seq`` is the last sequence number yielded (or, before
    the first event, the point the stream resumes from). ``reconnects`` counts reopened connections.

    ``max_retries`` consecutive failed connection attempts raise :class:`Unavailable`
    (``None``: keep trying). An unknown API key raises :class:`Unauthorized` at once, and a venue
    whose log ends before the point of resumption (reset, or a wrong ``from_seq``) :class:`Conflict`
    ``from_seq_ahead`` (the venue itself would silently skip its events up to that point).

    ``include_control=True`` also yields the control frames (``ack``, ``error``, ``pong``) as events with
    ``seq == -1``. ``drop_connection()`` aborts the socket as a network failure would, for tests and drills.
    """

    def __init__(self, base_url: str, api_key: str, *, from_seq: int | None = None,
                 include_control: bool = False, max_retries: int | None = 10, backoff: float = 0.1,
                 max_backoff: float = 5.0, open_timeout: float = 10.0, max_size: int | None = 2**27) -> None:
        if from_seq is not None and (not isinstance(from_seq, int) or from_seq < 0):
            raise InvalidRequest("a non-negative integer", status=422, code="invalid", field="from_seq")
        self.url = ws_url(base_url)
        self._api_key = api_key
        self.last_seq: int | None = from_seq
        self.include_control = include_control
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.max_size = max_size
        self.hello: dict[str, Any] | None = None
        self.reconnects = 0
        self.connections = 0
        self._ws: ClientConnection | None = None
        self._closed = False

    # -- iteration ------------------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        frame = await self.next_frame()
        if frame is None:
            raise StopAsyncIteration
        return frame

    async def next_frame(self) -> Event | None:
        """The next event (``None`` once closed)."""
        while not self._closed:
            ws = self._ws or await self._connect()
            if ws is None:
                return None
            try:
                raw = await ws.recv()
            except ConnectionClosed as exc:
                if self._closed:
                    return None
                log.info("stream dropped (%s); resuming after seq %s", exc, self.last_seq)
                self._ws = None
                self.reconnects += 1
                continue
            try:
                frame = orjson.loads(raw)
            except orjson.JSONDecodeError:
                log.warning("ignoring a frame that is not JSON: %r", raw[:200])
                continue
            if not isinstance(frame, dict):
                continue
            seq = frame.get("seq")
            if seq is None:
                if self.include_control and "type" in frame:
                    return Event(type=str(frame["type"]), seq=-1, ts=0,
                                 data={k: v for k, v in frame.items() if k not in ("type", "seq", "ts")})
                continue  # hello, ack, pong, error (a ``lagged`` error is followed by a close)
            seq = int(seq)
            if self.last_seq is not None and seq <= self.last_seq:
                continue  # already yielded: never repeat
            self.last_seq = seq
            return Event.from_frame(frame)
        return None

    async def next(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` seconds (the stream stays usable)."""
        event = await asyncio.wait_for(self.next_frame(), timeout)
        if event is None:
            raise Unavailable("the stream is closed", status=0, code="closed")
        return event

    async def wait_for(self, *, timeout: float | None = None, **match: Any) -> Event:
        """The next event whose fields equal ``match`` (``type=...``, ``inquiry_id=...``); others are
        consumed and dropped. Raises ``TimeoutError``."""
        async def find() -> Event:
            async for event in self:
                if all((event.type if k == "type" else event.data.get(k)) == v for k, v in match.items()):
                    return event
            raise Unavailable("the stream closed", status=0, code="closed")

        return await asyncio.wait_for(find(), timeout)

    async def send(self, message: dict[str, Any]) -> None:
        """Send one frame: a dealer's ``quote`` / ``pass`` / ``withdraw`` or a ``ping`` (with a ``ref``).
        The replies (``ack``, ``error``, ``pong``) come back as events with ``seq == -1`` when the stream
        was opened with ``include_control=True``. Not resent after a reconnect."""
        ws = self._ws or await self._connect()
        if ws is None:
            raise Unavailable("the stream is closed", status=0, code="closed")
        await ws.send(orjson.dumps(message).decode())

    # -- connection -----------------------------------------------------------------------------
    async def _connect(self) -> ClientConnection | None:
        failures = 0
        delay = self.backoff
        while not self._closed:
            url = self.url
            if self.last_seq is not None:
                url += "?" + urlencode({"from_seq": self.last_seq})
            try:
                ws = await connect(url, additional_headers={"Authorization": f"Bearer {self._api_key}"},
                                   open_timeout=self.open_timeout, max_size=self.max_size, compression=None,
                                   ping_interval=20, ping_timeout=20)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    raise Unauthorized(f"the venue refused the websocket at {self.url} (HTTP {status}): check the "
                                       "API key", status=401, code="unauthorized", field="Authorization") from None
                failure: Exception = exc
            except InvalidURI as exc:
                raise InvalidRequest(f"not a websocket URL: {exc}", status=0, code="invalid", field="url") from None
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                failure = exc
            else:
                try:
                    hello = orjson.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
                except (ConnectionClosed, TimeoutError) as exc:
                    with contextlib.suppress(Exception):
                        await ws.close()
                    failure = exc
                else:
                    if isinstance(hello, dict) and hello.get("type") == "error":
                        # the venue refused the stream after the handshake: say why, do not retry
                        with contextlib.suppress(Exception):
                            await ws.close()
                        raise _refusal(hello.get("error") or {}, self.url)
                    if isinstance(hello, dict) and hello.get("type") == "hello":
                        self.hello = hello
                        venue_seq = hello.get("venue_seq")
                        if self.last_seq is not None and isinstance(venue_seq, int) and venue_seq < self.last_seq:
                            # The venue would skip its events up to our seq: a reset venue, or a wrong from_seq.
                            await ws.close()
                            raise Conflict(f"resuming after seq {self.last_seq}, but the venue's log ends at "
                                           f"{venue_seq} (was it reset?); events would be skipped", status=409,
                                           code="from_seq_ahead", field="from_seq")
                        if self.last_seq is None and isinstance(hello.get("from_seq"), int):
                            self.last_seq = hello["from_seq"]  # where a reconnect resumes
                    self.connections += 1
                    if self._closed:
                        await ws.close()
                        return None
                    self._ws = ws
                    return ws
            failures += 1
            if self.max_retries is not None and failures > self.max_retries:
                raise Unavailable(f"cannot open the event stream at {self.url}: {failure!r}", status=0,
                                  code="unavailable") from None
            log.info("stream connect failed (%r); retry %d in %.2f s", failure, failures, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.max_backoff)
        return None

    async def drop_connection(self) -> None:
        """Abort the current websocket without a closing handshake, as a network failure would.

        For tests and fault drills: the iterator reconnects and resumes after the last event it
        yielded, losing and repeating nothing."""
        ws = self._ws
        if ws is not None:
            ws.transport.abort()
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        self._closed = True
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def __aenter__(self) -> EventStream:
        if self._ws is None:
            await self._connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()


__all__ = ["EventStream", "ws_url"]


def _refusal(error: dict[str, Any], url: str) -> Exception:
    code = str(error.get("code") or "invalid")
    reason = str(error.get("reason") or "refused")
    field = error.get("field")
    if code == "unauthorized":
        return Unauthorized(f"the venue refused the websocket at {url}: {reason}", status=401, code=code,
                            field=field or "Authorization")
    if code == "from_seq_ahead":
        return Conflict(reason, status=409, code=code, field=field or "from_seq")
    return InvalidRequest(reason, status=422, code=code, field=field)
