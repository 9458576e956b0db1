"""Typed views of the venue's JSON (pydantic v2).

Every model accepts fields it does not know (the API is "extended, never renamed"), so a newer
venue does not break an older SDK. Times ending in ``_ts`` are integer nanoseconds since the Unix
epoch; prices are per 100 face; quantities are USD face; money is USD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Side = Literal["buy", "sell"]
QuoteType = Literal["price", "spread", "yield"]

END_EVENTS = frozenset({"inquiry.awarded", "inquiry.expired", "inquiry.cancelled", "inquiry.no_quotes"})
QUOTE_EVENTS = frozenset({"quote.new", "quote.revised"})


def ns_to_datetime(ns: int | None) -> datetime | None:
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, tz=UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=False, populate_by_name=True)


class Instrument(_Model):
    cusip: str
    isin: str
    issuer: str
    ticker: str
    sector: str
    rating: str
    grade: str
    coupon: float
    maturity: date
    issue_date: date
    amount_outstanding: int
    min_piece: int
    increment: int
    day_count: str
    kind: str


class MarketData(_Model):
    cusip: str
    isin: str
    as_of: str
    evaluated_mid_price: float
    evaluated_mid_yield: float  # percent
    spread_bp: float
    liquidity_score: float  # 1 (hardest) to 100 (easiest)
    modified_duration: float
    dv01: float  # USD per 1mm face for a 1 bp fall in yield
    accrued: float  # per 100 face at T+1 settlement
    settlement_date: date


class Quote(_Model):
    """A dealer's quote: ``level`` and ``price`` (one side), ``bid``/``offer`` and their prices (two-way),
    or ``net_price`` and ``line_prices`` (a portfolio)."""

    quote_id: str
    dealer_id: str
    version: int = 1
    replaces: str | None = None
    state: str = "live"
    ts: int | None = None
    valid_until: int | None = None
    inquiry_id: str | None = None
    quote_type: str | None = None
    level: float | None = None
    price: float | None = None
    bid: float | None = None
    offer: float | None = None
    bid_price: float | None = None
    offer_price: float | None = None
    net_price: float | None = None
    line_prices: list[float] | None = None

    @property
    def is_two_way(self) -> bool:
        return self.level is None and self.net_price is None and (self.bid is not None or self.offer is not None)

    @property
    def is_portfolio(self) -> bool:
        return self.net_price is not None

    @property
    def is_live(self) -> bool:
        return self.state == "live"

    def client_price(self, side: str | None) -> float | None:
        """The clean price the client trades at on ``side`` (a one-sided quote ignores ``side``)."""
        if self.is_two_way:
            if side == "buy":
                return self.offer_price
            if side == "sell":
                return self.bid_price
            return None
        return self.price

    @classmethod
    def from_event(cls, frame: dict[str, Any]) -> Quote:
        """A ``quote.new`` / ``quote.revised`` stream frame (state ``live``, ``ts`` the event time)."""
        data = {k: v for k, v in frame.items() if k not in ("type", "seq")}
        data.setdefault("state", "live")
        return cls.model_validate(data)


class InquiryLine(_Model):
    instrument: str
    side: str | None
    quantity: int


class Inquiry(_Model):
    """An RFQ (``kind == "rfq"``) or a portfolio inquiry (``kind == "portfolio"``), with the quotes the
    caller may see."""

    id: str
    kind: str
    state: str
    client_id: str
    quote_type: str
    created_ts: int
    expires_ts: int
    created_at: str | None = None
    expires_at: str | None = None
    ended_ts: int | None = None
    end_reason: str | None = None
    trade_id: str | None = None
    panel: list[str] | None = None
    panel_size: int | None = None
    passed: list[str] | bool = False
    quotes: list[Quote] = []
    instrument: str | None = None
    side: str | None = None
    quantity: int | None = None
    name: str | None = None
    n_lines: int | None = None
    gross_notional: int | None = None
    lines: list[InquiryLine] | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def is_portfolio(self) -> bool:
        return self.kind == "portfolio"

    @property
    def live_quotes(self) -> list[Quote]:
        return [q for q in self.quotes if q.state == "live"]

    def best_quote(self, side: str | None = None) -> Quote | None:
        """The best live quote for the client (for a two-way RFQ, on ``side``; ``None``: either)."""
        return best_quote(self.live_quotes, side=side if side is not None else self.side,
                          portfolio=self.is_portfolio)


def best_quote(quotes: list[Quote], *, side: str | None, portfolio: bool = False) -> Quote | None:
    """The best of ``quotes`` for the client: the highest net price (cash to the client) of a portfolio;
    the lowest price to buy, the highest to sell. A two-way set with no side: the tightest market."""
    if not quotes:
        return None
    if portfolio:
        return max(quotes, key=lambda q: q.net_price if q.net_price is not None else -math.inf)

    def key(q: Quote) -> float:
        if side is None and q.is_two_way:
            if q.offer_price is None or q.bid_price is None:
                return math.inf
            return q.offer_price - q.bid_price
        price = q.client_price(side)
        if price is None:
            return math.inf
        return price if side == "buy" else -price

    chosen = min(quotes, key=key)
    return chosen if math.isfinite(key(chosen)) else None


class TradeLine(_Model):
    instrument: str
    side: str
    quantity: int
    clean_price: float
    accrued: float  # per 100 face
    principal: float
    accrued_amount: float
    net_money: float


class Trade(_Model):
    """One booked trade: ``net_settlement`` is the cash to the client (negative: the client pays)."""

    trade_id: str
    inquiry_id: str
    kind: str
    quote_id: str
    client_id: str
    dealer_id: str
    executed_ts: int
    trade_date: date
    settlement_date: date
    currency: str
    quote_type: str
    gross_notional: int
    net_principal: float
    net_settlement: float
    level: float | None = None
    net_price: float | None = None
    lines: list[TradeLine] = []

    @property
    def executed_at(self) -> datetime:
        value = ns_to_datetime(self.executed_ts)
        assert value is not None
        return value


class TradePage(_Model):
    trades: list[Trade]
    next_before_seq: int | None = None


class Health(_Model):
    status: str
    seq: int | None = None
    open_inquiries: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class Event:
    """One stream event: ``type``, ``seq`` (venue-wide, increasing), ``ts`` (engine ns) and the payload
    (``data``: the frame's other fields, see docs/events.md)."""

    type: str
    seq: int
    ts: int
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: dict[str, Any]) -> Event:
        data = {k: v for k, v in frame.items() if k not in ("type", "seq", "ts")}
        return cls(type=str(frame["type"]), seq=int(frame["seq"]), ts=int(frame.get("ts") or 0), data=data)

    @property
    def inquiry_id(self) -> str | None:
        value = self.data.get("inquiry_id")
        return value if isinstance(value, str) else None

    @property
    def is_end(self) -> bool:
        """The inquiry ended: awarded, expired, cancelled or no quotes."""
        return self.type in END_EVENTS

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def to_dict(self) -> dict[str, Any]:
        """The frame as the venue sent it."""
        return {"type": self.type, "seq": self.seq, "ts": self.ts, **self.data}

    def quote(self) -> Quote | None:
        """The quote of a ``quote.new`` / ``quote.revised`` event."""
        if self.type not in QUOTE_EVENTS:
            return None
        return Quote.from_event({**self.data, "ts": self.ts})

    def trade(self) -> Trade | None:
        """The trade of a ``trade.booked`` event."""
        return Trade.model_validate(self.data) if self.type == "trade.booked" else None


class QuoteBoard:
    """What a client knows of one inquiry's quotes, kept current from a snapshot and stream events.

    Applying the same event twice, or an event the snapshot already reflects, changes nothing.
    """

    def __init__(self, inquiry: Inquiry) -> None:
        self.inquiry = inquiry
        self.inquiry_id = inquiry.id
        self.state = inquiry.state
        self.trade_id = inquiry.trade_id
        self.end_reason = inquiry.end_reason
        self.quotes: dict[str, Quote] = {q.quote_id: q for q in inquiry.quotes}
        self.passed: set[str] = set(inquiry.passed) if isinstance(inquiry.passed, list) else set()
        self.awarded_quote_id: str | None = None

    @property
    def panel(self) -> list[str]:
        return list(self.inquiry.panel or [])

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def current(self) -> list[Quote]:
        """The latest version of each dealer's quote (any state), in arrival order."""
        latest: dict[str, Quote] = {}
        for q in self.quotes.values():
            held = latest.get(q.dealer_id)
            if held is None or q.version >= held.version:
                latest[q.dealer_id] = q
        return sorted(latest.values(), key=lambda q: (q.ts or 0, q.quote_id))

    def live(self) -> list[Quote]:
        return [q for q in self.current() if q.state == "live"]

    def responded(self) -> set[str]:
        """Dealers that quoted or passed."""
        return {q.dealer_id for q in self.quotes.values()} | self.passed

    @property
    def all_responded(self) -> bool:
        panel = self.inquiry.panel
        return panel is not None and len(panel) > 0 and set(panel) <= self.responded()

    def best(self, side: str | None = None) -> Quote | None:
        return best_quote(self.live(), side=side if side is not None else self.inquiry.side,
                          portfolio=self.inquiry.is_portfolio)

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when it concerned this inquiry."""
        if event.inquiry_id != self.inquiry_id:
            return False
        t = event.type
        if t in QUOTE_EVENTS:
            quote = event.quote()
            assert quote is not None
            known = self.quotes.get(quote.quote_id)
            if known is None:
                self.quotes[quote.quote_id] = quote
            if quote.replaces and quote.replaces in self.quotes and self.quotes[quote.replaces].state == "live":
                self.quotes[quote.replaces] = self.quotes[quote.replaces].model_copy(update={"state": "replaced"})
        elif t in ("quote.withdrawn", "quote.passed"):
            qid = event.get("quote_id")
            if isinstance(qid, str) and qid in self.quotes and self.quotes[qid].state == "live":
                self.quotes[qid] = self.quotes[qid].model_copy(update={"state": "withdrawn"})
            if t == "quote.passed":
                dealer = event.get("dealer_id")
                if isinstance(dealer, str):
                    self.passed.add(dealer)
        elif t in END_EVENTS:
            self.state = str(event.get("state") or t.split(".", 1)[1])
            self.end_reason = event.get("reason", self.end_reason)
            if t == "inquiry.awarded":
                self.trade_id = event.get("trade_id")
                self.awarded_quote_id = event.get("quote_id")
                for qid, q in list(self.quotes.items()):
                    if q.state == "live":
                        self.quotes[qid] = q.model_copy(
                            update={"state": "done" if qid == self.awarded_quote_id else "traded_away"})
            else:
                for qid, q in list(self.quotes.items()):
                    if q.state == "live":
                        self.quotes[qid] = q.model_copy(update={"state": "closed"})
        elif t == "trade.booked":
            self.trade_id = event.get("trade_id", self.trade_id)
        else:
            return False
        return True


# -- analytics ---------------------------------------------------------------------------------------

class PretradeFlag(_Model):
    code: str  # illiquid, hard_to_hedge, concentrated
    reason: str


class PretradeLine(_Model):
    """One line of a pre-trade analysis. Model-only lines (``model_only``) have no instrument, mid or risk."""

    line: int
    label: str
    instrument: str | None = None
    model_only: bool = False
    side: str
    quantity: int
    liquidity_score: float
    evaluated_mid: float | None = None
    market_value: float | None = None
    duration: float | None = None
    dv01: float | None = None
    cs01: float | None = None
    hedge_r_squared: float | None = None
    rfq_cost_bp: float
    rfq_cost_usd: float
    pt_cost_bp: float
    pt_cost_usd: float
    pt_improvement_bp: float
    pt_improvement_usd: float
    dealer_rfq_charge_bp: float | None = None
    dealer_rfq_charge_usd: float | None = None
    dealer_pt_charge_bp: float | None = None
    dealer_pt_charge_usd: float | None = None
    flags: list[PretradeFlag] = []


class Recommendation(_Model):
    method: str  # "portfolio_trade" or "rfq"
    basis: str  # "full_dealer_charge" or "liquidity_curve"
    rfq_cost_usd: float
    pt_cost_usd: float
    saving_usd: float
    saving_bp: float | None = None
    saving_pct: float | None = None
    reason: str
    hint: str | None = None


class PretradeReport(_Model):
    """``POST /v1/analytics/pretrade``: ``basket`` holds the basket's figures (notional, net DV01/CS01,
    duration, mixes, ``r_squared``, ``liquidity_cost``, ``dealer_charge``, ``flags``)."""

    as_of: str
    settlement_date: date
    basket: dict[str, Any]
    recommendation: Recommendation
    explanation: list[str] = []
    notes: list[str] = []
    lines: list[PretradeLine] | None = None

    @property
    def liquidity_cost(self) -> dict[str, Any]:
        value = self.basket.get("liquidity_cost")
        return value if isinstance(value, dict) else {}

    @property
    def rfq_cost_usd(self) -> float:
        """Liquidity-curve cost of trading every line alone by RFQ."""
        return float(self.liquidity_cost.get("rfq_cost_usd") or 0.0)

    @property
    def pt_cost_usd(self) -> float:
        """Liquidity-curve cost of the lines inside the basket."""
        return float(self.liquidity_cost.get("pt_cost_usd") or 0.0)

    @property
    def saving_usd(self) -> float:
        return float(self.liquidity_cost.get("saving_usd") or 0.0)

    @property
    def flagged(self) -> list[PretradeLine]:
        return [ln for ln in self.lines or [] if ln.flags]


class OptimiseResult(_Model):
    """``POST /v1/analytics/optimise``: the swaps, the new basket's ``lines`` (ready for ``create_portfolio``),
    cost and risk ``before`` and ``after`` and ``side_by_side``."""

    status: str
    message: str
    tracking_error: dict[str, Any]
    side_by_side: list[dict[str, Any]]
    replacements: list[dict[str, Any]] = []
    lines: list[InquiryLine] | None = None
    before: PretradeReport
    after: PretradeReport
    explanation: list[str] = []
    settings: dict[str, Any] = {}

    def metric(self, name: str) -> tuple[Any, Any]:
        """(before, after) of one ``side_by_side`` metric."""
        row = next((r for r in self.side_by_side if r.get("metric") == name), None)
        if row is None:
            raise KeyError(name)
        return row.get("before"), row.get("after")


class TcaBenchmark(_Model):
    available: bool
    description: str = ""
    cost_usd: float | None = None
    cost_bp: float | None = None
    reason: str | None = None


class TcaLine(_Model):
    instrument: str
    side: str
    quantity: int
    price: float
    arrival_mid: float | None = None
    previous_close: float | None = None
    cover_price: float | None = None
    cost_vs_arrival_usd: float | None = None
    cost_vs_arrival_bp: float | None = None
    cost_vs_close_usd: float | None = None
    cost_vs_close_bp: float | None = None
    cost_vs_cover_usd: float | None = None
    cost_vs_cover_bp: float | None = None
    estimated_cost_bp: float | None = None


class TradeTca(_Model):
    """``GET /v1/trades/{id}/tca``: costs against ``arrival_mid``, ``previous_close``, ``cover`` and (portfolios)
    ``nav``; positive = a cost to the client."""

    trade_id: str
    inquiry_id: str
    kind: str
    client_id: str
    dealer_id: str
    viewer_role: str
    n_lines: int
    gross_notional: float
    sign_convention: str
    benchmarks: dict[str, TcaBenchmark]
    pretrade_estimate: dict[str, Any] | None = None
    lines: list[TcaLine] | None = None

    def cost_usd(self, benchmark: str = "arrival_mid") -> float | None:
        found = self.benchmarks.get(benchmark)
        return found.cost_usd if found is not None and found.available else None

    def cost_bp(self, benchmark: str = "arrival_mid") -> float | None:
        found = self.benchmarks.get(benchmark)
        return found.cost_bp if found is not None and found.available else None
