"""Quote assembly: from priced lines to the action the venue takes.

* A basket: line prices rounded to 6 dp *in the dealer's favour* (a bid down, an offer up, so
  rounding never moves a line through mid), and the net price computed from them by
  ``Quote.portfolio``, so the two reconcile to the cent whatever the number of lines.
* A single bond: the price expressed in the inquiry's quote type (price, spread over the
  Treasury curve, or yield), rounded in the dealer's favour too; a one-way level for a buy or a
  sell, bid and offer for a request for market.

The breakdown (mid, each charge, USD and bp) goes into ``Quote.breakdown``: the dealer's own
record, which the bot host never sends to the venue.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dealer_bots.pricing.pricer import PricedBasket
from server.bots.protocol import InquiryView, Quote
from server.domain import bondmath
from server.domain.types import QuoteType
from server.market.universe import MarketSnapshot, Universe

__all__ = ["LEVEL_DECIMALS", "portfolio_quote", "price_to_level", "round_in_favour", "single_quote"]

FloatArray = NDArray[np.float64]

LEVEL_DECIMALS: dict[QuoteType, int] = {QuoteType.PRICE: 6, QuoteType.YIELD: 6, QuoteType.SPREAD: 4}
_SLACK = 1e-6  # in units of the last decimal: values this close to the grid are on it


def round_in_favour(values: ArrayLike, up: ArrayLike, decimals: int) -> FloatArray:
    """Round to ``decimals`` places: up where ``up`` is true, down elsewhere (broadcasts).

    Values already on the grid (to floating noise) stay where they are.
    """
    scale = 10.0**decimals
    v = np.asarray(values, dtype=np.float64) * scale
    rounded = np.where(np.asarray(up, dtype=bool), np.ceil(v - _SLACK), np.floor(v + _SLACK))
    return np.asarray(rounded / scale, dtype=np.float64)


def portfolio_quote(inquiry: InquiryView, priced: PricedBasket, *, valid_for_ns: int | None = None,
                    breakdown: dict[str, float] | None = None) -> Quote:
    """Line prices (dealer buys rounded down, sells up) and the net price that reconciles with them."""
    prices = round_in_favour(priced.prices, priced.lines.face < 0.0, 6)
    return Quote.portfolio(inquiry, prices, valid_for_ns=valid_for_ns,
                           breakdown=priced.breakdown() if breakdown is None else breakdown)


def price_to_level(universe: Universe, snapshot: MarketSnapshot, i: int, prices: ArrayLike, quote_type: QuoteType,
                   settle: date) -> FloatArray:
    """Clean prices of instrument ``i`` as levels of ``quote_type`` (unrounded): the price itself, the
    yield in percent, or the spread in bp over the snapshot's Treasury curve, at ``settle``."""
    p = np.asarray(prices, dtype=np.float64)
    if quote_type is QuoteType.PRICE:
        return p
    settle64 = np.datetime64(settle, "D")
    maturity = universe.all_maturity[i]
    ytm = bondmath.yield_from_price(universe.all_coupon[i], maturity, settle64, p, universe.all_day_count[i],
                                    universe.all_frequency[i])
    if quote_type is QuoteType.YIELD:
        return np.asarray(ytm * 100.0, dtype=np.float64)
    ttm = bondmath.time_to_maturity(maturity, settle64)
    return np.asarray((ytm - snapshot.curve.yield_at(ttm)) * 1e4, dtype=np.float64)


def single_quote(inquiry: InquiryView, universe: Universe, snapshot: MarketSnapshot, settle: date, *,
                 bid: PricedBasket | None = None, offer: PricedBasket | None = None,
                 valid_for_ns: int | None = None) -> Quote:
    """A single-bond quote in the inquiry's quote type.

    ``bid`` is the pricing of the dealer buying (the client sells), ``offer`` of the dealer selling;
    a request for market needs both, a one-way RFQ the one on its side.
    """
    side = inquiry.side
    if side is None and (bid is None or offer is None):
        raise ValueError("a request for market needs both a bid and an offer")
    if side is not None and (offer if side.sign > 0 else bid) is None:
        raise ValueError(f"the client {side.value}s: price that side")
    legs = [(leg, is_offer) for leg, is_offer in ((bid, False), (offer, True)) if leg is not None
            and (side is None or is_offer == (side.sign > 0))]
    prices = np.array([float(leg.prices[0]) for leg, _ in legs])
    is_offer = np.array([o for _, o in legs])
    qt = inquiry.quote_type
    levels = price_to_level(universe, snapshot, int(inquiry.idx[0]), prices, qt, settle)
    # In the dealer's favour: an offer's price up (its yield and spread down), a bid's price down.
    up = is_offer if qt is QuoteType.PRICE else ~is_offer
    rounded = round_in_favour(levels, up, LEVEL_DECIMALS[qt])
    breakdown: dict[str, float] = {}
    for (leg, o), level in zip(legs, rounded.tolist(), strict=True):
        breakdown.update(leg.breakdown(prefix="offer." if o else "bid."))
        breakdown["offer.level" if o else "bid.level"] = level
    if side is None:
        return Quote(bid=float(rounded[0]), offer=float(rounded[1]), valid_for_ns=valid_for_ns, breakdown=breakdown)
    return Quote(level=float(rounded[0]), valid_for_ns=valid_for_ns, breakdown=breakdown)
