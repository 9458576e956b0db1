"""Stateful property tests of the engine's lifecycle invariants.

Random interleavings of creates, quotes, revisions, passes, withdrawals, awards (right, wrong,
repeated, foreign), cancels and the passage of time. After every step: at most one trade per
inquiry, a portfolio trade carries every line, refused commands change nothing, and no event
reaches a participant outside its audience rules. At the end, replaying the log rebuilds the state.
"""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from server.domain import events as ev
from server.domain.commands import (
    Award,
    Cancel,
    Command,
    CreatePortfolio,
    CreateRfq,
    LineSpec,
    PassInquiry,
    SubmitQuote,
    Tick,
    WithdrawQuote,
)
from server.domain.events import Event
from server.domain.types import InquiryState, Side
from server.venue.engine import Venue
from tests.support.engine import CLIENTS, DEALERS, T0, S, make_venue, small_universe
from tests.unit.venue.test_engine import digest

BONDS = [b.cusip for b in small_universe().bonds[:30]]
sides = st.sampled_from([Side.BUY, Side.SELL])
clients = st.sampled_from(CLIENTS)
dealers = st.sampled_from(DEALERS)


class VenueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.venue: Venue = make_venue(max_pt_panel=4)
        self.now = T0
        self.log: list[Event] = []

    # -- helpers -----------------------------------------------------------------------------
    def run(self, command: Command) -> None:
        tick = self.venue.handle(Tick(), self.now)
        self.log += tick
        before = digest(self.venue)
        outcome = self.venue.execute(command, self.now)
        if outcome.error is not None:
            assert outcome.events == []
            assert digest(self.venue) == before, f"refused {command} changed state"
        self.log += outcome.events

    def inquiry_ids(self) -> list[str]:
        return sorted(self.venue.inquiries)

    # -- rules -------------------------------------------------------------------------------
    @rule(client=clients, bond=st.sampled_from(BONDS), side=st.none() | sides,
          qty=st.sampled_from([1_000_000, 2_000_000, 500, 1_000_500]),
          panel=st.none() | st.lists(dealers, min_size=1, max_size=5, unique=True),
          key=st.none() | st.sampled_from(["k1", "k2"]))
    def create_rfq(self, client: str, bond: str, side: Side | None, qty: int, panel: list[str] | None,
                   key: str | None) -> None:
        self.run(CreateRfq(client, bond, side, qty, panel=tuple(panel) if panel else None,
                           time_limit_ns=30 * S, idempotency_key=key, fingerprint=f"{bond}{side}{qty}"))

    @rule(client=clients, picks=st.lists(st.tuples(st.sampled_from(BONDS), sides), min_size=1, max_size=12),
          panel=st.none() | st.lists(dealers, min_size=1, max_size=4, unique=True))
    def create_portfolio(self, client: str, picks: list[tuple[str, Side]], panel: list[str] | None) -> None:
        lines = tuple(LineSpec(b, s, 1_000_000) for b, s in picks)
        self.run(CreatePortfolio(client, lines, panel=tuple(panel) if panel else None, time_limit_ns=60 * S))

    @precondition(lambda self: self.venue.inquiries)
    @rule(data=st.data(), dealer=dealers, base=st.floats(95, 105), width=st.floats(-0.5, 1.0),
          valid=st.none() | st.integers(1, 40), off=st.sampled_from([0.0, 0.0, 0.0, 0.05]))
    def quote(self, data: st.DataObject, dealer: str, base: float, width: float, valid: int | None,
              off: float) -> None:
        inquiry = self.venue.inquiries[data.draw(st.sampled_from(self.inquiry_ids()))]
        valid_ns = valid * S if valid else None
        if inquiry.is_portfolio:
            prices = np.round(base + np.arange(inquiry.n_lines) * 0.01, 4)
            net = round(float(np.sum(-inquiry.sides * inquiry.quantities * prices) / 100), 2) + off
            self.run(SubmitQuote(dealer, inquiry.inquiry_id, net_price=net, line_prices=tuple(prices),
                                 valid_for_ns=valid_ns))
        elif inquiry.side is None:
            self.run(SubmitQuote(dealer, inquiry.inquiry_id, bid=base, offer=base + width, valid_for_ns=valid_ns))
        else:
            self.run(SubmitQuote(dealer, inquiry.inquiry_id, level=base, valid_for_ns=valid_ns))

    @precondition(lambda self: self.venue.inquiries)
    @rule(data=st.data(), dealer=dealers, withdraw=st.booleans())
    def pass_or_withdraw(self, data: st.DataObject, dealer: str, withdraw: bool) -> None:
        inquiry_id = data.draw(st.sampled_from(self.inquiry_ids()))
        self.run(WithdrawQuote(dealer, inquiry_id) if withdraw else PassInquiry(dealer, inquiry_id))

    @precondition(lambda self: self.venue.quote_index)
    @rule(data=st.data(), client=clients, side=st.none() | sides, key=st.none() | st.sampled_from(["a1", "a2"]))
    def award(self, data: st.DataObject, client: str, side: Side | None, key: str | None) -> None:
        quote_id = data.draw(st.sampled_from(sorted(self.venue.quote_index)))
        inquiry_id = self.venue.quote_index[quote_id]
        if data.draw(st.integers(0, 3)) == 0:  # sometimes the wrong client, inquiry or side
            inquiry_id = data.draw(st.sampled_from(self.inquiry_ids()))
        else:  # mostly a well-formed award by the inquiry's own client
            inquiry = self.venue.inquiries[inquiry_id]
            client = inquiry.client_id
            if inquiry.is_portfolio or inquiry.side is not None:
                side = None
            elif side is None:
                side = Side.BUY
        self.run(Award(client, inquiry_id, quote_id, side=side, idempotency_key=key, fingerprint=quote_id))

    @precondition(lambda self: self.venue.inquiries)
    @rule(data=st.data(), client=clients)
    def cancel(self, data: st.DataObject, client: str) -> None:
        self.run(Cancel(client, data.draw(st.sampled_from(self.inquiry_ids()))))

    @rule(seconds=st.integers(0, 45))
    def wait(self, seconds: int) -> None:
        self.now += seconds * S
        self.log += self.venue.handle(Tick(), self.now)

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def one_trade_per_inquiry_with_all_its_lines(self) -> None:
        v = self.venue
        by_inquiry: dict[str, int] = {}
        for trade in v.trades.values():
            by_inquiry[trade["inquiry_id"]] = by_inquiry.get(trade["inquiry_id"], 0) + 1
            inquiry = v.inquiries[trade["inquiry_id"]]
            assert [ln["instrument"] for ln in trade["lines"]] == list(inquiry.instruments)
            assert [ln["quantity"] for ln in trade["lines"]] == inquiry.quantities.tolist()
            assert inquiry.state is InquiryState.AWARDED and inquiry.trade_id == trade["trade_id"]
        assert all(n == 1 for n in by_inquiry.values())
        awarded = {i for i, q in v.inquiries.items() if q.state is InquiryState.AWARDED}
        assert awarded == set(by_inquiry)

    @invariant()
    def log_is_contiguous_and_entitled(self) -> None:
        assert [e.seq for e in self.log] == list(range(1, len(self.log) + 1))
        for e in self.log[-50:]:
            inquiry = self.venue.inquiries.get(e.inquiry_id or "")
            assert inquiry is not None
            allowed = {inquiry.client_id, *inquiry.panel}
            assert set(e.audience) <= allowed, e
            if e.type in (ev.QUOTE_NEW, ev.QUOTE_REVISED, ev.QUOTE_WITHDRAWN, ev.QUOTE_PASSED):
                assert set(e.audience) == {inquiry.client_id, e.data["dealer_id"]}
            elif e.type == ev.DEALER_FEEDBACK:
                assert e.audience == (e.data["dealer_id"],)
            elif e.type == ev.TRADE_BOOKED:
                assert set(e.audience) == {inquiry.client_id, e.data["dealer_id"]}
            elif e.type == ev.INQUIRY_REQUEST:
                assert set(e.audience) == set(inquiry.panel) and "panel" not in e.data
            else:
                assert e.audience == (inquiry.client_id,)

    def teardown(self) -> None:
        rebuilt = make_venue(max_pt_panel=4)
        rebuilt.replay(copy.deepcopy(self.log))
        assert digest(rebuilt) == digest(self.venue)
        assert rebuilt.seq == self.venue.seq


VenueMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=50, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
TestVenueLifecycle = VenueMachine.TestCase
