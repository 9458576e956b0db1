"""Analytics routes: pre-trade analysis, package optimisation, post-trade TCA (all under /v1).

* ``POST /v1/analytics/pretrade``: a basket as JSON (``lines`` of ``instrument``/``side``/``quantity``
  or model-only ``notional``/``liquidity_score``/``label``; options ``diversification``,
  ``panel_size``), a CSV body (``text/csv``) or a CSV/XLSX upload (multipart ``file``), as
  ``POST /v1/portfolio-inquiries`` takes it; options may also be query parameters. ``lines=false``
  leaves the per-line list out of the answer.
* ``POST /v1/analytics/optimise``: the same bodies, with the optimiser's tolerances as options.
* ``GET /v1/trades/{trade_id}/tca``: the trade's costs against the arrival mid, the previous close,
  the cover and (portfolios) the NAV; the trade's client and dealer only, others 404.

The analyses run in a worker thread so the venue's event loop keeps serving while a large basket
is analysed. Every figure's meaning is in :mod:`server.analytics`.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.analytics import optimise as opt
from server.analytics import pretrade, tca
from server.api.app import AnyCall, ORJSONResponse, validation_error
from server.api.basket_request import read_basket_request
from server.api.schemas import ERRORS
from server.api.services import VenueServices
from server.domain.calendar import dates_at
from server.domain.errors import NotFound
from server.domain.types import QuoteState, Role, Side
from server.market.factors import FactorModel
from server.market.universe import MarketSnapshot

__all__ = ["router"]

_CACHE_SIZE = 4


class PretradeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    diversification: float | None = Field(
        None, ge=0.0, le=1.0, description="override the basket's diversification d in the liquidity-curve estimate "
                                          "(default: the dealers' measure; 1.0 when no line names an instrument)")
    panel_size: int | None = Field(None, ge=1, le=50, description="dealers in competition (default: the venue's "
                                                                  "panel)")


class OptimiseOptions(PretradeOptions):
    min_score: float | None = Field(None, ge=1.0, le=100.0, description="lines below are replaced if it pays (40)")
    min_score_gain: float | None = Field(None, ge=0.0, le=99.0, description="a replacement scores this much more (10)")
    candidates_per_line: int | None = Field(None, ge=1, le=50, description="(8)")
    rating_notches: int | None = Field(None, ge=0, le=6, description="0: same rating (default)")
    same_sector: bool | None = Field(None, description="(true)")
    duration_tolerance: float | None = Field(None, ge=0.0, description="years (0.25)")
    dv01_tolerance: float | None = Field(None, ge=0.0, description="share of the gross DV01 the net DV01 may move "
                                                                   "(0.02)")
    mix_tolerance: float | None = Field(None, ge=0.0, le=1.0, description="share of gross MV a rating or sector "
                                                                          "bucket may move (0.02)")
    te_aversion: float | None = Field(None, ge=0.0, description="USD of cost per USD of daily tracking-error sigma "
                                                                "(0.1)")
    max_tracking_error_bp: float | None = Field(None, ge=0.0, description="cap, daily bp of gross MV (none)")
    outstanding_share_limit: float | None = Field(None, gt=0.0, le=1.0, description="(0.05)")
    whole_lines: bool | None = Field(None, description="replace whole lines (true) or split them (false)")
    time_limit_s: float | None = Field(None, gt=0.0, le=60.0, description="solver time limit (10)")


class PretradeOut(BaseModel):
    """See server/analytics/pretrade.py for every figure."""

    model_config = ConfigDict(extra="allow")
    as_of: str
    settlement_date: str
    basket: dict[str, Any]
    recommendation: dict[str, Any]
    explanation: list[str]
    notes: list[str]
    lines: list[dict[str, Any]] | None


class OptimiseOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    message: str
    tracking_error: dict[str, Any]
    side_by_side: list[dict[str, Any]]
    replacements: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    before: PretradeOut
    after: PretradeOut
    explanation: list[str]


class TcaOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    trade_id: str
    kind: str
    viewer_role: str
    sign_convention: str
    benchmarks: dict[str, dict[str, Any]]
    lines: list[dict[str, Any]] | None = None


_LINE_SCHEMA = {"oneOf": [
    {"type": "object", "required": ["instrument", "side", "quantity"], "properties": {
        "instrument": {"type": "string", "description": "CUSIP or ISIN"}, "side": {"enum": ["buy", "sell"]},
        "quantity": {"type": "integer", "exclusiveMinimum": 0}, "label": {"type": "string"}}},
    {"type": "object", "required": ["notional", "liquidity_score"], "description": "model-only line: no instrument, "
     "only the liquidity-cost model applies", "properties": {
        "notional": {"type": "integer", "exclusiveMinimum": 0}, "liquidity_score": {"type": "number"},
        "label": {"type": "string"}, "side": {"enum": ["buy", "sell"], "default": "buy"}}},
]}


def _body_schema(options: type[BaseModel]) -> dict[str, Any]:
    props: dict[str, Any] = {"lines": {"type": "array", "items": _LINE_SCHEMA, "minItems": 1}}
    for name, f in options.model_fields.items():
        props[name] = {"description": f.description or ""}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object", "required": ["lines"], "properties": props}},
        "text/csv": {"schema": {"type": "string", "description": "header row: identifier, side, quantity"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "CSV or XLSX"}}}},
    }}}


async def _basket_body(request: Request) -> tuple[list[Any], dict[str, Any]]:
    """The lines and the options of a basket request (JSON, CSV body or multipart upload); query
    parameters other than ``lines`` are options too (the body's win)."""
    basket = await read_basket_request(request)
    options: dict[str, Any] = {k: v for k, v in request.query_params.items() if k != "lines"}
    options.update(basket.fields)
    return basket.lines, options


def _options(model: type[BaseModel], raw: dict[str, Any]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from None


def _context(request: Request, svc: VenueServices) -> pretrade.AnalyticsContext:
    """The analytics context of the market now (the live market moves: a new snapshot every step and whenever
    impact is folded in). Its risk tables are built once per (market step's snapshot, settlement date); a
    snapshot with impact folded in (``MarketSnapshot.basis``) takes its step's tables at its own mids."""
    snapshot: MarketSnapshot = svc.current_market()
    basis = snapshot.basis if snapshot.basis is not None else snapshot
    settle: date = dates_at(svc.runtime.clock())[1]
    cache: list[tuple[MarketSnapshot, date, pretrade.AnalyticsContext]] | None = getattr(
        request.app.state, "analytics_contexts", None)
    if cache is None:
        cache = []
        request.app.state.analytics_contexts = cache
    for snap, day, ctx in cache:
        if snap is basis and day == settle:
            return ctx.at(snapshot)
    model: FactorModel | None = getattr(request.app.state, "analytics_model", None)
    ctx = pretrade.AnalyticsContext.build(svc.universe, basis, settle, model=model,
                                          n_dealers=max(len(svc.venue.rules.default_panel), 1))
    request.app.state.analytics_model = ctx.model  # the live market moves: reuse the model across snapshots
    cache.append((basis, settle, ctx))
    del cache[:-_CACHE_SIZE]
    return ctx.at(snapshot)


router = APIRouter(prefix="/v1", responses=ERRORS, default_response_class=ORJSONResponse, tags=["analytics"])


@router.post("/analytics/pretrade", response_model=PretradeOut, openapi_extra=_body_schema(PretradeOptions))
async def pretrade_analysis(request: Request, call: AnyCall,
                            lines: Annotated[bool, Query(description="list every line")] = True) -> Any:
    """Per line: liquidity score, evaluated mid, DV01, CS01, cost by single-bond RFQ and inside the basket
    (liquidity curve and full dealer charge), problem flags; for the basket: notional, net DV01/CS01,
    duration, rating and sector mix, LQD/HYG R², a recommendation (RFQ or portfolio trade) with the saving
    and an ``explanation`` of the arithmetic. Lines given as ``notional`` + ``liquidity_score`` (no
    instrument) get the liquidity-cost model only."""
    svc = call.svc
    raw, raw_options = await _basket_body(request)
    options: PretradeOptions = _options(PretradeOptions, raw_options)
    ctx = _context(request, svc)

    def work() -> dict[str, Any]:
        basket = pretrade.parse_lines(raw, svc.universe)
        analysis = pretrade.analyse(ctx, basket, diversification=options.diversification,
                                    n_dealers=options.panel_size)
        return pretrade.report(analysis, include_lines=lines)

    return ORJSONResponse(await asyncio.to_thread(work))


@router.post("/analytics/optimise", response_model=OptimiseOut, openapi_extra=_body_schema(OptimiseOptions))
async def optimise_basket(request: Request, call: AnyCall,
                          lines: Annotated[bool, Query(description="list the new basket's lines")] = True) -> Any:
    """Replace the basket's illiquid lines by more liquid bonds of the same sector and rating, trading
    tracking error against expected cost within tolerances on duration, DV01 and rating/sector mix;
    cost and risk before and after, side by side, and the new basket's lines."""
    svc = call.svc
    raw, raw_options = await _basket_body(request)
    options: OptimiseOptions = _options(OptimiseOptions, raw_options)
    ctx = _context(request, svc)
    overrides = options.model_dump(exclude={"diversification", "panel_size"}, exclude_none=True)
    config = opt.with_overrides(opt.OptimiseConfig(), **overrides)

    def work() -> dict[str, Any]:
        basket = pretrade.parse_lines(raw, svc.universe)
        out = opt.report(opt.optimise(ctx, basket, config, n_dealers=options.panel_size))
        if not lines:
            out["lines"] = None
        return out

    return ORJSONResponse(await asyncio.to_thread(work))


@router.get("/trades/{trade_id}/tca", response_model=TcaOut, tags=["trades"])
async def trade_tca(trade_id: str, request: Request, call: AnyCall,
                    lines: Annotated[bool, Query(description="list every line")] = True) -> Any:
    """The trade's cost against the arrival mid, the previous close, the cover and (a portfolio) its NAV,
    per line and in total, USD and bp of face; positive = a cost to the client. The trade's client sees
    everything; its dealer sees the cover level only when the venue discloses the cover to the winner."""
    svc, who = call.svc, call.who
    trade = await svc.store.trade(trade_id)
    if trade is None or who.id not in (trade.get("client_id"), trade.get("dealer_id")):
        raise NotFound(f"no trade {trade_id}", field="trade_id")
    is_client = who.id == trade.get("client_id") and who.role is Role.CLIENT
    cover, note = _cover(svc, trade, is_client)
    ctx = _context(request, svc)

    def work() -> dict[str, Any]:
        return tca.report(trade, svc.universe, ctx.close, cover=cover, cover_note=note,
                          viewer_role="client" if is_client else "dealer", context=ctx, include_lines=lines)

    return ORJSONResponse(await asyncio.to_thread(work))


def _cover(svc: VenueServices, trade: dict[str, Any], is_client: bool) -> tuple[tca.Cover | None, str | None]:
    """The covered quote of the trade's inquiry, as the caller may see it."""
    if not is_client and not svc.venue.rules.disclose_cover_to_winner:
        return None, "the venue does not disclose the cover to the winning dealer"
    inquiry = svc.venue.inquiries.get(str(trade.get("inquiry_id")))
    if inquiry is None:
        return None, "the inquiry is not in the venue's state"
    quote = next((q for q in inquiry.quotes.values() if q.state is QuoteState.COVERED), None)
    if quote is None:
        return None, "no other live quote at the award: no cover"
    lines = trade.get("lines") or []
    if inquiry.is_portfolio:
        if quote.line_prices is None:
            return None, "the cover quote has no line prices"
        prices: Any = quote.line_prices
        net = quote.net_price
    else:
        price = quote.client_price(Side(lines[0]["side"]))
        if price is None:
            return None, "the cover quote has no price on the trade's side"
        prices = [price]
        net = None
    cover = tca.Cover(np.asarray(prices, dtype=np.float64), net,
                      quote.quote_id if is_client else None, quote.dealer_id if is_client else None)
    return cover, None
