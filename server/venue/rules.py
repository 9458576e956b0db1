"""Venue rules: the knobs a venue operator sets. Immutable; passed to the engine at construction."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.types import NS_PER_SECOND


@dataclass(frozen=True, slots=True)
class VenueRules:
    default_panel: tuple[str, ...] = ()  # used when an RFQ names no panel
    default_pt_panel_size: int = 3  # a portfolio inquiry without a panel goes to this many default dealers
    max_rfq_panel: int = 10
    max_pt_panel: int = 6
    rfq_time_limit_ns: int = 30 * NS_PER_SECOND
    pt_time_limit_ns: int = 300 * NS_PER_SECOND
    min_time_limit_ns: int = 1 * NS_PER_SECOND
    max_time_limit_ns: int = 3_600 * NS_PER_SECOND
    max_lines: int = 10_000
    disclose_cover_to_winner: bool = True  # the winner learns the cover level
    reconcile_tolerance_usd: float = 0.01  # a basket's line levels must sum to its net price within this
    settlement_days: int = 1  # US corporates settle T+1

    def time_limit(self, is_portfolio: bool, requested: int | None) -> int:
        if requested is not None:
            return requested
        return self.pt_time_limit_ns if is_portfolio else self.rfq_time_limit_ns
