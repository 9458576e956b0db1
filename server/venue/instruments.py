"""Arrays over every tradable instrument (corporates, then Treasuries) for vectorised conversion.

Quote levels arrive as a price, a yield or a spread; the venue books clean prices. This module
converts levels to clean prices and computes accrued interest for whole baskets at once.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from numpy.typing import NDArray

from server.domain import bondmath
from server.domain.bonds import Bond
from server.domain.types import QuoteType
from server.market.curve import TreasuryCurve
from server.market.universe import Universe


class InstrumentTable:
    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        instruments: list[Bond] = [*universe.bonds, *universe.treasuries]
        self.instruments = tuple(instruments)
        self.cusip = tuple(b.cusip for b in instruments)
        self.coupon = np.array([b.coupon / 100.0 for b in instruments], dtype=np.float64)
        self.maturity = np.array([np.datetime64(b.maturity, "D") for b in instruments])
        self.day_count = np.array([bondmath.day_count_code(b.day_count) for b in instruments], dtype=np.int64)
        self.frequency = np.array([b.frequency for b in instruments], dtype=np.int64)
        self.min_piece = np.array([b.min_piece for b in instruments], dtype=np.int64)
        self.increment = np.array([b.increment for b in instruments], dtype=np.int64)
        self.amount_outstanding = np.array([b.amount_outstanding for b in instruments], dtype=np.int64)
        self._accrued: dict[date, NDArray[np.float64]] = {}

    def __len__(self) -> int:
        return len(self.instruments)

    def index_of(self, identifier: str, field: str) -> int:
        return self.universe.index_of(identifier, field)

    def clean_prices(self, idx: NDArray[np.int64], quote_type: QuoteType, levels: NDArray[np.float64],
                     settle: date, curve: TreasuryCurve) -> NDArray[np.float64]:
        """Clean price per 100 for each (instrument, level) pair, quoted as ``quote_type``."""
        if quote_type is QuoteType.PRICE:
            return np.asarray(levels, dtype=np.float64)
        settle64 = np.datetime64(settle, "D")
        if quote_type is QuoteType.YIELD:
            ytm = levels / 100.0
        else:
            ttm = bondmath.time_to_maturity(self.maturity[idx], settle64)
            ytm = curve.yield_at(ttm) + levels / 10_000.0
        return np.asarray(
            bondmath.clean_price(self.coupon[idx], self.maturity[idx], settle64, ytm, self.day_count[idx],
                                 self.frequency[idx]), dtype=np.float64)

    def accrued(self, idx: NDArray[np.int64], settle: date) -> NDArray[np.float64]:
        """Accrued interest per 100 face at ``settle``.

        Accrued depends only on the instrument and the settlement date, so it is computed for every
        instrument once per settlement date and looked up: a single-bond award then costs an index,
        not a pass through the coupon-schedule arithmetic.
        """
        table = self._accrued.get(settle)
        if table is None:
            table = np.asarray(
                bondmath.accrued_interest(self.coupon, self.maturity, np.datetime64(settle, "D"), self.day_count,
                                          self.frequency), dtype=np.float64)
            table.setflags(write=False)
            if len(self._accrued) >= 8:
                self._accrued.pop(next(iter(self._accrued)))
            self._accrued[settle] = table
        return table[idx]

    def accrued_one(self, i: int, settle: date) -> float:
        """``accrued`` for one instrument, as a float."""
        table = self._accrued.get(settle)
        return float(table[i] if table is not None else self.accrued(np.array([i]), settle)[0])
