"""The reference strategies behave differently, all through the pricing toolkit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dealer_bots.reference.risk_dealer import RiskDealer, RiskDealerConfig
from dealer_bots.reference.strategies import (
    AxeDealer,
    AxeDealerConfig,
    CautiousDealer,
    CautiousDealerConfig,
    EtfHedgingDealer,
    EtfHedgingDealerConfig,
    FlowDealer,
    FlowDealerConfig,
    reference_panel_strategy,
)
from server.bots.protocol import DealerBot, Feedback, InquiryView, InventoryView, MarketView, Pass, Quote
from server.domain.types import InquiryKind, QuoteType
from server.market.universe import Universe
from tests.support.engine import T0, small_universe

STRATEGIES = (FlowDealer, EtfHedgingDealer, AxeDealer, CautiousDealer)


def view(u: Universe, idx: list[int] | np.ndarray, sides: list[int] | np.ndarray, qty: list[int] | np.ndarray,
         *, portfolio: bool | None = None, quote_type: QuoteType = QuoteType.PRICE, panel: int = 4) -> InquiryView:
    i = np.asarray(idx, dtype=np.int64)
    is_pt = len(i) > 1 if portfolio is None else portfolio
    return InquiryView("PT-1" if is_pt else "RFQ-1", InquiryKind.PORTFOLIO if is_pt else InquiryKind.RFQ, "c1",
                       quote_type, tuple(u.instruments[int(k)].cusip for k in i), i,
                       np.asarray(sides, dtype=np.int8), np.asarray(qty, dtype=np.int64), panel, T0, T0 + 10**12)


def market() -> MarketView:
    u = small_universe()
    return MarketView(u, u.initial_market(), T0)


def flat() -> InventoryView:
    return InventoryView(np.zeros(small_universe().n_instruments))


def ask(bot: DealerBot, inquiry: InquiryView, inventory: InventoryView | None = None) -> Quote | Pass:
    action = bot.on_inquiry(inquiry, market(), inventory or flat())
    assert isinstance(action, Quote | Pass)
    return action


def quote(bot: DealerBot, inquiry: InquiryView, inventory: InventoryView | None = None) -> Quote:
    action = ask(bot, inquiry, inventory)
    assert isinstance(action, Quote), action
    return action


def bond(grade_hy: bool, score_near: float) -> int:
    u = small_universe()
    s = u.initial_market().liquidity_score
    pool = np.flatnonzero(u.is_hy == grade_hy)
    return int(pool[np.argmin(np.abs(s[pool] - score_near))])


@pytest.mark.parametrize("cls", STRATEGIES)
def test_each_strategy_is_a_dealer_bot_with_a_typed_config(cls: type[RiskDealer]) -> None:
    bot = cls()
    assert isinstance(bot, DealerBot)
    assert dataclasses.is_dataclass(bot.config) and isinstance(bot.config, RiskDealerConfig)
    hints = {f.name: f.type for f in dataclasses.fields(bot.config)}
    assert "pricing" in hints


def test_the_strategies_quote_differently() -> None:
    u = small_universe()
    ig, hy = bond(False, 70.0), bond(True, 45.0)
    rng = np.random.default_rng(0)
    basket = rng.choice(np.flatnonzero(~u.is_hy), 40, replace=False)
    levels: dict[str, tuple[float, ...]] = {}
    for cls in STRATEGIES:
        bot = cls()
        a = quote(bot, view(u, [ig], [1], [1_000_000])).level
        b = quote(bot, view(u, [hy], [-1], [1_000_000])).level
        c = quote(bot, view(u, basket, np.where(np.arange(40) % 2, 1, -1), np.full(40, 1_000_000))).net_price
        assert a is not None and b is not None and c is not None
        levels[cls.__name__] = (a, b, c)
    for k in range(3):
        assert len({v[k] for v in levels.values()}) == len(STRATEGIES), levels


def test_flow_dealer_hedges_little_and_has_a_small_balance_sheet() -> None:
    u = small_universe()
    ig = bond(False, 70.0)
    flow = quote(FlowDealer(), view(u, [ig], [-1], [2_000_000]))
    etf = quote(EtfHedgingDealer(), view(u, [ig], [-1], [2_000_000]))
    assert flow.breakdown["bid.hedge_LQD_usd"] == 0.0 and etf.breakdown["bid.hedge_LQD_usd"] < 0.0
    assert abs(flow.breakdown["bid.dv01_usd"]) > 0.0
    # a 600 mm basket: the flow dealer (300 mm limit, passes at 900 mm) widens, the ETF dealer does not
    idx = np.flatnonzero(~u.is_hy)[:60]
    mid = view(u, idx, np.full(60, -1), np.full(60, 10_000_000))
    flow_big = quote(FlowDealer(), mid)
    assert flow_big.breakdown["balance_sheet_usd"] > 0.0
    assert quote(EtfHedgingDealer(), mid).breakdown["balance_sheet_usd"] == 0.0
    # at 1.2 bn it passes, saying why
    huge = view(u, idx, np.full(60, -1), np.full(60, 20_000_000))
    refused = ask(FlowDealer(), huge)
    assert isinstance(refused, Pass) and "balance sheet" in refused.reason
    assert isinstance(ask(EtfHedgingDealer(), huge), Quote)


def test_the_axe_dealer_quotes_aggressively_on_its_axes() -> None:
    u = small_universe()
    i = bond(False, 60.0)
    cusip = u.bonds[i].cusip
    plain = AxeDealer(AxeDealerConfig(axe_fraction=0.0))
    axed = AxeDealer(AxeDealerConfig(axe_fraction=0.0, axes=((cusip, 1),)))  # wants to buy it
    client_sells = view(u, [i], [-1], [2_000_000])
    client_buys = view(u, [i], [1], [2_000_000])
    plain_bid, axed_bid = quote(plain, client_sells).level, quote(axed, client_sells).level
    assert plain_bid is not None and axed_bid is not None and axed_bid > plain_bid
    mid = u.initial_market().mid_price[i]
    assert axed_bid < mid  # aggressive, never through mid
    axed_offer, plain_offer = quote(axed, client_buys).level, quote(plain, client_buys).level
    assert axed_offer is not None and plain_offer is not None and axed_offer > plain_offer  # it would rather not sell
    # its axes come from its own seed: same seed, same axes
    ctx = plain.market_risk(market())
    a1 = AxeDealer(AxeDealerConfig(seed=1)).axes(ctx)
    a2 = AxeDealer(AxeDealerConfig(seed=1)).axes(ctx)
    a3 = AxeDealer(AxeDealerConfig(seed=2)).axes(ctx)
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1, a3)
    assert int(np.count_nonzero(a1)) == round(0.08 * u.n_bonds) and set(np.unique(a1)) == {-1.0, 0.0, 1.0}
    with pytest.raises(ValueError):
        AxeDealerConfig(axes=(("X", 2),))


def test_the_cautious_dealer_widens_and_passes_on_illiquid_and_high_yield() -> None:
    u = small_universe()
    s = u.initial_market().liquidity_score
    cautious, etf = CautiousDealer(), EtfHedgingDealer()
    worst = int(np.argmin(s[: u.n_bonds]))
    refused = ask(cautious, view(u, [worst], [1], [1_000_000]))
    assert isinstance(refused, Pass) and "illiquid" in refused.reason
    hy = bond(True, 50.0)
    mid = u.initial_market().mid_price[hy]
    c, e = quote(cautious, view(u, [hy], [1], [1_000_000])).level, quote(etf, view(u, [hy], [1], [1_000_000])).level
    assert c is not None and e is not None and c - mid > 1.2 * (e - mid)
    hy_basket = np.flatnonzero(u.is_hy)[:30]
    refused = ask(cautious, view(u, hy_basket, np.full(30, 1), np.full(30, 1_000_000)))
    assert isinstance(refused, Pass)
    ig_basket = np.flatnonzero(~u.is_hy & (s[: u.n_bonds] > 60))[:30]
    assert isinstance(ask(cautious, view(u, ig_basket, np.full(30, 1), np.full(30, 1_000_000))), Quote)


def test_inventory_skews_the_levels() -> None:
    u = small_universe()
    i = bond(False, 60.0)
    long = np.zeros(u.n_instruments)
    long[i] = 8_000_000
    inv = InventoryView(long)
    bot = EtfHedgingDealer()
    flat_quote = quote(bot, view(u, [i], [0], [2_000_000]))
    long_quote = quote(bot, view(u, [i], [0], [2_000_000]), inv)
    assert flat_quote.bid is not None and flat_quote.offer is not None
    assert long_quote.bid is not None and long_quote.offer is not None
    assert long_quote.offer < flat_quote.offer  # keen to sell what it holds
    assert long_quote.bid < flat_quote.bid  # reluctant to buy more


def test_two_way_quotes_are_bid_below_offer_in_every_quote_type() -> None:
    u = small_universe()
    i = bond(False, 70.0)
    for qt in QuoteType:
        for cls in STRATEGIES:
            q = quote(cls(), view(u, [i], [0], [1_000_000], quote_type=qt))
            assert q.bid is not None and q.offer is not None
            assert (q.bid < q.offer) if qt is QuoteType.PRICE else (q.bid > q.offer)


def test_records_and_feedback() -> None:
    u = small_universe()
    bot = RiskDealer(RiskDealerConfig(keep_records=2))
    for k in range(3):
        quote(bot, view(u, [k], [1], [1_000_000]))
    assert len(bot.records) == 2 and "offer.total_usd" in bot.records[-1][1]
    bot.on_feedback(Feedback("RFQ-1", "done"))
    bot.on_feedback(Feedback("RFQ-2", "traded_away"))
    assert bot.outcomes == {"done": 1, "traded_away": 1}


def test_a_basket_too_big_for_the_dealer_is_a_pass() -> None:
    u = small_universe()
    bot = RiskDealer(RiskDealerConfig(max_lines=10))
    refused = ask(bot, view(u, np.arange(11), np.full(11, 1), np.full(11, 1_000_000)))
    assert isinstance(refused, Pass) and "11 lines" in refused.reason


def test_the_reference_panel_mixes_the_strategies() -> None:
    kinds = [type(reference_panel_strategy(k, f"dealer-{k}")) for k in range(6)]
    assert kinds == [EtfHedgingDealer, FlowDealer, AxeDealer, CautiousDealer, RiskDealer, EtfHedgingDealer]
    a = reference_panel_strategy(2, "dealer-c")
    b = reference_panel_strategy(2, "dealer-c")
    assert isinstance(a, AxeDealer) and isinstance(b, AxeDealer) and a.config.seed == b.config.seed


def test_the_template_strategy_applies_its_own_limits() -> None:
    from dealer_bots._template.strategy import TemplateDealer, TemplateDealerConfig

    u = small_universe()
    one_sector = np.flatnonzero(u.sector_idx == np.bincount(u.sector_idx).argmax())[:12]
    refused = ask(TemplateDealer(), view(u, one_sector, np.full(12, 1), np.full(12, 1_000_000)))
    assert isinstance(refused, Pass) and "one sector" in refused.reason
    rng = np.random.default_rng(3)
    mixed = rng.choice(u.n_bonds, 30, replace=False)
    lines = view(u, mixed, np.full(30, -1), np.full(30, 1_000_000))
    assert isinstance(ask(TemplateDealer(), lines), Quote)
    refused = ask(TemplateDealer(TemplateDealerConfig(max_dv01_usd=1_000.0)), lines)
    assert isinstance(refused, Pass) and "DV01" in refused.reason


def test_configs_are_frozen_dataclasses() -> None:
    for cfg in (FlowDealerConfig(), EtfHedgingDealerConfig(), AxeDealerConfig(), CautiousDealerConfig()):
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.max_lines = 1  # type: ignore[misc]


def test_the_risk_tables_are_built_once_per_snapshot() -> None:
    from server.market.evolution import stress_premium

    u = small_universe()
    bot = RiskDealer()
    m = market()
    ctx = bot.market_risk(m)
    assert bot.market_risk(MarketView(u, m.snapshot, m.now + 1)) is ctx  # same snapshot, same settlement day
    moved = MarketView(u, stress_premium(m.snapshot, "LQD", -0.01), m.now)
    assert bot.market_risk(moved) is not ctx and bot.market_risk(moved).hedges.premium[4] == pytest.approx(-0.01)
