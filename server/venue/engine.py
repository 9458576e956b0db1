"""The venue engine: ``Venue.handle(command, now) -> list[Event]``.

Synchronous and pure: no wall clock (time is the ``now`` argument, integer ns on the runtime's
clock), no randomness, no I/O. Every state change goes through ``_emit``, which numbers an event
and applies it; ``replay`` applies logged events the same way, so the state rebuilt from the log
is the state the engine had.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from server.domain import events as ev
from server.domain.calendar import dates_at
from server.domain.commands import (
    Award,
    Cancel,
    Command,
    Configure,
    CreatePortfolio,
    CreateRfq,
    ExpireOpen,
    LineSpec,
    PassInquiry,
    SetBenchmarks,
    SubmitQuote,
    Tick,
    WithdrawQuote,
)
from server.domain.errors import Conflict, InvalidInput, NotFound, VenueError
from server.domain.events import Event, line_arrays
from server.domain.types import InquiryKind, InquiryState, QuoteState, QuoteType, Role, Side
from server.market.curve import TreasuryCurve
from server.market.universe import Universe
from server.venue.instruments import InstrumentTable
from server.venue.rules import VenueRules
from server.venue.state import Inquiry, Quote

# Sanity bounds on quoted levels, per quote type: (low, high), exclusive.
LEVEL_BOUNDS: dict[QuoteType, tuple[float, float]] = {
    QuoteType.PRICE: (0.0, 1_000.0),
    QuoteType.YIELD: (-10.0, 200.0),
    QuoteType.SPREAD: (-1_000.0, 20_000.0),
}
MAX_LINE_ERRORS = 50


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``Venue.execute`` did: the events it logged, the object it made or found, or the error."""

    events: list[Event]
    ref: str | None = None
    error: VenueError | None = None


def _cents(x: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(x, dtype=np.float64) * 100.0).astype(np.int64)


class ConfigurationMismatch(ValueError):
    """The event log was written by a venue with another reference universe."""


class Venue:
    """The engine. One instance owns one venue's state; commands are applied one at a time."""

    def __init__(self, universe: Universe, participants: Mapping[str, Role],
                 rules: VenueRules | None = None, curve: TreasuryCurve | None = None,
                 expected_configuration: Mapping[str, Any] | None = None) -> None:
        self.expected_configuration = dict(expected_configuration) if expected_configuration is not None else None
        self.universe = universe
        self.table = InstrumentTable(universe)
        self.participants = dict(participants)
        self.rules = rules or VenueRules()
        self.curve = curve or universe.curve
        self.seq = 0
        self.inquiries: dict[str, Inquiry] = {}
        self.trades: dict[str, dict[str, Any]] = {}
        self.quote_index: dict[str, str] = {}  # quote id -> inquiry id
        self._counters = {"RFQ": 0, "PT": 0, "Q": 0, "T": 0}
        self._timers: list[tuple[int, str]] = []
        self._open: dict[str, None] = {}  # the open inquiries' ids, in creation order (an ordered set)
        # participant -> the inquiries it may see (as the client or on the panel), in creation order
        self._visible: dict[str, list[Inquiry]] = {}
        # (participant, idempotency key) -> (fingerprint, id of what the request made)
        self._idempotency: dict[tuple[str, str], tuple[str | None, str]] = {}
        self.configuration: dict[str, Any] | None = None  # from the log's venue.configured event
        self._dealers = frozenset(p for p, r in self.participants.items() if r is Role.DEALER)
        self._appliers = self._applier_table()
        for dealer in self.rules.default_panel:
            if dealer not in self._dealers:
                raise ValueError(f"default panel names {dealer!r}, which is not a dealer")

    # ------------------------------------------------------------------ public API

    def handle(self, command: Command, now: int) -> list[Event]:
        """Apply one command at engine time ``now``; return its events or raise ``VenueError``.

        A refused command changes nothing. Inquiries whose time limit has passed are treated as
        ended, but their expiry events are produced only by ``Tick`` (see ``execute``).
        """
        out: list[Event] = []
        match command:
            case Tick():
                self._expire_due(now, out)
            case CreateRfq():
                self._create_rfq(command, now, out)
            case CreatePortfolio():
                self._create_portfolio(command, now, out)
            case SubmitQuote():
                self._submit_quote(command, now, out)
            case PassInquiry():
                self._pass(command, now, out)
            case WithdrawQuote():
                self._withdraw(command, now, out)
            case Award():
                self._award(command, now, out)
            case Cancel():
                self._cancel(command, now, out)
            case Configure():
                params = dict(command.params)
                if self.configuration is not None and self.configuration != params:
                    raise Conflict(f"the event log was written with {self.configuration}; this venue runs with "
                                   f"{params}", field="configuration")
                if self.configuration is None:  # recorded once, by the first start
                    self._emit(out, ev.VENUE_CONFIGURED, (), now, params)
            case SetBenchmarks():
                if len(command.tenors) != len(command.yields) or not command.tenors:
                    raise InvalidInput("one yield per tenor", field="yields")
                if (tuple(command.tenors), tuple(command.yields)) != (self.curve.tenors, self.curve.yields):
                    self._emit(out, ev.BENCHMARKS, (), now,
                               {"tenors": list(command.tenors), "yields": list(command.yields)})
            case ExpireOpen():
                for inquiry_id in sorted(self._open, key=self._order_key):
                    self._end(self.inquiries[inquiry_id], InquiryState.EXPIRED, command.reason, now, out)
            case _:
                raise InvalidInput(f"unknown command {type(command).__name__}", field="command")
        return out

    def execute(self, command: Command, now: int) -> Outcome:
        """Expire what is due, then apply ``command``. Never raises a ``VenueError``: it is returned,
        together with any expiry events that must still be logged."""
        events = self.handle(Tick(), now) if self._timers and self._timers[0][0] <= now else []
        try:
            produced = self.handle(command, now)
        except VenueError as exc:
            return Outcome(events, None, exc)
        return Outcome(events + produced, self._ref(command, produced))

    def next_timer(self) -> int | None:
        """Engine time of the earliest pending expiry, if any."""
        while self._timers and self._timers[0][1] not in self._open:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def replay(self, events: Iterable[Event]) -> None:
        """Rebuild state from logged events (they must follow this engine's last sequence number)."""
        for event in events:
            if event.seq != self.seq + 1:
                raise ValueError(f"event log gap: expected seq {self.seq + 1}, got {event.seq}")
            self._apply(event)

    def idempotent_result(self, participant_id: str, key: str) -> str | None:
        found = self._idempotency.get((participant_id, key))
        return found[1] if found else None

    @property
    def open_inquiries(self) -> frozenset[str]:
        return frozenset(self._open)

    # ------------------------------------------------------------------ views (entitlement-aware)

    def inquiry_for(self, inquiry_id: str, participant_id: str, kind: InquiryKind | None = None) -> Inquiry:
        """The inquiry if ``participant_id`` may see it, else ``NotFound`` (never a hint it exists)."""
        inquiry = self.inquiries.get(inquiry_id)
        if inquiry is None or (kind is not None and inquiry.kind is not kind) or not (
                inquiry.client_id == participant_id or participant_id in inquiry.panel):
            raise NotFound(f"no inquiry {inquiry_id}", field="inquiry_id")
        return inquiry

    def inquiries_for(self, participant_id: str, *, state: InquiryState | None = None,
                      kind: InquiryKind | None = None, limit: int = 100) -> list[Inquiry]:
        """The inquiries ``participant_id`` may see, newest (last created) first.

        From the participant's own list, walked from its newest end: a call reads its ``limit``
        newest matches, however long the venue has run. Open inquiries, when asked for, come from the
        open set (newest first too) instead when that is the shorter walk.
        """
        mine = self._visible.get(participant_id, [])
        candidates: Iterable[Inquiry]
        if state is InquiryState.OPEN and len(self._open) < len(mine):
            candidates = (self.inquiries[i] for i in reversed(self._open))
        else:
            candidates = reversed(mine)
        out: list[Inquiry] = []
        for inquiry in candidates:
            if (state is None or inquiry.state is state) and (kind is None or inquiry.kind is kind) and (
                    inquiry.client_id == participant_id or participant_id in inquiry.panel):
                out.append(inquiry)
                if len(out) >= limit:
                    break
        return out

    def trade_for(self, trade_id: str, participant_id: str) -> dict[str, Any]:
        trade = self.trades.get(trade_id)
        if trade is None or participant_id not in (trade["client_id"], trade["dealer_id"]):
            raise NotFound(f"no trade {trade_id}", field="trade_id")
        return trade

    # ------------------------------------------------------------------ commands

    def _create_rfq(self, cmd: CreateRfq, now: int, out: list[Event]) -> None:
        self._require(cmd.client_id, Role.CLIENT)
        if self._idempotent_replay(cmd.client_id, cmd.idempotency_key, cmd.fingerprint):
            return
        quote_type = _quote_type(cmd.quote_type)
        side = _side_or_none(cmd.side, "side")
        idx = self.table.index_of(cmd.instrument, "instrument")
        quantity = _whole_face(cmd.quantity, "quantity")
        table = self.table
        reason = _quantity_reason(quantity, int(table.min_piece[idx]), int(table.increment[idx]),
                                  int(table.amount_outstanding[idx]))
        if reason is not None:
            raise InvalidInput(reason, field="quantity")
        panel = self._panel(cmd.panel, is_portfolio=False)
        expires = now + self._time_limit(cmd.time_limit_ns, is_portfolio=False)
        inquiry_id = self._next_id("RFQ")
        lines = [{"instrument": self.table.cusip[idx], "side": side.value if side else None, "quantity": quantity}]
        self._announce(inquiry_id, InquiryKind.RFQ, cmd.client_id, panel, quote_type, lines, now, expires,
                       None, cmd.idempotency_key, cmd.fingerprint, _arrival(cmd.evaluated_mids, [idx]),
                       out)

    def _create_portfolio(self, cmd: CreatePortfolio, now: int, out: list[Event]) -> None:
        self._require(cmd.client_id, Role.CLIENT)
        if self._idempotent_replay(cmd.client_id, cmd.idempotency_key, cmd.fingerprint):
            return
        n = len(cmd.lines)
        if n == 0:
            raise InvalidInput("a portfolio inquiry needs at least one line", field="lines")
        if n > self.rules.max_lines:
            raise InvalidInput(f"{n} lines; the venue takes at most {self.rules.max_lines}", field="lines")
        errors: list[dict[str, str]] = []
        idx = np.full(n, -1, dtype=np.int64)
        sides = np.zeros(n, dtype=np.int8)
        for i, line in enumerate(cmd.lines):
            try:
                idx[i] = self.table.index_of(line.instrument, f"lines[{i}].instrument")
            except VenueError as exc:
                errors.append({"field": exc.field or f"lines[{i}].instrument", "reason": exc.reason})
            try:
                sides[i] = _side(line.side, f"lines[{i}].side").sign
            except VenueError as exc:
                errors.append({"field": exc.field or f"lines[{i}].side", "reason": exc.reason})
        quantities = np.fromiter((line.quantity for line in cmd.lines), dtype=np.int64, count=n)
        known = idx >= 0
        # duplicates: the same instrument on two lines
        order = np.argsort(idx, kind="stable")
        sorted_idx = idx[order]
        dup = np.flatnonzero((sorted_idx[1:] == sorted_idx[:-1]) & (sorted_idx[1:] >= 0))
        for k in dup[:MAX_LINE_ERRORS]:
            first, again = int(order[k]), int(order[k + 1])
            errors.append({"field": f"lines[{again}].instrument",
                           "reason": f"duplicate of lines[{first}] ({self.table.cusip[idx[again]]})"})
        errors.extend(self._quantity_errors(idx, quantities, known, [f"lines[{i}].quantity" for i in range(n)]))
        if errors:
            errors.sort(key=lambda e: _line_no(e["field"]))
            head = errors[0]
            more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
            raise InvalidInput(head["reason"] + more, field=head["field"],
                               details={"errors": errors[:MAX_LINE_ERRORS], "error_count": len(errors)})
        panel = self._panel(cmd.panel, is_portfolio=True)
        expires = now + self._time_limit(cmd.time_limit_ns, is_portfolio=True)
        inquiry_id = self._next_id("PT")
        lines = [{"instrument": self.table.cusip[i], "side": "buy" if s > 0 else "sell", "quantity": q}
                 for i, s, q in zip(idx.tolist(), sides.tolist(), quantities.tolist(), strict=True)]
        self._announce(inquiry_id, InquiryKind.PORTFOLIO, cmd.client_id, panel, QuoteType.PRICE, lines, now,
                       expires, cmd.name, cmd.idempotency_key, cmd.fingerprint, _arrival(cmd.evaluated_mids, idx),
                       out)

    def _announce(self, inquiry_id: str, kind: InquiryKind, client_id: str, panel: tuple[str, ...],
                  quote_type: QuoteType, lines: list[dict[str, Any]], now: int, expires: int,
                  name: str | None, key: str | None, fingerprint: str | None, arrival_mids: list[float] | None,
                  out: list[Event]) -> None:
        common = {"inquiry_id": inquiry_id, "kind": kind.value, "client_id": client_id,
                  "quote_type": quote_type.value, "lines": lines, "created_ts": now, "expires_ts": expires,
                  "name": name}
        created: dict[str, Any] = {**common, "panel": list(panel), "idempotency_key": key, "fingerprint": fingerprint}
        if arrival_mids is not None:
            created["arrival_mids"] = arrival_mids
        self._emit(out, ev.INQUIRY_CREATED, (client_id,), now, created)
        self._emit(out, ev.INQUIRY_REQUEST, panel, now, {**common, "panel_size": len(panel)})

    def _submit_quote(self, cmd: SubmitQuote, now: int, out: list[Event]) -> None:
        inquiry = self._dealer_inquiry(cmd.dealer_id, cmd.inquiry_id, now)
        if cmd.dealer_id in inquiry.passed:
            raise Conflict(f"dealer {cmd.dealer_id} passed on {inquiry.inquiry_id}", field="inquiry_id")
        valid_until = inquiry.expires_ts
        if cmd.valid_for_ns is not None:
            if cmd.valid_for_ns <= 0:
                raise InvalidInput("must be positive", field="valid_for_ns")
            valid_until = min(valid_until, now + cmd.valid_for_ns)
        previous = inquiry.live_by_dealer.get(cmd.dealer_id)
        data: dict[str, Any] = {
            "quote_id": self._next_id("Q"), "inquiry_id": inquiry.inquiry_id, "dealer_id": cmd.dealer_id,
            "version": inquiry.quotes[previous].version + 1 if previous else 1, "replaces": previous,
            "valid_until": valid_until, "quote_type": inquiry.quote_type.value, "dealer_ref": cmd.dealer_ref,
        }
        if inquiry.is_portfolio:
            data.update(self._portfolio_levels(inquiry, cmd))
        else:
            data.update(self._single_levels(inquiry, cmd, now))
        self._emit(out, ev.QUOTE_REVISED if previous else ev.QUOTE_NEW, (inquiry.client_id, cmd.dealer_id), now,
                   data)

    def _single_levels(self, inquiry: Inquiry, cmd: SubmitQuote, now: int) -> dict[str, Any]:
        if cmd.net_price is not None or cmd.line_prices is not None:
            raise InvalidInput("a single-bond quote has no net_price or line_prices", field="net_price")
        side = inquiry.side
        if side is None:
            if cmd.bid is None or cmd.offer is None or cmd.level is not None:
                raise InvalidInput("a request for market takes a two-way quote: bid and offer, no level",
                                   field="bid" if cmd.bid is None else ("offer" if cmd.offer is None else "level"))
            bid = _level(cmd.bid, inquiry.quote_type, "bid")
            offer = _level(cmd.offer, inquiry.quote_type, "offer")
            bid_price, offer_price = self._prices(inquiry, [bid, offer], now)
            if bid_price > offer_price:
                raise InvalidInput(f"bid {bid:g} is through offer {offer:g} (prices {bid_price:.4f} > "
                                   f"{offer_price:.4f})", field="bid")
            return {"bid": bid, "offer": offer, "bid_price": bid_price, "offer_price": offer_price}
        if cmd.level is None or cmd.bid is not None or cmd.offer is not None:
            expected = "bid" if side is Side.SELL else "offer"
            raise InvalidInput(f"the client {side.value}s: quote one level (the {expected}), not a two-way "
                               "market", field="level")
        level = _level(cmd.level, inquiry.quote_type, "level")
        (price,) = self._prices(inquiry, [level], now)
        return {"level": level, "price": price}

    def _prices(self, inquiry: Inquiry, levels: list[float], now: int) -> list[float]:
        if inquiry.quote_type is QuoteType.PRICE:  # already clean prices (bounds checked by _level)
            return [round(p, 6) for p in levels]
        settle = dates_at(now, self.rules.settlement_days)[1]
        idx = np.repeat(inquiry.idx[:1], len(levels))
        prices = self.table.clean_prices(idx, inquiry.quote_type, np.array(levels, dtype=np.float64), settle,
                                         self.curve)
        if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
            raise InvalidInput("the level converts to no positive clean price", field="level")
        return [round(float(p), 6) for p in prices]

    def _portfolio_levels(self, inquiry: Inquiry, cmd: SubmitQuote) -> dict[str, Any]:
        if cmd.level is not None or cmd.bid is not None or cmd.offer is not None:
            raise InvalidInput("a portfolio quote is a net_price with line_prices", field="level")
        if cmd.net_price is None or not math.isfinite(cmd.net_price):
            raise InvalidInput("required: the basket's net price in USD", field="net_price")
        if cmd.line_prices is None:
            raise InvalidInput("required: one clean price per line", field="line_prices")
        prices = np.asarray(cmd.line_prices, dtype=np.float64)
        if prices.shape != (inquiry.n_lines,):
            raise InvalidInput(f"{prices.size} prices for {inquiry.n_lines} lines", field="line_prices")
        low, high = LEVEL_BOUNDS[QuoteType.PRICE]
        bad = np.flatnonzero(~np.isfinite(prices) | (prices <= low) | (prices >= high))
        if bad.size:
            i = int(bad[0])
            raise InvalidInput(f"price {prices[i]!r} is not a clean price between {low:g} and {high:g}",
                               field=f"line_prices[{i}]")
        implied = float(np.sum(-inquiry.sides * inquiry.quantities * prices) / 100.0)
        if abs(implied - cmd.net_price) > self.rules.reconcile_tolerance_usd:
            raise InvalidInput(f"net price {cmd.net_price:.2f} does not reconcile with the line prices, which "
                               f"give {implied:.2f}", field="net_price")
        return {"net_price": float(cmd.net_price), "line_prices": prices.tolist()}

    def _pass(self, cmd: PassInquiry, now: int, out: list[Event]) -> None:
        inquiry = self._dealer_inquiry(cmd.dealer_id, cmd.inquiry_id, now)
        if cmd.dealer_id in inquiry.passed:
            raise Conflict(f"dealer {cmd.dealer_id} already passed", field="inquiry_id")
        self._emit(out, ev.QUOTE_PASSED, (inquiry.client_id, cmd.dealer_id), now,
                   {"inquiry_id": inquiry.inquiry_id, "dealer_id": cmd.dealer_id,
                    "quote_id": inquiry.live_by_dealer.get(cmd.dealer_id), "reason": cmd.reason})
        if inquiry.passed >= set(inquiry.panel):
            self._end(inquiry, InquiryState.NO_QUOTES, "every dealer passed", now, out)

    def _withdraw(self, cmd: WithdrawQuote, now: int, out: list[Event]) -> None:
        inquiry = self._dealer_inquiry(cmd.dealer_id, cmd.inquiry_id, now)
        quote_id = inquiry.live_by_dealer.get(cmd.dealer_id)
        if quote_id is None:
            raise Conflict(f"dealer {cmd.dealer_id} has no live quote on {inquiry.inquiry_id}", field="inquiry_id")
        self._emit(out, ev.QUOTE_WITHDRAWN, (inquiry.client_id, cmd.dealer_id), now,
                   {"inquiry_id": inquiry.inquiry_id, "dealer_id": cmd.dealer_id, "quote_id": quote_id,
                    "reason": cmd.reason})

    def _award(self, cmd: Award, now: int, out: list[Event]) -> None:
        self._require(cmd.client_id, Role.CLIENT)
        if self._idempotent_replay(cmd.client_id, cmd.idempotency_key, cmd.fingerprint):
            return
        inquiry = self.inquiries.get(cmd.inquiry_id)
        if inquiry is None or inquiry.client_id != cmd.client_id:
            raise NotFound(f"no inquiry {cmd.inquiry_id}", field="inquiry_id")
        quote = inquiry.quotes.get(cmd.quote_id)
        if quote is None:
            raise NotFound(f"no quote {cmd.quote_id} on {inquiry.inquiry_id}", field="quote_id")
        if inquiry.state is InquiryState.AWARDED:
            raise Conflict(f"{inquiry.inquiry_id} is already awarded (trade {inquiry.trade_id})",
                           field="inquiry_id", code="already_awarded", details={"trade_id": inquiry.trade_id})
        self._require_open(inquiry, now)
        if quote.state is QuoteState.WITHDRAWN:
            raise Conflict(f"quote {quote.quote_id} was withdrawn", field="quote_id", code="quote_withdrawn")
        if quote.state is QuoteState.REPLACED:
            newer = inquiry.live_by_dealer.get(quote.dealer_id)
            raise Conflict(f"quote {quote.quote_id} was replaced by {newer}", field="quote_id",
                           code="quote_replaced", details={"replaced_by": newer})
        if not quote.live_at(now):
            raise Conflict(f"quote {quote.quote_id} expired", field="quote_id", code="quote_expired")
        side = inquiry.side
        if inquiry.is_portfolio:
            if cmd.side is not None:
                raise InvalidInput("a portfolio award takes no side: each line has its own", field="side")
        elif side is None:
            if cmd.side is None:
                raise InvalidInput("awarding a two-way quote needs the side you trade: buy or sell", field="side")
            side = _side(cmd.side, "side")
        elif cmd.side is not None and _side(cmd.side, "side") is not side:
            raise InvalidInput(f"this RFQ is to {side.value}; the award cannot {cmd.side}", field="side")
        trade_id = self._next_id("T")
        cover = self._cover(inquiry, quote, side, now)
        trade = self._book(inquiry, quote, side, trade_id, cover, now)
        self._emit(out, ev.INQUIRY_AWARDED, (inquiry.client_id,), now,
                   {"inquiry_id": inquiry.inquiry_id, "state": InquiryState.AWARDED.value,
                    "quote_id": quote.quote_id, "dealer_id": quote.dealer_id, "trade_id": trade_id,
                    "side": side.value if side else None, "cover_quote_id": cover.quote_id if cover else None,
                    "idempotency_key": cmd.idempotency_key, "fingerprint": cmd.fingerprint})
        self._emit(out, ev.TRADE_BOOKED, (inquiry.client_id, quote.dealer_id), now, trade)
        self._feedback(inquiry, now, out, winner=quote, cover=cover, side=side)

    def _cancel(self, cmd: Cancel, now: int, out: list[Event]) -> None:
        inquiry = self.inquiries.get(cmd.inquiry_id)
        if inquiry is None or inquiry.client_id != cmd.client_id:
            raise NotFound(f"no inquiry {cmd.inquiry_id}", field="inquiry_id")
        self._require_open(inquiry, now)
        self._end(inquiry, InquiryState.CANCELLED, cmd.reason or "cancelled by the client", now, out)

    def _expire_due(self, now: int, out: list[Event]) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, inquiry_id = heapq.heappop(self._timers)
            if inquiry_id in self._open:
                inquiry = self.inquiries[inquiry_id]
                if any(q.valid_until >= inquiry.expires_ts for q in inquiry.current_quotes()):
                    self._end(inquiry, InquiryState.EXPIRED, "time limit reached without an award", now, out)
                else:
                    self._end(inquiry, InquiryState.NO_QUOTES, "time limit reached with no live quote", now,
                              out)

    # ------------------------------------------------------------------ award helpers

    def _cover(self, inquiry: Inquiry, winner: Quote, side: Side | None, now: int) -> Quote | None:
        """The best other live quote: the cover."""
        rivals = [q for q in inquiry.current_quotes() if q.quote_id != winner.quote_id and q.live_at(now)]
        if not rivals:
            return None
        if inquiry.is_portfolio:
            return max(rivals, key=lambda q: (q.net_price or -math.inf, -q.ts))
        assert side is not None
        sign = 1.0 if side is Side.SELL else -1.0  # a selling client wants the highest bid
        return max(rivals, key=lambda q: (sign * (q.client_price(side) or math.nan), -q.ts))

    def _book(self, inquiry: Inquiry, quote: Quote, side: Side | None, trade_id: str, cover: Quote | None,
              now: int) -> dict[str, Any]:
        trade_date, settle = dates_at(now, self.rules.settlement_days)
        if inquiry.is_portfolio:
            assert quote.line_prices is not None
            lines, totals = self._book_lines(inquiry, quote.line_prices, inquiry.sides.astype(np.int64), settle)
        else:
            assert side is not None
            price = quote.client_price(side)
            assert price is not None
            lines, totals = self._book_line(inquiry, price, side.sign, settle)
        gross_notional, net_settlement, net_principal = totals
        if inquiry.arrival_mids is not None:
            for line, mid in zip(lines, inquiry.arrival_mids, strict=True):
                line["arrival_mid"] = mid
        trade: dict[str, Any] = {
            "trade_id": trade_id, "inquiry_id": inquiry.inquiry_id, "kind": inquiry.kind.value,
            "quote_id": quote.quote_id, "client_id": inquiry.client_id, "dealer_id": quote.dealer_id,
            "executed_ts": now, "trade_date": trade_date.isoformat(), "settlement_date": settle.isoformat(),
            "currency": "USD", "quote_type": inquiry.quote_type.value,
            "gross_notional": gross_notional, "net_settlement": net_settlement / 100,
            "net_principal": net_principal / 100, "lines": lines,
        }
        if inquiry.is_portfolio:
            trade.update(net_price=quote.net_price, level=None)
        else:
            trade.update(net_price=None, level=quote.level if quote.level is not None else (
                quote.offer if side is Side.BUY else quote.bid))
        return trade

    def _book_lines(self, inquiry: Inquiry, prices: np.ndarray, sides: np.ndarray,
                    settle: date) -> tuple[list[dict[str, Any]], tuple[int, int, int]]:
        """Trade lines and (gross notional, net settlement in cents, net principal in cents), vectorised."""
        qty = inquiry.quantities
        accrued = self.table.accrued(inquiry.idx, settle)
        principal = _cents(qty * prices / 100.0)
        accrued_amount = _cents(qty * accrued / 100.0)
        net_money = principal + accrued_amount
        # cash to the client: it pays for what it buys and receives for what it sells
        lines = [
            {"instrument": ins, "side": "buy" if s > 0 else "sell", "quantity": q, "clean_price": round(p, 6),
             "accrued": round(a, 6), "principal": pr / 100, "accrued_amount": am / 100, "net_money": nm / 100}
            for ins, s, q, p, a, pr, am, nm in zip(
                inquiry.instruments, sides.tolist(), qty.tolist(), prices.tolist(), accrued.tolist(),
                principal.tolist(), accrued_amount.tolist(), net_money.tolist(), strict=True)
        ]
        return lines, (int(np.sum(qty)), int(np.sum(-sides * net_money)), int(np.sum(-sides * principal)))

    def _book_line(self, inquiry: Inquiry, price: float, sign: int,
                   settle: date) -> tuple[list[dict[str, Any]], tuple[int, int, int]]:
        """``_book_lines`` for a single bond in scalar arithmetic: the same IEEE operations in the same
        order (int face to float, then x price / 100, x 100, rounded half to even as ``np.rint``), so
        the same cents."""
        q = int(inquiry.quantities[0])
        accrued = self.table.accrued_one(int(inquiry.idx[0]), settle)
        principal = round(q * price / 100.0 * 100.0)
        accrued_amount = round(q * accrued / 100.0 * 100.0)
        net_money = principal + accrued_amount
        line = {"instrument": inquiry.instruments[0], "side": "buy" if sign > 0 else "sell", "quantity": q,
                "clean_price": round(price, 6), "accrued": round(accrued, 6), "principal": principal / 100,
                "accrued_amount": accrued_amount / 100, "net_money": net_money / 100}
        return [line], (q, -sign * net_money, -sign * principal)

    def _feedback(self, inquiry: Inquiry, now: int, out: list[Event], *, winner: Quote | None = None,
                  cover: Quote | None = None, side: Side | None = None, outcome: str | None = None) -> None:
        quoted = set(inquiry.live_by_dealer) | {q.dealer_id for q in inquiry.quotes.values()}
        for dealer in inquiry.panel:
            data: dict[str, Any] = {"inquiry_id": inquiry.inquiry_id, "dealer_id": dealer}
            if winner is None:
                data["outcome"] = outcome
            elif dealer == winner.dealer_id:
                data.update(outcome="done", trade_id=inquiry.trade_id, quote_id=winner.quote_id)
                if cover is not None and self.rules.disclose_cover_to_winner:
                    if inquiry.is_portfolio:
                        data["cover_net_price"] = cover.net_price
                    else:
                        assert side is not None
                        data["cover_price"] = cover.client_price(side)
            elif cover is not None and dealer == cover.dealer_id:
                data["outcome"] = "covered"
            elif dealer in quoted:
                data["outcome"] = "traded_away"
            else:
                data["outcome"] = "passed" if dealer in inquiry.passed else "no_response"
            self._emit(out, ev.DEALER_FEEDBACK, (dealer,), now, data)

    def _end(self, inquiry: Inquiry, state: InquiryState, reason: str, now: int, out: list[Event]) -> None:
        type_ = {InquiryState.EXPIRED: ev.INQUIRY_EXPIRED, InquiryState.CANCELLED: ev.INQUIRY_CANCELLED,
                 InquiryState.NO_QUOTES: ev.INQUIRY_NO_QUOTES}[state]
        self._emit(out, type_, (inquiry.client_id,), now,
                   {"inquiry_id": inquiry.inquiry_id, "state": state.value, "reason": reason})
        self._feedback(inquiry, now, out, outcome={InquiryState.EXPIRED: "expired",
                                                   InquiryState.CANCELLED: "cancelled",
                                                   InquiryState.NO_QUOTES: "no_trade"}[state])

    # ------------------------------------------------------------------ validation helpers

    def _require(self, participant_id: str, role: Role) -> None:
        if self.participants.get(participant_id) is not role:
            raise NotFound(f"no {role.value} {participant_id}", field=f"{role.value}_id")

    def _require_open(self, inquiry: Inquiry, now: int) -> None:
        if inquiry.state is not InquiryState.OPEN:
            raise Conflict(f"{inquiry.inquiry_id} is {inquiry.state.value}", field="inquiry_id",
                           code=f"inquiry_{inquiry.state.value}")
        if now >= inquiry.expires_ts:
            raise Conflict(f"{inquiry.inquiry_id} reached its time limit", field="inquiry_id",
                           code="inquiry_expired")

    def _dealer_inquiry(self, dealer_id: str, inquiry_id: str, now: int) -> Inquiry:
        self._require(dealer_id, Role.DEALER)
        inquiry = self.inquiries.get(inquiry_id)
        if inquiry is None or dealer_id not in inquiry.panel:
            raise NotFound(f"no inquiry {inquiry_id}", field="inquiry_id")
        self._require_open(inquiry, now)
        return inquiry

    def _idempotent_replay(self, participant_id: str, key: str | None, fingerprint: str | None) -> bool:
        if key is None:
            return False
        found = self._idempotency.get((participant_id, key))
        if found is None:
            return False
        if found[0] != fingerprint:
            raise Conflict("this Idempotency-Key was used for a different request", field="Idempotency-Key",
                           code="idempotency_key_reused")
        return True

    def _panel(self, requested: tuple[str, ...] | None, *, is_portfolio: bool) -> tuple[str, ...]:
        limit = self.rules.max_pt_panel if is_portfolio else self.rules.max_rfq_panel
        if requested is None:
            panel = self.rules.default_panel
            if is_portfolio:
                panel = panel[: self.rules.default_pt_panel_size]
            if not panel:
                raise InvalidInput("no panel given and the venue has no default panel", field="panel")
            return panel[:limit]
        if not requested:
            raise InvalidInput("name at least one dealer", field="panel")
        seen: set[str] = set()
        for i, dealer in enumerate(requested):
            if dealer not in self._dealers:
                raise InvalidInput(f"unknown dealer {dealer!r}", field=f"panel[{i}]")
            if dealer in seen:
                raise InvalidInput(f"dealer {dealer!r} named twice", field=f"panel[{i}]")
            seen.add(dealer)
        if len(requested) > limit:
            kind = "portfolio inquiry" if is_portfolio else "RFQ"
            raise InvalidInput(f"{len(requested)} dealers; a {kind} goes to at most {limit}", field="panel")
        return tuple(requested)

    def _time_limit(self, requested: int | None, *, is_portfolio: bool) -> int:
        limit = self.rules.time_limit(is_portfolio, requested)
        if not self.rules.min_time_limit_ns <= limit <= self.rules.max_time_limit_ns:
            raise InvalidInput(f"must be between {self.rules.min_time_limit_ns / 1e9:g} and "
                               f"{self.rules.max_time_limit_ns / 1e9:g} seconds", field="time_limit")
        return limit

    def _quantity_errors(self, idx: np.ndarray, quantities: np.ndarray, known: np.ndarray,
                         fields: list[str]) -> list[dict[str, str]]:
        safe = np.where(known, idx, 0)
        min_piece = self.table.min_piece[safe]
        increment = self.table.increment[safe]
        outstanding = self.table.amount_outstanding[safe]
        below = known & (quantities < min_piece)
        off = known & ~below & ((quantities - min_piece) % increment != 0)
        over = known & (quantities > outstanding)
        errors: list[dict[str, str]] = []
        for i in np.flatnonzero(below | off | over)[:MAX_LINE_ERRORS].tolist():
            reason = _quantity_reason(int(quantities[i]), int(min_piece[i]), int(increment[i]), int(outstanding[i]))
            assert reason is not None
            errors.append({"field": fields[i], "reason": reason})
        return errors

    # ------------------------------------------------------------------ events

    def _next_id(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return f"{prefix}-{self._counters[prefix]}"

    def _emit(self, out: list[Event], type_: str, audience: Iterable[str], ts: int, data: dict[str, Any]) -> None:
        if type(audience) is not tuple or len(audience) > 1:
            audience = tuple(sorted(set(audience)))
        event = Event(self.seq + 1, ts, type_, audience, data)
        self._apply(event)
        out.append(event)

    def _apply(self, event: Event) -> None:
        self.seq = event.seq
        apply = self._appliers.get(event.type)
        if apply is not None:  # events of other types change no engine state
            apply(event)

    def _applier_table(self) -> dict[str, Callable[[Event], None]]:
        return {
            ev.INQUIRY_CREATED: lambda e: self._apply_created(e.data),
            ev.QUOTE_NEW: self._apply_quote, ev.QUOTE_REVISED: self._apply_quote,
            ev.QUOTE_WITHDRAWN: self._apply_withdrawn, ev.QUOTE_PASSED: self._apply_withdrawn,
            ev.INQUIRY_AWARDED: self._apply_awarded,
            ev.INQUIRY_EXPIRED: self._apply_ended, ev.INQUIRY_CANCELLED: self._apply_ended,
            ev.INQUIRY_NO_QUOTES: self._apply_ended,
            ev.TRADE_BOOKED: self._apply_trade,
            ev.BENCHMARKS: self._apply_benchmarks,
            ev.VENUE_CONFIGURED: self._apply_configured,
        }

    def _apply_quote(self, event: Event) -> None:
        d = event.data
        inquiry = self.inquiries[d["inquiry_id"]]
        self._bump("Q", d["quote_id"])
        previous = d.get("replaces")
        if previous:
            inquiry.quotes[previous].state = QuoteState.REPLACED
        line_prices = d.get("line_prices")
        quote = Quote(
            quote_id=d["quote_id"], inquiry_id=inquiry.inquiry_id, dealer_id=d["dealer_id"],
            version=d["version"], ts=event.ts, valid_until=d["valid_until"], replaces=previous,
            level=d.get("level"), bid=d.get("bid"), offer=d.get("offer"), price=d.get("price"),
            bid_price=d.get("bid_price"), offer_price=d.get("offer_price"), net_price=d.get("net_price"),
            line_prices=np.asarray(line_prices, dtype=np.float64) if line_prices is not None else None)
        inquiry.quotes[quote.quote_id] = quote
        inquiry.live_by_dealer[quote.dealer_id] = quote.quote_id
        self.quote_index[quote.quote_id] = inquiry.inquiry_id

    def _apply_withdrawn(self, event: Event) -> None:  # a withdrawal or a pass
        d = event.data
        inquiry = self.inquiries[d["inquiry_id"]]
        quote_id = inquiry.live_by_dealer.pop(d["dealer_id"], None)
        if quote_id is not None:
            inquiry.quotes[quote_id].state = QuoteState.WITHDRAWN
        if event.type == ev.QUOTE_PASSED:
            inquiry.passed.add(d["dealer_id"])

    def _apply_awarded(self, event: Event) -> None:
        d = event.data
        inquiry = self._close(d, event.ts)
        inquiry.trade_id = d["trade_id"]
        for quote_id in inquiry.live_by_dealer.values():
            quote = inquiry.quotes[quote_id]
            if quote_id == d["quote_id"]:
                quote.state = QuoteState.DONE
            elif quote_id == d.get("cover_quote_id"):
                quote.state = QuoteState.COVERED
            else:
                quote.state = QuoteState.TRADED_AWAY
        if d.get("idempotency_key"):
            key = (inquiry.client_id, d["idempotency_key"])
            self._idempotency[key] = (d.get("fingerprint"), d["trade_id"])

    def _apply_ended(self, event: Event) -> None:  # expired, cancelled, no quotes
        d = event.data
        inquiry = self._close(d, event.ts)
        inquiry.end_reason = d.get("reason")
        for quote_id in inquiry.live_by_dealer.values():
            inquiry.quotes[quote_id].state = QuoteState.CLOSED

    def _apply_trade(self, event: Event) -> None:
        d = event.data
        self._bump("T", d["trade_id"])
        self.trades[d["trade_id"]] = d

    def _apply_benchmarks(self, event: Event) -> None:
        self.curve = TreasuryCurve(tuple(event.data["tenors"]), tuple(event.data["yields"]))

    def _apply_configured(self, event: Event) -> None:
        d = event.data
        if self.expected_configuration is not None and dict(d) != self.expected_configuration:
            raise ConfigurationMismatch(f"the event log was written with {dict(d)}; this venue runs with "
                                        f"{self.expected_configuration}")
        self.configuration = dict(d)

    def _apply_created(self, d: dict[str, Any]) -> None:
        lines = d["lines"]
        prefix = "PT" if d["kind"] == InquiryKind.PORTFOLIO.value else "RFQ"
        self._bump(prefix, d["inquiry_id"])
        instruments, idx, sides, quantities = line_arrays(lines, self.table.index_of)
        inquiry = Inquiry(
            inquiry_id=d["inquiry_id"], kind=InquiryKind(d["kind"]), client_id=d["client_id"],
            panel=tuple(d["panel"]), quote_type=QuoteType(d["quote_type"]), created_ts=d["created_ts"],
            expires_ts=d["expires_ts"], instruments=instruments, idx=idx, sides=sides, quantities=quantities,
            name=d.get("name"), arrival_mids=d.get("arrival_mids"))
        self.inquiries[inquiry.inquiry_id] = inquiry
        self._open[inquiry.inquiry_id] = None
        visible = self._visible
        for participant in {inquiry.client_id, *inquiry.panel}:
            seen = visible.get(participant)
            if seen is None:
                visible[participant] = [inquiry]
            else:
                seen.append(inquiry)
        heapq.heappush(self._timers, (inquiry.expires_ts, inquiry.inquiry_id))
        if d.get("idempotency_key"):
            self._idempotency[(inquiry.client_id, d["idempotency_key"])] = (d.get("fingerprint"),
                                                                             inquiry.inquiry_id)

    def _close(self, d: dict[str, Any], ts: int) -> Inquiry:
        inquiry = self.inquiries[d["inquiry_id"]]
        inquiry.state = InquiryState(d["state"])
        inquiry.ended_ts = ts
        self._open.pop(inquiry.inquiry_id, None)
        return inquiry

    def _bump(self, prefix: str, ident: str) -> None:
        number = int(ident.rsplit("-", 1)[1])
        if number > self._counters[prefix]:
            self._counters[prefix] = number

    def _order_key(self, inquiry_id: str) -> tuple[int, str]:
        return (self.inquiries[inquiry_id].created_ts, inquiry_id)

    def _ref(self, command: Command, produced: list[Event]) -> str | None:
        """The id a command made, or found again for an idempotent retry."""
        match command:
            case CreateRfq() | CreatePortfolio():
                for event in produced:
                    if event.type == ev.INQUIRY_CREATED:
                        return str(event.data["inquiry_id"])
                return self.idempotent_result(command.client_id, command.idempotency_key or "")
            case Award():
                for event in produced:
                    if event.type == ev.TRADE_BOOKED:
                        return str(event.data["trade_id"])
                return self.idempotent_result(command.client_id, command.idempotency_key or "")
            case SubmitQuote():
                return str(produced[-1].data["quote_id"]) if produced else None
        return None


def _whole_face(value: Any, field: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{value!r} is not a whole amount of face in USD", field=field)
    return value


def _quantity_reason(q: int, min_piece: int, increment: int, outstanding: int) -> str | None:
    """Why face ``q`` cannot trade in a bond with these terms, or None (one line; baskets are checked
    vectorised in ``Venue._quantity_errors`` and worded here)."""
    if q < min_piece:
        return f"{q:,} is below the minimum piece of {min_piece:,}"
    if (q - min_piece) % increment != 0:
        return f"{q:,} is not the minimum piece {min_piece:,} plus a multiple of the increment {increment:,}"
    if q > outstanding:
        return f"{q:,} exceeds the {outstanding:,} outstanding"
    return None


def _quote_type(value: str) -> QuoteType:
    try:
        return QuoteType(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not one of price, spread, yield", field="quote_type") from None


def _side_or_none(value: str | None, field: str) -> Side | None:
    return None if value is None else _side(value, field)


def _side(value: str | None, field: str) -> Side:
    if value is None:
        raise InvalidInput("required: buy or sell", field=field)
    try:
        return Side(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not buy or sell", field=field) from None


def _level(value: float, quote_type: QuoteType, field: str) -> float:
    low, high = LEVEL_BOUNDS[quote_type]
    if not isinstance(value, int | float) or not math.isfinite(value) or not low < value < high:
        raise InvalidInput(f"{value!r} is not a {quote_type.value} level between {low:g} and {high:g}",
                           field=field)
    return float(value)


def _arrival(mids: Any, idx: np.ndarray | list[int]) -> list[float] | None:
    """The evaluated mids of the lines at arrival, as logged (6 decimals), if the adapter gave them."""
    if mids is None:
        return None
    if isinstance(idx, list) and isinstance(mids, np.ndarray) and mids.dtype == np.float64:
        return [round(float(mids[i]), 6) for i in idx]  # a single-bond RFQ: no gather
    return [round(float(m), 6) for m in np.asarray(mids, dtype=np.float64)[idx]]


def _line_no(field: str) -> int:
    if field.startswith("lines[") and "]" in field:
        return int(field[6:field.index("]")])
    return -1


__all__ = ["LineSpec", "Outcome", "Venue"]
