"""A net-risk dealer: prices a bond or a basket from the risk it leaves after hedging.

Every quote goes through the pricing toolkit (:mod:`dealer_bots.pricing`): the basket's lines are
hedged with Treasuries and LQD/HYG, charged for liquidity (less inside a diversified basket),
basis risk, capital, inventory and axes, balance sheet, and a competitive markup; the basket's
net price and the line prices reconcile to the cent. The breakdown of each quote is kept in
``Quote.breakdown`` and in ``records`` (the dealer's own, never sent to the client).

Subclasses change behaviour through the config and three hooks: :meth:`RiskDealer.axes` (what
the dealer wants to trade), :meth:`RiskDealer.screen` (pass before pricing) and
:meth:`RiskDealer.review` (pass or adjust after pricing).

Risk tables (:class:`~dealer_bots.pricing.risk.MarketRisk`: factor exposures, hedges, liquidity)
are refreshed at every market step; between steps, market impact moves the mids the dealer quotes
around and values positions at, not its factor exposures (see :meth:`RiskDealer.market_risk`).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from dealer_bots.pricing.pricer import PricedBasket, PricingConfig, price_basket
from dealer_bots.pricing.quote import portfolio_quote, single_quote
from dealer_bots.pricing.risk import MarketRisk
from dealer_bots.pricing.single import price_line
from server.bots.protocol import DealerBot, Feedback, InquiryView, InventoryView, MarketView, Pass, Quote
from server.domain.calendar import dates_at
from server.market.factors import FactorModel, shared_factor_model
from server.market.universe import MarketSnapshot

__all__ = ["RiskDealer", "RiskDealerConfig"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RiskDealerConfig:
    pricing: PricingConfig = field(default_factory=PricingConfig)
    max_lines: int = 10_000  # pass on bigger baskets
    valid_for_s: float | None = None  # quote lifetime; None: until the inquiry ends
    settlement_days: int = 1  # T+1, as the venue settles corporates
    keep_records: int = 256  # breakdowns of the latest quotes kept in ``records``

    def __post_init__(self) -> None:
        if self.max_lines < 1 or self.keep_records < 0 or self.settlement_days < 0:
            raise ValueError("max_lines must be positive, keep_records and settlement_days non-negative")


class RiskDealer(DealerBot):
    """The toolkit's dealer with a middle-of-the-road config; the reference strategies derive from it.

    Its risk tables are refreshed at every market step; between steps, market impact moves the mids it
    quotes around and values its book at, not its factor exposures (:meth:`market_risk`).
    """

    def __init__(self, config: RiskDealerConfig | None = None) -> None:
        self.config = config if config is not None else RiskDealerConfig()
        self.records: deque[tuple[str, dict[str, float]]] = deque(maxlen=self.config.keep_records)
        self.outcomes: Counter[str] = Counter()
        self._model: FactorModel | None = None
        # full tables of the latest market steps' snapshots, and the context last handed out
        self._contexts: list[tuple[MarketSnapshot, date, MarketRisk]] = []
        self._current: tuple[MarketSnapshot, date, MarketRisk] | None = None

    @property
    def pricing(self) -> PricingConfig:
        return self.config.pricing

    # ---- hooks ---------------------------------------------------------------------------

    def axes(self, ctx: MarketRisk) -> FloatArray | None:
        """Per instrument: +1 the dealer wants to buy, -1 to sell, 0 indifferent (None: no axes)."""
        return None

    def screen(self, inquiry: InquiryView, ctx: MarketRisk) -> Pass | None:
        """Pass before pricing (None: go on)."""
        if inquiry.n_lines > self.config.max_lines:
            return Pass(f"basket of {inquiry.n_lines} lines; this dealer takes at most {self.config.max_lines}")
        return None

    def review(self, inquiry: InquiryView, priced: PricedBasket) -> Pass | None:
        """Pass after pricing (None: quote). By default: the balance-sheet pass limit."""
        if priced.balance.over_pass_limit:
            return Pass(f"balance sheet: the book would reach {priced.balance.gross_after:,.0f} USD gross")
        return None

    # ---- the market ----------------------------------------------------------------------

    def market_risk(self, market: MarketView) -> MarketRisk:
        """The risk tables at the market's snapshot: built once per (market step, settlement date).

        With market impact on, nearly every inquiry brings a new snapshot, but one that differs from
        the last market step's (its ``basis``) only in its mids, by a few bp. The full tables (factor
        exposures, hedge book, liquidity, the single-line tables) are built for the basis, once, and
        moved to each impacted snapshot with ``MarketRisk.at``: the dealer quotes around, and values
        its book at, the impacted mids, with the exposures per USD of the market step. Those move with
        the mids only through durations and spreads, a second-order effect on the price of a few bp of
        move (``MarketRisk``), and are refreshed at the next step. A snapshot without a basis is a market
        step of its own.

        The last context handed out is kept too: the quotes of one inquiry, and further inquiries
        before the mids move again, reuse it without even moving.
        """
        settle = dates_at(market.now, self.config.settlement_days)[1]
        snapshot = market.snapshot
        current = self._current
        if (current is not None and current[0] is snapshot and current[1] == settle
                and current[2].universe is market.universe):
            return current[2]
        base = snapshot if snapshot.basis is None else snapshot.basis
        for snap, st, tables in self._contexts:
            if snap is base and st == settle and tables.universe is market.universe:
                break
        else:
            if self._model is None or self._model.universe is not market.universe:
                self._model = shared_factor_model(market.universe, self.pricing.factor)
                self._contexts.clear()
            tables = MarketRisk.build(market.universe, base, settle, model=self._model,
                                      hedge_config=self.pricing.hedge, max_holding_days=self.pricing.max_holding_days)
            self._contexts.append((base, settle, tables))
            del self._contexts[:-2]
        ctx = tables.at(snapshot)
        self._current = (snapshot, settle, ctx)
        return ctx

    # ---- the protocol ----------------------------------------------------------------------

    def price(self, ctx: MarketRisk, inquiry: InquiryView, face: FloatArray, inventory: InventoryView) -> PricedBasket:
        """Price ``face`` (dealer's signed face per line of ``inquiry``) with this dealer's config.

        One line goes through the scalar fast path (:func:`~dealer_bots.pricing.single.price_line`, the
        result of ``price_basket`` to rounding, an order of magnitude faster), a basket through ``price_basket``.
        """
        if len(face) == 1:
            return price_line(ctx, self.pricing, int(inquiry.idx[0]), float(face[0]), n_dealers=inquiry.panel_size,
                              positions=inventory.positions, axes=self.axes(ctx))
        return price_basket(ctx, self.pricing, inquiry.idx, face, n_dealers=inquiry.panel_size,
                            positions=inventory.positions, axes=self.axes(ctx))

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Quote | Pass:
        ctx = self.market_risk(market)
        screened = self.screen(inquiry, ctx)
        if screened is not None:
            return screened
        valid = None if self.config.valid_for_s is None else int(self.config.valid_for_s * 1e9)
        if inquiry.is_portfolio:
            priced = self.price(ctx, inquiry, np.asarray(inquiry.dealer_signed_quantity), inventory)
            refused = self.review(inquiry, priced)
            if refused is not None:
                return refused
            quote = portfolio_quote(inquiry, priced, valid_for_ns=valid)
        else:
            side = inquiry.side
            qty = float(inquiry.quantities[0])
            legs: dict[str, PricedBasket] = {}
            if side is None or side.sign < 0:
                legs["bid"] = self.price(ctx, inquiry, np.array([qty]), inventory)
            if side is None or side.sign > 0:
                legs["offer"] = self.price(ctx, inquiry, np.array([-qty]), inventory)
            for leg in legs.values():
                refused = self.review(inquiry, leg)
                if refused is not None:
                    return refused
            quote = single_quote(inquiry, market.universe, market.snapshot, ctx.settle, bid=legs.get("bid"),
                                 offer=legs.get("offer"), valid_for_ns=valid)
        if self.config.keep_records:
            self.records.append((inquiry.inquiry_id, quote.breakdown))
        return quote

    def on_feedback(self, feedback: Feedback) -> None:
        self.outcomes[feedback.outcome] += 1
