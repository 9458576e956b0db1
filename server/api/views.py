"""What each participant may see of an inquiry (DESIGN.md principle 3), as JSON-ready dicts.

The client sees its inquiry and every quote on it. A dealer sees the request, its own quotes and
the inquiry's state, never another dealer's quote, name or the client's idempotency keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.domain.types import NS_PER_SECOND
from server.venue.state import Inquiry, Quote


def iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / NS_PER_SECOND, tz=UTC).isoformat(timespec="milliseconds")


def quote_view(inquiry: Inquiry, quote: Quote, include_line_prices: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "quote_id": quote.quote_id, "dealer_id": quote.dealer_id, "version": quote.version,
        "replaces": quote.replaces, "state": quote.state.value, "ts": quote.ts, "valid_until": quote.valid_until,
    }
    if inquiry.is_portfolio:
        out["net_price"] = quote.net_price
        out["line_prices"] = (quote.line_prices.tolist() if quote.line_prices is not None and include_line_prices
                              else None)
    elif quote.level is not None:
        out.update(level=quote.level, price=quote.price)
    else:
        out.update(bid=quote.bid, offer=quote.offer, bid_price=quote.bid_price, offer_price=quote.offer_price)
    return out


def inquiry_view(inquiry: Inquiry, participant_id: str, *, include_lines: bool = True,
                 include_line_prices: bool = True) -> dict[str, Any]:
    is_client = participant_id == inquiry.client_id
    out: dict[str, Any] = {
        "id": inquiry.inquiry_id, "kind": inquiry.kind.value, "state": inquiry.state.value,
        "client_id": inquiry.client_id, "quote_type": inquiry.quote_type.value,
        "created_ts": inquiry.created_ts, "expires_ts": inquiry.expires_ts,
        "created_at": iso(inquiry.created_ts), "expires_at": iso(inquiry.expires_ts),
        "ended_ts": inquiry.ended_ts, "end_reason": inquiry.end_reason,
    }
    if inquiry.is_portfolio:
        out["name"] = inquiry.name
        out["n_lines"] = inquiry.n_lines
        out["gross_notional"] = int(inquiry.quantities.sum())
        out["lines"] = inquiry.lines_json() if include_lines else None
    else:
        out.update(instrument=inquiry.instruments[0], side=inquiry.side_name(0),
                   quantity=int(inquiry.quantities[0]))
    if is_client:
        out["panel"] = list(inquiry.panel)
        out["trade_id"] = inquiry.trade_id
        out["passed"] = sorted(inquiry.passed)
        quotes = list(inquiry.quotes.values())
    else:
        out["panel_size"] = len(inquiry.panel)
        out["trade_id"] = (inquiry.trade_id if inquiry.trade_id and any(
            q.dealer_id == participant_id and q.state.value == "done" for q in inquiry.quotes.values()) else None)
        out["passed"] = participant_id in inquiry.passed
        quotes = [q for q in inquiry.quotes.values() if q.dealer_id == participant_id]
    out["quotes"] = [quote_view(inquiry, q, include_line_prices) for q in quotes]
    return out
