"""The async client: :class:`AsyncVenueClient`, over httpx (HTTP) and websockets (the event stream).

Retries: a request that fails to connect, times out, loses its connection or gets a 503 is sent
again, up to ``retries`` times with exponential backoff and jitter, with the same
``Idempotency-Key``. Creates and awards always carry one (a uuid4 unless given), so a retried
request books nothing twice. A cancel is retried only when the request never reached the venue.
After the last retry the error is :class:`~clients.sdk.errors.Unavailable`.

The SDK talks to the venue's API only; the one piece of the server it uses is the pure basket-file
parser (``server.domain.baskets``), so a bad file is reported by row and column before anything is
sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
import os
import random
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel

from clients.sdk.errors import InvalidRequest, Unavailable, VenueError, error_from_response
from clients.sdk.models import (
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
from server.domain.baskets import (
    IDENTIFIER_COLUMNS,
    QUANTITY_COLUMNS,
    SIDE_COLUMNS,
    parse_basket_file,
    parse_quantity,
    parse_side,
)
from server.domain.errors import VenueError as _ParseError

log = logging.getLogger("rfqsim.sdk")
DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "rfqsim-sdk/0.1"
UPLOAD_CHUNK = 64 * 1024

Quantity = int | str
LineLike = Mapping[str, Any] | Sequence[Any]
Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage ``parse`` (file bytes: 0 of size, then size of size) and ``upload``
(request bytes sent of total)."""

M = TypeVar("M", bound=BaseModel)
TWO_WAY_WORDS = frozenset({"two-way", "two_way", "twoway", "2way", "2-way", "both", "rfm", "market", ""})


def to_quantity(value: Any, *, field: str = "quantity") -> int:
    """Face value in USD from ``5000000``, ``"5mm"``, ``"250k"`` or ``"5,000,000"``; raises InvalidRequest."""
    if isinstance(value, bool):
        raise InvalidRequest(f"{value!r} is not a quantity", status=422, code="invalid", field=field)
    if isinstance(value, int):
        if value <= 0:
            raise InvalidRequest(f"{value} must be positive", status=422, code="invalid", field=field)
        return value
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    try:
        return parse_quantity(str(value))
    except ValueError as exc:
        raise InvalidRequest(str(exc), status=422, code="invalid", field=field) from None


def to_side(value: Any, *, field: str = "side", two_way: bool = True) -> str | None:
    """``buy``/``b``/``sell``/``s``; ``None`` or ``two-way`` for a request for market."""
    if value is None or (two_way and str(value).strip().lower() in TWO_WAY_WORDS):
        if not two_way:
            raise InvalidRequest("required: buy or sell", status=422, code="invalid", field=field)
        return None
    try:
        return parse_side(str(value))
    except ValueError as exc:
        raise InvalidRequest(f"{exc}{' (or two-way)' if two_way else ''}", status=422, code="invalid",
                             field=field) from None


def to_panel(panel: Sequence[str] | str | None) -> list[str] | None:
    if panel is None:
        return None
    if isinstance(panel, str):
        return [p.strip() for p in panel.split(",") if p.strip()]
    return [str(p) for p in panel]


def normalise_lines(lines: Sequence[LineLike]) -> list[dict[str, Any]]:
    """Basket lines as the API wants them, from mappings (``instrument``/``identifier``/``cusip``/``isin``,
    ``side``, ``quantity``) or ``(instrument, side, quantity)`` tuples; every bad line is reported."""
    out: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for i, line in enumerate(lines):
        if isinstance(line, Mapping):
            instrument = next((line[k] for k in ("instrument", "identifier", "cusip", "isin") if line.get(k)), None)
            side, qty = line.get("side"), line.get("quantity")
        elif isinstance(line, Sequence) and not isinstance(line, str | bytes) and len(line) == 3:
            instrument, side, qty = line
        else:
            errors.append({"field": f"lines[{i}]",
                           "reason": "a line is a mapping (instrument, side, quantity) or a 3-tuple"})
            continue
        item: dict[str, Any] = {}
        if not instrument:
            errors.append({"field": f"lines[{i}].instrument", "reason": "required"})
        else:
            item["instrument"] = str(instrument).strip().upper()
        try:
            item["side"] = to_side(side, field=f"lines[{i}].side", two_way=False)
        except InvalidRequest as exc:
            errors.append({"field": f"lines[{i}].side", "reason": exc.reason})
        try:
            item["quantity"] = to_quantity(qty, field=f"lines[{i}].quantity")
        except InvalidRequest as exc:
            errors.append({"field": f"lines[{i}].quantity", "reason": exc.reason})
        out.append(item)
    if errors:
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InvalidRequest(errors[0]["reason"] + more, status=422, code="invalid", field=errors[0]["field"],
                             details={"errors": errors[:50], "error_count": len(errors)})
    if not out:
        raise InvalidRequest("a portfolio inquiry needs at least one line", status=422, code="invalid", field="lines")
    return out


def normalise_pretrade_lines(lines: Sequence[LineLike]) -> list[dict[str, Any]]:
    """Lines for the analytics endpoints: instrument lines as :func:`normalise_lines` takes them, and model-only
    lines, mappings with ``notional`` (``"25mm"`` works) and ``liquidity_score`` (1-100), optional ``label`` and
    ``side`` (default buy), for which the venue applies the liquidity-cost model only."""
    out: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    instrument_lines: list[tuple[int, LineLike]] = []
    for i, line in enumerate(lines):
        is_model = isinstance(line, Mapping) and "notional" in line and not any(
            line.get(k) for k in ("instrument", "identifier", "cusip", "isin"))
        if not is_model:
            instrument_lines.append((i, line))
            out.append({})
            continue
        assert isinstance(line, Mapping)
        item: dict[str, Any] = {}
        try:
            item["notional"] = to_quantity(line.get("notional"), field=f"lines[{i}].notional")
        except InvalidRequest as exc:
            errors.append({"field": f"lines[{i}].notional", "reason": exc.reason})
        score = line.get("liquidity_score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= float(score) <= 100:
            errors.append({"field": f"lines[{i}].liquidity_score", "reason": "required: a number from 1 to 100"})
        else:
            item["liquidity_score"] = float(score)
        if line.get("label") is not None:
            item["label"] = str(line["label"])
        if line.get("side") is not None:
            try:
                item["side"] = to_side(line["side"], field=f"lines[{i}].side", two_way=False)
            except InvalidRequest as exc:
                errors.append({"field": f"lines[{i}].side", "reason": exc.reason})
        out.append(item)
    if instrument_lines:
        try:
            parsed = normalise_lines([line for _, line in instrument_lines])
        except InvalidRequest as exc:
            for problem in exc.errors:
                where = str(problem.get("field") or "")
                m = _LINE_REF.match(where)
                if m is not None:
                    k = instrument_lines[int(m.group(1))][0]
                    where = f"lines[{k}]" + where[m.end():]
                errors.append({"field": where, "reason": str(problem.get("reason"))})
        else:
            for (k, line), item in zip(instrument_lines, parsed, strict=True):
                if isinstance(line, Mapping) and line.get("label") is not None:
                    item["label"] = str(line["label"])
                out[k] = item
    if errors:
        errors.sort(key=lambda e: _line_index(e["field"]))
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InvalidRequest(errors[0]["reason"] + more, status=422, code="invalid", field=errors[0]["field"],
                             details={"errors": errors[:50], "error_count": len(errors)})
    if not out:
        raise InvalidRequest("a basket needs at least one line", status=422, code="invalid", field="lines")
    return out


def read_basket(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Parse a CSV or XLSX basket file locally; a bad file raises InvalidRequest naming the row and column
    (``field`` like ``file:row 7:side``; ``errors`` lists every bad cell)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"{p}: {exc.strerror or exc}", status=422, code="invalid", field="file") from None
    try:
        return parse_basket_file(data, filename=p.name)
    except _ParseError as exc:
        raise InvalidRequest(exc.reason, status=422, code=exc.code, field=exc.field,
                             details=dict(exc.details)) from None


def basket_rows(path: str | os.PathLike[str]) -> tuple[list[int], dict[str, str]]:
    """The file row of each line ``read_basket`` returns (blank rows are skipped, as the parser does), and
    the header of the identifier, side and quantity columns. Raises ValueError or OSError."""
    p = Path(path)
    data = p.read_bytes()
    if data[:2] == b"PK" or p.name.lower().endswith((".xlsx", ".xlsm")):
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            table = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
        start = next(i for i, r in enumerate(table) if any(c not in (None, "") for c in r))
        header = ["" if c is None else str(c) for c in table[start]]
        body, first_row = table[start + 1:], start + 2
    else:
        text = data.decode("utf-8-sig", errors="replace")
        first_line = text.lstrip().splitlines()[0]
        reader = csv.reader(io.StringIO(text), delimiter=max(",;\t|", key=first_line.count))
        header = next(reader)
        body, first_row = list(reader), 2
    rows = [n for n, row in enumerate(body, start=first_row)
            if any(str(c).strip() for c in row if c is not None)]
    norm = [h.strip().lower().replace(" ", "_") for h in header]
    columns: dict[str, str] = {}
    for name, names in (("identifier", IDENTIFIER_COLUMNS), ("side", SIDE_COLUMNS), ("quantity", QUANTITY_COLUMNS)):
        found = next((norm.index(n) for n in names if n in norm), None)
        if found is not None:
            columns[name] = header[found].strip()
    return rows, columns


_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
_LINE_REF = re.compile(r"lines\[(\d+)\]")


def _line_index(field: str) -> int:
    found = _LINE_REF.match(field)
    return int(found.group(1)) if found is not None else -1


def file_error(exc: InvalidRequest, path: str | os.PathLike[str]) -> InvalidRequest:
    """The venue's 422 about ``lines[i].x`` of a basket read from ``path``, restated by file row and column
    (``file:row 7:identifier``); the venue's own field is kept as ``venue_field`` in each listed error."""
    try:
        rows, columns = basket_rows(path)
    except (OSError, ValueError, StopIteration, IndexError):
        return exc
    name = Path(path).name

    def restate(problem: dict[str, Any]) -> dict[str, Any]:
        venue_field = str(problem.get("field") or "")
        reason = _LINE_REF.sub(lambda m: f"row {rows[int(m.group(1))]}" if int(m.group(1)) < len(rows)
                               else m.group(0), str(problem.get("reason") or ""))
        m = _LINE_FIELD.match(venue_field)
        if m is None or int(m.group(1)) >= len(rows):
            return {**problem, "reason": reason}
        row, column = rows[int(m.group(1))], "identifier" if m.group(2) == "instrument" else m.group(2)
        where = f"{name}: row {row}, column {columns.get(column, column)!r}"
        return {"field": f"file:row {row}:{column}", "reason": f"{where}: {reason}", "venue_field": venue_field}

    problems = [restate(p) for p in exc.errors]
    total = exc.details.get("error_count", len(problems))
    more = f" (and {total - 1} more problems)" if isinstance(total, int) and total > 1 else ""
    return InvalidRequest(problems[0]["reason"] + more, status=exc.status, code=exc.code,
                          field=problems[0]["field"], details={**exc.details, "errors": problems})


def inquiry_kind(inquiry_id: str) -> Literal["rfq", "portfolio"]:
    """The venue numbers RFQs ``RFQ-n`` and portfolio inquiries ``PT-n``."""
    return "portfolio" if inquiry_id.upper().startswith("PT") else "rfq"


def _quote_id(q: str | Quote) -> str:
    return q.quote_id if isinstance(q, Quote) else str(q)


class AsyncVenueClient:
    """The venue's API, asynchronously. Use as ``async with AsyncVenueClient(url, key) as venue: ...``.

    ``base_url`` defaults to env ``RFQSIM_URL`` or http://127.0.0.1:8000, ``api_key`` to env
    ``RFQSIM_API_KEY``. ``transport`` replaces httpx's (tests, fault injection).
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.2, max_backoff: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = (base_url or os.environ.get("RFQSIM_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("RFQSIM_API_KEY")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=headers, transport=transport)

    async def __aenter__(self) -> AsyncVenueClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- transport ------------------------------------------------------------------------------
    async def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                       body: Any = None, idempotency_key: str | None = None,
                       retry: Literal["all", "connect", "none"] = "all", progress: Progress | None = None,
                       accept_statuses: tuple[int, ...] = ()) -> Any:
        headers: dict[str, str] = {}
        content: bytes | None = None
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        attempt = 0
        delay = self.backoff
        while True:
            failure: str
            try:
                payload: Any = content
                if content is not None and progress is not None:
                    headers["Content-Length"] = str(len(content))
                    payload = _chunks(content, progress)
                resp = await self._http.request(method, path, params=clean_params, content=payload, headers=headers)
            except httpx.UnsupportedProtocol as exc:
                raise InvalidRequest(f"not an http(s) URL: {self.base_url} ({exc})", status=0, code="invalid",
                                     field="url") from None
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
                failure = _describe(exc, self.base_url)
                if retry == "none" or (retry == "connect" and not never_sent) or attempt >= self.retries:
                    raise Unavailable(failure, status=0, code="unreachable" if never_sent else "connection_lost",
                                      details={"url": self.base_url, "attempts": attempt + 1}) from None
            else:
                body_json = _json(resp)
                if resp.is_success or resp.status_code in accept_statuses:
                    return body_json
                error = error_from_response(resp.status_code, body_json, fallback=resp.text[:300])
                if resp.status_code != 503 or retry == "none" or attempt >= self.retries:
                    raise error
                failure = str(error)
            attempt += 1
            log.info("%s %s: %s; retry %d of %d in %.2f s", method, path, failure, attempt, self.retries, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.max_backoff)

    async def _model(self, cls: type[M], method: str, path: str, **kwargs: Any) -> M:
        return cls.model_validate(await self._request(method, path, **kwargs))

    # -- health, instruments, market ------------------------------------------------------------
    async def healthz(self) -> Health:
        """``GET /healthz`` (no key needed); a venue that answers 503 gives ``Health(status="unavailable")``."""
        return await self._model(Health, "GET", "/healthz", retry="none", accept_statuses=(503,))

    async def instruments(self, q: str = "", *, rating: str | None = None, sector: str | None = None,
                          grade: str | None = None, limit: int = 50, offset: int = 0) -> list[Instrument]:
        """Search by ticker prefix, issuer substring or CUSIP/ISIN prefix, with optional filters; one page."""
        data = await self._request("GET", "/v1/instruments", params={
            "q": q, "rating": rating, "sector": sector, "grade": grade, "limit": limit, "offset": offset})
        return [Instrument.model_validate(i) for i in data["instruments"]]

    async def iter_instruments(self, q: str = "", *, rating: str | None = None, sector: str | None = None,
                               grade: str | None = None, page_size: int = 500) -> AsyncGenerator[Instrument]:
        """Every matching instrument, page by page."""
        offset = 0
        while True:
            page = await self.instruments(q, rating=rating, sector=sector, grade=grade, limit=page_size,
                                          offset=offset)
            for item in page:
                yield item
            if len(page) < page_size:
                return
            offset += len(page)

    async def instrument(self, identifier: str) -> Instrument:
        """Reference data by CUSIP or ISIN (a wrong check digit: InvalidRequest naming the expected one)."""
        return await self._model(Instrument, "GET", f"/v1/instruments/{_path(identifier)}")

    async def market(self, identifier: str) -> MarketData:
        """Evaluated mid price, yield, spread, liquidity score, duration, DV01, accrued."""
        return await self._model(MarketData, "GET", f"/v1/market/{_path(identifier)}")

    # -- RFQs -----------------------------------------------------------------------------------
    async def create_rfq(self, instrument: str, side: str | None, quantity: Quantity, *,
                         quote_type: str = "price", panel: Sequence[str] | str | None = None,
                         time_limit: float | None = None, idempotency_key: str | None = None) -> Inquiry:
        """Ask the panel for a price. ``side``: ``buy``, ``sell``, or ``None``/``"two-way"`` for a request
        for market. ``quantity``: ``5_000_000``, ``"5mm"``, ``"250k"``."""
        body: dict[str, Any] = {"instrument": str(instrument).strip().upper(), "quantity": to_quantity(quantity)}
        chosen = to_side(side)
        if chosen is not None:
            body["side"] = chosen
        if quote_type != "price":
            body["quote_type"] = quote_type
        if (members := to_panel(panel)) is not None:
            body["panel"] = members
        if time_limit is not None:
            body["time_limit"] = time_limit
        return await self._model(Inquiry, "POST", "/v1/rfqs", body=body,
                                 idempotency_key=idempotency_key or str(uuid.uuid4()))

    async def rfq(self, inquiry_id: str) -> Inquiry:
        return await self._model(Inquiry, "GET", f"/v1/rfqs/{_path(inquiry_id)}")

    async def award_rfq(self, inquiry_id: str, quote_id: str | Quote, side: str | None = None,
                        idempotency_key: str | None = None) -> Trade:
        """Accept one live quote; ``side`` is needed for a two-way quote. Returns the booked trade
        (committed before this returns). Raises AlreadyAwarded (with ``trade_id``), Conflict, NotFound."""
        body: dict[str, Any] = {"quote_id": _quote_id(quote_id)}
        if side is not None:
            body["side"] = to_side(side, two_way=False)
        data = await self._request("POST", f"/v1/rfqs/{_path(inquiry_id)}/award", body=body,
                                   idempotency_key=idempotency_key or str(uuid.uuid4()))
        return Trade.model_validate(data["trade"])

    async def cancel_rfq(self, inquiry_id: str, reason: str = "") -> Inquiry:
        return await self._cancel("rfqs", inquiry_id, reason)

    # -- portfolio inquiries --------------------------------------------------------------------
    async def create_portfolio(self, lines: Sequence[LineLike] | str | os.PathLike[str], *,
                               panel: Sequence[str] | str | None = None, time_limit: float | None = None,
                               name: str | None = None, idempotency_key: str | None = None,
                               include_lines: bool = True, progress: Progress | None = None) -> Inquiry:
        """An all-or-nothing basket: a list of lines (mappings or ``(instrument, side, quantity)`` tuples,
        quantities like ``"5mm"``) or the path of a CSV/XLSX file, parsed here (errors name the row and
        column) and sent as JSON. ``name`` defaults to the file's name. ``include_lines=False`` leaves
        the line list out of the answer (large baskets)."""
        path: Path | None = None
        if isinstance(lines, str | os.PathLike):
            path = Path(lines)
            size = path.stat().st_size if path.is_file() else 0
            if progress is not None:
                progress("parse", 0, size)
            parsed = await asyncio.to_thread(read_basket, path)  # a large XLSX takes a while: keep the loop free
            if progress is not None:
                progress("parse", size, size)
            name = name if name is not None else path.name
        else:
            parsed = normalise_lines(lines)
        body: dict[str, Any] = {"lines": parsed}
        if (members := to_panel(panel)) is not None:
            body["panel"] = members
        if time_limit is not None:
            body["time_limit"] = time_limit
        if name is not None:
            body["name"] = name
        try:
            return await self._model(Inquiry, "POST", "/v1/portfolio-inquiries", body=body,
                                     params={"lines": "true" if include_lines else "false"},
                                     idempotency_key=idempotency_key or str(uuid.uuid4()), progress=progress)
        except InvalidRequest as exc:
            if path is None:
                raise
            raise file_error(exc, path) from None

    async def portfolio(self, inquiry_id: str, lines: bool = True) -> Inquiry:
        """``lines=False`` leaves out the lines and the quotes' line prices."""
        return await self._model(Inquiry, "GET", f"/v1/portfolio-inquiries/{_path(inquiry_id)}",
                                 params={"lines": "true" if lines else "false"})

    async def award_portfolio(self, inquiry_id: str, quote_id: str | Quote,
                              idempotency_key: str | None = None) -> Trade:
        """All or nothing: every line becomes a line of one trade."""
        data = await self._request("POST", f"/v1/portfolio-inquiries/{_path(inquiry_id)}/award",
                                   body={"quote_id": _quote_id(quote_id)},
                                   idempotency_key=idempotency_key or str(uuid.uuid4()))
        return Trade.model_validate(data["trade"])

    async def cancel_portfolio(self, inquiry_id: str, reason: str = "") -> Inquiry:
        return await self._cancel("portfolio-inquiries", inquiry_id, reason)

    # -- either kind ----------------------------------------------------------------------------
    async def inquiry(self, inquiry_id: str, lines: bool = True) -> Inquiry:
        """An RFQ or a portfolio inquiry, told apart by its id (``RFQ-n``, ``PT-n``)."""
        if inquiry_kind(inquiry_id) == "portfolio":
            return await self.portfolio(inquiry_id, lines=lines)
        return await self.rfq(inquiry_id)

    async def award(self, inquiry_id: str, quote_id: str | Quote, side: str | None = None,
                    idempotency_key: str | None = None) -> Trade:
        if inquiry_kind(inquiry_id) == "portfolio":
            return await self.award_portfolio(inquiry_id, quote_id, idempotency_key=idempotency_key)
        return await self.award_rfq(inquiry_id, quote_id, side=side, idempotency_key=idempotency_key)

    async def cancel(self, inquiry_id: str, reason: str = "") -> Inquiry:
        if inquiry_kind(inquiry_id) == "portfolio":
            return await self.cancel_portfolio(inquiry_id, reason)
        return await self.cancel_rfq(inquiry_id, reason)

    async def _cancel(self, collection: str, inquiry_id: str, reason: str) -> Inquiry:
        # No idempotency key on cancels: retried only when the request never reached the venue.
        return await self._model(Inquiry, "POST", f"/v1/{collection}/{_path(inquiry_id)}/cancel",
                                 body={"reason": reason} if reason else None, retry="connect")

    # -- trades ---------------------------------------------------------------------------------
    async def trades(self, limit: int = 100, before_seq: int | None = None) -> TradePage:
        """One page of the caller's trades, newest first; ``next_before_seq`` continues."""
        return await self._model(TradePage, "GET", "/v1/trades", params={"limit": limit, "before_seq": before_seq})

    async def iter_trades(self, page_size: int = 100, *, limit: int | None = None) -> AsyncGenerator[Trade]:
        """Every trade of the caller (newest first), page by page; at most ``limit`` if given."""
        cursor: int | None = None
        count = 0
        while True:
            page = await self.trades(limit=page_size, before_seq=cursor)
            for trade in page.trades:
                yield trade
                count += 1
                if limit is not None and count >= limit:
                    return
            cursor = page.next_before_seq
            if cursor is None or not page.trades:
                return

    async def trade(self, trade_id: str) -> Trade:
        return await self._model(Trade, "GET", f"/v1/trades/{_path(trade_id)}")

    # -- analytics ------------------------------------------------------------------------------
    async def _basket_request(self, path_url: str, lines: Sequence[LineLike] | str | os.PathLike[str],
                              options: Mapping[str, Any], include_lines: bool) -> Any:
        path: Path | None = None
        if isinstance(lines, str | os.PathLike):
            path = Path(lines)
            parsed = await asyncio.to_thread(read_basket, path)
        else:
            parsed = normalise_pretrade_lines(lines)
        body: dict[str, Any] = {"lines": parsed, **{k: v for k, v in options.items() if v is not None}}
        try:
            # analyses change nothing: safe to retry, no idempotency key needed
            return await self._request("POST", path_url, body=body,
                                       params={"lines": "true" if include_lines else "false"})
        except InvalidRequest as exc:
            if path is None:
                raise
            raise file_error(exc, path) from None

    async def pretrade(self, lines: Sequence[LineLike] | str | os.PathLike[str], *,
                       diversification: float | None = None, panel_size: int | None = None,
                       include_lines: bool = True) -> PretradeReport:
        """Pre-trade analysis of a basket (``POST /v1/analytics/pretrade``): per-line liquidity, mid, DV01, CS01,
        RFQ and in-basket cost estimates and problem flags; basket risk, mixes, LQD/HYG R², a recommendation
        (RFQ or portfolio trade) with the saving, and an ``explanation``. ``lines``: a CSV/XLSX path, or lines
        as for :meth:`create_portfolio`, or model-only mappings ``{"notional": "25mm", "liquidity_score": 98,
        "label": "912828X39"}`` (liquidity-cost model only)."""
        data = await self._basket_request("/v1/analytics/pretrade", lines,
                                          {"diversification": diversification, "panel_size": panel_size},
                                          include_lines)
        return PretradeReport.model_validate(data)

    async def optimise(self, lines: Sequence[LineLike] | str | os.PathLike[str], *, include_lines: bool = True,
                       **tolerances: Any) -> OptimiseResult:
        """Replace illiquid lines by more liquid bonds of similar risk (``POST /v1/analytics/optimise``).
        ``tolerances``: ``duration_tolerance`` (years), ``dv01_tolerance`` and ``mix_tolerance`` (shares),
        ``te_aversion``, ``max_tracking_error_bp``, ``min_score``, ``rating_notches``, ``whole_lines``, ... (see
        server/analytics/optimise.py). The result's ``lines`` can be sent as a portfolio inquiry."""
        data = await self._basket_request("/v1/analytics/optimise", lines, tolerances, include_lines)
        return OptimiseResult.model_validate(data)

    async def tca(self, trade_id: str, *, include_lines: bool = True) -> TradeTca:
        """Transaction cost analysis of one of the caller's trades (``GET /v1/trades/{id}/tca``): costs against
        the arrival mid, the previous close, the cover and (portfolios) the NAV; positive = a cost to the client."""
        return await self._model(TradeTca, "GET", f"/v1/trades/{_path(trade_id)}/tca",
                                 params={"lines": "true" if include_lines else "false"})

    # -- streaming ------------------------------------------------------------------------------
    def events(self, from_seq: int | None = None, *, include_control: bool = False,
               max_retries: int | None = 10) -> EventStream:
        """The caller's events over ``WS /v1/stream``: ``async for event in client.events(): ...``.

        Reconnects with backoff after a drop and resumes after the last event seen (no gap, no repeat).
        Use ``async with client.events() as stream:`` to be connected before acting (nothing after
        the ``async with`` line is missed)."""
        return EventStream(self.base_url, self.api_key or "", from_seq=from_seq, include_control=include_control,
                           max_retries=max_retries, backoff=self.backoff, max_backoff=self.max_backoff,
                           open_timeout=self.timeout)

    async def watch(self, inquiry_id: str, *, stream: EventStream | None = None) -> AsyncGenerator[QuoteBoard]:
        """The inquiry's :class:`QuoteBoard`: first from a snapshot, then again after every event about it;
        ends after the inquiry ends. Connects its own stream (before the snapshot, so nothing falls in
        between) unless given one; the events it reads from a given stream are consumed."""
        own = stream is None
        events = stream if stream is not None else self.events()
        try:
            if own:
                await events.__aenter__()  # connected before the snapshot: nothing falls in between
            board = QuoteBoard(await self.inquiry(inquiry_id, lines=False))
            yield board
            if not board.is_open:
                return
            async for event in events:
                if board.apply(event):
                    yield board
                    if not board.is_open:
                        return
        finally:
            if own:
                await events.aclose()

    async def quotes(self, inquiry_id: str, *, stream: EventStream | None = None) -> AsyncGenerator[Quote]:
        """Each quote on the inquiry (and each revised version) as it arrives, those already in first;
        ends when the inquiry ends."""
        seen: set[str] = set()
        async with contextlib.aclosing(self.watch(inquiry_id, stream=stream)) as boards:
            async for board in boards:
                for quote in sorted(board.quotes.values(), key=lambda q: (q.ts or 0, q.quote_id)):
                    if quote.quote_id not in seen:
                        seen.add(quote.quote_id)
                        yield quote

    async def wait_quotes(self, inquiry_id: str, n: int | None = None, timeout: float = 10.0, *,
                          stream: EventStream | None = None) -> list[Quote]:
        """The live quotes once ``n`` are in (``None``: once every panel dealer quoted or passed), the
        inquiry ended, or ``timeout`` seconds passed, whichever is first; may be fewer than ``n``."""
        latest: list[QuoteBoard] = []

        async def follow() -> None:
            async with contextlib.aclosing(self.watch(inquiry_id, stream=stream)) as boards:
                async for board in boards:
                    latest[:] = [board]
                    if (n is not None and len(board.live()) >= n) or (n is None and board.all_responded):
                        return

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(follow(), timeout)
        return latest[0].live() if latest else []


async def _chunks(content: bytes, progress: Progress) -> AsyncIterator[bytes]:
    total = len(content)
    progress("upload", 0, total)
    for offset in range(0, total, UPLOAD_CHUNK):
        yield content[offset:offset + UPLOAD_CHUNK]
        progress("upload", min(offset + UPLOAD_CHUNK, total), total)
        await asyncio.sleep(0)


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _path(segment: str) -> str:
    return quote(str(segment).strip(), safe="")


def _json(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return None


def _describe(exc: httpx.TransportError, base_url: str) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to the venue at {base_url}: {exc or 'connection refused'}"
    if isinstance(exc, httpx.TimeoutException):
        return f"the venue at {base_url} did not answer in time ({type(exc).__name__})"
    return f"lost the connection to the venue at {base_url}: {type(exc).__name__}: {exc}"


__all__ = ["DEFAULT_URL", "AsyncVenueClient", "EventStream", "VenueError", "inquiry_kind", "normalise_lines",
           "normalise_pretrade_lines", "read_basket", "to_quantity", "to_side"]
