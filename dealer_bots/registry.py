"""Strategies by name, for the venue's default panel and for scenario files."""

from __future__ import annotations

from dealer_bots.reference.mid_spread import MidSpreadConfig, MidSpreadDealer
from server.bots.protocol import DealerStrategy

# Distinct temperaments for the default in-process panel, so quotes differ and awards mean something.
_PANEL_CONFIGS = (
    MidSpreadConfig(skew_bp=0.0),
    MidSpreadConfig(skew_bp=1.0, basket_factor=0.6),
    MidSpreadConfig(skew_bp=-0.5, liquid_half_spread_bp=6.0, illiquid_half_spread_bp=50.0),
    MidSpreadConfig(skew_bp=2.0, hy_multiplier=2.5),
    MidSpreadConfig(skew_bp=0.5, basket_factor=0.8, illiquid_half_spread_bp=35.0),
)


def default_strategy(position: int, dealer_id: str) -> DealerStrategy:
    """The strategy the venue runs for the ``position``-th dealer of its default panel."""
    del dealer_id
    return MidSpreadDealer(_PANEL_CONFIGS[position % len(_PANEL_CONFIGS)])
