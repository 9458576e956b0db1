"""rfqsim Python SDK: the venue's HTTP + websocket API, typed.

```python
from clients.sdk import AsyncVenueClient

async with AsyncVenueClient("http://127.0.0.1:8000", api_key) as venue:
    rfq = await venue.create_rfq("49339JKH9", "buy", "5mm")         # quantities: 5_000_000, "5mm", "250k"
    quotes = await venue.wait_quotes(rfq.id, n=5, timeout=5)        # as they stream in
    trade = await venue.award_rfq(rfq.id, min(quotes, key=lambda q: q.price or 1e9))
    pt = await venue.create_portfolio("basket.xlsx")                # or a list of lines
    async with venue.events(from_seq=0) as events:                  # resumes by itself after a drop
        async for event in events:
            print(event.seq, event.type, event.inquiry_id)
```

:class:`VenueClient` has the same methods, blocking. Errors are typed (:mod:`clients.sdk.errors`);
creates and awards carry an ``Idempotency-Key`` (a uuid4 unless given), so retries never book twice;
the event stream reconnects and resumes after the last sequence number seen.
"""

from clients.sdk.client import DEFAULT_URL, AsyncVenueClient, inquiry_kind, normalise_lines, read_basket, to_quantity
from clients.sdk.errors import (
    AlreadyAwarded,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    ServerError,
    Unauthorized,
    Unavailable,
    VenueError,
)
from clients.sdk.models import (
    Event,
    Health,
    Inquiry,
    InquiryLine,
    Instrument,
    MarketData,
    OptimiseResult,
    PretradeFlag,
    PretradeLine,
    PretradeReport,
    Quote,
    QuoteBoard,
    Recommendation,
    TcaBenchmark,
    TcaLine,
    Trade,
    TradeLine,
    TradePage,
    TradeTca,
    best_quote,
)
from clients.sdk.stream import EventStream
from clients.sdk.sync import SyncEventStream, VenueClient

__all__ = [
    "DEFAULT_URL",
    "AlreadyAwarded",
    "AsyncVenueClient",
    "Conflict",
    "Event",
    "EventStream",
    "Forbidden",
    "Health",
    "Inquiry",
    "InquiryLine",
    "Instrument",
    "InvalidRequest",
    "MarketData",
    "NotFound",
    "OptimiseResult",
    "PretradeFlag",
    "PretradeLine",
    "PretradeReport",
    "Quote",
    "QuoteBoard",
    "Recommendation",
    "ServerError",
    "SyncEventStream",
    "TcaBenchmark",
    "TcaLine",
    "Trade",
    "TradeLine",
    "TradePage",
    "TradeTca",
    "Unauthorized",
    "Unavailable",
    "VenueClient",
    "VenueError",
    "best_quote",
    "inquiry_kind",
    "normalise_lines",
    "read_basket",
    "to_quantity",
]
