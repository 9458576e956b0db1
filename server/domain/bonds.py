"""Instruments: corporate bonds, Treasuries and ETFs.

Static reference data only; prices live in server.market. Coupons are percent per year, amounts
are USD face, dates are ``datetime.date``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

IG_RATINGS = ("AAA", "AA", "A", "BBB")
HY_RATINGS = ("BB", "B", "CCC")
RATINGS = IG_RATINGS + HY_RATINGS


class DayCount(StrEnum):
    THIRTY_360 = "30/360"  # US corporates (bond basis)
    ACT_ACT = "ACT/ACT"  # Treasuries (ICMA)


class InstrumentKind(StrEnum):
    CORPORATE = "corporate"
    TREASURY = "treasury"


@dataclass(frozen=True, slots=True)
class Bond:
    cusip: str
    isin: str
    issuer: str
    ticker: str
    sector: str
    rating: str
    coupon: float
    maturity: date
    issue_date: date
    amount_outstanding: int
    min_piece: int = 1_000
    increment: int = 1_000
    day_count: DayCount = DayCount.THIRTY_360
    frequency: int = 2
    kind: InstrumentKind = InstrumentKind.CORPORATE

    @property
    def grade(self) -> str:
        """``IG`` or ``HY`` (Treasuries count as IG)."""
        return "HY" if self.rating in HY_RATINGS else "IG"

    @property
    def name(self) -> str:
        return f"{self.ticker} {self.coupon:g} {self.maturity:%m/%d/%y}"


@dataclass(frozen=True, slots=True)
class ETF:
    """A credit ETF used as a hedge: its holdings are bonds of the universe."""

    ticker: str
    name: str
    holdings: tuple[str, ...]  # CUSIPs
    weights: tuple[float, ...]  # market-value weights, summing to 1
    half_spread_bp: float  # half the bid/ask, bp of price
