"""Engine fixtures: a small universe and a venue with two clients and five dealers."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from server.domain.calendar import ns_from_date
from server.domain.types import NS_PER_SECOND, Role
from server.market.universe import Universe, UniverseConfig, build_universe
from server.venue.engine import Venue
from server.venue.rules import VenueRules

DEALERS = ("d1", "d2", "d3", "d4", "d5")
CLIENTS = ("c1", "c2")
PARTICIPANTS = {**{c: Role.CLIENT for c in CLIENTS}, **{d: Role.DEALER for d in DEALERS}}
T0 = ns_from_date(date(2026, 11, 18), 14)  # a Wednesday afternoon, UTC
S = NS_PER_SECOND


@lru_cache(maxsize=1)
def small_universe() -> Universe:
    return build_universe(UniverseConfig(seed=11, n_bonds=300, n_issuers=60))


def make_venue(**rules: object) -> Venue:
    return Venue(small_universe(), PARTICIPANTS, VenueRules(default_panel=DEALERS, **rules))  # type: ignore[arg-type]


def ig_bond(n: int = 0) -> str:
    """The n-th investment-grade CUSIP of the small universe."""
    u = small_universe()
    return [b.cusip for b in u.bonds if b.grade == "IG"][n]
