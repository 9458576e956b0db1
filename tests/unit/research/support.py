"""Small scenarios and toy strategies for the research tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.bots.protocol import DealerBot, InquiryView, InventoryView, MarketView, Pass, Quote
from server.research.scenario import Scenario, parse_scenario

SMALL: dict[str, Any] = {
    "name": "small",
    "seed": 5,
    "horizon_hours": 0.25,
    "tail_s": 360,
    "universe": {"seed": 11, "n_bonds": 300, "n_issuers": 60},
    "market": {"step_s": 60},
    "metrics": {"markouts_s": [60, 300], "sample_s": 120},
    "dealers": [
        {"id": "a", "strategy": "mid_spread", "config": {"skew_bp": 0.0}, "latency_ms": 10},
        {"id": "b", "strategy": "mid_spread", "config": {"skew_bp": 1.0, "basket_factor": 0.6}, "latency_ms": 20},
        {"id": "c", "strategy": "tests.unit.research.support:ToyDealer", "config": {"spread_bp": 6.0},
         "latency_ms": 30},
    ],
    "flow": {
        "rfq_per_hour": 240,
        "portfolio_per_hour": 12,
        "portfolio": {"lines": {"median": 15, "sigma": 0.3, "min": 10, "max": 30}},
        "client_types": [
            {"name": "patient", "weight": 0.5, "clients": 2, "panel_size": 3, "pt_panel_size": 3, "time_limit_s": 30,
             "pt_time_limit_s": 120, "award": "band", "band_bp": 6, "band_illiquid_bp": 40},
            {"name": "urgent", "weight": 0.5, "clients": 2, "panel_size": 2, "pt_panel_size": 2, "time_limit_s": 10,
             "pt_time_limit_s": 60, "decision_s": 4, "award": "best", "reaction_ms": 50},
        ],
    },
}


def small_raw(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(SMALL)
    raw.update(changes)
    return raw


def small_scenario(**changes: Any) -> Scenario:
    return parse_scenario(small_raw(**changes), "small")


@dataclass(frozen=True)
class ToyConfig:
    spread_bp: float = 5.0
    pass_portfolios: bool = False

    def __post_init__(self) -> None:
        if not self.spread_bp > 0:
            raise ValueError("spread_bp must be > 0")


class ToyDealer(DealerBot):
    """Quotes a fixed spread around mid: the config-dataclass convention."""

    def __init__(self, config: ToyConfig | None = None) -> None:
        self.config = config or ToyConfig()

    def on_inquiry(self, inquiry: InquiryView, market: MarketView, inventory: InventoryView) -> Quote | Pass:
        if inquiry.is_portfolio and self.config.pass_portfolios:
            return Pass("no baskets")
        mid = market.snapshot.mid_price[inquiry.idx]
        prices = mid * (1 + np.where(inquiry.sides > 0, 1.0, -1.0) * self.config.spread_bp / 1e4)
        if inquiry.is_portfolio:
            return Quote.portfolio(inquiry, prices)
        return Quote(level=round(float(prices[0]), 6))


class KeywordDealer(ToyDealer):
    """The keyword convention: ``KeywordDealer(spread_bp=...)``."""

    def __init__(self, spread_bp: float = 5.0) -> None:
        if spread_bp <= 0:
            raise ValueError("spread_bp must be positive")
        super().__init__(ToyConfig(spread_bp=spread_bp))


@dataclass(frozen=True)
class SeededConfig:
    seed: int = 0


class SeededDealer(ToyDealer):
    """Has a ``seed`` config field: the simulation fills it from the dealer's own stream."""

    def __init__(self, config: SeededConfig | None = None) -> None:
        super().__init__(ToyConfig(spread_bp=4.0))
        self.seed = (config or SeededConfig()).seed
