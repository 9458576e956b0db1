"""Request and response models of the HTTP API (v1)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.domain.types import QuoteType, Side


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable reason, e.g. invalid, not_found, already_awarded")
    field: str | None = Field(None, description="the request field at fault, e.g. lines[3].quantity")
    reason: str = Field(description="what is wrong, in words")
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or unknown API key"},
    403: {"model": ErrorResponse, "description": "the participant's role may not do this"},
    404: {"model": ErrorResponse, "description": "no such object, or not visible to the caller"},
    409: {"model": ErrorResponse, "description": "the object's state does not allow it"},
    422: {"model": ErrorResponse, "description": "invalid request: the field and the reason are named"},
}


class RfqCreate(Strict):
    instrument: str = Field(description="CUSIP (9) or ISIN (12)", examples=["037833100"])
    side: Side | None = Field(None, description="the client's side; omit for a two-way request for market")
    quantity: int = Field(gt=0, description="face value, USD")
    quote_type: QuoteType = QuoteType.PRICE
    panel: list[str] | None = Field(None, description="dealer ids; default: the venue's panel")
    time_limit: float | None = Field(None, gt=0, description="seconds the inquiry stays open")


class PortfolioLine(Strict):
    instrument: str = Field(description="CUSIP (9) or ISIN (12)")
    side: Side
    quantity: int = Field(gt=0, description="face value, USD")


class PortfolioCreate(Strict):
    lines: list[PortfolioLine] = Field(min_length=1)
    panel: list[str] | None = None
    time_limit: float | None = Field(None, gt=0, description="seconds")
    name: str | None = Field(None, max_length=200)


class AwardRequest(Strict):
    quote_id: str
    side: Side | None = Field(None, description="required only when awarding a two-way quote")


class CancelRequest(Strict):
    reason: str = Field("", max_length=500)


class QuoteOut(BaseModel):
    quote_id: str
    dealer_id: str
    version: int
    replaces: str | None
    state: str
    ts: int
    valid_until: int
    level: float | None = None
    price: float | None = None
    bid: float | None = None
    offer: float | None = None
    bid_price: float | None = None
    offer_price: float | None = None
    net_price: float | None = None
    line_prices: list[float] | None = None


class InquiryOut(BaseModel):
    id: str
    kind: str
    state: str
    client_id: str
    quote_type: str
    created_ts: int
    expires_ts: int
    created_at: str | None
    expires_at: str | None
    ended_ts: int | None
    end_reason: str | None
    trade_id: str | None
    panel: list[str] | None = None
    panel_size: int | None = None
    passed: list[str] | bool
    quotes: list[QuoteOut]
    instrument: str | None = None
    side: str | None = None
    quantity: int | None = None
    name: str | None = None
    n_lines: int | None = None
    gross_notional: int | None = None
    lines: list[dict[str, Any]] | None = None


class InquiryList(BaseModel):
    inquiries: list[InquiryOut]


class TradeLineOut(BaseModel):
    instrument: str
    side: str
    quantity: int
    clean_price: float
    accrued: float = Field(description="accrued interest per 100 face")
    principal: float
    accrued_amount: float
    net_money: float
    arrival_mid: float | None = Field(None, description="evaluated mid when the inquiry arrived (TCA benchmark)")


class TradeOut(BaseModel):
    trade_id: str
    inquiry_id: str
    kind: str
    quote_id: str
    client_id: str
    dealer_id: str
    executed_ts: int
    trade_date: str
    settlement_date: str
    currency: str
    quote_type: str
    gross_notional: int
    net_principal: float
    net_settlement: float = Field(description="cash to the client at settlement, USD (negative: the client pays)")
    level: float | None = None
    net_price: float | None = None
    lines: list[TradeLineOut]


class AwardOut(BaseModel):
    inquiry_id: str
    trade: TradeOut


class TradeList(BaseModel):
    trades: list[TradeOut]
    next_before_seq: int | None = None


class InstrumentOut(BaseModel):
    cusip: str
    isin: str
    issuer: str
    ticker: str
    sector: str
    rating: str
    grade: str
    coupon: float
    maturity: str
    issue_date: str
    amount_outstanding: int
    min_piece: int
    increment: int
    day_count: str
    kind: str


class InstrumentList(BaseModel):
    instruments: list[InstrumentOut]
    total: int


class MarketOut(BaseModel):
    cusip: str
    isin: str
    as_of: str
    evaluated_mid_price: float
    evaluated_mid_yield: float = Field(description="percent")
    spread_bp: float = Field(description="over the interpolated Treasury curve")
    liquidity_score: float = Field(description="1 (hardest) to 100 (easiest)")
    modified_duration: float
    dv01: float = Field(description="USD per 1mm face for a 1 bp fall in yield")
    accrued: float = Field(description="accrued interest per 100 face at T+1 settlement")
    settlement_date: str
