"""Strategies by name, for the venue's default panel and for scenario files."""

from __future__ import annotations

from dealer_bots.reference.strategies import reference_panel_strategy
from server.bots.protocol import DealerStrategy


def default_strategy(position: int, dealer_id: str) -> DealerStrategy:
    """The strategy the venue runs for the ``position``-th dealer of its default panel: the net-risk
    reference dealers in turn (ETF-hedging, flow, axe, cautious, then the base risk dealer)."""
    return reference_panel_strategy(position, dealer_id)
