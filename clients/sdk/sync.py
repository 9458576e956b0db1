"""The blocking client: :class:`VenueClient`, the same methods as :class:`AsyncVenueClient`.

How: each ``VenueClient`` owns a private asyncio event loop running in a daemon thread and runs the
async client's coroutines on it (``asyncio.run_coroutine_threadsafe``), so both clients share one
implementation: the same retries, idempotency keys, models, errors and stream resumption. Async
iterators (events, quotes, trades) become ordinary iterators. The blocking client is usable from
any thread, but not from inside a coroutine running on its own loop; in async code use
:class:`AsyncVenueClient`. Close it (``with VenueClient(...) as venue:``) to stop the thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx

from clients.sdk.client import AsyncVenueClient, LineLike, Progress, Quantity
from clients.sdk.models import (
    Event,
    Health,
    Inquiry,
    Instrument,
    MarketData,
    OptimiseResult,
    PretradeReport,
    Quote,
    QuoteBoard,
    Trade,
    TradePage,
    TradeTca,
)
from clients.sdk.stream import EventStream

T = TypeVar("T")


class _LoopThread:
    """An event loop of its own, in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rfqsim-sdk-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("a blocking VenueClient call from its own event loop; use AsyncVenueClient")
        if self.loop.is_closed():
            coro.close()
            raise RuntimeError("this VenueClient is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class SyncIterator(Generic[T]):
    """A blocking iterator over an async iterator that lives on the client's loop."""

    def __init__(self, runner: _LoopThread, source: AsyncIterator[T]) -> None:
        self._runner = runner
        self._source = source
        self._done = False

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            return self._runner.run(_anext(self._source))
        except StopAsyncIteration:
            self._done = True
            raise StopIteration from None

    def close(self) -> None:
        if not self._done:
            self._done = True
            aclose = getattr(self._source, "aclose", None)
            if aclose is not None:
                self._runner.run(aclose())

    def __enter__(self) -> SyncIterator[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


async def _anext(source: AsyncIterator[T]) -> T:
    return await source.__anext__()


class SyncEventStream(SyncIterator[Event]):
    """The event stream, blocking: ``for event in venue.events(): ...``; see :class:`EventStream`."""

    def __init__(self, runner: _LoopThread, stream: EventStream) -> None:
        super().__init__(runner, stream)
        self.stream = stream

    @property
    def last_seq(self) -> int | None:
        return self.stream.last_seq

    @property
    def hello(self) -> dict[str, Any] | None:
        return self.stream.hello

    @property
    def reconnects(self) -> int:
        return self.stream.reconnects

    def connect(self) -> SyncEventStream:
        self._runner.run(self.stream.__aenter__())
        return self

    def next(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` seconds."""
        return self._runner.run(self.stream.next(timeout))

    def wait_for(self, *, timeout: float | None = None, **match: Any) -> Event:
        """The next event whose fields equal ``match``; the others are consumed and dropped."""
        return self._runner.run(self.stream.wait_for(timeout=timeout, **match))

    def drop_connection(self) -> None:
        """Abort the websocket as a network failure would (tests): the iterator resumes without a gap."""
        self._runner.run(self.stream.drop_connection())

    def __enter__(self) -> SyncEventStream:
        return self.connect()


class VenueClient:
    """The venue's API, blocking. ``with VenueClient(url, key) as venue: venue.create_rfq(...)``."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.2, max_backoff: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._runner = _LoopThread()

        async def make() -> AsyncVenueClient:  # built on its loop
            return AsyncVenueClient(base_url, api_key, timeout=timeout, retries=retries, backoff=backoff,
                                    max_backoff=max_backoff, transport=transport)

        self.aio = self._runner.run(make())

    @property
    def base_url(self) -> str:
        return self.aio.base_url

    @property
    def api_key(self) -> str | None:
        return self.aio.api_key

    def close(self) -> None:
        if not self._runner.loop.is_closed():
            self._runner.run(self.aio.aclose())
            self._runner.close()

    def __enter__(self) -> VenueClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def healthz(self) -> Health:
        return self._run(self.aio.healthz())

    def instruments(self, q: str = "", *, rating: str | None = None, sector: str | None = None,
                    grade: str | None = None, limit: int = 50, offset: int = 0) -> list[Instrument]:
        return self._run(self.aio.instruments(q, rating=rating, sector=sector, grade=grade, limit=limit,
                                              offset=offset))

    def iter_instruments(self, q: str = "", *, rating: str | None = None, sector: str | None = None,
                         grade: str | None = None, page_size: int = 500) -> SyncIterator[Instrument]:
        return SyncIterator(self._runner, self.aio.iter_instruments(q, rating=rating, sector=sector, grade=grade,
                                                                    page_size=page_size))

    def instrument(self, identifier: str) -> Instrument:
        return self._run(self.aio.instrument(identifier))

    def market(self, identifier: str) -> MarketData:
        return self._run(self.aio.market(identifier))

    def create_rfq(self, instrument: str, side: str | None, quantity: Quantity, *, quote_type: str = "price",
                   panel: Sequence[str] | str | None = None, time_limit: float | None = None,
                   idempotency_key: str | None = None) -> Inquiry:
        return self._run(self.aio.create_rfq(instrument, side, quantity, quote_type=quote_type, panel=panel,
                                             time_limit=time_limit, idempotency_key=idempotency_key))

    def rfq(self, inquiry_id: str) -> Inquiry:
        return self._run(self.aio.rfq(inquiry_id))

    def award_rfq(self, inquiry_id: str, quote_id: str | Quote, side: str | None = None,
                  idempotency_key: str | None = None) -> Trade:
        return self._run(self.aio.award_rfq(inquiry_id, quote_id, side=side, idempotency_key=idempotency_key))

    def cancel_rfq(self, inquiry_id: str, reason: str = "") -> Inquiry:
        return self._run(self.aio.cancel_rfq(inquiry_id, reason))

    def create_portfolio(self, lines: Sequence[LineLike] | str | os.PathLike[str], *,
                         panel: Sequence[str] | str | None = None, time_limit: float | None = None,
                         name: str | None = None, idempotency_key: str | None = None, include_lines: bool = True,
                         progress: Progress | None = None) -> Inquiry:
        """``progress`` is called on the client's loop thread."""
        return self._run(self.aio.create_portfolio(lines, panel=panel, time_limit=time_limit, name=name,
                                                   idempotency_key=idempotency_key, include_lines=include_lines,
                                                   progress=progress))

    def portfolio(self, inquiry_id: str, lines: bool = True) -> Inquiry:
        return self._run(self.aio.portfolio(inquiry_id, lines=lines))

    def award_portfolio(self, inquiry_id: str, quote_id: str | Quote, idempotency_key: str | None = None) -> Trade:
        return self._run(self.aio.award_portfolio(inquiry_id, quote_id, idempotency_key=idempotency_key))

    def cancel_portfolio(self, inquiry_id: str, reason: str = "") -> Inquiry:
        return self._run(self.aio.cancel_portfolio(inquiry_id, reason))

    def inquiry(self, inquiry_id: str, lines: bool = True) -> Inquiry:
        return self._run(self.aio.inquiry(inquiry_id, lines=lines))

    def award(self, inquiry_id: str, quote_id: str | Quote, side: str | None = None,
              idempotency_key: str | None = None) -> Trade:
        return self._run(self.aio.award(inquiry_id, quote_id, side=side, idempotency_key=idempotency_key))

    def cancel(self, inquiry_id: str, reason: str = "") -> Inquiry:
        return self._run(self.aio.cancel(inquiry_id, reason))

    def trades(self, limit: int = 100, before_seq: int | None = None) -> TradePage:
        return self._run(self.aio.trades(limit=limit, before_seq=before_seq))

    def iter_trades(self, page_size: int = 100, *, limit: int | None = None) -> SyncIterator[Trade]:
        return SyncIterator(self._runner, self.aio.iter_trades(page_size, limit=limit))

    def trade(self, trade_id: str) -> Trade:
        return self._run(self.aio.trade(trade_id))

    def pretrade(self, lines: Sequence[LineLike] | str | os.PathLike[str], *, diversification: float | None = None,
                 panel_size: int | None = None, include_lines: bool = True) -> PretradeReport:
        return self._run(self.aio.pretrade(lines, diversification=diversification, panel_size=panel_size,
                                           include_lines=include_lines))

    def optimise(self, lines: Sequence[LineLike] | str | os.PathLike[str], *, include_lines: bool = True,
                 **tolerances: Any) -> OptimiseResult:
        return self._run(self.aio.optimise(lines, include_lines=include_lines, **tolerances))

    def tca(self, trade_id: str, *, include_lines: bool = True) -> TradeTca:
        return self._run(self.aio.tca(trade_id, include_lines=include_lines))

    def events(self, from_seq: int | None = None, *, include_control: bool = False,
               max_retries: int | None = 10) -> SyncEventStream:
        """Blocking event stream; ``with venue.events() as stream:`` connects before the block runs."""
        return SyncEventStream(self._runner, self.aio.events(from_seq, include_control=include_control,
                                                             max_retries=max_retries))

    def watch(self, inquiry_id: str, *, stream: SyncEventStream | None = None) -> SyncIterator[QuoteBoard]:
        return SyncIterator(self._runner, self.aio.watch(inquiry_id, stream=stream.stream if stream else None))

    def quotes(self, inquiry_id: str, *, stream: SyncEventStream | None = None) -> SyncIterator[Quote]:
        return SyncIterator(self._runner, self.aio.quotes(inquiry_id, stream=stream.stream if stream else None))

    def wait_quotes(self, inquiry_id: str, n: int | None = None, timeout: float = 10.0, *,
                    stream: SyncEventStream | None = None) -> list[Quote]:
        return self._run(self.aio.wait_quotes(inquiry_id, n, timeout, stream=stream.stream if stream else None))


__all__ = ["SyncEventStream", "SyncIterator", "VenueClient"]
