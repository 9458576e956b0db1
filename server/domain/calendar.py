"""US bond-market business-day calendar and settlement dates.

Holidays are the SIFMA full-day closes, computed by rule (current rules applied to every year,
except Juneteenth which starts in 2022). Early closes are not modelled, and Good Friday is always a
full close (SIFMA has occasionally recommended only an early close, e.g. in 2021). Timestamps are
integer nanoseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from server.domain.types import NS_PER_DAY, NS_PER_SECOND

_EPOCH = date(1970, 1, 1)
_MON, _THU, _SAT, _SUN = 0, 3, 5, 6


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day0 = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day0 + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th (1-based) ``weekday`` of the month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(d: date) -> date:
    """Saturday holidays are observed the Friday before, Sunday holidays the Monday after."""
    if d.weekday() == _SAT:
        return d - timedelta(days=1)
    if d.weekday() == _SUN:
        return d + timedelta(days=1)
    return d


@lru_cache(maxsize=256)
def us_bond_holidays(year: int) -> frozenset[date]:
    """SIFMA US bond-market full-day holidays (observed dates) falling in ``year``.

    A Sunday holiday is observed on the Monday after, a Saturday one on the Friday before, except
    New Year's Day and Veterans Day on a Saturday, which are not observed (the market stayed open
    on Fri 2021-12-31 and Fri 2023-11-10).
    """
    days: set[date] = set()
    new_year = date(year, 1, 1)
    if new_year.weekday() != _SAT:
        days.add(_observed(new_year))
    days.add(_nth_weekday(year, 1, _MON, 3))  # Martin Luther King Jr. Day
    days.add(_nth_weekday(year, 2, _MON, 3))  # Presidents Day
    days.add(easter_sunday(year) - timedelta(days=2))  # Good Friday
    days.add(_last_weekday(year, 5, _MON))  # Memorial Day
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))  # Juneteenth
    days.add(_observed(date(year, 7, 4)))  # Independence Day
    days.add(_nth_weekday(year, 9, _MON, 1))  # Labor Day
    days.add(_nth_weekday(year, 10, _MON, 2))  # Columbus Day
    veterans = date(year, 11, 11)
    if veterans.weekday() != _SAT:
        days.add(_observed(veterans))  # Veterans Day
    days.add(_nth_weekday(year, 11, _THU, 4))  # Thanksgiving
    days.add(_observed(date(year, 12, 25)))  # Christmas
    return frozenset(days)


def is_business_day(d: date) -> bool:
    """True on weekdays that are not US bond-market holidays."""
    return d.weekday() < _SAT and d not in us_bond_holidays(d.year)


def _roll_forward(d: date) -> date:
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def add_business_days(d: date, n: int) -> date:
    """``d`` moved by ``n`` business days (backwards if ``n < 0``); ``n == 0`` returns ``d``."""
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    while remaining:
        d += step
        if is_business_day(d):
            remaining -= 1
    return d


def settlement_date(trade_date: date, days: int = 1) -> date:
    """T+``days`` settlement; a non-business trade date first rolls to the next business day."""
    if days < 0:
        raise ValueError(f"settlement lag must be >= 0 business days, got {days}")
    return add_business_days(_roll_forward(trade_date), days)


def dates_at(ns: int, days: int = 1) -> tuple[date, date]:
    """The UTC trade date of ``ns`` and its T+``days`` settlement date.

    Computed once per calendar day and lag: the engine, the dealers and the API ask at every
    command or quote, and the answer changes once a day.
    """
    return _dates_on_day(ns // NS_PER_DAY, days)


@lru_cache(maxsize=64)
def _dates_on_day(day: int, days: int) -> tuple[date, date]:
    trade_date = _EPOCH + timedelta(days=day)
    return trade_date, settlement_date(trade_date, days)


def date_from_ns(ns: int) -> date:
    """UTC calendar date of ``ns`` nanoseconds since the Unix epoch."""
    return _EPOCH + timedelta(days=ns // NS_PER_DAY)


def ns_from_date(d: date, hour: int = 0, minute: int = 0) -> int:
    """Nanoseconds since the Unix epoch of ``d`` at ``hour:minute`` UTC."""
    if not 0 <= hour < 24:
        raise ValueError(f"hour must be in 0..23, got {hour}")
    if not 0 <= minute < 60:
        raise ValueError(f"minute must be in 0..59, got {minute}")
    return (d - _EPOCH).days * NS_PER_DAY + (hour * 3600 + minute * 60) * NS_PER_SECOND
