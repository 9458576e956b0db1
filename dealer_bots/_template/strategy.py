"""A template dealer strategy: copy this file, rename the classes, change what you like.

How a dealer bot works (see ``server/bots/protocol.py``):

* The venue sends ``on_inquiry(inquiry, market, inventory)`` for every RFQ and portfolio inquiry
  the dealer is asked to price. ``inquiry`` is read-only: the instrument index of each line
  (``inquiry.idx``), the client's side (+1 buys, -1 sells, 0 two-way), quantities (face, USD),
  the quote type and the panel size. ``market`` has the universe and the market snapshot
  (evaluated mids, spreads, liquidity scores, ETF NAVs and prices); ``inventory`` the dealer's
  positions by instrument index. Return a ``Quote``, a ``Pass`` (or ``None``), or a ``Withdraw``.
* Be fast and pure: no wall clock, no global random state (draw from your own
  ``numpy.random.default_rng(seed)``), no I/O, and no Python loop over a basket's lines: a
  5,000-line basket is normal, and a bot that misses its deadline (2 s by default) is a pass.
* ``on_feedback`` tells you how each inquiry ended: done, covered, traded_away, ...

The easiest start is the net-risk dealer of the reference strategies: it hedges with Treasuries
and LQD/HYG, charges for liquidity, basis risk, capital, inventory and competition, and
assembles quotes the venue accepts (line prices that reconcile with the net price to the cent,
levels in the requested quote type). Change its ``PricingConfig`` and override its hooks:

* ``axes(ctx)``: what you want to buy (+1) or sell (-1), per instrument;
* ``screen(inquiry, ctx)``: pass before pricing;
* ``review(inquiry, priced)``: pass after pricing (``priced`` has every charge, the hedge, the
  diversification...).

To price from scratch instead, use the toolkit directly (``dealer_bots.pricing``)::

    ctx = self.market_risk(market)                     # per-snapshot risk tables, cached
    priced = price_basket(ctx, my_config, inquiry.idx, inquiry.dealer_signed_quantity,
                          n_dealers=inquiry.panel_size, positions=inventory.positions)
    return portfolio_quote(inquiry, priced)            # or single_quote(...) for an RFQ

For one bond, ``price_line(ctx, my_config, i, face, ...)`` gives ``price_basket``'s result in plain floats,
an order of magnitude faster (``RiskDealer.price`` uses it for single-line inquiries).

Check your bot against the venue's own validation: ``rfqsim check-bot module:Class``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dealer_bots.pricing import CompetitionConfig, HedgeConfig, PricedBasket, PricingConfig
from dealer_bots.pricing.risk import MarketRisk
from dealer_bots.reference.risk_dealer import RiskDealer, RiskDealerConfig
from server.bots.protocol import InquiryView, Pass


def template_pricing() -> PricingConfig:
    """The pricing parameters: every field of ``PricingConfig`` has a documented default."""
    return PricingConfig(
        hedge=HedgeConfig(rates_ratio=1.0, credit_ratio=0.75),  # hedge all rates, 3/4 of the credit
        competition=CompetitionConfig(beta=5.0),  # a steeper win probability: a tighter markup
        risk_aversion=0.06,  # USD of charge per USD of residual sigma over the holding period
        liquidity_weight=1.0,  # 1.0 = the single-bond cost curve of CALIBRATION.md section 1
    )


@dataclass(frozen=True)
class TemplateDealerConfig(RiskDealerConfig):
    """Your strategy's parameters: a frozen dataclass, so a run is reproducible from its config."""

    pricing: PricingConfig = field(default_factory=template_pricing)
    max_dv01_usd: float = 500_000.0  # pass on baskets with more net rates risk than this
    max_sector_share: float = 0.8  # pass on baskets with more of their notional in one sector


class TemplateDealer(RiskDealer):
    """A net-risk dealer with two risk limits of its own."""

    config: TemplateDealerConfig

    def __init__(self, config: TemplateDealerConfig | None = None) -> None:
        super().__init__(config if config is not None else TemplateDealerConfig())

    def screen(self, inquiry: InquiryView, ctx: MarketRisk) -> Pass | None:
        """Before pricing: the base class passes on baskets over ``max_lines``; add a sector limit."""
        first = super().screen(inquiry, ctx)
        if first is not None or not inquiry.is_portfolio:
            return first
        sector = ctx.sector[inquiry.idx]  # -1 for Treasuries
        qty = inquiry.quantities.astype(np.float64)
        corp = sector >= 0
        by_sector = np.bincount(sector[corp], qty[corp], minlength=1)  # vectorized: no loop over lines
        share = float(by_sector.max()) / float(qty.sum()) if qty.sum() > 0 else 0.0
        if inquiry.n_lines >= 10 and share > self.config.max_sector_share:
            return Pass(f"{share:.0%} of the basket in one sector")
        return None

    def review(self, inquiry: InquiryView, priced: PricedBasket) -> Pass | None:
        """After pricing: ``priced.risk`` is the basket's net risk (DV01, CS01, exposures)."""
        first = super().review(inquiry, priced)  # the balance-sheet limit
        if first is not None:
            return first
        if abs(priced.risk.dv01) > self.config.max_dv01_usd:
            return Pass(f"net DV01 {priced.risk.dv01:,.0f} USD over the {self.config.max_dv01_usd:,.0f} limit")
        return None
