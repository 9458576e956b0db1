from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.calendar import (
    add_business_days,
    date_from_ns,
    dates_at,
    easter_sunday,
    is_business_day,
    ns_from_date,
    settlement_date,
    us_bond_holidays,
)
from server.domain.types import NS_PER_DAY, NS_PER_SECOND

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


def test_2026_holidays_match_the_sifma_schedule() -> None:
    assert us_bond_holidays(2026) == frozenset(
        {
            date(2026, 1, 1),
            date(2026, 1, 19),  # MLK
            date(2026, 2, 16),  # Presidents
            date(2026, 4, 3),  # Good Friday
            date(2026, 5, 25),  # Memorial
            date(2026, 6, 19),  # Juneteenth
            date(2026, 7, 3),  # Independence Day (Saturday) observed Friday
            date(2026, 9, 7),  # Labor
            date(2026, 10, 12),  # Columbus
            date(2026, 11, 11),  # Veterans
            date(2026, 11, 26),  # Thanksgiving
            date(2026, 12, 25),
        }
    )


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2000, date(2000, 4, 23)), (2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)),
     (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2038, date(2038, 4, 25)),
     (2285, date(2285, 3, 22))],
)
def test_easter(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter
    assert easter - timedelta(days=2) in us_bond_holidays(year)


def test_weekend_observance() -> None:
    # Sunday -> Monday.
    assert date(2022, 12, 26) in us_bond_holidays(2022)  # Christmas on Sunday
    assert date(2023, 1, 2) in us_bond_holidays(2023)  # New Year's Day on Sunday
    assert date(2022, 6, 20) in us_bond_holidays(2022)  # Juneteenth on Sunday
    # Saturday -> Friday.
    assert date(2021, 12, 24) in us_bond_holidays(2021)  # Christmas on Saturday
    assert date(2027, 6, 18) in us_bond_holidays(2027)  # Juneteenth on Saturday
    # New Year's Day and Veterans Day on a Saturday are not observed.
    assert not any(d.month == 1 and d.day <= 3 for d in us_bond_holidays(2022))
    assert is_business_day(date(2021, 12, 31))
    assert is_business_day(date(2023, 11, 10))
    assert not any(d.month == 11 and d.day < 20 for d in us_bond_holidays(2023))


def test_juneteenth_starts_in_2022() -> None:
    assert is_business_day(date(2021, 6, 18))
    assert not any(d.month == 6 for d in us_bond_holidays(2021))
    assert date(2023, 6, 19) in us_bond_holidays(2023)


@pytest.mark.parametrize("year", range(1995, 2060))
def test_holidays_are_weekdays_of_their_year(year: int) -> None:
    days = us_bond_holidays(year)
    assert all(d.year == year and d.weekday() < 5 for d in days)
    expected = 12 if year >= 2022 else 11
    # A Saturday New Year's Day or Veterans Day is lost.
    expected -= date(year, 1, 1).weekday() == 5
    expected -= date(year, 11, 11).weekday() == 5
    assert len(days) == expected


def test_holidays_are_cached() -> None:
    assert us_bond_holidays(2031) is us_bond_holidays(2031)


def test_thanksgiving_settlement() -> None:
    assert date(2026, 11, 26) in us_bond_holidays(2026)
    assert not is_business_day(date(2026, 11, 26))
    assert settlement_date(date(2026, 11, 25)) == date(2026, 11, 27)


def test_friday_settles_monday_and_weekend_trades_roll_first() -> None:
    assert settlement_date(date(2026, 3, 20)) == date(2026, 3, 23)
    assert settlement_date(date(2026, 3, 21)) == date(2026, 3, 24)  # Saturday -> Monday, then T+1
    assert settlement_date(date(2026, 3, 21), days=0) == date(2026, 3, 23)
    assert settlement_date(date(2026, 4, 2)) == date(2026, 4, 6)  # over Good Friday
    assert settlement_date(date(2026, 4, 2), days=2) == date(2026, 4, 7)
    assert settlement_date(date(2026, 12, 31)) == date(2027, 1, 4)  # New Year, then weekend
    with pytest.raises(ValueError):
        settlement_date(date(2026, 3, 20), days=-1)


def test_add_business_days() -> None:
    assert add_business_days(date(2026, 3, 20), 0) == date(2026, 3, 20)
    assert add_business_days(date(2026, 3, 21), 0) == date(2026, 3, 21)
    assert add_business_days(date(2026, 3, 20), 5) == date(2026, 3, 27)
    assert add_business_days(date(2026, 3, 23), -1) == date(2026, 3, 20)
    assert add_business_days(date(2026, 4, 6), -1) == date(2026, 4, 2)  # back over Good Friday
    assert add_business_days(date(2026, 1, 1), 1) == date(2026, 1, 2)


@given(dates, st.integers(-30, 30))
def test_add_business_days_lands_on_business_days_and_inverts(d: date, n: int) -> None:
    out = add_business_days(d, n)
    if n != 0:
        assert is_business_day(out)
        assert (out > d) == (n > 0)
    if is_business_day(d):
        assert add_business_days(out, -n) == d


@given(dates, st.integers(0, 5))
def test_settlement_is_the_nth_business_day_after_the_rolled_trade_date(d: date, n: int) -> None:
    rolled = d
    while not is_business_day(rolled):
        rolled += timedelta(days=1)
    out = settlement_date(d, n)
    assert is_business_day(out)
    span = [rolled + timedelta(days=k) for k in range(1, (out - rolled).days + 1)]
    assert sum(is_business_day(x) for x in span) == n


def test_ns_round_trips() -> None:
    d = date(2026, 3, 17)
    ns = ns_from_date(d, 14, 30)
    assert ns == int(datetime(2026, 3, 17, 14, 30, tzinfo=UTC).timestamp()) * NS_PER_SECOND
    assert date_from_ns(ns) == d
    assert date_from_ns(ns_from_date(d)) == d
    assert date_from_ns(ns_from_date(d) + NS_PER_DAY - 1) == d
    assert date_from_ns(ns_from_date(d) + NS_PER_DAY) == date(2026, 3, 18)
    assert date_from_ns(0) == date(1970, 1, 1)
    assert date_from_ns(-1) == date(1969, 12, 31)
    with pytest.raises(ValueError):
        ns_from_date(d, 24)
    with pytest.raises(ValueError):
        ns_from_date(d, 0, 60)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)), st.integers(0, 23), st.integers(0, 59))
def test_ns_from_date_round_trip_property(d: date, hour: int, minute: int) -> None:
    ns = ns_from_date(d, hour, minute)
    assert date_from_ns(ns) == d
    assert ns % NS_PER_DAY == (hour * 60 + minute) * 60 * NS_PER_SECOND


def test_dates_at_is_the_trade_date_and_its_settlement_at_any_time_of_day() -> None:
    """``dates_at`` (cached per day) agrees with ``date_from_ns`` + ``settlement_date`` through a year of
    weekends and holidays, at the first and last nanosecond of each day, for T+0..T+3."""
    day = date(2026, 1, 1)
    for _ in range(400):
        for ns in (ns_from_date(day), ns_from_date(day + timedelta(days=1)) - 1):
            for lag in range(4):
                assert dates_at(ns, lag) == (date_from_ns(ns), settlement_date(date_from_ns(ns), lag))
        day += timedelta(days=1)
