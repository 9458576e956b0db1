"""One send per connection per turn of the event loop.

uvicorn writes an HTTP response's head and its body with two ``transport.write`` calls, and a
websocket frame with one each; with the transport's buffer empty, each is a ``send`` system call
there and then. On loopback a send also runs the receiving side's TCP processing, so sends were
about a fifth of the venue's time per RFQ lifecycle (bench/bench_api.py): two responses of two
sends and ten stream frames of one. ``CoalescingTransport`` keeps what is written during one
callback of the event loop and sends it at the end of that turn, in one call: a response in one
send, the inquiry's events and quotes in one. Nothing waits longer than the loop's current turn;
closing a connection sends what is pending first.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport whose writes within one turn of the event loop reach the socket as one write.
    Everything else is the wrapped transport's."""

    __slots__ = ("_loop", "_pending", "_scheduled", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._pending.append(bytes(data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is pending now (the loop calls this at the end of the turn that wrote)."""
        self._scheduled = False
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(b) for b in self._pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a ``CoalescingTransport``; a websocket upgraded from it keeps
    the same transport, so stream frames are coalesced too. ``rfqsim serve`` runs uvicorn with it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        wrapped = CoalescingTransport(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(cast(asyncio.Transport, wrapped))
