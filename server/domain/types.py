"""Small value types shared by the whole venue."""

from __future__ import annotations

from enum import StrEnum

NS_PER_SECOND = 1_000_000_000
NS_PER_MS = 1_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND


class Side(StrEnum):
    """Always the client's side: a client ``sell`` is a dealer bid."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 when the client buys (receives bonds, pays cash), -1 when it sells."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class QuoteType(StrEnum):
    PRICE = "price"  # clean price per 100 face
    SPREAD = "spread"  # bp over the interpolated Treasury curve
    YIELD = "yield"  # yield to maturity, percent


class InquiryKind(StrEnum):
    RFQ = "rfq"
    PORTFOLIO = "portfolio"


class InquiryState(StrEnum):
    OPEN = "open"
    AWARDED = "awarded"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    NO_QUOTES = "no_quotes"

    @property
    def terminal(self) -> bool:
        return self is not InquiryState.OPEN


class QuoteState(StrEnum):
    LIVE = "live"
    REPLACED = "replaced"  # superseded by a newer version from the same dealer
    WITHDRAWN = "withdrawn"
    DONE = "done"  # awarded
    COVERED = "covered"  # second best, not awarded
    TRADED_AWAY = "traded_away"
    CLOSED = "closed"  # inquiry ended without a trade


class Role(StrEnum):
    CLIENT = "client"
    DEALER = "dealer"
