"""The bot host: delivers inquiries to in-process dealer bots and turns their actions into commands.

It is shared by both runtimes. The runtime owns time: it asks the host what to deliver when
(``on_events`` returns deliveries due after each bot's latency) and calls ``respond`` at that
time. The host isolates failures: a bot that raises, returns something that is not an action, or
answers after its deadline is a pass, logged with the reason, and the venue goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from server.bots.protocol import (
    DealerStrategy,
    Feedback,
    InquiryView,
    InventoryView,
    MarketView,
    Pass,
    Quote,
    Withdraw,
)
from server.domain import events as ev
from server.domain.commands import Command, PassInquiry, SubmitQuote, WithdrawQuote
from server.domain.events import Event, line_arrays
from server.domain.types import NS_PER_SECOND
from server.market.universe import MarketSnapshot, Universe

log = logging.getLogger("rfqsim.bots")


@dataclass(slots=True)
class BotSpec:
    dealer_id: str
    bot: DealerStrategy
    latency_ns: int = 0  # time from the inquiry to the bot's answer, on the runtime's clock
    deadline_ns: int = 2 * NS_PER_SECOND  # an answer later than this after the inquiry is a pass


@dataclass(frozen=True, slots=True)
class Delivery:
    due_ns: int
    dealer_id: str
    inquiry: InquiryView
    received_ns: int


@dataclass(slots=True)
class BotStats:
    delivered: int = 0
    quoted: int = 0
    passed: int = 0
    errors: int = 0
    late: int = 0
    rejected: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class _Book:
    positions: np.ndarray
    cash: float = 0.0
    stats: BotStats = field(default_factory=BotStats)
    readonly: np.ndarray = field(init=False)  # a read-only view of ``positions``: it follows every update

    def __post_init__(self) -> None:
        self.readonly = self.positions.view()
        self.readonly.setflags(write=False)


def _delivery_order(d: Delivery) -> tuple[int, str]:
    return (d.due_ns, d.dealer_id)


class BotHost:
    def __init__(self, specs: Iterable[BotSpec], universe: Universe,
                 market: Callable[[], MarketSnapshot]) -> None:
        self.specs: dict[str, BotSpec] = {s.dealer_id: s for s in specs}
        self.universe = universe
        self.market = market
        n = len(universe.bonds) + len(universe.treasuries)
        self._books = {d: _Book(np.zeros(n, dtype=np.float64)) for d in self.specs}
        self._index_of = universe.index_of

    @property
    def dealer_ids(self) -> tuple[str, ...]:
        return tuple(self.specs)

    def stats(self) -> Mapping[str, BotStats]:
        return {d: b.stats for d, b in self._books.items()}

    def inventory(self, dealer_id: str) -> InventoryView:
        book = self._books[dealer_id]
        return InventoryView(book.readonly, book.cash)

    def on_events(self, events: Iterable[Event]) -> list[Delivery]:
        """Observe committed events; return the inquiry deliveries they cause."""
        deliveries: list[Delivery] = []
        for event in events:
            if event.type == ev.INQUIRY_REQUEST:
                targets = [d for d in event.audience if d in self.specs]
                if not targets:
                    continue
                view = InquiryView.from_event(event.data, self.universe)
                for dealer_id in targets:
                    spec = self.specs[dealer_id]
                    deliveries.append(Delivery(event.ts + spec.latency_ns, dealer_id, view, event.ts))
            elif event.type == ev.TRADE_BOOKED:
                self._book_trade(event.data)
            elif event.type == ev.DEALER_FEEDBACK:
                d = event.data
                target = self.specs.get(d["dealer_id"])
                if target is not None:
                    cover = d.get("cover_price", d.get("cover_net_price"))
                    self._feedback(target, Feedback(d["inquiry_id"], d["outcome"], d.get("trade_id"), cover))
        if len(deliveries) > 1:
            deliveries.sort(key=_delivery_order)
        return deliveries

    def respond(self, delivery: Delivery, now: int, elapsed: Callable[[], int] | None = None) -> Command:
        """Ask the bot. ``elapsed`` (live runtime only) measures the bot's own compute time in ns."""
        spec = self.specs[delivery.dealer_id]
        book = self._books[delivery.dealer_id]
        book.stats.delivered += 1
        inquiry_id = delivery.inquiry.inquiry_id
        if now - delivery.received_ns > spec.deadline_ns:
            return self._late(delivery, now - delivery.received_ns)
        market = MarketView(self.universe, self.market(), now)
        try:
            action = spec.bot.on_inquiry(delivery.inquiry, market, self.inventory(delivery.dealer_id))
        except Exception as exc:  # isolation: a failing bot is a pass
            book.stats.errors += 1
            book.stats.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("dealer %s raised on %s: %s", delivery.dealer_id, inquiry_id, book.stats.last_error)
            return PassInquiry(delivery.dealer_id, inquiry_id, f"bot error: {type(exc).__name__}")
        if elapsed is not None:
            took = now - delivery.received_ns + elapsed()
            if took > spec.deadline_ns:
                return self._late(delivery, took)
        if action is None or isinstance(action, Pass):
            book.stats.passed += 1
            return PassInquiry(delivery.dealer_id, inquiry_id, action.reason if action else "")
        if isinstance(action, Quote):
            book.stats.quoted += 1
            return SubmitQuote(dealer_id=delivery.dealer_id, inquiry_id=inquiry_id, level=action.level,
                               bid=action.bid, offer=action.offer, net_price=action.net_price,
                               line_prices=action.line_prices, valid_for_ns=action.valid_for_ns)
        if isinstance(action, Withdraw):
            return WithdrawQuote(delivery.dealer_id, action.inquiry_id, action.reason)
        book.stats.errors += 1
        book.stats.last_error = f"returned {type(action).__name__}, not an action"
        log.warning("dealer %s returned %r on %s", delivery.dealer_id, action, inquiry_id)
        return PassInquiry(delivery.dealer_id, inquiry_id, "bot error: not an action")

    def rejected(self, command: Command, reason: str) -> Command | None:
        """The venue refused a bot's command: log it and pass instead (once)."""
        if isinstance(command, SubmitQuote):
            book = self._books.get(command.dealer_id)
            if book is not None:
                book.stats.rejected += 1
                book.stats.last_error = f"quote rejected: {reason}"
            log.warning("dealer %s quote on %s rejected: %s", command.dealer_id, command.inquiry_id, reason)
            return PassInquiry(command.dealer_id, command.inquiry_id, f"invalid quote: {reason}"[:200])
        return None

    def _late(self, delivery: Delivery, took_ns: int) -> Command:
        book = self._books[delivery.dealer_id]
        book.stats.late += 1
        log.warning("dealer %s missed its deadline on %s (%.3f s)", delivery.dealer_id,
                    delivery.inquiry.inquiry_id, took_ns / NS_PER_SECOND)
        return PassInquiry(delivery.dealer_id, delivery.inquiry.inquiry_id, "missed its response deadline")

    def _feedback(self, spec: BotSpec, feedback: Feedback) -> None:
        try:
            spec.bot.on_feedback(feedback)
        except Exception as exc:  # isolation
            self._books[spec.dealer_id].stats.errors += 1
            log.warning("dealer %s raised in on_feedback: %s", spec.dealer_id, exc)

    def _book_trade(self, trade: dict[str, object]) -> None:
        book = self._books.get(str(trade["dealer_id"]))
        if book is None:
            return
        lines = trade["lines"]
        assert isinstance(lines, list)
        if len(lines) == 1:  # np.add.at's arithmetic for one line: a sign times the face, then one sum
            line = lines[0]
            sign = 0 if line["side"] is None else (1 if line["side"] == "buy" else -1)
            book.positions[self._index_of(line["instrument"], "instrument")] += -sign * float(line["quantity"])
        else:
            _, idx, sides, qty = line_arrays(lines, self._index_of)
            np.add.at(book.positions, idx, -sides * qty.astype(np.float64))  # the dealer takes the other side
        net_settlement = trade["net_settlement"]
        assert isinstance(net_settlement, int | float)
        book.cash -= float(net_settlement)  # cash to the client is cash from the dealer
