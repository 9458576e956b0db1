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

import math
from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dealer_bots.pricing.pricer import PricedBasket
from dealer_bots.pricing.single import PricedLine
from server.bots.protocol import InquiryView, Quote
from server.domain import bondmath
from server.domain.types import QuoteType
from server.market.universe import MarketSnapshot, Universe

__all__ = [
    "LEVEL_DECIMALS",
    "portfolio_quote",
    "price_to_level",
    "round_in_favour",
    "round_one_in_favour",
    "single_quote",
]

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


def round_one_in_favour(value: float, up: bool, decimals: int) -> float:
    """:func:`round_in_favour` of one value, in Python floats (the same operations: a single quote's
    one or two levels are not worth numpy's per-call overhead)."""
    scale = 10.0**decimals
    v = value * scale - _SLACK if up else value * scale + _SLACK
    if not math.isfinite(v):
        return v / scale
    rounded = float(math.ceil(v) if up else math.floor(v))
    # numpy's ceil and floor keep the sign of a zero result (ceil(-0.3) is -0.0); math's return an int
    return (rounded if rounded != 0.0 else math.copysign(0.0, v)) / scale


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
    legs: tuple[tuple[PricedBasket, bool], ...]  # (leg, is the offer)
    if side is None:
        if bid is None or offer is None:
            raise ValueError("a request for market needs both a bid and an offer")
        legs = ((bid, False), (offer, True))
    else:
        leg = offer if side.sign > 0 else bid
        if leg is None:
            raise ValueError(f"the client {side.value}s: price that side")
        legs = ((leg, side.sign > 0),)
    prices = [leg.price if isinstance(leg, PricedLine) else float(leg.prices[0]) for leg, _ in legs]
    qt = inquiry.quote_type
    if qt is QuoteType.PRICE:
        levels = prices
    else:
        levels = price_to_level(universe, snapshot, int(inquiry.idx[0]), np.array(prices), qt, settle).tolist()
    decimals = LEVEL_DECIMALS[qt]
    rounded: list[float] = []
    breakdown: dict[str, float] = {}
    for (leg, is_offer), level in zip(legs, levels, strict=True):
        # In the dealer's favour: an offer's price up (its yield and spread down), a bid's price down.
        rounded.append(round_one_in_favour(level, is_offer == (qt is QuoteType.PRICE), decimals))
        prefix = "offer." if is_offer else "bid."
        part = leg.breakdown(prefix=prefix)
        part[prefix + "level"] = rounded[-1]
        breakdown = breakdown | part if breakdown else part
    if side is None:
        return Quote(bid=rounded[0], offer=rounded[1], valid_for_ns=valid_for_ns, breakdown=breakdown)
    return Quote(level=rounded[0], valid_for_ns=valid_for_ns, breakdown=breakdown)
