"""``WS /v1/stream``: each participant's events, in sequence order, resumable.

Every event frame is a JSON object with ``type`` and ``seq``. ``?from_seq=N`` replays the caller's
events after N from the event log, then continues live without a gap or a repeat. A dealer also
sends its actions on the same socket: ``quote``, ``pass`` and ``withdraw`` (each may carry a
``ref``, echoed in the ``ack`` or ``error`` reply). Control frames (hello, ack, error, pong) carry
no ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from server.domain.commands import Command, PassInquiry, SubmitQuote, WithdrawQuote
from server.domain.errors import InvalidInput, VenueError
from server.domain.types import NS_PER_SECOND, Role
from server.participants import Participant

log = logging.getLogger("rfqsim.stream")
router = APIRouter()
HISTORY_PAGE = 1000


@router.websocket("/v1/stream")
async def stream(ws: WebSocket) -> None:
    from server.api.app import authenticate

    svc = ws.app.state.services
    api_key = ws.query_params.get("api_key")
    header = ws.headers.get("authorization") or (f"Bearer {api_key}" if api_key else None)
    # Refusals happen after the handshake, as an error frame and a close code, so that every client
    # (browsers included, which never see a refused handshake's status) can tell why.
    try:
        who = authenticate(svc, header)
    except VenueError as exc:
        await _refuse(ws, 4401, exc)
        return
    raw_from = ws.query_params.get("from_seq")
    try:
        from_seq = int(raw_from) if raw_from not in (None, "") else None
        if from_seq is not None and from_seq < 0:
            raise ValueError
    except ValueError:
        await _refuse(ws, 4422, InvalidInput(f"{raw_from!r} is not a non-negative integer", field="from_seq"))
        return
    if from_seq is not None and from_seq > svc.runtime.published_seq:
        await _refuse(ws, 4409, InvalidInput(
            f"from_seq {from_seq} is ahead of the venue's log, which ends at {svc.runtime.published_seq}: "
            "resuming there would skip events (was the venue reset?)", field="from_seq", code="from_seq_ahead"))
        return
    await ws.accept()
    session = _Session(ws, svc, who)
    await session.run(from_seq)


async def _refuse(ws: WebSocket, code: int, exc: VenueError) -> None:
    await ws.accept()
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await ws.send_text(orjson.dumps({"type": "error", "seq": None, "error": exc.to_dict()}).decode())
        await ws.close(code=code, reason=exc.reason[:120])


class _Session:
    def __init__(self, ws: WebSocket, svc: Any, who: Participant) -> None:
        self.ws = ws
        self.svc = svc
        self.who = who
        self.lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        text = orjson.dumps(message).decode()
        async with self.lock:
            await self.ws.send_text(text)

    async def run(self, from_seq: int | None) -> None:
        runtime = self.svc.runtime
        sub = runtime.subscribe(self.who.id)
        reader = asyncio.create_task(self._read())
        reader.add_done_callback(lambda _: sub.interrupt())  # the peer went away: stop waiting
        try:
            last = runtime.published_seq if from_seq is None else from_seq
            await self.send({"type": "hello", "participant_id": self.who.id, "role": self.who.role.value,
                             "seq": None, "venue_seq": runtime.published_seq, "from_seq": last})
            if from_seq is not None:
                last = await self._replay(from_seq, runtime.published_seq)
            events = sub.events
            while not reader.done():
                await sub.wait()  # events, a lag, the venue closing, or the peer gone
                if sub.lagged:
                    await self.send({"type": "error", "seq": None, "error": {
                        "code": "lagged", "field": None,
                        "reason": f"too far behind; reconnect with from_seq={last}"}})
                    await self.ws.close(code=4408, reason="lagged")
                    break
                while events and not reader.done():  # all that is queued, in one turn of the loop
                    event = events.popleft()
                    if event.seq > last:
                        await self.send(event.wire())
                        last = event.seq
                if sub.closed and not events:
                    await self.ws.close(code=1001, reason="venue shutting down")
                    break
        except (WebSocketDisconnect, RuntimeError) as exc:
            log.debug("stream of %s ended: %r", self.who.id, exc)
        finally:
            runtime.unsubscribe(sub)
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def _replay(self, after: int, upto: int) -> int:
        last = after
        while last < upto:
            batch = await self.svc.store.events_for(self.who.id, last, HISTORY_PAGE)
            batch = [e for e in batch if e.seq <= upto]
            for event in batch:
                await self.send(event.wire())
                last = event.seq
            if len(batch) < HISTORY_PAGE:
                break
        return max(last, upto)

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                text = (frame.get("bytes") or b"").decode("utf-8", errors="replace")  # binary frames too
            ref: Any = None
            try:
                message = orjson.loads(text)
                if not isinstance(message, dict):
                    raise InvalidInput("send a JSON object with a type", field="type")
                ref = message.get("ref")
                kind = message.get("type")
                if kind == "ping":
                    await self.send({"type": "pong", "seq": None, "ref": ref})
                    continue
                command = self._command(kind, message)
                outcome = await self.svc.runtime.execute(command)
                if outcome.error is not None:
                    raise outcome.error
                reply: dict[str, Any] = {"type": "ack", "seq": None, "ref": ref, "action": kind,
                                         "inquiry_id": message.get("inquiry_id")}
                if kind == "quote":
                    reply["quote_id"] = outcome.ref
                await self.send(reply)
            except orjson.JSONDecodeError:
                await self._error(ref, InvalidInput("not valid JSON", field="message"))
            except VenueError as exc:
                await self._error(ref, exc)
            except (WebSocketDisconnect, RuntimeError):
                return

    async def _error(self, ref: Any, exc: VenueError) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self.send({"type": "error", "seq": None, "ref": ref, "error": exc.to_dict()})

    def _command(self, kind: Any, m: dict[str, Any]) -> Command:
        if kind not in ("quote", "pass", "withdraw"):
            raise InvalidInput(f"unknown message type {kind!r}: quote, pass, withdraw or ping", field="type")
        if self.who.role is not Role.DEALER:
            raise InvalidInput(f"{self.who.id} is a client; only dealers send {kind}", field="type",
                               code="forbidden")
        inquiry_id = m.get("inquiry_id")
        if not isinstance(inquiry_id, str):
            raise InvalidInput("required", field="inquiry_id")
        reason = str(m.get("reason", ""))[:500]
        if kind == "pass":
            return PassInquiry(self.who.id, inquiry_id, reason)
        if kind == "withdraw":
            return WithdrawQuote(self.who.id, inquiry_id, reason)
        valid_for = m.get("valid_for")
        valid_ns = None
        if valid_for is not None:
            if not isinstance(valid_for, int | float) or not math.isfinite(valid_for) or valid_for <= 0:
                raise InvalidInput("seconds, a positive number", field="valid_for")
            valid_ns = int(valid_for * NS_PER_SECOND)
        line_prices = m.get("line_prices")
        if line_prices is not None and not (isinstance(line_prices, list) and all(
                isinstance(p, int | float) for p in line_prices)):
            raise InvalidInput("a list of numbers, one clean price per line", field="line_prices")
        return SubmitQuote(
            dealer_id=self.who.id, inquiry_id=inquiry_id, level=_num(m, "level"), bid=_num(m, "bid"),
            offer=_num(m, "offer"), net_price=_num(m, "net_price"),
            line_prices=tuple(float(p) for p in line_prices) if line_prices is not None else None,
            valid_for_ns=valid_ns, dealer_ref=str(m["ref"])[:100] if m.get("ref") is not None else None)


def _num(m: dict[str, Any], key: str) -> float | None:
    value = m.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("a number", field=key)
    return float(value)
