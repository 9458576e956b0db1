"""The bot host isolates failures: a bot that raises, is late, or returns nonsense is a logged pass."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from dealer_bots.reference.mid_spread import MidSpreadDealer
from server.bots.host import BotHost, BotSpec
from server.bots.protocol import DealerBot, Feedback, InquiryView, InventoryView, MarketView, Quote
from server.domain import events as ev
from server.domain.commands import Award, CreatePortfolio, CreateRfq, LineSpec
from server.domain.types import NS_PER_MS, QuoteType, Role, Side
from server.runtime.sim import SimRuntime
from server.venue.engine import Venue
from server.venue.rules import VenueRules
from tests.support.engine import T0, ig_bond, small_universe


class Raises(DealerBot):
    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Quote:
        raise RuntimeError("boom")


class Nonsense(DealerBot):
    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Any:
        return "a quote, honest"


class WrongSide(DealerBot):
    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Quote:
        return Quote(bid=99.0, offer=101.0)  # a two-way quote on a one-way RFQ


class Recorder(MidSpreadDealer):
    def __init__(self) -> None:
        super().__init__()
        self.feedback: list[Feedback] = []
        self.seen_inventory: list[float] = []

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Any:
        assert not inquiry.idx.flags.writeable and not inventory.positions.flags.writeable
        self.seen_inventory.append(float(inventory.positions[inquiry.idx[0]]))
        return super().on_inquiry(inquiry, market, inventory)

    def on_feedback(self, feedback: Feedback) -> None:
        self.feedback.append(feedback)


def setup(bots: dict[str, tuple[DealerBot, int]]) -> tuple[SimRuntime, BotHost]:
    u = small_universe()
    market = u.initial_market()
    venue = Venue(u, {"c1": Role.CLIENT, **{d: Role.DEALER for d in bots}}, VenueRules(default_panel=tuple(bots)))
    host = BotHost([BotSpec(d, b, latency, deadline_ns=100 * NS_PER_MS) for d, (b, latency) in bots.items()],
                   u, lambda: market)
    return SimRuntime(venue, host, start_ns=T0), host


def test_failures_become_logged_passes_and_the_venue_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    good = Recorder()
    sim, host = setup({"ok": (good, NS_PER_MS), "raises": (Raises(), 0), "late": (MidSpreadDealer(), 200 * NS_PER_MS),
                       "nonsense": (Nonsense(), 0), "wrong": (WrongSide(), 0)})
    caplog.set_level(logging.WARNING, "rfqsim.bots")
    rid = sim.execute(CreateRfq("c1", ig_bond(), Side.BUY, 1_000_000, time_limit_ns=10**9)).ref
    sim.run(until=T0 + 500 * NS_PER_MS)
    passes = {e.data["dealer_id"]: e.data["reason"] for e in sim.log if e.type == ev.QUOTE_PASSED}
    assert passes == {"raises": "bot error: RuntimeError", "late": "missed its response deadline",
                      "nonsense": "bot error: not an action",
                      "wrong": passes["wrong"]}
    assert passes["wrong"].startswith("invalid quote:")
    quotes = [e for e in sim.log if e.type == ev.QUOTE_NEW]
    assert [q.data["dealer_id"] for q in quotes] == ["ok"]
    stats = host.stats()
    assert stats["raises"].errors == 1 and stats["late"].late == 1 and stats["wrong"].rejected == 1
    assert "boom" in caplog.text
    assert rid is not None and not sim.execute(Award("c1", rid, quotes[0].data["quote_id"])).error
    assert [f.outcome for f in good.feedback] == ["done"]


def test_inventory_follows_the_dealers_trades() -> None:
    bot = Recorder()
    sim, host = setup({"d": (bot, 0)})
    u = small_universe()
    bond = ig_bond(2)
    i = u.index_of(bond)
    rid = sim.execute(CreateRfq("c1", bond, Side.SELL, 3_000_000)).ref
    sim.run(until=T0 + 1)
    assert rid is not None
    qid = sim.venue.inquiries[rid].current_quotes()[0].quote_id
    sim.execute(Award("c1", rid, qid))
    assert host.inventory("d").positions[i] == 3_000_000  # the client sold: the dealer is long
    assert host.inventory("d").cash < 0
    sim.execute(CreateRfq("c1", bond, Side.BUY, 1_000_000))
    sim.run(until=T0 + 2)
    assert bot.seen_inventory == [0.0, 3_000_000.0]


@pytest.mark.parametrize("quote_type", list(QuoteType))
def test_reference_dealer_quotes_every_type_and_basket_within_the_rules(quote_type: QuoteType) -> None:
    sim, _ = setup({"d": (MidSpreadDealer(), 0)})
    u = small_universe()
    for side in (Side.BUY, Side.SELL, None):
        sim.execute(CreateRfq("c1", ig_bond(4), side, 1_000_000, quote_type=quote_type))
    lines = tuple(LineSpec(b.cusip, Side.BUY if k % 2 else Side.SELL, b.min_piece * 500)
                  for k, b in enumerate(u.bonds[:200]))
    sim.execute(CreatePortfolio("c1", lines))
    sim.run(until=T0 + 1)
    assert sim.rejections == []
    quotes = [e.data for e in sim.log if e.type == ev.QUOTE_NEW]
    assert len(quotes) == 4
    mids = u.initial_market().mid_price
    buy, sell, two_way, basket = quotes
    mid = mids[u.index_of(ig_bond(4))]
    assert sell["price"] < mid < buy["price"]
    assert two_way["bid_price"] < mid < two_way["offer_price"]
    prices = np.array(basket["line_prices"])
    idx = [u.index_of(b.cusip) for b in u.bonds[:200]]
    sides = np.array([1 if k % 2 else -1 for k in range(200)])
    assert np.all((prices - mids[idx]) * sides > 0)  # every line on the dealer's side of mid
