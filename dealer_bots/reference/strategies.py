"""Reference dealer strategies: four temperaments on one pricing toolkit.

=================  ==========================================================================
FlowDealer         tight markups, a small balance sheet (widens, then passes, as it fills), hedges
                   only half its rates risk and no credit, expects to turn positions over fast.
EtfHedgingDealer   the full net-risk dealer: hedges every key-rate DV01 with Treasuries and all
                   its credit with LQD/HYG, a large balance sheet; the natural portfolio-trading
                   counterparty (its prices track ETF premiums and discounts).
AxeDealer          has axes (bonds it wants to buy or sell, drawn from its own seed or given),
                   quotes aggressively on them and normally elsewhere.
CautiousDealer     high risk aversion, widens on illiquid and high-yield lines, passes on the
                   least liquid bonds and on baskets that are mostly illiquid or high yield.
=================  ==========================================================================

Each is a :class:`~dealer_bots.reference.risk_dealer.RiskDealer` with a typed config dataclass;
all pricing goes through :mod:`dealer_bots.pricing`, vectorized over lines (a single bond through
its scalar fast path, :func:`~dealer_bots.pricing.single.price_line`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dealer_bots.pricing.charges import BalanceSheetConfig, InventoryConfig
from dealer_bots.pricing.competition import CompetitionConfig
from dealer_bots.pricing.hedge import HedgeConfig
from dealer_bots.pricing.pricer import PricingConfig
from dealer_bots.pricing.risk import MarketRisk
from dealer_bots.reference.risk_dealer import RiskDealer, RiskDealerConfig
from server.bots.protocol import DealerStrategy, InquiryView, Pass
from server.market.universe import Universe

__all__ = [
    "AxeDealer",
    "AxeDealerConfig",
    "CautiousDealer",
    "CautiousDealerConfig",
    "EtfHedgingDealer",
    "EtfHedgingDealerConfig",
    "FlowDealer",
    "FlowDealerConfig",
    "reference_panel_strategy",
]

FloatArray = NDArray[np.float64]


# ---- flow dealer -------------------------------------------------------------------------------


def flow_pricing() -> PricingConfig:
    return PricingConfig(
        hedge=HedgeConfig(rates_ratio=0.5, credit_ratio=0.0),
        competition=CompetitionConfig(beta=6.0),
        inventory=InventoryConfig(skew_bp=3.0, position_scale=5_000_000.0),
        balance_sheet=BalanceSheetConfig(limit_usd=300_000_000.0, widen_bp=15.0, pass_multiple=3.0),
        risk_aversion=0.04,
        max_holding_days=10.0,
        liquidity_weight=0.9,
    )


@dataclass(frozen=True)
class FlowDealerConfig(RiskDealerConfig):
    pricing: PricingConfig = field(default_factory=flow_pricing)
    max_lines: int = 10_000


class FlowDealer(RiskDealer):
    """Tight and quick: small balance sheet, little hedging, short holding periods."""

    def __init__(self, config: FlowDealerConfig | None = None) -> None:
        super().__init__(config if config is not None else FlowDealerConfig())


# ---- full ETF-hedging risk dealer --------------------------------------------------------------


def etf_hedging_pricing() -> PricingConfig:
    return PricingConfig(
        hedge=HedgeConfig(rates_ratio=1.0, credit_ratio=1.0),
        competition=CompetitionConfig(beta=4.0),
        inventory=InventoryConfig(skew_bp=2.0, position_scale=20_000_000.0),
        balance_sheet=BalanceSheetConfig(limit_usd=5_000_000_000.0, widen_bp=8.0, pass_multiple=2.0),
        risk_aversion=0.05,
        max_holding_days=20.0,
    )


@dataclass(frozen=True)
class EtfHedgingDealerConfig(RiskDealerConfig):
    pricing: PricingConfig = field(default_factory=etf_hedging_pricing)


class EtfHedgingDealer(RiskDealer):
    """Hedges all key-rate risk with Treasuries and all credit with LQD/HYG; a large balance sheet."""

    def __init__(self, config: EtfHedgingDealerConfig | None = None) -> None:
        super().__init__(config if config is not None else EtfHedgingDealerConfig())


# ---- axe-driven dealer ---------------------------------------------------------------------------


def axe_pricing() -> PricingConfig:
    return PricingConfig(
        hedge=HedgeConfig(rates_ratio=1.0, credit_ratio=0.5),
        competition=CompetitionConfig(beta=4.0),
        inventory=InventoryConfig(skew_bp=8.0, position_scale=10_000_000.0, axe_weight=1.0),
        balance_sheet=BalanceSheetConfig(limit_usd=1_500_000_000.0, widen_bp=10.0, pass_multiple=2.0),
        risk_aversion=0.06,
    )


@dataclass(frozen=True)
class AxeDealerConfig(RiskDealerConfig):
    pricing: PricingConfig = field(default_factory=axe_pricing)
    seed: int = 0  # draws the axes (its own random stream; same seed, same axes)
    axe_fraction: float = 0.08  # share of the corporate bonds the dealer is axed in
    axes: tuple[tuple[str, int], ...] = ()  # explicit (CUSIP or ISIN, +1 to buy / -1 to sell), on top

    def __post_init__(self) -> None:
        RiskDealerConfig.__post_init__(self)
        if not 0.0 <= self.axe_fraction <= 1.0:
            raise ValueError("axe_fraction must be between 0 and 1")
        if any(side not in (-1, 1) for _, side in self.axes):
            raise ValueError("an axe's side is +1 (buy) or -1 (sell)")


class AxeDealer(RiskDealer):
    """Wants to buy some bonds and sell others: much better levels on those, normal elsewhere."""

    config: AxeDealerConfig

    def __init__(self, config: AxeDealerConfig | None = None) -> None:
        super().__init__(config if config is not None else AxeDealerConfig())
        self._axes: tuple[Universe, FloatArray] | None = None

    def axes(self, ctx: MarketRisk) -> FloatArray:
        if self._axes is None or self._axes[0] is not ctx.universe:
            self._axes = (ctx.universe, self.draw_axes(ctx.universe))
        return self._axes[1]

    def draw_axes(self, universe: Universe) -> FloatArray:
        """Per instrument: +1 axed to buy, -1 to sell, 0 not axed (read-only)."""
        cfg = self.config
        out = np.zeros(universe.n_instruments)
        rng = np.random.default_rng(cfg.seed)
        k = round(cfg.axe_fraction * universe.n_bonds)
        if k:
            pick = rng.choice(universe.n_bonds, size=k, replace=False)
            out[pick] = rng.choice(np.array([-1.0, 1.0]), size=k)
        for identifier, side in cfg.axes:  # configuration, not pricing: a handful of names
            out[universe.index_of(identifier)] = float(side)
        out.setflags(write=False)
        return out


# ---- cautious dealer -----------------------------------------------------------------------------


def cautious_pricing() -> PricingConfig:
    return PricingConfig(
        hedge=HedgeConfig(rates_ratio=1.0, credit_ratio=1.0),
        competition=CompetitionConfig(beta=3.0),
        inventory=InventoryConfig(skew_bp=1.0, position_scale=10_000_000.0),
        balance_sheet=BalanceSheetConfig(limit_usd=1_000_000_000.0, widen_bp=20.0, pass_multiple=1.5),
        risk_aversion=0.10,
        max_holding_days=25.0,
        liquidity_weight=1.2,
        hy_liquidity_multiplier=1.5,
    )


@dataclass(frozen=True)
class CautiousDealerConfig(RiskDealerConfig):
    pricing: PricingConfig = field(default_factory=cautious_pricing)
    min_score: float = 15.0  # passes on bonds less liquid than this
    hy_min_score: float = 30.0  # and on high yield less liquid than this
    max_illiquid_share: float = 0.25  # passes on baskets with more of their notional in such bonds
    max_hy_share: float = 0.6  # and on baskets mostly high yield


class CautiousDealer(RiskDealer):
    """Widens on illiquid and high-yield lines, passes on the worst of them."""

    config: CautiousDealerConfig

    def __init__(self, config: CautiousDealerConfig | None = None) -> None:
        super().__init__(config if config is not None else CautiousDealerConfig())

    def screen(self, inquiry: InquiryView, ctx: MarketRisk) -> Pass | None:
        first = super().screen(inquiry, ctx)
        if first is not None:
            return first
        cfg = self.config
        score = ctx.score[inquiry.idx]
        hy = ctx.is_hy[inquiry.idx]
        avoid = (score < cfg.min_score) | (hy & (score < cfg.hy_min_score))
        if not inquiry.is_portfolio:
            if avoid[0]:
                return Pass(f"too illiquid for this dealer (liquidity score {score[0]:.0f})")
            return None
        qty = inquiry.quantities.astype(np.float64)
        total = float(qty.sum())
        illiquid = float(qty @ avoid) / total if total > 0 else 0.0
        if illiquid > cfg.max_illiquid_share:
            return Pass(f"{illiquid:.0%} of the basket is too illiquid for this dealer")
        hy_share = float(qty @ hy) / total if total > 0 else 0.0
        if hy_share > cfg.max_hy_share:
            return Pass(f"{hy_share:.0%} of the basket is high yield")
        return None


# ---- a panel -------------------------------------------------------------------------------------


def reference_panel_strategy(position: int, dealer_id: str) -> DealerStrategy:
    """A mixed panel for the venue's default in-process dealers: ETF-hedging, flow, axe, cautious,
    then a middle-of-the-road net-risk dealer, cycling. The axe dealer's axes are seeded from
    ``dealer_id`` (CRC-32, stable across runs and machines)."""
    kind = position % 5
    if kind == 0:
        return EtfHedgingDealer()
    if kind == 1:
        return FlowDealer()
    if kind == 2:
        return AxeDealer(AxeDealerConfig(seed=zlib.crc32(dealer_id.encode())))
    if kind == 3:
        return CautiousDealer()
    return RiskDealer()
