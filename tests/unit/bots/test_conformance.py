"""The conformance checker: the reference strategies pass it; a broken bot fails it, saying why."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from dealer_bots.reference.mid_spread import MidSpreadDealer
from server.bots.conformance import ConformanceReport, format_report, load_bot, run_conformance
from server.bots.protocol import DealerBot, InquiryView, InventoryView, MarketView, Quote
from server.domain.types import QuoteType, Side

STRATEGIES = (
    "dealer_bots.reference.strategies:FlowDealer",
    "dealer_bots.reference.strategies:EtfHedgingDealer",
    "dealer_bots.reference.strategies:AxeDealer",
    "dealer_bots.reference.strategies:CautiousDealer",
    "dealer_bots.reference.risk_dealer:RiskDealer",
    "dealer_bots.reference.mid_spread:MidSpreadDealer",
    "dealer_bots._template.strategy:TemplateDealer",
)


@pytest.mark.parametrize("target", STRATEGIES)
def test_the_reference_strategies_pass(target: str) -> None:
    report = run_conformance(target)
    assert report.passed, format_report(report)
    assert report.target == target
    names = {c.name for c in report.cases}
    assert {"rfq-ig-buy-price", "rfq-hy-two-way-spread", "rfq-illiquid-sell-yield", "pt-1-line",
            "pt-large-5000", "pt-mixed-200"} <= names
    assert len(report.cases) == 34
    large = report.case("pt-large-5000")
    assert large.n_lines == 5_000 and large.elapsed_ms is not None
    assert large.outcome in ("quoted", "passed")
    quoted = [c for c in report.cases if c.outcome == "quoted"]
    assert len(quoted) >= 20
    for c in quoted:  # every quote was checked against mid and, for baskets, reconciled
        names = {k.name for k in c.checks}
        assert {"exception", "deadline", "finite", "side"} <= names
        if c.name.startswith("pt-"):
            assert "reconciles" in names


def test_the_etf_hedging_dealer_quotes_the_5000_line_basket() -> None:
    report = run_conformance("dealer_bots.reference.strategies:EtfHedgingDealer")
    assert report.case("pt-large-5000").outcome == "quoted"
    assert "PASSED" in format_report(report)


class Broken(DealerBot):
    """Gets something wrong in each kind of case."""

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Any:
        mid = np.asarray(market.snapshot.mid_price)[inquiry.idx]
        if inquiry.is_portfolio:
            if inquiry.n_lines == 1:
                return "a quote, honest"
            good = Quote.portfolio(inquiry, mid * (1 + 0.001 * inquiry.sides))
            assert good.net_price is not None and good.line_prices is not None
            if (inquiry.name or "").startswith("pt-illiquid"):
                return dataclasses.replace(good, line_prices=(float("nan"), *good.line_prices[1:]))
            if (inquiry.name or "").startswith("pt-mixed"):
                through = np.where(np.arange(inquiry.n_lines) == 0, mid * (1 - 0.001 * inquiry.sides),
                                   mid * (1 + 0.01 * inquiry.sides))
                return Quote.portfolio(inquiry, through)  # one line through mid, the net fine
            return dataclasses.replace(good, net_price=good.net_price + 5.0)
        if bool(market.universe.is_hy[int(inquiry.idx[0])]) if inquiry.idx[0] < market.universe.n_bonds else False:
            raise RuntimeError("no high yield today")
        m = float(mid[0])
        if inquiry.quote_type is not QuoteType.PRICE:
            return Quote(level=float("nan")) if inquiry.side is not None else Quote(bid=float("inf"), offer=1.0)
        if inquiry.side is None:
            return Quote(level=m)  # a one-way level on a request for market
        if inquiry.side is Side.BUY:
            return Quote(level=round(m - 1.0, 6))  # an offer below mid
        return Quote(level=round(m - 0.5, 6))


def messages(report: ConformanceReport, case: str) -> dict[str, str]:
    return {k.name: k.message for k in report.case(case).failed()}


def test_a_broken_bot_fails_with_the_right_messages() -> None:
    report = run_conformance(Broken, large_basket=100)
    assert not report.passed
    assert "wrong-side" not in messages(report, "rfq-ig-sell-price")  # the right things pass
    assert report.case("rfq-ig-sell-price").ok and report.case("rfq-ig-sell-price").outcome == "quoted"

    side = messages(report, "rfq-ig-buy-price")
    assert "side" in side and "is below the evaluated mid" in side["side"]

    form = messages(report, "rfq-ig-two-way-price")
    assert "request for market takes a two-way quote" in form["accepted"]
    assert report.case("rfq-ig-two-way-price").outcome == "rejected"

    raised = messages(report, "rfq-hy-buy-price")
    assert raised["exception"].startswith("raised RuntimeError: no high yield today (at ")
    assert report.case("rfq-hy-buy-price").outcome == "error"

    nan = messages(report, "rfq-ig-sell-spread")
    assert nan["finite"] == "non-finite level=nan" and "accepted" in nan
    assert "non-finite bid=inf" in messages(report, "rfq-ig-two-way-yield")["finite"]

    junk = messages(report, "pt-1-line")
    assert junk["action"].startswith("returned str")

    off = messages(report, "pt-ig-sell-50")
    assert "off by -5.00 USD" in off["reconciles"] and "does not reconcile" in off["accepted"]

    bad_line = messages(report, "pt-illiquid-20")
    assert bad_line["finite"] == "non-finite 1 line prices (first: line 0 = nan)"

    mixed = report.case("pt-mixed-200")
    assert mixed.ok and [k.name for k in mixed.failed("warning")] == ["lines_side"]
    assert "1 of 200 lines priced through mid (first: line 0" in mixed.failed("warning")[0].message

    text = format_report(report)
    assert text.startswith(f"Conformance of {report.target}: FAILED")
    assert "rfq-ig-buy-price: [side]" in text and "pt-1-line: [action]" in text


def test_a_missed_deadline_is_reported() -> None:
    report = run_conformance(MidSpreadDealer, deadline_ms=1e-6, large_basket=20)
    assert not report.passed
    late = messages(report, "rfq-ig-buy-price")["deadline"]
    assert late.startswith("took ") and "over the 1e-06 ms deadline" in late
    assert all("deadline" in {k.name for k in c.failed()} for c in report.cases)


def test_what_cannot_be_loaded_is_a_setup_error() -> None:
    for target, words in (("no.such.module:Bot", "ModuleNotFoundError"),
                          ("dealer_bots.reference.mid_spread:NoSuchBot", "AttributeError"),
                          ("dealer_bots.reference.mid_spread", "not an import path"),
                          ("dealer_bots.reference.mid_spread:MidSpreadConfig", "not a dealer bot")):
        report = run_conformance(target)
        assert not report.passed and report.setup_error is not None and words in report.setup_error, target
        assert "FAILED" in format_report(report)


def test_bots_load_by_path_class_or_instance() -> None:
    name, bot = load_bot("dealer_bots.reference.mid_spread:MidSpreadDealer")
    assert name == "dealer_bots.reference.mid_spread:MidSpreadDealer" and isinstance(bot, MidSpreadDealer)
    instance = MidSpreadDealer()
    assert load_bot(instance) == ("dealer_bots.reference.mid_spread:MidSpreadDealer", instance)
    assert isinstance(load_bot(MidSpreadDealer)[1], MidSpreadDealer)
