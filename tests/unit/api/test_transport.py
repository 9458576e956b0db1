"""CoalescingTransport: what one turn of the event loop writes reaches the socket in one write."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from server.api.transport import CoalescingTransport


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False
        self.eof = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = self.aborted = True

    def write_eof(self) -> None:
        self.eof = True

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def wrap() -> tuple[CoalescingTransport, Recorder]:
    rec = Recorder()
    return CoalescingTransport(rec, asyncio.get_running_loop()), rec  # type: ignore[arg-type]


async def test_writes_of_one_turn_go_out_together_in_order() -> None:
    t, rec = wrap()
    t.write(b"HTTP/1.1 200 OK\r\n\r\n")
    t.write(memoryview(b"body"))
    t.writelines([b"-", bytearray(b"more")])
    t.write(b"")
    assert rec.writes == [] and t.get_write_buffer_size() == 7 + 19 + 4 + 1 + 4
    await asyncio.sleep(0)
    assert rec.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody-more"]
    t.write(b"next turn")
    await asyncio.sleep(0)
    assert rec.writes[1:] == [b"next turn"]


async def test_close_sends_what_is_pending_first() -> None:
    t, rec = wrap()
    t.write(b"last words")
    t.close()
    assert rec.writes == [b"last words"] and rec.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing more to send
    assert rec.writes == [b"last words"]


async def test_abort_drops_what_is_pending() -> None:
    t, rec = wrap()
    t.write(b"never")
    t.abort()
    await asyncio.sleep(0)
    assert rec.writes == [] and rec.aborted


async def test_nothing_is_written_to_a_transport_the_peer_closed() -> None:
    t, rec = wrap()
    t.write(b"too late")
    rec.closed = True
    await asyncio.sleep(0)
    assert rec.writes == []


async def test_write_eof_flushes_and_the_rest_is_the_wrapped_transports() -> None:
    t, rec = wrap()
    t.write(b"x")
    t.write_eof()
    assert rec.writes == [b"x"] and rec.eof
    assert t.get_extra_info("peername") == ("127.0.0.1", 1)
    with pytest.raises(AttributeError):
        t.no_such_method  # noqa: B018


async def test_a_real_socket_receives_the_bytes_whole_and_in_order() -> None:
    loop = asyncio.get_running_loop()
    server_sock, client_sock = socket.socketpair()
    client_sock.setblocking(False)
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, server_sock)
    t = CoalescingTransport(transport, loop)  # type: ignore[arg-type]
    for i in range(10):
        t.write(b"frame %d;" % i)
    await asyncio.sleep(0.01)
    assert client_sock.recv(4096) == b"".join(b"frame %d;" % i for i in range(10))
    t.close()
    client_sock.close()
