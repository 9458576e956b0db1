"""Events: the venue's record.

Every state change is an ``Event`` with a venue-wide sequence number, the engine time it happened
at, a type, the participants allowed to see it (its audience) and a JSON-ready payload. The event
log is the source of truth: the engine's state, the database projections and every participant's
stream are derived from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

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


def line_arrays(lines: list[dict[str, Any]], index_of: Callable[[str, str], int]
                ) -> tuple[tuple[str, ...], NDArray[np.int64], NDArray[np.int8], NDArray[np.int64]]:
    """The ``lines`` of an inquiry payload as (instruments, instrument index, client side sign, face).

    Side sign: +1 the client buys, -1 it sells, 0 two-way. One line (a single-bond RFQ, the common
    case) is built without generators: a measurable share of a simulated lifecycle otherwise.
    """
    if len(lines) == 1:
        line = lines[0]
        ins = line["instrument"]
        side = line["side"]
        return ((ins,), np.array([index_of(ins, "instrument")], dtype=np.int64),
                np.array([0 if side is None else (1 if side == "buy" else -1)], dtype=np.int8),
                np.array([line["quantity"]], dtype=np.int64))
    n = len(lines)
    instruments = tuple(line["instrument"] for line in lines)
    idx = np.fromiter((index_of(i, "instrument") for i in instruments), dtype=np.int64, count=n)
    sides = np.fromiter((0 if line["side"] is None else (1 if line["side"] == "buy" else -1) for line in lines),
                        dtype=np.int8, count=n)
    quantities = np.fromiter((line["quantity"] for line in lines), dtype=np.int64, count=n)
    return instruments, idx, sides, quantities
