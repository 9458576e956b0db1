"""The simplest working dealer: quote around the evaluated mid with a half-spread that widens as
liquidity falls (CALIBRATION.md section 3 estimates: IG 5-40 bp of price, HY about three times).

It exists so the venue works end to end; the net-risk dealers price hedged baskets properly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from server.bots.protocol import DealerBot, InquiryView, InventoryView, MarketView, Pass, Quote
from server.domain import bondmath
from server.domain.calendar import dates_at
from server.domain.types import QuoteType


@dataclass(frozen=True, slots=True)
class MidSpreadConfig:
    liquid_half_spread_bp: float = 5.0  # at liquidity score 100
    illiquid_half_spread_bp: float = 40.0  # at liquidity score 1
    hy_multiplier: float = 3.0
    basket_factor: float = 0.7  # a basket diversifies: charge this share of the single-bond half-spread
    skew_bp: float = 0.0  # shifts every level in the dealer's favour (+) or the client's (-)
    valid_for_s: float | None = None
    max_lines: int = 10_000


def half_spread_bp(score: NDArray[np.float64], is_hy: NDArray[np.bool_], cfg: MidSpreadConfig) -> NDArray[np.float64]:
    illiquidity = np.clip((100.0 - score) / 99.0, 0.0, 1.0) ** 1.3
    base = cfg.liquid_half_spread_bp + (cfg.illiquid_half_spread_bp - cfg.liquid_half_spread_bp) * illiquidity
    return base * np.where(is_hy, cfg.hy_multiplier, 1.0)


class MidSpreadDealer(DealerBot):
    def __init__(self, config: MidSpreadConfig | None = None) -> None:
        self.config = config or MidSpreadConfig()

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Quote | Pass:
        cfg = self.config
        if inquiry.n_lines > cfg.max_lines:
            return Pass("basket too large")
        snap = market.snapshot
        idx = inquiry.idx
        valid = None if cfg.valid_for_s is None else int(cfg.valid_for_s * 1e9)
        if not inquiry.is_portfolio:
            return self._single(inquiry, market, valid)
        n_corp = len(market.universe.bonds)
        is_hy = np.zeros(len(idx), dtype=bool)
        corp = idx < n_corp
        is_hy[corp] = market.universe.is_hy[idx[corp]]
        mid = snap.mid_price[idx]
        hs = half_spread_bp(snap.liquidity_score[idx], is_hy, cfg) + cfg.skew_bp
        hs = hs * cfg.basket_factor
        # the client buys at the offer (mid + hs), sells at the bid (mid - hs)
        prices = np.where(inquiry.sides > 0, mid * (1 + hs / 1e4), mid * (1 - hs / 1e4))
        return Quote.portfolio(inquiry, prices, valid_for_ns=valid)

    def _single(self, inquiry: InquiryView, market: MarketView, valid: int | None) -> Quote:
        """One bond: the same formula in scalars (numpy's per-call overhead dominates a single line)."""
        cfg = self.config
        i = int(inquiry.idx[0])
        snap = market.snapshot
        universe = market.universe
        is_hy = i < len(universe.bonds) and bool(universe.is_hy[i])
        illiquidity = min(max((100.0 - float(snap.liquidity_score[i])) / 99.0, 0.0), 1.0) ** 1.3
        hs = (cfg.liquid_half_spread_bp + (cfg.illiquid_half_spread_bp - cfg.liquid_half_spread_bp) * illiquidity) * (
            cfg.hy_multiplier if is_hy else 1.0) + cfg.skew_bp
        mid = float(snap.mid_price[i])
        bid, offer = mid * (1 - hs / 1e4), mid * (1 + hs / 1e4)
        if inquiry.quote_type is QuoteType.PRICE:
            levels = [round(bid, 4), round(offer, 4)]
        else:
            levels = self._levels(inquiry, market, np.array([bid, offer]))
        side = inquiry.side
        if side is None:
            return Quote(bid=levels[0], offer=levels[1], valid_for_ns=valid)
        return Quote(level=levels[1] if side.sign > 0 else levels[0], valid_for_ns=valid)

    @staticmethod
    def _levels(inquiry: InquiryView, market: MarketView, prices: NDArray[np.float64]) -> list[float]:
        """Express clean prices as the inquiry's quote type."""
        if inquiry.quote_type is QuoteType.PRICE:
            return [round(float(p), 4) for p in prices]
        bond = market.universe.instrument(int(inquiry.idx[0]))
        settle = np.datetime64(dates_at(market.now)[1], "D")
        maturity = np.datetime64(bond.maturity, "D")
        dc = bondmath.day_count_code(bond.day_count)
        ytm = bondmath.yield_from_price(bond.coupon / 100, maturity, settle, prices, dc, bond.frequency)
        if inquiry.quote_type is QuoteType.YIELD:
            return [round(float(y) * 100, 6) for y in ytm]
        ttm = bondmath.time_to_maturity(maturity, settle)
        spread = (ytm - market.snapshot.curve.yield_at(ttm)) * 1e4
        return [round(float(s), 4) for s in spread]
