"""The dealer pricing toolkit: price a bond or a basket from the net risk it leaves after hedging.

Vectorized over lines (no per-line Python loop), with a scalar fast path for one line (``single``); see
``pricer`` for the model. Modules:

* ``liquidity``: the single-bond RFQ cost curve (CALIBRATION section 1) and its basket version;
* ``risk``: per-snapshot tables (:class:`MarketRisk`, moved to snapshots whose mids market impact moved by
  ``MarketRisk.at``) and the risk of a basket's lines;
* ``hedge``: Treasury key-rate and LQD/HYG credit hedges and their cost;
* ``charges``: basis risk, capital, inventory and axes, balance sheet;
* ``competition``: the markup from a logistic win-probability model;
* ``pricer``: :func:`price_basket`, which puts them together;
* ``single``: :func:`price_line`, the same model for one line in plain floats (the single-bond fast
  path: ``price_basket``'s result to rounding, about 15 times faster), on the per-instrument tables of
  ``unit`` (risk per unit of market value, ``MarketRisk.unit``);
* ``quote``: from priced lines to a ``Quote`` the venue accepts.
"""

from dealer_bots.pricing.charges import BalanceSheetConfig, InventoryConfig
from dealer_bots.pricing.competition import CompetitionConfig, optimal_markup, win_probability
from dealer_bots.pricing.hedge import HEDGE_NAMES, HedgeConfig
from dealer_bots.pricing.liquidity import holding_period_days, improvement_bp, pt_cost_bp, rfq_cost_bp
from dealer_bots.pricing.pricer import COMPONENTS, LineCharges, PricedBasket, PricingConfig, price_basket
from dealer_bots.pricing.quote import portfolio_quote, single_quote
from dealer_bots.pricing.risk import BasketRisk, LineRisk, MarketRisk, basket_risk, line_risk
from dealer_bots.pricing.single import PricedLine, price_line

__all__ = [
    "COMPONENTS",
    "HEDGE_NAMES",
    "BalanceSheetConfig",
    "BasketRisk",
    "CompetitionConfig",
    "HedgeConfig",
    "InventoryConfig",
    "LineCharges",
    "LineRisk",
    "MarketRisk",
    "PricedBasket",
    "PricedLine",
    "PricingConfig",
    "basket_risk",
    "holding_period_days",
    "improvement_bp",
    "line_risk",
    "optimal_markup",
    "portfolio_quote",
    "price_basket",
    "price_line",
    "pt_cost_bp",
    "rfq_cost_bp",
    "single_quote",
    "win_probability",
]
