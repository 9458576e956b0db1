"""Events: the venue's record.

Every state change is an ``Event`` with a venue-wide sequence number, the engine time it happened
at, a type, the participants allowed to see it (its audience) and a JSON-ready payload. The event
log is the source of truth: the engine's state, the database projections and every participant's
stream are derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

# Event types. Payload fields are documented in docs/events.md.
INQUIRY_CREATED = "inquiry.created"  # audience: the client
INQUIRY_REQUEST = "inquiry.request"  # audience: the panel's dealers (no panel names, no client keys)
QUOTE_NEW = "quote.new"  # audience: client + quoting dealer
QUOTE_REVISED = "quote.revised"  # a new version replacing the dealer's previous quote
QUOTE_WITHDRAWN = "quote.withdrawn"
QUOTE_PASSED = "quote.passed"
INQUIRY_AWARDED = "inquiry.awarded"  # audience: the client
INQUIRY_EXPIRED = "inquiry.expired"
INQUIRY_CANCELLED = "inquiry.cancelled"
INQUIRY_NO_QUOTES = "inquiry.no_quotes"
DEALER_FEEDBACK = "dealer.feedback"  # one per dealer of the panel when the inquiry ends
TRADE_BOOKED = "trade.booked"  # audience: client + winning dealer
BENCHMARKS = "market.benchmarks"  # audience: nobody (the curve spread quotes convert with)
VENUE_CONFIGURED = "venue.configured"  # audience: nobody (the operator's record of the universe settings)

END_TYPES = frozenset({INQUIRY_AWARDED, INQUIRY_EXPIRED, INQUIRY_CANCELLED, INQUIRY_NO_QUOTES})


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    ts: int  # engine time, ns on the runtime's clock
    type: str
    audience: tuple[str, ...]  # participant ids, sorted
    data: dict[str, Any]

    @property
    def inquiry_id(self) -> str | None:
        value = self.data.get("inquiry_id")
        return value if isinstance(value, str) else None

    def visible_to(self, participant_id: str) -> bool:
        return participant_id in self.audience

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "type": self.type, "audience": list(self.audience),
                "data": self.data}

    def to_json(self) -> bytes:
        """Canonical bytes: the same event always serialises to the same bytes."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    def wire(self) -> dict[str, Any]:
        """What a participant's stream carries: no audience list."""
        return {"seq": self.seq, "ts": self.ts, "type": self.type, **self.data}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        return cls(seq=int(raw["seq"]), ts=int(raw["ts"]), type=str(raw["type"]),
                   audience=tuple(raw["audience"]), data=dict(raw["data"]))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        return cls.from_dict(orjson.loads(raw))
