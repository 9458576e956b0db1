"""The engine's in-memory state: inquiries and their quotes. A projection of the event log."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from server.domain.types import InquiryKind, InquiryState, QuoteState, QuoteType, Side


@dataclass(slots=True)
class Quote:
    quote_id: str
    inquiry_id: str
    dealer_id: str
    version: int
    ts: int
    valid_until: int
    state: QuoteState = QuoteState.LIVE
    replaces: str | None = None
    # single-bond quotes: levels as quoted and their clean prices
    level: float | None = None
    bid: float | None = None
    offer: float | None = None
    price: float | None = None
    bid_price: float | None = None
    offer_price: float | None = None
    # portfolio quotes
    net_price: float | None = None
    line_prices: NDArray[np.float64] | None = None

    def live_at(self, now: int) -> bool:
        return self.state is QuoteState.LIVE and now < self.valid_until

    def client_price(self, side: Side) -> float | None:
        """Clean price the client would trade at on ``side`` (single-bond quotes)."""
        if self.price is not None:
            return self.price
        return self.offer_price if side is Side.BUY else self.bid_price


@dataclass(slots=True)
class Inquiry:
    inquiry_id: str
    kind: InquiryKind
    client_id: str
    panel: tuple[str, ...]
    quote_type: QuoteType
    created_ts: int
    expires_ts: int
    instruments: tuple[str, ...]  # normalised CUSIPs, one per line
    idx: NDArray[np.int64]  # instrument index per line
    sides: NDArray[np.int8]  # +1 client buys, -1 client sells, 0 two-way (request for market)
    quantities: NDArray[np.int64]
    name: str | None = None
    arrival_mids: list[float] | None = None  # evaluated mid per line when the inquiry arrived (TCA)
    state: InquiryState = InquiryState.OPEN
    quotes: dict[str, Quote] = field(default_factory=dict)
    live_by_dealer: dict[str, str] = field(default_factory=dict)  # dealer -> its current quote id
    passed: set[str] = field(default_factory=set)
    trade_id: str | None = None
    end_reason: str | None = None
    ended_ts: int | None = None

    @property
    def side(self) -> Side | None:
        """The client's side of a single-bond RFQ; None for a request for market."""
        s = int(self.sides[0])
        return None if s == 0 else (Side.BUY if s > 0 else Side.SELL)

    @property
    def n_lines(self) -> int:
        return len(self.instruments)

    @property
    def is_portfolio(self) -> bool:
        return self.kind is InquiryKind.PORTFOLIO

    def side_name(self, i: int) -> str | None:
        s = int(self.sides[i])
        return None if s == 0 else ("buy" if s > 0 else "sell")

    def lines_json(self) -> list[dict[str, object]]:
        return [
            {"instrument": ins, "side": self.side_name(i), "quantity": int(q)}
            for i, (ins, q) in enumerate(zip(self.instruments, self.quantities.tolist(), strict=True))
        ]

    def current_quotes(self) -> list[Quote]:
        return [self.quotes[q] for q in self.live_by_dealer.values()]
