"""Simulated buy-side clients: they send their orders at arrival time and award by their rule.

A client sends each order (:class:`~server.research.flow.ClientOrder`) as a ``CreateRfq`` or
``CreatePortfolio`` through the simulated runtime (with the evaluated mids of the moment, which
the venue logs as the lines' arrival mids), to a panel of its type's size drawn from the
dealers (the ``("panels",)`` random stream). It then decides once, at whichever comes first:

* the last expected answer: every dealer of the panel has quoted or passed (plus ``reaction_ms``);
* its patience deadline: ``decision_s`` after asking.

It takes the best live quote (the lowest price when it buys, the highest when it sells, the
highest net price for a basket; ties to the dealer id), if its award rule accepts it: ``best``
accepts anything, ``band`` only a cost against the evaluated mid inside the type's patience band.
Otherwise, or with no live quote, it cancels: no trade. If an award is refused (the quote
expired a moment earlier), it tries the next best.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from server.domain import events as ev
from server.domain.commands import Award, Cancel, CreatePortfolio, CreateRfq, LineSpec
from server.domain.events import Event
from server.domain.types import NS_PER_MS, NS_PER_SECOND, InquiryKind, InquiryState, QuoteType, Side
from server.market.universe import Universe
from server.research.flow import ClientOrder
from server.research.market import MarketState
from server.research.scenario import ClientType, FlowSettings
from server.research.seeds import stream
from server.runtime.sim import SimRuntime
from server.venue.engine import Venue
from server.venue.state import Quote

__all__ = ["ClientDesk"]

_BLOCK = 1024


@dataclass(slots=True)
class _Open:
    order: ClientOrder
    client_type: ClientType
    panel: tuple[str, ...]
    answered: set[str] = field(default_factory=set)
    decided: bool = False
    early: bool = False


class ClientDesk:
    """Every simulated client of a run."""

    def __init__(self, sim: SimRuntime, venue: Venue, universe: Universe, market: MarketState, flow: FlowSettings,
                 orders: Sequence[ClientOrder], dealer_ids: Sequence[str], seed: int,
                 always_in_panel: Sequence[str] = (),
                 on_rejected: Callable[[ClientOrder, str], None] | None = None) -> None:
        self.sim = sim
        self.venue = venue
        self.universe = universe
        self.market = market
        self.flow = flow
        self.orders = list(orders)
        self.types = {t.name: t for t in flow.client_types}
        self.always = tuple(d for d in always_in_panel if d in dealer_ids)
        self.others = tuple(d for d in dealer_ids if d not in self.always)
        self.rng = stream(seed, "panels")
        self.quote_type = QuoteType(flow.quote_type)
        self.on_rejected = on_rejected
        self.open: dict[str, _Open] = {}
        self._creating: _Open | None = None
        self._orders: list[list[int]] = []
        self._next = 0
        self._cusip = [b.cusip for b in universe.instruments]
        self.sent = 0

    def schedule(self) -> None:
        """Schedule the first order; each order schedules the next (a small event heap is a fast one)."""
        if self.orders:
            self.sim.call_at(self.orders[0].at_ns, self._sender(0))

    def _sender(self, k: int) -> Callable[[], None]:
        def fire() -> None:
            if k + 1 < len(self.orders):
                self.sim.call_at(self.orders[k + 1].at_ns, self._sender(k + 1))
            self.send(self.orders[k])

        return fire

    def _panel(self, size: int) -> tuple[str, ...]:
        """The first ``size`` dealers of a uniformly random order (the always-asked ones first)."""
        k = min(max(size - len(self.always), 0), len(self.others))
        if k == 0:
            return self.always
        if self._next >= len(self._orders):  # random orders, drawn a block at a time
            self._orders = np.argsort(self.rng.random((_BLOCK, len(self.others))), axis=1, kind="stable").tolist()
            self._next = 0
        row = self._orders[self._next]
        self._next += 1
        return self.always + tuple(self.others[j] for j in row[:k])

    def send(self, order: ClientOrder) -> None:
        ct = self.types[order.client_type]
        if order.kind is InquiryKind.RFQ:
            panel = self._panel(ct.panel_size)
            cmd: CreateRfq | CreatePortfolio = CreateRfq(
                order.client_id, self._cusip[int(order.idx[0])], Side.BUY if order.sides[0] > 0 else Side.SELL,
                int(order.quantities[0]), quote_type=self.quote_type, panel=panel,
                time_limit_ns=round(ct.time_limit_s * NS_PER_SECOND), evaluated_mids=self.market.view.mid_price)
        else:
            panel = self._panel(ct.pt_panel_size)
            lines = tuple(LineSpec(self._cusip[i], Side.BUY if s > 0 else Side.SELL, q)
                          for i, s, q in zip(order.idx.tolist(), order.sides.tolist(), order.quantities.tolist(),
                                             strict=True))
            cmd = CreatePortfolio(order.client_id, lines, panel=panel,
                                  time_limit_ns=round(ct.pt_time_limit_s * NS_PER_SECOND), name=f"order-{order.number}",
                                  evaluated_mids=self.market.view.mid_price)
        self._creating = _Open(order, ct, panel)
        try:
            outcome = self.sim.execute(cmd)
        finally:
            self._creating = None
        self.sent += 1
        if outcome.error is not None and self.on_rejected is not None:
            self.on_rejected(order, outcome.error.reason)

    # ---- events --------------------------------------------------------------------------------

    def on_event(self, e: Event) -> None:
        t = e.type
        if t == ev.INQUIRY_CREATED:
            pending = self._creating
            if pending is None:
                return
            inquiry_id = e.data["inquiry_id"]
            self.open[inquiry_id] = pending
            ct = pending.client_type
            wait = ct.portfolio_decision_s if pending.order.kind is InquiryKind.PORTFOLIO else ct.rfq_decision_s
            self.sim.call_at(e.ts + round(wait * NS_PER_SECOND), self._decider(inquiry_id))
        elif t in (ev.QUOTE_NEW, ev.QUOTE_REVISED, ev.QUOTE_PASSED):
            entry = self.open.get(e.data["inquiry_id"])
            if entry is None or entry.decided:
                return
            entry.answered.add(e.data["dealer_id"])
            if not entry.early and len(entry.answered) >= len(entry.panel):
                entry.early = True
                delay = round(entry.client_type.reaction_ms * NS_PER_MS)
                self.sim.call_at(e.ts + delay, self._decider(e.data["inquiry_id"]))
        elif t in ev.END_TYPES:
            self.open.pop(e.data["inquiry_id"], None)

    def _decider(self, inquiry_id: str) -> Callable[[], None]:
        return lambda: self.decide(inquiry_id)

    # ---- the decision --------------------------------------------------------------------------

    def _cost_bp(self, entry: _Open, quote: Quote) -> tuple[float, float]:
        """(cost against mid in bp of market value, the band it must be inside)."""
        order = entry.order
        idx = order.idx
        mid = np.asarray(self.market.view.mid_price, dtype=np.float64)[idx]
        qty = order.quantities.astype(np.float64)
        side = order.sides.astype(np.float64)
        if order.kind is InquiryKind.PORTFOLIO:
            assert quote.line_prices is not None
            prices = np.asarray(quote.line_prices, dtype=np.float64)
        else:
            p = quote.client_price(Side.BUY if side[0] > 0 else Side.SELL)
            prices = np.array([p if p is not None else np.nan])
        base = float(qty @ mid) / 100.0
        cost = float((side * (prices - mid)) @ qty) / 100.0
        score = np.asarray(self.market.view.liquidity_score, dtype=np.float64)[idx]
        weight = qty * mid
        avg_score = float(weight @ score / weight.sum()) if weight.sum() > 0 else 100.0
        ct = entry.client_type
        band = ct.band_bp + (ct.band_illiquid_bp - ct.band_bp) * min(max((100.0 - avg_score) / 99.0, 0.0), 1.0)
        return (cost / base * 1e4 if base > 0 else np.inf), band

    def _ranked(self, entry: _Open, quotes: list[Quote]) -> list[Quote]:
        order = entry.order
        if order.kind is InquiryKind.PORTFOLIO:
            return sorted(quotes, key=lambda q: (-q.net_price if q.net_price is not None else np.inf, q.dealer_id,
                                                 q.quote_id))
        side = Side.BUY if order.sides[0] > 0 else Side.SELL
        sign = 1.0 if side is Side.BUY else -1.0

        def key(q: Quote) -> tuple[float, str, str]:
            p = q.client_price(side)
            return (sign * p if p is not None else np.inf, q.dealer_id, q.quote_id)

        return sorted(quotes, key=key)

    def decide(self, inquiry_id: str) -> None:
        entry = self.open.get(inquiry_id)
        if entry is None or entry.decided:
            return
        entry.decided = True
        now = self.sim.now
        client_id = entry.order.client_id
        inquiry = self.venue.inquiry_for(inquiry_id, client_id)
        if inquiry.state is not InquiryState.OPEN or now >= inquiry.expires_ts:
            return
        live = [q for q in inquiry.current_quotes() if q.live_at(now)]
        for quote in self._ranked(entry, live):
            if entry.client_type.award == "band":
                cost, band = self._cost_bp(entry, quote)
                if not cost <= band:
                    break  # ranked best first: nothing further is inside the band either
            outcome = self.sim.execute(Award(client_id, inquiry_id, quote.quote_id))
            if outcome.error is None:
                return
        if inquiry.state is InquiryState.OPEN:
            self.sim.execute(Cancel(client_id, inquiry_id, "no acceptable quote" if live else "no live quote"))
