"""The FastAPI application factory: routes under /v1, errors as JSON naming the field and reason."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import orjson
import pydantic_core
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.api import stream
from server.api.basket_request import read_basket_request
from server.api.schemas import (
    ERRORS,
    AwardOut,
    AwardRequest,
    CancelRequest,
    InquiryList,
    InquiryOut,
    InstrumentList,
    InstrumentOut,
    MarketOut,
    PortfolioCreate,
    RfqCreate,
    TradeList,
    TradeOut,
)
from server.api.services import VenueServices
from server.api.views import inquiry_view
from server.domain import bondmath
from server.domain.baskets import locate_in_file
from server.domain.bonds import Bond
from server.domain.calendar import dates_at
from server.domain.commands import Award, Cancel, Command, CreatePortfolio, CreateRfq, LineSpec
from server.domain.errors import InvalidInput, NotFound, VenueError
from server.domain.types import NS_PER_SECOND, InquiryKind, InquiryState, Role
from server.participants import Participant
from server.settings import Settings

log = logging.getLogger("rfqsim.api")


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class AuthError(VenueError):
    status = 401
    code = "unauthorized"


class Forbidden(VenueError):
    status = 403
    code = "forbidden"


HTTP_ERROR_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def error_response(exc: VenueError) -> ORJSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return ORJSONResponse({"error": exc.to_dict()}, status_code=exc.status, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if p in ("body", "query", "path", "header"):
            continue
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "body"


def validation_error(errors: list[Any]) -> InvalidInput:
    items = [{"field": _loc(tuple(e.get("loc", ()))), "reason": e.get("msg", "invalid")} for e in errors]
    first = items[0] if items else {"field": "body", "reason": "invalid request"}
    more = f" (and {len(items) - 1} more problems)" if len(items) > 1 else ""
    return InvalidInput(first["reason"] + more, field=first["field"],
                        details={"errors": items[:50], "error_count": len(items)})


def authenticate(svc: VenueServices, authorization: str | None) -> Participant:
    if not authorization:
        raise AuthError("missing Authorization: Bearer <api_key>", field="Authorization")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthError("expected Authorization: Bearer <api_key>", field="Authorization")
    participant = svc.directory.authenticate(key.strip())
    if participant is None:
        raise AuthError("unknown API key", field="Authorization")
    return participant


MAX_IDEMPOTENCY_KEY = 200


@dataclass(frozen=True, slots=True)
class Call:
    """Who is calling, the venue they call, and the request's Idempotency-Key: one dependency.

    FastAPI resolves every dependency and header parameter on every request, and on the hot routes
    (create, award) that resolution cost more than the engine's work (bench/bench_api.py). One
    dependency reading the headers itself does the same checks for a fraction of it; the OpenAPI
    document still shows the bearer scheme and the Idempotency-Key header (``IDEMPOTENCY_DOC``).
    """

    svc: VenueServices
    who: Participant
    idempotency_key: str | None


def _call(request: Request, role: Role | None) -> Call:
    svc: VenueServices = request.app.state.services
    headers = request.headers
    who = authenticate(svc, headers.get("authorization"))
    if role is Role.CLIENT and who.role is not Role.CLIENT:
        raise Forbidden(f"{who.id} is a dealer; only clients may do this", field="Authorization")
    key = headers.get("idempotency-key")
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"at most {MAX_IDEMPOTENCY_KEY} characters", field="Idempotency-Key")
    return Call(svc, who, key)


async def any_call(request: Request) -> Call:
    return _call(request, None)


async def client_call(request: Request) -> Call:
    return _call(request, Role.CLIENT)


AnyCall = Annotated[Call, Depends(any_call)]
ClientCall = Annotated[Call, Depends(client_call)]
IDEMPOTENCY_DOC = {"parameters": [{
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY},
    "description": "the same key returns the same result and books nothing twice"}]}


def hot(endpoint: Any) -> Any:
    """Mark an endpoint as one of the venue's hot paths (create, award): ``HotRoute`` serves it."""
    endpoint.__rfqsim_hot__ = True
    return endpoint


_NO_BODY = object()


def _is_json(content_type: str) -> bool:
    """FastAPI's rule: ``application/json`` or ``application/*+json``, parameters ignored."""
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def _json_body(raw: bytes) -> Any:
    """The body's JSON, as FastAPI decodes it (the standard library's ``json``: integers of any size,
    NaN and Infinity accepted), by pydantic's fast parser; whatever that refuses goes to ``json`` itself,
    which decodes it or gives FastAPI's ``json_invalid`` error."""
    try:
        return pydantic_core.from_json(raw)
    except ValueError:
        pass
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                                       "input": {}, "ctx": {"error": exc.msg}}]) from None
    except ValueError:  # not UTF-8, -16 or -32
        raise HTTPException(400, "There was an error parsing the body") from None


class HotRoute(APIRoute):
    """A route whose endpoint is marked ``@hot`` is served by a lean handler.

    FastAPI's own handler does, per request, much that these endpoints never use (telemetry, exit
    stacks, dependency graph resolution, a MIME parse of the Content-Type, the standard library's JSON
    decoder); on create and award it cost more than the engine's work (bench/bench_api.py). The lean
    handler keeps FastAPI's contract for what the endpoints do use, in FastAPI's order: the body is read
    and decoded (``json_invalid`` errors first), then the one ``Call`` dependency runs (authentication),
    then the body is validated against the endpoint's model (``body``-located errors), then the endpoint
    gets the path parameters, the body and the call, and returns its Response. The route is still an
    ``APIRoute``: the OpenAPI document is FastAPI's. Any other endpoint gets FastAPI's handler.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        if not getattr(self.endpoint, "__rfqsim_hot__", False):
            return super().get_route_handler()
        d = self.dependant
        if d.query_params or d.header_params or d.cookie_params or len(d.dependencies) != 1 \
                or len(d.body_params) > 1:
            raise TypeError(f"{self.path}: a hot endpoint takes path parameters, at most one body and one Call")
        sub = d.dependencies[0]
        if sub.path_params or sub.query_params or sub.header_params or sub.cookie_params or sub.body_params \
                or sub.dependencies or sub.request_param_name is None:
            raise TypeError(f"{self.path}: a hot endpoint's dependency takes the request and nothing else")
        dependency, call_name, request_name = sub.call, sub.name, sub.request_param_name
        assert dependency is not None and call_name is not None
        body_name = d.body_params[0].name if d.body_params else None
        model: Any = d.body_params[0].field_info.annotation if d.body_params else None
        required = bool(d.body_params) and d.body_params[0].field_info.is_required()
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            value: Any = _NO_BODY
            if body_name is not None:
                raw = await request.body()
                if raw:
                    content_type = request.headers.get("content-type")
                    value = raw
                    if content_type and _is_json(content_type):
                        value = _json_body(raw)
            kwargs = dict(request.path_params)
            kwargs[call_name] = await dependency(**{request_name: request})
            if body_name is not None:
                if value is _NO_BODY:
                    if required:
                        raise RequestValidationError([{"type": "missing", "loc": ("body",),
                                                       "msg": "Field required", "input": None}])
                    kwargs[body_name] = None
                else:
                    try:
                        kwargs[body_name] = model.model_validate(value, from_attributes=True)
                    except ValidationError as exc:
                        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                                      for e in exc.errors()]) from None
            response: Response = await endpoint(**kwargs)
            return response

        return handler


def fingerprint(route: str, body: Any) -> str:
    """What an Idempotency-Key's first request asked for: a retry with the same key must ask the same.
    Computed only when the request carries a key (the event logs None otherwise)."""
    return hashlib.sha256(route.encode() + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def run(svc: VenueServices, command: Command) -> str | None:
    outcome = await svc.runtime.execute(command)
    if outcome.error is not None:
        raise outcome.error
    return outcome.ref


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value * NS_PER_SECOND)


def instrument_out(bond: Bond) -> dict[str, Any]:
    return {"cusip": bond.cusip, "isin": bond.isin, "issuer": bond.issuer, "ticker": bond.ticker,
            "sector": bond.sector, "rating": bond.rating, "grade": bond.grade, "coupon": bond.coupon,
            "maturity": bond.maturity.isoformat(), "issue_date": bond.issue_date.isoformat(),
            "amount_outstanding": bond.amount_outstanding, "min_piece": bond.min_piece,
            "increment": bond.increment, "day_count": bond.day_count.value, "kind": bond.kind.value}


def build_router() -> APIRouter:
    r = APIRouter(prefix="/v1", responses=ERRORS, default_response_class=ORJSONResponse, route_class=HotRoute)

    # --- instruments and market data ---------------------------------------------------------
    @r.get("/instruments", response_model=InstrumentList, tags=["instruments"])
    async def list_instruments(call: AnyCall, q: str = "", rating: str | None = None,
                               sector: str | None = None, grade: str | None = None,
                               limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                               offset: Annotated[int, Query(ge=0)] = 0) -> Any:
        """Search the universe by ticker, issuer or identifier prefix, with optional filters."""
        found, total = call.svc.universe.search_page(q, rating=rating, sector=sector, grade=grade, limit=limit,
                                                offset=offset)
        return {"instruments": [instrument_out(b) for b in found], "total": total}

    @r.get("/instruments/{identifier}", response_model=InstrumentOut, tags=["instruments"])
    async def get_instrument(identifier: str, call: AnyCall) -> Any:
        return instrument_out(call.svc.universe.bond(identifier, "identifier"))

    @r.get("/market/{identifier}", response_model=MarketOut, tags=["instruments"])
    async def get_market(identifier: str, call: AnyCall) -> Any:
        """Evaluated mid, yield, spread, liquidity score and risk of one instrument."""
        svc = call.svc
        i = svc.universe.index_of(identifier, "identifier")
        bond = svc.universe.instrument(i)
        snap = svc.current_market()
        settle = dates_at(svc.runtime.clock())[1]
        s64 = np.datetime64(settle, "D")
        m64 = np.datetime64(bond.maturity, "D")
        dc = bondmath.day_count_code(bond.day_count)
        ytm = float(snap.mid_yield[i])
        cpn = bond.coupon / 100
        return {
            "cusip": bond.cusip, "isin": bond.isin, "as_of": snap.as_of.isoformat(),
            "evaluated_mid_price": round(float(snap.mid_price[i]), 6),
            "evaluated_mid_yield": round(ytm * 100, 6), "spread_bp": round(float(snap.spread_bp[i]), 3),
            "liquidity_score": round(float(snap.liquidity_score[i]), 2),
            "modified_duration": round(float(bondmath.modified_duration(cpn, m64, s64, ytm, dc)), 6),
            "dv01": round(float(bondmath.dv01(cpn, m64, s64, ytm, dc)) * 1e4, 2),
            "accrued": round(float(bondmath.accrued_interest(cpn, m64, s64, dc)), 6),
            "settlement_date": settle.isoformat(),
        }

    # --- RFQs ----------------------------------------------------------------------------------
    @r.post("/rfqs", status_code=201, response_model=InquiryOut, tags=["rfqs"], openapi_extra=IDEMPOTENCY_DOC)
    @hot
    async def create_rfq(body: RfqCreate, call: ClientCall) -> Any:
        """Ask a panel of dealers for a price on one bond. Omit ``side`` for a two-way market."""
        svc, who, key = call.svc, call.who, call.idempotency_key
        fp = fingerprint("rfq", body.model_dump(mode="json")) if key else None
        ref = await run(svc, CreateRfq(
            client_id=who.id, instrument=body.instrument, side=body.side, quantity=body.quantity,
            quote_type=body.quote_type, panel=tuple(body.panel) if body.panel is not None else None,
            time_limit_ns=_seconds(body.time_limit), idempotency_key=key, fingerprint=fp,
            evaluated_mids=svc.current_market().mid_price))
        assert ref is not None
        return ORJSONResponse(inquiry_view(svc.venue.inquiry_for(ref, who.id, InquiryKind.RFQ), who.id), 201)

    @r.get("/rfqs/{inquiry_id}", response_model=InquiryOut, tags=["rfqs"])
    async def get_rfq(inquiry_id: str, call: AnyCall) -> Any:
        return inquiry_view(call.svc.venue.inquiry_for(inquiry_id, call.who.id, InquiryKind.RFQ), call.who.id)

    @r.post("/rfqs/{inquiry_id}/award", response_model=AwardOut, tags=["rfqs"], openapi_extra=IDEMPOTENCY_DOC)
    @hot
    async def award_rfq(inquiry_id: str, body: AwardRequest, call: ClientCall) -> Any:
        """Accept one live quote. Exactly one trade results; it is committed before this returns."""
        return ORJSONResponse(await _award(call.svc, call.who, inquiry_id, body, call.idempotency_key,
                                           InquiryKind.RFQ))

    @r.post("/rfqs/{inquiry_id}/cancel", response_model=InquiryOut, tags=["rfqs"])
    async def cancel_rfq(inquiry_id: str, call: ClientCall, body: CancelRequest | None = None) -> Any:
        return await _cancel(call.svc, call.who, inquiry_id, body, InquiryKind.RFQ)

    # --- portfolio inquiries -------------------------------------------------------------------
    @r.post("/portfolio-inquiries", status_code=201, response_model=InquiryOut, tags=["portfolio"],
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PortfolioCreate"}},
                "text/csv": {"schema": {"type": "string",
                                        "description": "header row: identifier, side, quantity"}},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary", "description": "CSV or XLSX"},
                    "panel": {"type": "string", "description": "comma-separated dealer ids"},
                    "time_limit": {"type": "number"}, "name": {"type": "string"}}}},
            }}, **IDEMPOTENCY_DOC})
    async def create_portfolio(request: Request, call: ClientCall, lines: bool = True) -> Any:
        """A basket of 1 to 10,000 lines priced as one all-or-nothing package. Send JSON, a CSV body
        (text/csv) or a CSV file upload (multipart field ``file``)."""
        svc, who, key = call.svc, call.who, call.idempotency_key
        rows: list[int] = []
        body = await _portfolio_body(request, rows)
        fp = fingerprint("portfolio", body.model_dump(mode="json")) if key else None
        try:
            ref = await run(svc, CreatePortfolio(
                client_id=who.id,
                lines=tuple(LineSpec(ln.instrument, ln.side, ln.quantity) for ln in body.lines),
                panel=tuple(body.panel) if body.panel is not None else None,
                time_limit_ns=_seconds(body.time_limit), name=body.name, idempotency_key=key, fingerprint=fp,
                evaluated_mids=svc.current_market().mid_price))
        except InvalidInput as exc:
            if rows:  # the basket came as a file: name its rows and columns, not line indices
                raise locate_in_file(exc, rows, body.name or "file") from None
            raise
        assert ref is not None
        return ORJSONResponse(inquiry_view(svc.venue.inquiry_for(ref, who.id, InquiryKind.PORTFOLIO), who.id,
                                           include_lines=lines), 201)

    @r.get("/portfolio-inquiries/{inquiry_id}", response_model=InquiryOut, tags=["portfolio"])
    async def get_portfolio(inquiry_id: str, call: AnyCall, lines: bool = True) -> Any:
        """``lines=false`` leaves out the line list and the quotes' per-line prices of a large basket."""
        who = call.who
        return ORJSONResponse(inquiry_view(call.svc.venue.inquiry_for(inquiry_id, who.id, InquiryKind.PORTFOLIO),
                                           who.id, include_lines=lines, include_line_prices=lines))

    @r.post("/portfolio-inquiries/{inquiry_id}/award", response_model=AwardOut, tags=["portfolio"],
            openapi_extra=IDEMPOTENCY_DOC)
    @hot
    async def award_portfolio(inquiry_id: str, body: AwardRequest, call: ClientCall) -> Any:
        """All or nothing: every line becomes a line of one trade, or nothing is booked."""
        return ORJSONResponse(await _award(call.svc, call.who, inquiry_id, body, call.idempotency_key,
                                           InquiryKind.PORTFOLIO))

    @r.post("/portfolio-inquiries/{inquiry_id}/cancel", response_model=InquiryOut, tags=["portfolio"])
    async def cancel_portfolio(inquiry_id: str, call: ClientCall, body: CancelRequest | None = None) -> Any:
        return await _cancel(call.svc, call.who, inquiry_id, body, InquiryKind.PORTFOLIO)

    # --- either kind ---------------------------------------------------------------------------
    @r.get("/inquiries", response_model=InquiryList, tags=["inquiries"])
    async def list_inquiries(call: AnyCall, state: InquiryState | None = None,
                             kind: InquiryKind | None = None,
                             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Any:
        """The caller's inquiries (its own as a client, those sent to it as a dealer), newest first,
        without line lists. ``state=open`` lists what is live."""
        who = call.who
        found = call.svc.venue.inquiries_for(who.id, state=state, kind=kind, limit=limit)
        return ORJSONResponse({"inquiries": [inquiry_view(i, who.id, include_lines=False, include_line_prices=False)
                                             for i in found]})

    @r.get("/inquiries/{inquiry_id}", response_model=InquiryOut, tags=["inquiries"])
    async def get_inquiry(inquiry_id: str, call: AnyCall, lines: bool = True) -> Any:
        """An RFQ or a portfolio inquiry, whichever the id names."""
        who = call.who
        return ORJSONResponse(inquiry_view(call.svc.venue.inquiry_for(inquiry_id, who.id), who.id,
                                           include_lines=lines, include_line_prices=lines))

    # --- trades --------------------------------------------------------------------------------
    @r.get("/trades", response_model=TradeList, tags=["trades"])
    async def list_trades(call: AnyCall, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                          before_seq: Annotated[int | None, Query(ge=1)] = None) -> Any:
        """The caller's trades (as client or dealer), newest first, from the trades projection."""
        rows, next_seq = await call.svc.store.trades_page(call.who.id, limit=limit, before_seq=before_seq)
        return {"trades": rows, "next_before_seq": next_seq}

    @r.get("/trades/{trade_id}", response_model=TradeOut, tags=["trades"])
    async def get_trade(trade_id: str, call: AnyCall) -> Any:
        trade = await call.svc.store.trade(trade_id)
        if trade is None or call.who.id not in (trade.get("client_id"), trade.get("dealer_id")):
            raise NotFound(f"no trade {trade_id}", field="trade_id")
        return trade

    return r


async def _portfolio_body(request: Request, rows: list[int]) -> PortfolioCreate:
    """The portfolio request, from JSON or a basket file; ``rows`` receives a file's row per line."""
    basket = await read_basket_request(request)
    rows.extend(basket.rows or ())
    fields = dict(basket.fields)
    if basket.filename is not None:  # a multipart upload: form fields are strings
        panel = fields.get("panel")
        if isinstance(panel, str):
            fields["panel"] = [p.strip() for p in panel.split(",") if p.strip()]
        if fields.get("time_limit") == "":
            del fields["time_limit"]
        fields.setdefault("name", basket.filename)
    try:
        return PortfolioCreate.model_validate({"lines": basket.lines, **fields})
    except ValidationError as exc:
        raise validation_error(exc.errors()) from None


async def _award(svc: VenueServices, who: Participant, inquiry_id: str, body: AwardRequest, key: str | None,
                 kind: InquiryKind) -> dict[str, Any]:
    inquiry = svc.venue.inquiry_for(inquiry_id, who.id, kind)
    fp = fingerprint(f"award:{inquiry_id}", body.model_dump(mode="json")) if key else None
    trade_id = await run(svc, Award(client_id=who.id, inquiry_id=inquiry.inquiry_id, quote_id=body.quote_id,
                                    side=body.side, idempotency_key=key, fingerprint=fp))
    assert trade_id is not None
    return {"inquiry_id": inquiry_id, "trade": svc.venue.trade_for(trade_id, who.id)}


async def _cancel(svc: VenueServices, who: Participant, inquiry_id: str, body: CancelRequest | None,
                  kind: InquiryKind) -> dict[str, Any]:
    svc.venue.inquiry_for(inquiry_id, who.id, kind)
    await run(svc, Cancel(who.id, inquiry_id, body.reason if body else ""))
    return inquiry_view(svc.venue.inquiry_for(inquiry_id, who.id, kind), who.id)


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal as the venue's JSON error (``{"error": {"code", "field", "reason"}}``): the venue's
    own, request validation, the framework's (unknown path, wrong method, unreadable body), and the
    unexpected (a 500 that says nothing was booked but what GET /v1/trades shows)."""

    @app.exception_handler(VenueError)
    async def venue_error(_: Request, exc: VenueError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> Response:
        return error_response(validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        """The framework's own refusals (an unknown path, a method a path does not take, a body that is
        not text) in the venue's error shape."""
        error = VenueError(str(exc.detail), code=HTTP_ERROR_CODES.get(exc.status_code, "bad_request"),
                           field="body" if exc.status_code in (400, 413) else None)
        error.status = exc.status_code
        response = error_response(error)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        return ORJSONResponse({"error": {"code": "internal", "field": None,
                                         "reason": "internal error; nothing was booked by this request "
                                                   "unless its trade appears in GET /v1/trades"}},
                              status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = await VenueServices.start(settings)
        app.state.services = svc
        # The universe and the replayed state are long-lived: move them out of the collector's
        # generations so that its pauses do not grow with them (p99 latency, bench/bench_api.py).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)  # fewer young-generation passes under load
        if svc.generated_participants:
            lines = "\n".join(f"  {p.id:<14} {p.role.value:<7} {p.api_key}" for p in svc.generated_participants)
            print(f"rfqsim: first start: development participants written to "
                  f"{settings.dev_participants_file}\n{lines}", flush=True)
        try:
            yield
        finally:
            await svc.stop()

    app = FastAPI(title="rfqsim", version="1", lifespan=lifespan, default_response_class=ORJSONResponse,
                  description="A simulated multi-dealer RFQ and portfolio-trading venue for corporate bonds.",
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    # The routes go straight onto the application's router: matching through an included router
    # costs about a tenth of the server's time per request on the hot paths (measured, bench/).
    app.router.routes.extend([*build_router().routes, *stream.router.routes])
    from server.api import analytics_routes  # imports this module's dependencies: mounted here, not at import

    app.router.routes.extend(analytics_routes.router.routes)

    install_error_handlers(app)

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """The generated document, with the API-key bearer scheme every /v1 route requires."""
        schema = app.openapi_schema
        if schema is None:
            schema = base_openapi()
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "the participant's API key; websockets also take ?api_key="}}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", tags=["health"], openapi_extra={"security": []})
    async def healthz(request: Request) -> Any:
        svc: VenueServices | None = getattr(request.app.state, "services", None)
        ok = svc is not None and svc.runtime.healthy
        body = {"status": "ok" if ok else "unavailable",
                "seq": svc.runtime.published_seq if svc else None,
                "open_inquiries": len(svc.venue.open_inquiries) if svc else None}
        return ORJSONResponse(body, status_code=200 if ok else 503)

    return app
