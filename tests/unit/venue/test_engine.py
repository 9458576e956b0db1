"""The engine's lifecycles, rules and refusals, through ``Venue.handle`` / ``Venue.execute``."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import bondmath
from server.domain import events as ev
from server.domain.commands import (
    Award,
    Cancel,
    CreatePortfolio,
    CreateRfq,
    ExpireOpen,
    LineSpec,
    PassInquiry,
    SubmitQuote,
    Tick,
    WithdrawQuote,
)
from server.domain.errors import Conflict, InvalidInput, NotFound
from server.domain.types import InquiryKind, InquiryState, QuoteState, QuoteType, Side
from server.venue.engine import Venue
from tests.support.engine import CLIENTS, DEALERS, T0, S, ig_bond, make_venue, small_universe


def rfq(v: Venue, side: Side | None = Side.BUY, qty: int = 1_000_000, **kw: object) -> str:
    events = v.handle(CreateRfq("c1", kw.pop("instrument", ig_bond()), side, qty, **kw), T0)  # type: ignore[arg-type]
    return str(events[0].data["inquiry_id"])


def quote(v: Venue, inquiry_id: str, dealer: str, now: int = T0 + S, **kw: object) -> str:
    events = v.handle(SubmitQuote(dealer, inquiry_id, **kw), now)  # type: ignore[arg-type]
    return str(events[-1].data["quote_id"])


class TestRfqLifecycle:
    def test_create_announces_to_client_and_panel_only(self) -> None:
        v = make_venue()
        events = v.handle(CreateRfq("c1", ig_bond(), Side.BUY, 1_000_000, panel=("d1", "d2", "d3")), T0)
        assert [e.type for e in events] == [ev.INQUIRY_CREATED, ev.INQUIRY_REQUEST]
        assert events[0].audience == ("c1",)
        assert events[1].audience == ("d1", "d2", "d3")
        assert "panel" not in events[1].data and events[1].data["panel_size"] == 3
        assert "idempotency_key" not in events[1].data
        assert [e.seq for e in events] == [1, 2]

    def test_award_books_one_trade_with_cover_and_feedback(self) -> None:
        v = make_venue()
        rid = rfq(v, panel=("d1", "d2", "d3", "d4"))
        q1 = quote(v, rid, "d1", level=100.50)
        q2 = quote(v, rid, "d2", level=100.25)  # best offer for a buying client
        quote(v, rid, "d3", level=100.40)  # cover
        v.handle(PassInquiry("d4", rid, "no axe"), T0 + S)
        events = v.handle(Award("c1", rid, q2), T0 + 2 * S)
        types = [e.type for e in events]
        assert types[:2] == [ev.INQUIRY_AWARDED, ev.TRADE_BOOKED]
        feedback = {e.data["dealer_id"]: e.data for e in events if e.type == ev.DEALER_FEEDBACK}
        assert {d: f["outcome"] for d, f in feedback.items()} == {
            "d1": "traded_away", "d2": "done", "d3": "covered", "d4": "passed"}
        assert feedback["d2"]["cover_price"] == pytest.approx(100.40)
        assert "cover_price" not in feedback["d1"]
        for e in events:
            if e.type == ev.DEALER_FEEDBACK:
                assert e.audience == (e.data["dealer_id"],)
        trade = events[1].data
        assert events[1].audience == ("c1", "d2")
        inquiry = v.inquiries[rid]
        assert inquiry.state is InquiryState.AWARDED and inquiry.trade_id == trade["trade_id"]
        assert inquiry.quotes[q1].state is QuoteState.TRADED_AWAY
        assert inquiry.quotes[q2].state is QuoteState.DONE

    def test_trade_arithmetic_is_clean_plus_accrued_settling_t_plus_1(self) -> None:
        v = make_venue()
        cusip = ig_bond(3)
        rid = rfq(v, instrument=cusip, qty=2_000_000)
        qid = quote(v, rid, "d1", level=99.875)
        trade = v.handle(Award("c1", rid, qid), T0 + S)[1].data
        assert trade["trade_date"] == "2026-11-18"
        assert trade["settlement_date"] == "2026-11-19"
        bond = small_universe().bond(cusip)
        accrued = float(bondmath.accrued_interest(bond.coupon / 100, np.datetime64(bond.maturity, "D"),
                                                  np.datetime64(date(2026, 11, 19), "D"), 0))
        line = trade["lines"][0]
        assert line["principal"] == pytest.approx(2_000_000 * 99.875 / 100, abs=0.005)
        assert line["accrued_amount"] == pytest.approx(round(2_000_000 * accrued / 100, 2), abs=0.005)
        assert line["net_money"] == pytest.approx(line["principal"] + line["accrued_amount"], abs=1e-9)
        assert trade["net_settlement"] == pytest.approx(-line["net_money"])  # the buying client pays

    def test_selling_client_cover_is_the_next_highest_bid(self) -> None:
        v = make_venue()
        rid = rfq(v, side=Side.SELL)
        quote(v, rid, "d1", level=99.0)
        best = quote(v, rid, "d2", level=99.5)
        quote(v, rid, "d3", level=99.2)
        events = v.handle(Award("c1", rid, best), T0 + S)
        feedback = {e.data["dealer_id"]: e.data for e in events if e.type == ev.DEALER_FEEDBACK}
        assert feedback["d3"]["outcome"] == "covered"
        assert feedback["d2"]["cover_price"] == pytest.approx(99.2)
        assert events[1].data["net_settlement"] > 0  # the selling client receives cash

    def test_cover_disclosure_is_a_venue_rule(self) -> None:
        v = make_venue(disclose_cover_to_winner=False)
        rid = rfq(v)
        best = quote(v, rid, "d1", level=100.0)
        quote(v, rid, "d2", level=100.1)
        events = v.handle(Award("c1", rid, best), T0 + S)
        done = next(e for e in events if e.type == ev.DEALER_FEEDBACK and e.data["outcome"] == "done")
        assert "cover_price" not in done.data

    @pytest.mark.parametrize("quote_type", [QuoteType.SPREAD, QuoteType.YIELD])
    def test_spread_and_yield_quotes_book_the_equivalent_clean_price(self, quote_type: QuoteType) -> None:
        v = make_venue()
        cusip = ig_bond(5)
        rid = rfq(v, instrument=cusip, quote_type=quote_type)
        level = 85.0 if quote_type is QuoteType.SPREAD else 4.6
        qid = quote(v, rid, "d1", level=level)
        bond = small_universe().bond(cusip)
        settle = np.datetime64(date(2026, 11, 19), "D")
        maturity = np.datetime64(bond.maturity, "D")
        if quote_type is QuoteType.SPREAD:
            ytm = v.curve.yield_at(bondmath.time_to_maturity(maturity, settle)) + level / 1e4
        else:
            ytm = level / 100
        expected = float(bondmath.clean_price(bond.coupon / 100, maturity, settle, ytm, 0))
        trade = v.handle(Award("c1", rid, qid), T0 + S)[1].data
        assert trade["lines"][0]["clean_price"] == pytest.approx(expected, abs=1e-6)
        assert trade["level"] == level

    def test_request_for_market_takes_two_way_quotes_and_a_side_on_award(self) -> None:
        v = make_venue()
        rid = rfq(v, side=None)
        with pytest.raises(InvalidInput) as err:
            quote(v, rid, "d1", level=100.0)
        assert err.value.field == "bid"
        with pytest.raises(InvalidInput, match="through"):
            quote(v, rid, "d1", bid=100.2, offer=100.1)
        qid = quote(v, rid, "d1", bid=99.9, offer=100.1)
        with pytest.raises(InvalidInput) as err:
            v.handle(Award("c1", rid, qid), T0 + S)
        assert err.value.field == "side"
        trade = v.handle(Award("c1", rid, qid, side=Side.SELL), T0 + S)[1].data
        assert trade["lines"][0]["side"] == "sell" and trade["lines"][0]["clean_price"] == pytest.approx(99.9)

    def test_one_way_rfq_refuses_two_way_quote_and_the_other_side(self) -> None:
        v = make_venue()
        rid = rfq(v, side=Side.BUY)
        with pytest.raises(InvalidInput) as err:
            quote(v, rid, "d1", bid=99.0, offer=100.0)
        assert err.value.field == "level"
        qid = quote(v, rid, "d1", level=100.0)
        with pytest.raises(InvalidInput) as err:
            v.handle(Award("c1", rid, qid, side=Side.SELL), T0 + S)
        assert err.value.field == "side"

    @pytest.mark.parametrize("level", [float("nan"), float("inf"), -1.0, 0.0, 5000.0])
    def test_nonsense_levels_are_refused(self, level: float) -> None:
        v = make_venue()
        rid = rfq(v)
        with pytest.raises(InvalidInput) as err:
            quote(v, rid, "d1", level=level)
        assert err.value.field == "level"
        assert v.inquiries[rid].quotes == {}


class TestQuoteLifecycle:
    def test_revision_replaces_and_the_old_version_cannot_be_awarded(self) -> None:
        v = make_venue()
        rid = rfq(v)
        first = quote(v, rid, "d1", level=100.3)
        events = v.handle(SubmitQuote("d1", rid, level=100.2), T0 + 2 * S)
        assert events[0].type == ev.QUOTE_REVISED
        second = events[0].data["quote_id"]
        assert events[0].data["replaces"] == first and events[0].data["version"] == 2
        with pytest.raises(Conflict) as err:
            v.handle(Award("c1", rid, first), T0 + 3 * S)
        assert err.value.code == "quote_replaced" and err.value.details["replaced_by"] == second
        v.handle(Award("c1", rid, second), T0 + 3 * S)

    def test_withdrawn_quote_cannot_be_awarded(self) -> None:
        v = make_venue()
        rid = rfq(v)
        qid = quote(v, rid, "d1", level=100.3)
        v.handle(WithdrawQuote("d1", rid, "market moved"), T0 + 2 * S)
        with pytest.raises(Conflict) as err:
            v.handle(Award("c1", rid, qid), T0 + 3 * S)
        assert err.value.code == "quote_withdrawn"
        with pytest.raises(Conflict):
            v.handle(WithdrawQuote("d1", rid), T0 + 3 * S)

    def test_quote_validity_ends_its_life(self) -> None:
        v = make_venue()
        rid = rfq(v)
        qid = quote(v, rid, "d1", level=100.3, valid_for_ns=5 * S)
        with pytest.raises(Conflict) as err:
            v.handle(Award("c1", rid, qid), T0 + 6 * S + 1)
        assert err.value.code == "quote_expired"
        v.handle(Award("c1", rid, qid), T0 + 5 * S)  # still live just before the end of its validity

    def test_pass_is_final_and_all_passes_end_with_no_quotes(self) -> None:
        v = make_venue()
        rid = rfq(v, panel=("d1", "d2"))
        v.handle(PassInquiry("d1", rid), T0 + S)
        with pytest.raises(Conflict):
            quote(v, rid, "d1", level=100.0)
        events = v.handle(PassInquiry("d2", rid), T0 + S)
        assert events[-3].type == ev.INQUIRY_NO_QUOTES
        assert v.inquiries[rid].state is InquiryState.NO_QUOTES

    def test_dealer_outside_the_panel_cannot_see_or_quote(self) -> None:
        v = make_venue()
        rid = rfq(v, panel=("d1", "d2"))
        with pytest.raises(NotFound):
            quote(v, rid, "d3", level=100.0)
        with pytest.raises(NotFound):
            v.inquiry_for(rid, "d3")
        with pytest.raises(NotFound):
            v.inquiry_for(rid, "c2")
        assert v.inquiry_for(rid, "d1").inquiry_id == rid


class TestEndings:
    def test_time_limit_expires_with_or_without_quotes(self) -> None:
        v = make_venue()
        quiet = rfq(v, time_limit_ns=10 * S)
        quoted = rfq(v, time_limit_ns=20 * S)
        quote(v, quoted, "d1", level=100.0)
        assert v.next_timer() == T0 + 10 * S
        assert v.handle(Tick(), T0 + 9 * S) == []
        events = v.handle(Tick(), T0 + 10 * S)
        assert events[0].type == ev.INQUIRY_NO_QUOTES and events[0].data["inquiry_id"] == quiet
        assert {e.data["outcome"] for e in events[1:]} == {"no_trade"}
        events = v.handle(Tick(), T0 + 25 * S)
        assert events[0].type == ev.INQUIRY_EXPIRED and events[0].data["inquiry_id"] == quoted
        assert v.inquiries[quoted].quotes[next(iter(v.inquiries[quoted].quotes))].state is QuoteState.CLOSED
        assert v.next_timer() is None

    def test_award_after_the_time_limit_is_refused_even_before_the_tick(self) -> None:
        v = make_venue()
        rid = rfq(v, time_limit_ns=10 * S)
        qid = quote(v, rid, "d1", level=100.0)
        with pytest.raises(Conflict) as err:
            v.handle(Award("c1", rid, qid), T0 + 10 * S)
        assert err.value.code == "inquiry_expired"
        outcome = v.execute(Award("c1", rid, qid), T0 + 11 * S)  # execute ticks first and logs the expiry
        assert outcome.error is not None and outcome.events[0].type == ev.INQUIRY_EXPIRED

    def test_cancel(self) -> None:
        v = make_venue()
        rid = rfq(v)
        qid = quote(v, rid, "d1", level=100.0)
        with pytest.raises(NotFound):
            v.handle(Cancel("c2", rid), T0 + S)
        events = v.handle(Cancel("c1", rid, "changed my mind"), T0 + S)
        assert events[0].type == ev.INQUIRY_CANCELLED and events[0].data["reason"] == "changed my mind"
        with pytest.raises(Conflict):
            v.handle(Cancel("c1", rid), T0 + S)
        with pytest.raises(Conflict) as err:
            v.handle(Award("c1", rid, qid), T0 + S)
        assert err.value.code == "inquiry_cancelled"

    def test_expire_open_after_restart(self) -> None:
        v = make_venue()
        a, b = rfq(v), rfq(v)
        qid = quote(v, b, "d1", level=100.0)
        v.handle(Award("c1", b, qid), T0 + S)
        events = v.handle(ExpireOpen(), T0 + 2 * S)
        assert [e.data["inquiry_id"] for e in events if e.type == ev.INQUIRY_EXPIRED] == [a]
        assert events[0].data["reason"] == "venue restarted"


class TestAwards:
    def test_second_award_is_refused_and_names_the_trade(self) -> None:
        v = make_venue()
        rid = rfq(v)
        q1 = quote(v, rid, "d1", level=100.0)
        q2 = quote(v, rid, "d2", level=100.1)
        trade_id = v.handle(Award("c1", rid, q1), T0 + S)[1].data["trade_id"]
        for qid in (q1, q2):
            with pytest.raises(Conflict) as err:
                v.handle(Award("c1", rid, qid), T0 + S)
            assert err.value.code == "already_awarded" and err.value.details["trade_id"] == trade_id
        assert len(v.trades) == 1

    def test_idempotency_key_returns_the_same_result_and_books_nothing_twice(self) -> None:
        v = make_venue()
        first = v.execute(CreateRfq("c1", ig_bond(), Side.BUY, 1_000_000, idempotency_key="k1", fingerprint="f"),
                          T0)
        again = v.execute(CreateRfq("c1", ig_bond(), Side.BUY, 1_000_000, idempotency_key="k1", fingerprint="f"),
                          T0 + 1)
        assert again.events == [] and again.ref == first.ref
        other = v.execute(CreateRfq("c2", ig_bond(), Side.BUY, 1_000_000, idempotency_key="k1", fingerprint="f"),
                          T0 + 1)
        assert other.ref != first.ref  # keys belong to their participant
        reused = v.execute(CreateRfq("c1", ig_bond(1), Side.BUY, 1_000_000, idempotency_key="k1",
                                     fingerprint="g"), T0 + 1)
        assert isinstance(reused.error, Conflict) and reused.error.field == "Idempotency-Key"
        assert first.ref is not None
        qid = quote(v, first.ref, "d1", level=100.0)
        award = v.execute(Award("c1", first.ref, qid, idempotency_key="a1", fingerprint="x"), T0 + S)
        retry = v.execute(Award("c1", first.ref, qid, idempotency_key="a1", fingerprint="x"), T0 + 2 * S)
        assert retry.error is None and retry.events == [] and retry.ref == award.ref
        assert len(v.trades) == 1

    def test_foreign_client_and_unknown_quote_get_not_found(self) -> None:
        v = make_venue()
        rid = rfq(v)
        qid = quote(v, rid, "d1", level=100.0)
        with pytest.raises(NotFound):
            v.handle(Award("c2", rid, qid), T0 + S)
        with pytest.raises(NotFound) as err:
            v.handle(Award("c1", rid, "Q-999"), T0 + S)
        assert err.value.field == "quote_id"
        with pytest.raises(NotFound):
            v.handle(Award("d1", rid, qid), T0 + S)  # a dealer is not a client


class TestRequestValidation:
    def test_identifiers(self) -> None:
        v = make_venue()
        with pytest.raises(InvalidInput, match="expected 7") as err:
            rfq(v, instrument="254687DC3")
        assert err.value.field == "instrument"
        with pytest.raises(NotFound):
            rfq(v, instrument="037833100")  # a valid CUSIP the universe does not hold
        with pytest.raises(InvalidInput):
            rfq(v, instrument="XYZ")
        isin = small_universe().bond(ig_bond()).isin
        assert v.inquiries[rfq(v, instrument=isin)].instruments == (ig_bond(),)

    def test_quantities(self) -> None:
        v = make_venue()
        with pytest.raises(InvalidInput, match="minimum piece") as err:
            rfq(v, qty=500)
        assert err.value.field == "quantity"
        with pytest.raises(InvalidInput, match="increment"):
            rfq(v, qty=1_000_500)
        with pytest.raises(InvalidInput, match="outstanding"):
            rfq(v, qty=10**12)

    def test_panels_and_time_limits(self) -> None:
        v = make_venue(max_rfq_panel=3)
        with pytest.raises(InvalidInput) as err:
            rfq(v, panel=("d1", "zz"))
        assert err.value.field == "panel[1]"
        with pytest.raises(InvalidInput, match="twice"):
            rfq(v, panel=("d1", "d1"))
        with pytest.raises(InvalidInput, match="at most 3"):
            rfq(v, panel=("d1", "d2", "d3", "d4"))
        with pytest.raises(InvalidInput, match="at least one"):
            rfq(v, panel=())
        with pytest.raises(InvalidInput) as err:
            rfq(v, time_limit_ns=10)
        assert err.value.field == "time_limit"
        assert v.inquiries[rfq(v)].panel == DEALERS[:3]  # the default panel, capped by the rule


class TestPortfolio:
    def lines(self, n: int, qty: int = 1_000_000) -> tuple[LineSpec, ...]:
        u = small_universe()
        return tuple(LineSpec(b.cusip, Side.BUY if i % 3 else Side.SELL, qty) for i, b in enumerate(u.bonds[:n]))

    def create(self, v: Venue, n: int = 20) -> str:
        return str(v.handle(CreatePortfolio("c1", self.lines(n)), T0)[0].data["inquiry_id"])

    def prices(self, v: Venue, pid: str, base: float = 100.0) -> tuple[np.ndarray, float]:
        inquiry = v.inquiries[pid]
        prices = base + np.arange(inquiry.n_lines) * 0.01
        net = float(np.sum(-inquiry.sides * inquiry.quantities * prices) / 100)
        return prices, net

    def test_default_panel_is_smaller(self) -> None:
        v = make_venue()
        assert v.inquiries[self.create(v)].panel == DEALERS[:3]

    def test_all_or_nothing_award_books_every_line_in_one_trade(self) -> None:
        v = make_venue()
        pid = self.create(v, 40)
        prices, net = self.prices(v, pid)
        qid = quote(v, pid, "d1", net_price=round(net, 2), line_prices=tuple(prices))
        prices2, net2 = self.prices(v, pid, 99.9)
        quote(v, pid, "d2", net_price=round(net2, 2), line_prices=tuple(prices2))
        events = v.handle(Award("c1", pid, qid), T0 + S)
        trades = [e for e in events if e.type == ev.TRADE_BOOKED]
        assert len(trades) == 1
        trade = trades[0].data
        assert len(trade["lines"]) == 40
        assert [ln["instrument"] for ln in trade["lines"]] == list(v.inquiries[pid].instruments)
        signed = sum((-1 if ln["side"] == "buy" else 1) * ln["net_money"] for ln in trade["lines"])
        assert trade["net_settlement"] == pytest.approx(signed, abs=1e-6)
        assert trade["net_principal"] == pytest.approx(net, abs=0.01 * 40)
        fb = {e.data["dealer_id"]: e.data for e in events if e.type == ev.DEALER_FEEDBACK}
        assert fb["d1"]["outcome"] == "done" and fb["d1"]["cover_net_price"] == pytest.approx(round(net2, 2))

    def test_net_price_must_reconcile_within_a_cent(self) -> None:
        v = make_venue()
        pid = self.create(v)
        prices, net = self.prices(v, pid)
        with pytest.raises(InvalidInput) as err:
            quote(v, pid, "d1", net_price=net + 0.02, line_prices=tuple(prices))
        assert err.value.field == "net_price"
        quote(v, pid, "d1", net_price=net + 0.009, line_prices=tuple(prices))

    def test_portfolio_quote_shape(self) -> None:
        v = make_venue()
        pid = self.create(v)
        prices, net = self.prices(v, pid)
        with pytest.raises(InvalidInput) as err:
            quote(v, pid, "d1", net_price=net, line_prices=tuple(prices[:-1]))
        assert err.value.field == "line_prices"
        bad = prices.copy()
        bad[7] = float("nan")
        with pytest.raises(InvalidInput) as err:
            quote(v, pid, "d1", net_price=net, line_prices=tuple(bad))
        assert err.value.field == "line_prices[7]"
        with pytest.raises(InvalidInput):
            quote(v, pid, "d1", level=100.0)
        qid = quote(v, pid, "d1", net_price=net, line_prices=tuple(prices))
        with pytest.raises(InvalidInput) as err:
            v.handle(Award("c1", pid, qid, side=Side.BUY), T0 + S)
        assert err.value.field == "side"

    def test_every_bad_line_is_named(self) -> None:
        v = make_venue()
        u = small_universe()
        lines = [*self.lines(5),
                 LineSpec("254687DC3", Side.BUY, 1_000_000),
                 LineSpec(u.bonds[1].cusip, Side.SELL, 1_000_000),
                 LineSpec(u.bonds[7].cusip, Side.BUY, 999),
                 LineSpec(u.bonds[8].cusip, None, 1_000_000)]
        with pytest.raises(InvalidInput) as err:
            v.handle(CreatePortfolio("c1", tuple(lines)), T0)
        fields = [e["field"] for e in err.value.details["errors"]]  # type: ignore[union-attr]
        assert fields == ["lines[5].instrument", "lines[6].instrument", "lines[7].quantity", "lines[8].side"]
        assert err.value.field == "lines[5].instrument" and "expected 7" in err.value.reason
        assert v.inquiries == {} and v.seq == 0

    def test_size_limits(self) -> None:
        v = make_venue(max_lines=10)
        with pytest.raises(InvalidInput, match="at most 10"):
            v.handle(CreatePortfolio("c1", self.lines(11)), T0)
        with pytest.raises(InvalidInput, match="at least one"):
            v.handle(CreatePortfolio("c1", ()), T0)


class TestReplay:
    def test_replay_rebuilds_the_same_state(self) -> None:
        v = make_venue()
        log = []
        a = v.execute(CreateRfq("c1", ig_bond(), None, 1_000_000, idempotency_key="k", fingerprint="f"), T0)
        log += a.events
        assert a.ref is not None
        log += v.execute(SubmitQuote("d1", a.ref, bid=99.0, offer=100.0), T0 + S).events
        log += v.execute(SubmitQuote("d1", a.ref, bid=99.1, offer=100.0), T0 + 2 * S).events
        b = v.execute(CreateRfq("c2", ig_bond(1), Side.SELL, 2_000_000), T0 + 3 * S)
        log += b.events
        assert b.ref is not None
        log += v.execute(Award("c1", a.ref, "Q-2", side=Side.SELL), T0 + 4 * S).events
        log += v.execute(Tick(), T0 + 100 * S).events
        w = make_venue()
        w.replay(log)
        assert digest(w) == digest(v)
        assert w.execute(CreateRfq("c1", ig_bond(), None, 1_000_000, idempotency_key="k", fingerprint="f"),
                         T0 + 200 * S).ref == a.ref
        assert w.handle(CreateRfq("c1", ig_bond(), Side.BUY, 1_000_000), T0 + 200 * S)[0].seq == v.seq + 1

    def test_replay_refuses_a_gap(self) -> None:
        v = make_venue()
        events = v.handle(CreateRfq("c1", ig_bond(), Side.BUY, 1_000_000), T0)
        with pytest.raises(ValueError, match="gap"):
            make_venue().replay(events[1:])


def digest(v: Venue) -> dict[str, object]:
    """Everything observable of the engine's state, for comparisons."""
    return {
        "seq": v.seq,
        "trades": v.trades,
        "open": sorted(v.open_inquiries),
        "inquiries": {
            i: (q.state, q.trade_id, q.end_reason, sorted(q.passed), dict(q.live_by_dealer),
                {k: (x.state, x.version, x.price, x.bid_price, x.offer_price, x.net_price, x.valid_until)
                 for k, x in q.quotes.items()})
            for i, q in v.inquiries.items()
        },
        "next_timer": v.next_timer(),
    }


class TestBenchmarks:
    def test_spread_quotes_convert_at_the_current_logged_curve(self) -> None:
        from server.domain.commands import SetBenchmarks

        v = make_venue()
        log = list(v.handle(CreateRfq("c1", ig_bond(), Side.BUY, 1_000_000, quote_type=QuoteType.SPREAD), T0))
        rid = log[0].data["inquiry_id"]
        log += v.handle(SubmitQuote("d1", rid, level=80.0), T0 + S)
        before = v.inquiries[rid].quotes[log[-1].data["quote_id"]].price
        shifted = v.curve.shifted(25.0)
        events = v.handle(SetBenchmarks(shifted.tenors, shifted.yields), T0 + 2 * S)
        assert [e.type for e in events] == [ev.BENCHMARKS] and events[0].audience == ()
        log += events
        assert v.handle(SetBenchmarks(shifted.tenors, shifted.yields), T0 + 2 * S) == []  # unchanged: no event
        log += v.handle(SubmitQuote("d1", rid, level=80.0), T0 + 3 * S)
        after = v.inquiries[rid].quotes[log[-1].data["quote_id"]].price
        assert after is not None and before is not None and after < before  # higher yields, lower price
        rebuilt = make_venue()
        rebuilt.replay(log)
        assert rebuilt.curve == shifted and digest(rebuilt) == digest(v)


class TestListing:
    """``inquiries_for``: what a participant may see, newest first, from its own index."""

    @staticmethod
    def reference(v: Venue, who: str, state: InquiryState | None, kind: InquiryKind | None,
                  limit: int) -> list[str]:
        """The listing by brute force: every inquiry, filtered, in reverse creation order."""
        seen = [i for i in reversed(list(v.inquiries.values()))
                if (i.client_id == who or who in i.panel) and (state is None or i.state is state)
                and (kind is None or i.kind is kind)]
        return [i.inquiry_id for i in seen[:limit]]

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(("rfq", "rfq", "rfq", "pt", "award", "cancel", "tick")),
                              st.sampled_from(CLIENTS), st.sets(st.sampled_from(DEALERS), min_size=1, max_size=3),
                              st.integers(0, 40)), max_size=40),
           st.sampled_from((None, InquiryState.OPEN, InquiryState.AWARDED, InquiryState.CANCELLED,
                            InquiryState.EXPIRED)),
           st.sampled_from((None, InquiryKind.RFQ, InquiryKind.PORTFOLIO)), st.integers(2, 12))
    def test_matches_a_scan_of_every_inquiry(self, steps: list[tuple[str, str, set[str], int]],
                                             state: InquiryState | None, kind: InquiryKind | None,
                                             limit: int) -> None:
        v = make_venue()
        now = T0
        made: list[str] = []
        for what, client, panel, pick in steps:
            now += S
            panel_t = tuple(sorted(panel))
            if what == "rfq":
                made += [e.data["inquiry_id"] for e in v.execute(
                    CreateRfq(client, ig_bond(pick % 5), Side.BUY, 1_000_000, panel=panel_t), now).events
                    if e.type == ev.INQUIRY_CREATED]
            elif what == "pt":
                lines = (LineSpec(ig_bond(0), Side.BUY, 1_000_000), LineSpec(ig_bond(1), Side.SELL, 1_000_000))
                made += [e.data["inquiry_id"] for e in v.execute(
                    CreatePortfolio(client, lines, panel=panel_t), now).events if e.type == ev.INQUIRY_CREATED]
            elif made and what in ("award", "cancel"):
                inquiry = v.inquiries[made[pick % len(made)]]
                if what == "cancel":
                    v.execute(Cancel(inquiry.client_id, inquiry.inquiry_id), now)
                elif not inquiry.is_portfolio:
                    dealer = inquiry.panel[0]
                    out = v.execute(SubmitQuote(dealer, inquiry.inquiry_id, level=100.0), now)
                    if out.error is None:
                        v.execute(Award(inquiry.client_id, inquiry.inquiry_id, str(out.ref)), now)
            elif what == "tick":
                now += pick * 10 * S
                v.execute(Tick(), now)
        for who in (*CLIENTS, *DEALERS, "nobody"):
            listed = [i.inquiry_id for i in v.inquiries_for(who, state=state, kind=kind, limit=limit)]
            assert listed == self.reference(v, who, state, kind, limit)

    def test_a_call_reads_only_the_newest_matches(self) -> None:
        v = make_venue()
        for k in range(300):
            v.handle(CreateRfq("c1", ig_bond(k % 5), Side.BUY, 1_000_000, panel=("d1",)), T0 + k * S // 100)
        mine = v.inquiries_for("c1", limit=3)
        assert [i.inquiry_id for i in mine] == ["RFQ-300", "RFQ-299", "RFQ-298"]  # not "RFQ-99" first
        assert v.inquiries_for("d2") == [] and v.inquiries_for("c2") == []
        assert [i.inquiry_id for i in v.inquiries_for("d1", state=InquiryState.OPEN, limit=2)] == [
            "RFQ-300", "RFQ-299"]
        for k in range(1, 298):  # three left open: listed from the open set, still newest first
            v.handle(Cancel("c1", f"RFQ-{k}"), T0 + 4 * S)
        for who in ("c1", "d1"):
            assert [i.inquiry_id for i in v.inquiries_for(who, state=InquiryState.OPEN)] == [
                "RFQ-300", "RFQ-299", "RFQ-298"]
        assert [i.inquiry_id for i in v.inquiries_for("c1", state=InquiryState.CANCELLED, limit=2)] == [
            "RFQ-297", "RFQ-296"]
