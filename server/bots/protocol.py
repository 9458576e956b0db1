"""The dealer-bot protocol.

A dealer bot is a plain class with synchronous methods. It receives read-only views (the inquiry,
the market, its own inventory) and returns an action: a ``Quote``, a ``Pass`` or a ``Withdraw``.
It never touches the venue directly; the bot host delivers inquiries after the bot's latency,
enforces its deadline and turns whatever goes wrong into a logged pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from server.domain.events import line_arrays
from server.domain.types import InquiryKind, QuoteType, Side
from server.market.universe import MarketSnapshot, Universe


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    view = a.view()
    view.setflags(write=False)
    return view


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    """``a`` itself made read-only: for an array nobody else holds (no view needed)."""
    a.setflags(write=False)
    return a


# Payload strings to enum members by dict (an enum's own lookup by value is a Python-level call).
_KINDS: dict[str, InquiryKind] = {k.value: k for k in InquiryKind}
_QUOTE_TYPES: dict[str, QuoteType] = {q.value: q for q in QuoteType}


@dataclass(frozen=True, slots=True)
class InquiryView:
    """What a dealer may know of an inquiry: no other dealer's name, no other dealer's quote."""

    inquiry_id: str
    kind: InquiryKind
    client_id: str
    quote_type: QuoteType
    instruments: tuple[str, ...]  # CUSIP per line
    idx: NDArray[np.int64]  # instrument index per line (into the universe / market arrays)
    sides: NDArray[np.int8]  # the CLIENT's side per line: +1 buys, -1 sells, 0 two-way
    quantities: NDArray[np.int64]  # face, USD
    panel_size: int  # how many dealers are asked, the dealer included
    created_ts: int
    expires_ts: int
    name: str | None = None

    @property
    def is_portfolio(self) -> bool:
        return self.kind is InquiryKind.PORTFOLIO

    @property
    def n_lines(self) -> int:
        return len(self.instruments)

    @property
    def side(self) -> Side | None:
        """The client's side of a single-bond RFQ (None for a two-way request for market)."""
        s = int(self.sides[0])
        return None if s == 0 else (Side.BUY if s > 0 else Side.SELL)

    @property
    def dealer_signed_quantity(self) -> NDArray[np.float64]:
        """Face the dealer would end up long (+) or short (-) per line if it won."""
        return _frozen((-self.sides.astype(np.float64)) * self.quantities)

    @classmethod
    def from_event(cls, data: dict[str, Any], universe: Universe) -> InquiryView:
        instruments, idx, sides, qty = line_arrays(data["lines"], universe.index_of)  # new arrays: frozen in place
        kind = _KINDS.get(data["kind"])
        quote_type = _QUOTE_TYPES.get(data["quote_type"])
        return cls(inquiry_id=data["inquiry_id"], kind=InquiryKind(data["kind"]) if kind is None else kind,
                   client_id=data["client_id"],
                   quote_type=QuoteType(data["quote_type"]) if quote_type is None else quote_type,
                   instruments=instruments, idx=_frozen(idx), sides=_frozen(sides), quantities=_frozen(qty),
                   panel_size=int(data["panel_size"]), created_ts=int(data["created_ts"]),
                   expires_ts=int(data["expires_ts"]), name=data.get("name"))


@dataclass(frozen=True, slots=True)
class MarketView:
    """The market as a dealer sees it at delivery time."""

    universe: Universe
    snapshot: MarketSnapshot
    now: int


@dataclass(frozen=True, slots=True)
class InventoryView:
    """The dealer's own book: face position per instrument index (long +), and its cash."""

    positions: NDArray[np.float64]
    cash: float = 0.0


@dataclass(frozen=True, slots=True)
class Feedback:
    """How an inquiry ended for this dealer: done, covered, traded_away, passed, no_response,
    expired, cancelled or no_trade. ``cover`` is the cover level when the venue discloses it."""

    inquiry_id: str
    outcome: str
    trade_id: str | None = None
    cover: float | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """A quote. Single-bond RFQ: ``level``; request for market: ``bid`` and ``offer``; portfolio:
    ``line_prices`` (clean, per 100, one per line) and ``net_price`` (use ``Quote.portfolio``)."""

    level: float | None = None
    bid: float | None = None
    offer: float | None = None
    net_price: float | None = None
    line_prices: tuple[float, ...] | None = None
    valid_for_ns: int | None = None
    breakdown: dict[str, float] = field(default_factory=dict)  # kept by the dealer, never sent

    @classmethod
    def portfolio(cls, inquiry: InquiryView, line_prices: NDArray[np.float64], *,
                  valid_for_ns: int | None = None, breakdown: dict[str, float] | None = None) -> Quote:
        """A basket quote whose net price reconciles exactly with ``line_prices``."""
        prices = np.round(np.asarray(line_prices, dtype=np.float64), 6)
        net = float(np.sum(-inquiry.sides * inquiry.quantities * prices) / 100.0)
        return cls(net_price=round(net, 2), line_prices=tuple(prices.tolist()), valid_for_ns=valid_for_ns,
                   breakdown=breakdown or {})


@dataclass(frozen=True, slots=True)
class Pass:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Withdraw:
    inquiry_id: str
    reason: str = ""


Action = Quote | Pass | Withdraw


@runtime_checkable
class DealerStrategy(Protocol):
    """What the venue needs of a dealer bot."""

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Action | None:
        """Answer an inquiry. ``None`` is a pass."""
        ...

    def on_feedback(self, feedback: Feedback) -> None:
        """Learn how an inquiry ended."""
        ...


class DealerBot:
    """Convenient base class: override ``on_inquiry``; ``on_feedback`` does nothing by default."""

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Action | None:
        raise NotImplementedError

    def on_feedback(self, feedback: Feedback) -> None:
        return None
