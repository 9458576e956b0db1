"""Commands: what participants and runtimes ask of the engine.

Commands are plain immutable values. The engine validates each one against its state and either
returns the events it caused or raises a ``VenueError`` naming the field and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.types import QuoteType, Side


@dataclass(frozen=True, slots=True)
class LineSpec:
    instrument: str  # CUSIP or ISIN as given by the client
    side: Side | None
    quantity: int


@dataclass(frozen=True, slots=True)
class CreateRfq:
    client_id: str
    instrument: str
    side: Side | None  # None: request for market (two-way)
    quantity: int
    quote_type: QuoteType = QuoteType.PRICE
    panel: tuple[str, ...] | None = None  # None: the venue's default panel
    time_limit_ns: int | None = None
    idempotency_key: str | None = None
    fingerprint: str | None = None  # hash of the request, to tell a retry from a reused key
    # Set by the venue's adapter, never by the client: the evaluated mid of every instrument at arrival
    # (a read-only array indexed like the universe). The engine records the lines' mids in the log (TCA).
    evaluated_mids: Any = None


@dataclass(frozen=True, slots=True)
class CreatePortfolio:
    client_id: str
    lines: tuple[LineSpec, ...]
    panel: tuple[str, ...] | None = None
    time_limit_ns: int | None = None
    name: str | None = None
    idempotency_key: str | None = None
    fingerprint: str | None = None
    evaluated_mids: Any = None  # as CreateRfq


@dataclass(frozen=True, slots=True)
class SubmitQuote:
    """A dealer's quote or revision.

    RFQ with a side: ``level``. Request for market: ``bid`` and ``offer``. Portfolio: ``net_price``
    (total clean proceeds to the client, USD, positive when the client receives cash) and
    ``line_prices`` (clean price per 100 for every line, in line order) reconciling to it.
    """

    dealer_id: str
    inquiry_id: str
    level: float | None = None
    bid: float | None = None
    offer: float | None = None
    net_price: float | None = None
    line_prices: tuple[float, ...] | None = None
    valid_for_ns: int | None = None
    dealer_ref: str | None = None


@dataclass(frozen=True, slots=True)
class PassInquiry:
    dealer_id: str
    inquiry_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class WithdrawQuote:
    dealer_id: str
    inquiry_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Award:
    client_id: str
    inquiry_id: str
    quote_id: str
    side: Side | None = None  # required when awarding a two-way quote
    idempotency_key: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    client_id: str
    inquiry_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Tick:
    """Let time pass: expire what is due at ``now``."""


@dataclass(frozen=True, slots=True)
class ExpireOpen:
    """Expire every open inquiry (the venue restarted; sessions cannot resume)."""

    reason: str = "venue restarted"


@dataclass(frozen=True, slots=True)
class Configure:
    """Record what the log's instruments depend on (the reference universe's settings)."""

    params: tuple[tuple[str, object], ...]


@dataclass(frozen=True, slots=True)
class SetBenchmarks:
    """The Treasury curve that spread quotes are converted with from now on (the runtime's market moved).

    Spread levels are booked at the benchmark curve of the moment of the quote, as a venue "spots"
    benchmarks; logging the curve keeps replays exact."""

    tenors: tuple[float, ...]
    yields: tuple[float, ...]


Command = (Configure | SetBenchmarks | CreateRfq | CreatePortfolio | SubmitQuote | PassInquiry | WithdrawQuote
           | Award | Cancel | Tick | ExpireOpen)

__all__ = [
    "Award",
    "Cancel",
    "Command",
    "Configure",
    "CreatePortfolio",
    "CreateRfq",
    "ExpireOpen",
    "LineSpec",
    "PassInquiry",
    "SetBenchmarks",
    "SubmitQuote",
    "Tick",
    "WithdrawQuote",
]
