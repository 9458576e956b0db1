"""Quote assembly: baskets reconcile to the cent, single-bond levels in every quote type."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dealer_bots.pricing.pricer import PricingConfig, price_basket
from dealer_bots.pricing.quote import portfolio_quote, price_to_level, round_in_favour, single_quote
from dealer_bots.pricing.risk import MarketRisk
from server.bots.protocol import InquiryView
from server.domain import events as ev
from server.domain.calendar import ns_from_date
from server.domain.commands import CreatePortfolio, CreateRfq, LineSpec, SubmitQuote
from server.domain.types import QuoteType, Role, Side
from server.venue.engine import Venue
from server.venue.instruments import InstrumentTable
from server.venue.rules import VenueRules
from tests.unit.pricing.conftest import SETTLE, big_universe, context

NOW = ns_from_date(date(2026, 11, 20), 15)
CFG = PricingConfig()


@lru_cache(maxsize=1)
def table() -> InstrumentTable:
    return InstrumentTable(big_universe())


def new_venue() -> Venue:
    return Venue(big_universe(), {"c1": Role.CLIENT, "d1": Role.DEALER}, VenueRules(default_panel=("d1",)))


def request(venue: Venue, command: CreatePortfolio | CreateRfq) -> InquiryView:
    events = venue.handle(command, NOW)
    data = next(e.data for e in events if e.type == ev.INQUIRY_REQUEST)
    return InquiryView.from_event(data, venue.universe)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5_000), seed=st.integers(0, 2**32 - 1))
@example(n=1, seed=0)
@example(n=5_000, seed=1)
def test_a_basket_quote_reconciles_to_the_cent_and_the_venue_takes_it(n: int, seed: int) -> None:
    u = big_universe()
    ctx = context(big=True)
    rng = np.random.default_rng(seed)
    idx = rng.choice(u.n_bonds, n, replace=False)
    sides = rng.choice([Side.BUY, Side.SELL], n)
    qty = u.min_piece[idx] + 1_000 * rng.integers(0, 20_000, n)  # odd lots up to ~20 mm
    lines = tuple(LineSpec(u.bonds[int(i)].cusip, s, int(q)) for i, s, q in zip(idx, sides, qty, strict=True))
    venue = new_venue()
    inquiry = request(venue, CreatePortfolio("c1", lines))
    priced = price_basket(ctx, CFG, inquiry.idx, np.asarray(inquiry.dealer_signed_quantity), n_dealers=3)
    quote = portfolio_quote(inquiry, priced)
    assert quote.net_price is not None and quote.line_prices is not None
    prices = np.asarray(quote.line_prices)
    assert np.all(prices == np.round(prices, 6))
    implied = float(np.sum(-inquiry.sides * inquiry.quantities * prices) / 100.0)
    assert abs(implied - quote.net_price) <= 0.005 + 1e-6  # rounding to the cent, no more
    mid = ctx.mid[inquiry.idx]
    assert np.all((prices - mid) * inquiry.sides > 0.0)  # rounding never moves a line through mid
    events = venue.handle(SubmitQuote("d1", inquiry.inquiry_id, net_price=quote.net_price,
                                      line_prices=quote.line_prices), NOW)
    assert [e.type for e in events] == [ev.QUOTE_NEW]


def test_round_in_favour() -> None:
    np.testing.assert_array_equal(round_in_favour([1.23456789, 1.23456789], [True, False], 6), [1.234568, 1.234567])
    np.testing.assert_array_equal(round_in_favour([1.5, 1.5], [True, False], 0), [2.0, 1.0])
    # already on the grid (to floating noise): unchanged
    assert round_in_favour(0.1 + 0.2, True, 1)[()] == pytest.approx(0.3)
    assert round_in_favour(99.123456, True, 6)[()] == 99.123456


@pytest.mark.parametrize("quote_type", list(QuoteType))
@pytest.mark.parametrize("side", [Side.BUY, Side.SELL, None])
def test_single_bond_levels_convert_back_to_the_priced_side(quote_type: QuoteType, side: Side | None) -> None:
    u = big_universe()
    ctx: MarketRisk = context(big=True)
    i = int(np.flatnonzero(~u.is_hy)[10])
    inquiry = request(new_venue(), CreateRfq("c1", u.bonds[i].cusip, side, 2_000_000, quote_type=quote_type))
    bid = price_basket(ctx, CFG, inquiry.idx, np.array([2e6]), n_dealers=4)
    offer = price_basket(ctx, CFG, inquiry.idx, np.array([-2e6]), n_dealers=4)
    quote = single_quote(inquiry, u, ctx.snapshot, SETTLE, bid=bid, offer=offer)
    mid = float(ctx.mid[i])

    def back(level: float) -> float:
        return float(table().clean_prices(inquiry.idx, quote_type, np.array([level]), SETTLE, u.curve)[0])

    if side is None:
        assert quote.bid is not None and quote.offer is not None and quote.level is None
        b, o = back(quote.bid), back(quote.offer)
        assert b < mid < o
        assert b <= bid.prices[0] + 1e-9 and b == pytest.approx(bid.prices[0], abs=2e-5)
        assert o >= offer.prices[0] - 1e-9 and o == pytest.approx(offer.prices[0], abs=2e-5)
        assert "bid.total_usd" in quote.breakdown and "offer.total_usd" in quote.breakdown
    else:
        assert quote.level is not None and quote.bid is None and quote.offer is None
        p = back(quote.level)
        leg = offer if side is Side.BUY else bid
        assert (p - mid) * side.sign > 0
        assert (p - leg.prices[0]) * side.sign >= -1e-9  # rounded in the dealer's favour
        assert p == pytest.approx(leg.prices[0], abs=2e-5)


def test_price_to_level_matches_the_snapshot_at_mid() -> None:
    u = big_universe()
    ctx = context(big=True)
    i = 7
    y = price_to_level(u, ctx.snapshot, i, [ctx.mid[i]], QuoteType.YIELD, u.as_of)
    s = price_to_level(u, ctx.snapshot, i, [ctx.mid[i]], QuoteType.SPREAD, u.as_of)
    assert y[0] == pytest.approx(ctx.snapshot.mid_yield[i] * 100.0, abs=1e-9)
    assert s[0] == pytest.approx(ctx.snapshot.spread_bp[i], abs=1e-6)


def test_single_quote_needs_the_requested_side() -> None:
    u = big_universe()
    ctx = context(big=True)
    inquiry = request(new_venue(), CreateRfq("c1", u.bonds[0].cusip, None, 1_000_000))
    bid = price_basket(ctx, CFG, inquiry.idx, np.array([1e6]))
    with pytest.raises(ValueError):
        single_quote(inquiry, u, ctx.snapshot, SETTLE, bid=bid)
