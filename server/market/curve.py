"""The US Treasury par-yield curve the venue prices corporates against.

Yields are decimals (0.0405 is 4.05%), tenors are years. The curve interpolates linearly between
its points and stays flat beyond both ends, so every spread in the venue is "over the
interpolated Treasury curve" with one unambiguous meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

KEY_TENORS: tuple[float, ...] = (2.0, 5.0, 10.0, 30.0)
"""Key-rate tenors: the on-the-run Treasuries the dealers hedge rates risk with."""

BP = 1e-4


@dataclass(frozen=True, slots=True)
class TreasuryCurve:
    """Par yields (decimals) at increasing tenors (years)."""

    tenors: tuple[float, ...]
    yields: tuple[float, ...]

    def __post_init__(self) -> None:
        # Normalise to plain floats so equality and hashing behave whatever the input type.
        tenors = tuple(float(t) for t in self.tenors)
        yields = tuple(float(y) for y in self.yields)
        if not tenors:
            raise ValueError("a curve needs at least one point")
        if len(tenors) != len(yields):
            raise ValueError(f"{len(tenors)} tenors but {len(yields)} yields")
        t = np.asarray(tenors)
        if not np.all(np.isfinite(t)) or not np.all(np.isfinite(yields)):
            raise ValueError("tenors and yields must be finite")
        if np.any(t < 0.0):
            raise ValueError("tenors must be non-negative")
        if np.any(np.diff(t) <= 0.0):
            raise ValueError("tenors must be strictly increasing")
        object.__setattr__(self, "tenors", tenors)
        object.__setattr__(self, "yields", yields)

    def yield_at(self, ttm_years: ArrayLike) -> NDArray[np.float64]:
        """Yield (decimal) at each time to maturity: linear inside, flat beyond the ends."""
        x = np.asarray(ttm_years, dtype=np.float64)
        return np.interp(x, np.asarray(self.tenors), np.asarray(self.yields))

    def shifted(self, bp_by_tenor: Mapping[float, float] | float) -> TreasuryCurve:
        """A new curve moved by ``bp_by_tenor`` basis points.

        A number is a parallel shift. A mapping ``{tenor: bp}`` is a shift profile, linear between
        its tenors and flat beyond them; tenors it names that the curve lacks become curve points,
        so the new curve equals the old one plus the profile at every maturity. For a key-rate
        bump, name every key tenor (see :func:`key_rate_bump`)::

            curve.shifted({2.0: 0.0, 5.0: 1.0, 10.0: 0.0, 30.0: 0.0})  # 5y key rate +1 bp
        """
        if isinstance(bp_by_tenor, Mapping):
            if not bp_by_tenor:
                return self
            keys = np.array(sorted(float(k) for k in bp_by_tenor), dtype=np.float64)
            vals = np.array([float(bp_by_tenor[k]) for k in sorted(bp_by_tenor)], dtype=np.float64)
            if np.any(keys < 0.0) or not np.all(np.isfinite(keys)) or not np.all(np.isfinite(vals)):
                raise ValueError("shift tenors must be finite and non-negative, shifts finite")
            if np.any(np.diff(keys) <= 0.0):
                raise ValueError("shift tenors must be distinct")
            grid = np.union1d(np.asarray(self.tenors), keys)
            new = self.yield_at(grid) + np.interp(grid, keys, vals) * BP
            return TreasuryCurve(tuple(grid.tolist()), tuple(new.tolist()))
        shift = float(bp_by_tenor) * BP
        return TreasuryCurve(self.tenors, tuple(y + shift for y in self.yields))


def key_rate_bump(key: float, bp: float = 1.0, keys: tuple[float, ...] = KEY_TENORS) -> dict[float, float]:
    """The shift profile that moves one key rate by ``bp`` and leaves the other keys still."""
    if key not in keys:
        raise ValueError(f"{key} is not one of the key tenors {keys}")
    return {k: (bp if k == key else 0.0) for k in keys}


_DEFAULT_POINTS: tuple[tuple[float, float], ...] = (
    (0.25, 0.0390),
    (0.5, 0.0385),
    (1.0, 0.0370),
    (2.0, 0.0355),
    (3.0, 0.0355),
    (5.0, 0.0365),
    (7.0, 0.0380),
    (10.0, 0.0405),
    (20.0, 0.0455),
    (30.0, 0.0460),
)


def default_curve() -> TreasuryCurve:
    """A realistic US Treasury curve: inverted at the front, upward sloping beyond 3 years."""
    return TreasuryCurve(tuple(t for t, _ in _DEFAULT_POINTS), tuple(y for _, y in _DEFAULT_POINTS))
