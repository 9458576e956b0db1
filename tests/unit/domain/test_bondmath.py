from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import bondmath as bm
from server.domain.bonds import DayCount

D = np.datetime64


def _random_bonds(
    n: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.datetime64], np.datetime64, npt.NDArray[np.float64],
           npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    settle = D("2026-03-17")
    maturity = settle + rng.integers(1, 50 * 365, n)
    coupon = rng.uniform(0.0, 0.15, n)
    ytm = rng.uniform(-0.02, 0.5, n)
    dc = rng.integers(0, 2, n)
    freq = rng.choice([1, 2, 4, 12], n)
    return coupon, maturity, settle, ytm, dc, freq


def _oracle_dirty(coupon: float, maturity: str, settle: str, ytm: float, freq: int, w: float, n: int) -> float:
    """Sum of discounted cash flows written out by hand."""
    c = 100.0 * coupon / freq
    v = 1.0 / (1.0 + ytm / freq)
    return sum(c * v ** (k + w) for k in range(n)) + 100.0 * v ** (n - 1 + w)


# ---------------------------------------------------------------- schedule


@pytest.mark.parametrize(
    ("maturity", "settle", "freq", "prev", "nxt"),
    [
        ("2030-01-15", "2026-03-15", 2, "2026-01-15", "2026-07-15"),
        ("2030-01-15", "2026-01-15", 2, "2026-01-15", "2026-07-15"),  # on a coupon date
        ("2030-01-15", "2026-01-14", 2, "2025-07-15", "2026-01-15"),
        ("2030-08-31", "2028-03-01", 2, "2028-02-29", "2028-08-31"),  # month end, leap year
        ("2030-08-31", "2027-03-01", 2, "2027-02-28", "2027-08-31"),
        ("2030-08-30", "2028-03-01", 2, "2028-02-29", "2028-08-30"),  # clipped, not month end
        ("2030-08-30", "2027-03-01", 2, "2027-02-28", "2027-08-30"),
        ("2030-02-28", "2026-03-15", 2, "2026-02-28", "2026-08-31"),  # Feb 28 is a month end
        ("2032-02-28", "2028-03-15", 2, "2028-02-28", "2028-08-28"),  # Feb 28 2032 is not
        ("2030-05-31", "2026-03-17", 4, "2026-02-28", "2026-05-31"),
        ("2030-05-31", "2026-03-17", 12, "2026-02-28", "2026-03-31"),
        ("2030-05-31", "2026-03-17", 1, "2025-05-31", "2026-05-31"),
        ("2026-03-18", "2026-03-17", 2, "2025-09-18", "2026-03-18"),  # last period
    ],
)
def test_previous_and_next_coupon(maturity: str, settle: str, freq: int, prev: str, nxt: str) -> None:
    p, n = bm.previous_and_next_coupon(D(maturity), D(settle), freq)
    assert p == D(prev)
    assert n == D(nxt)


def test_previous_and_next_coupon_vectorized_and_invalid() -> None:
    prev, nxt = bm.previous_and_next_coupon(
        np.array(["2030-01-15", "2026-03-17", "2026-03-01"], dtype="datetime64[D]"), date(2026, 3, 17)
    )
    assert prev.dtype == np.dtype("datetime64[D]")
    assert prev[0] == D("2026-01-15") and nxt[0] == D("2026-07-15")
    assert np.isnat(prev[1:]).all() and np.isnat(nxt[1:]).all()  # matured


def test_coupon_dates_against_a_month_walk() -> None:
    # Walk the schedule back from maturity one settlement day at a time over six years.
    maturity = D("2031-10-31")
    settles = np.arange(D("2025-01-01"), D("2031-10-31"))
    prev, nxt = bm.previous_and_next_coupon(maturity, settles, 4)
    assert ((prev <= settles) & (settles < nxt)).all()
    months = np.unique(prev).astype("datetime64[M]")
    assert (np.diff(months).astype(int) == 3).all()
    ends = np.unique(prev)
    assert ((ends + 1).astype("datetime64[M]") != ends.astype("datetime64[M]")).all()  # month ends


# ---------------------------------------------------------------- accrued


def test_accrued_30_360_example() -> None:
    # 5% 30/360, last coupon 2026-01-15, settle 2026-03-15: 60 days of 180.
    ai = bm.accrued_interest(0.05, D("2031-07-15"), D("2026-03-15"), bm.DC_30_360)
    assert ai == pytest.approx(2.5 * 60 / 180, abs=1e-14)
    assert ai == pytest.approx(0.8333333333333, abs=1e-12)


@pytest.mark.parametrize(
    ("maturity", "settle", "days"),
    [
        ("2030-07-31", "2026-03-31", 60),  # D1 = 31 -> 30; D2 = 31 with D1 >= 30 -> 30
        ("2030-07-31", "2026-03-30", 60),
        ("2030-07-31", "2026-03-01", 31),  # 30*2 + 1 - 30
        ("2030-07-31", "2026-02-28", 28),  # 30 + 28 - 30
        ("2030-03-31", "2026-01-31", 120),  # from Sep 30: D2 = 31 and D1 = 30 -> 30
        ("2030-01-15", "2026-03-31", 76),  # D1 = 15, so D2 = 31 stays 31
    ],
)
def test_accrued_30_360_month_end_cases(maturity: str, settle: str, days: int) -> None:
    ai = bm.accrued_interest(0.06, D(maturity), D(settle), DayCount.THIRTY_360)
    assert ai == pytest.approx(3.0 * days / 180, abs=1e-13)


def test_accrued_act_act_treasury() -> None:
    # 2 7/8% Treasury due 2028-05-15, settle 2026-03-17: 122 days of the 181-day period.
    ai = bm.accrued_interest(0.02875, D("2028-05-15"), D("2026-03-17"), "ACT/ACT")
    assert ai == pytest.approx(1.4375 * 122 / 181, abs=1e-14)
    # The same period under 30/360 is 122 days of 180.
    ai30 = bm.accrued_interest(0.02875, D("2028-05-15"), D("2026-03-17"), "30/360")
    assert ai30 == pytest.approx(1.4375 * 122 / 180, abs=1e-14)
    # Leap-year period: 2027-11-15 .. 2028-05-15 has 182 days.
    ai_leap = bm.accrued_interest(0.02875, D("2028-05-15"), D("2028-03-01"), DayCount.ACT_ACT)
    assert ai_leap == pytest.approx(1.4375 * 107 / 182, abs=1e-14)


def test_accrued_is_zero_on_coupon_dates_and_nan_when_matured() -> None:
    ai = bm.accrued_interest(0.05, D("2030-01-15"), np.array(["2026-01-15", "2026-07-15", "2030-01-15"],
                                                                 dtype="datetime64[D]"), [0, 1, 0])
    assert ai[0] == 0.0 and ai[1] == 0.0
    assert np.isnan(ai[2])


# ---------------------------------------------------------------- price


@pytest.mark.parametrize("dc", [bm.DC_30_360, bm.DC_ACT_ACT])
@pytest.mark.parametrize("freq", [1, 2, 4, 12])
def test_par_on_coupon_dates(dc: int, freq: int) -> None:
    # Includes month-end schedules through February (2032-02-29 pays on Feb 28 in 2026).
    maturity = np.array(["2036-01-15", "2032-02-29", "2056-02-29", "2027-01-31"], dtype="datetime64[D]")
    settle = np.array(["2026-01-15", "2026-02-28", "2026-02-28", "2026-01-31"], dtype="datetime64[D]")
    coupon = np.array([0.05, 0.0325, 0.07, 0.001])
    price = bm.clean_price(coupon, maturity, settle, coupon, dc, freq)
    np.testing.assert_allclose(price, 100.0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(bm.yield_from_price(coupon, maturity, settle, 100.0, dc, freq), coupon, atol=1e-12)


def test_textbook_price() -> None:
    # 10-year 6% semiannual bond at an 8% yield, on a coupon date.
    for dc in ("30/360", "ACT/ACT"):
        price = bm.clean_price(0.06, D("2036-01-15"), D("2026-01-15"), 0.08, dc)
        assert price == pytest.approx(86.40967365503, abs=1e-9)
    # Same with the closed-form annuity.
    v = 1 / 1.04
    assert float(bm.clean_price(0.06, D("2036-01-15"), D("2026-01-15"), 0.08, 0)) == pytest.approx(
        3 * (1 - v**20) / 0.04 + 100 * v**20, abs=1e-10
    )


def test_excel_examples() -> None:
    # Excel PRICE("2008-02-15", "2017-11-15", 5.75%, 6.5%, 100, 2, 0) = 94.63436
    assert bm.clean_price(0.0575, D("2017-11-15"), D("2008-02-15"), 0.065, 0) == pytest.approx(94.63436, abs=5e-6)
    # Excel YIELD("2008-02-15", "2016-11-15", 5.75%, 95.04287, 100, 2, 0) = 6.5%
    assert bm.yield_from_price(0.0575, D("2016-11-15"), D("2008-02-15"), 95.04287, 0) == pytest.approx(
        0.065, abs=1e-7
    )
    # Excel DURATION / MDURATION("2008-01-01", "2016-01-01", 8%, 9%, 2, 1) = 5.993775 / 5.73567
    assert bm.macaulay_duration(0.08, D("2016-01-01"), D("2008-01-01"), 0.09, 1) == pytest.approx(5.993775, abs=5e-7)
    assert bm.modified_duration(0.08, D("2016-01-01"), D("2008-01-01"), 0.09, 1) == pytest.approx(5.73567, abs=5e-6)


def test_price_between_coupon_dates_matches_a_hand_written_sum() -> None:
    # 30/360: 5.5% due 2035-06-15, settle 2026-03-17: 92 of 180 days accrued, 19 coupons left.
    w = 1 - 92 / 180
    dirty = _oracle_dirty(0.055, "2035-06-15", "2026-03-17", 0.061, 2, w, 19)
    assert bm.dirty_price(0.055, D("2035-06-15"), D("2026-03-17"), 0.061, 0) == pytest.approx(dirty, abs=1e-11)
    clean = bm.clean_price(0.055, D("2035-06-15"), D("2026-03-17"), 0.061, 0)
    assert clean == pytest.approx(dirty - 2.75 * 92 / 180, abs=1e-11)
    # ACT/ACT: 92 of the 182 days from 2025-12-15 to 2026-06-15 accrued, 90 left.
    w = 90 / 182
    dirty = _oracle_dirty(0.055, "2035-06-15", "2026-03-17", 0.061, 2, w, 19)
    assert bm.dirty_price(0.055, D("2035-06-15"), D("2026-03-17"), 0.061, 1) == pytest.approx(dirty, abs=1e-11)


def test_last_coupon_period_uses_the_same_formula() -> None:
    # 30 days before maturity: w = 30/180, one cash flow of 102.5.
    dirty = bm.dirty_price(0.05, D("2026-04-16"), D("2026-03-17"), 0.04, 0)
    assert dirty == pytest.approx(102.5 / 1.02 ** (29 / 180), abs=1e-12)


def test_scalar_and_date_inputs() -> None:
    price = bm.clean_price(0.05, date(2036, 1, 15), date(2026, 1, 15), 0.05, DayCount.THIRTY_360)
    assert isinstance(price, np.ndarray)
    assert price.shape == () and price.dtype == np.float64
    assert float(price) == pytest.approx(100.0, abs=1e-11)
    assert float(bm.yield_from_price(0.05, "2036-01-15", "2026-01-15", 100.0, "30/360")) == pytest.approx(0.05)
    for f in (bm.macaulay_duration, bm.modified_duration, bm.convexity, bm.dv01, bm.dirty_price):
        assert f(0.05, date(2036, 1, 15), date(2026, 1, 15), 0.05, "ACT/ACT").shape == ()


def test_broadcasting() -> None:
    coupon = np.array([0.03, 0.05, 0.07])
    ytm = np.array([[0.04], [0.06]])
    price = bm.clean_price(coupon, D("2036-01-15"), D("2026-03-17"), ytm, ["30/360", "ACT/ACT", "30/360"])
    assert price.shape == (2, 3)
    assert (np.diff(price, axis=0) < 0).all()  # higher yield, lower price
    assert (np.diff(price, axis=1) > 0).all()  # higher coupon, higher price
    single = bm.clean_price(0.05, D("2036-01-15"), D("2026-03-17"), 0.06, "ACT/ACT")
    assert price[1, 1] == single


def test_invalid_inputs_give_nan_or_raise() -> None:
    out = bm.clean_price(
        [0.05, 0.05, 0.05, np.nan],
        np.array(["2030-01-15", "2026-03-17", "NaT", "2030-01-15"], dtype="datetime64[D]"),
        D("2026-03-17"),
        [-2.0, 0.05, 0.05, 0.05],
        0,
    )
    assert np.isnan(out).all()
    assert np.isnan(bm.yield_from_price(0.05, D("2030-01-15"), D("2026-03-17"), [0.0, -5.0, np.nan, np.inf], 0)).all()
    with pytest.raises(ValueError, match="day count"):
        bm.clean_price(0.05, D("2030-01-15"), D("2026-03-17"), 0.05, "ACT/360")
    with pytest.raises(ValueError, match="day_count"):
        bm.clean_price(0.05, D("2030-01-15"), D("2026-03-17"), 0.05, 2)
    with pytest.raises(ValueError, match="frequency"):
        bm.clean_price(0.05, D("2030-01-15"), D("2026-03-17"), 0.05, 0, 5)


def test_day_count_code() -> None:
    assert bm.day_count_code(DayCount.THIRTY_360) == bm.DC_30_360 == 0
    assert bm.day_count_code("act/act") == bm.DC_ACT_ACT == 1
    np.testing.assert_array_equal(bm.day_count_codes([DayCount.ACT_ACT, "30/360", "ACT/ACT"]), [1, 0, 1])
    with pytest.raises(ValueError):
        bm.day_count_code("ACT/365")


# ---------------------------------------------------------------- yield


def test_price_yield_round_trip_on_random_bonds() -> None:
    coupon, maturity, settle, ytm, dc, freq = _random_bonds(5000, seed=7)
    price = bm.clean_price(coupon, maturity, settle, ytm, dc, freq)
    assert np.isfinite(price).all()
    solved = bm.yield_from_price(coupon, maturity, settle, price, dc, freq)
    np.testing.assert_allclose(solved, ytm, rtol=0, atol=1e-8)
    # And the solved yield reprices to 1e-12 per 100 of dirty price.
    dirty = price + bm.accrued_interest(coupon, maturity, settle, dc, freq)
    repriced = bm.clean_price(coupon, maturity, settle, solved, dc, freq)
    assert (np.abs(repriced - price) <= 1.5e-12 * np.maximum(dirty, 1.0) / 100).all()


@settings(max_examples=300, deadline=None)
@given(
    coupon=st.floats(0.0, 0.2),
    days=st.integers(1, 50 * 365),
    ytm=st.floats(-0.05, 0.6),
    dc=st.sampled_from([0, 1]),
    freq=st.sampled_from([1, 2, 4, 12]),
    settle=st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 1, 1)),
)
def test_price_yield_round_trip_property(
    coupon: float, days: int, ytm: float, dc: int, freq: int, settle: date
) -> None:
    st_d = D(settle, "D")
    mat = st_d + np.timedelta64(days, "D")
    price = bm.clean_price(coupon, mat, st_d, ytm, dc, freq)
    solved = bm.yield_from_price(coupon, mat, st_d, price, dc, freq)
    if bm.clean_price(coupon, mat, st_d, ytm + 0.01, dc, freq) == price:
        # no time left under the day count (30/360 from the 30th to a maturity on the 31st): no yield is implied
        assert np.isnan(solved)
        return
    assert solved == pytest.approx(ytm, abs=1e-8)


@pytest.mark.parametrize("ytm", [-0.03, -0.005, 0.0, 0.5, 0.9, 3.0])
def test_extreme_yields(ytm: float) -> None:
    maturity = np.array(["2026-04-01", "2031-03-17", "2056-02-15"], dtype="datetime64[D]")
    for coupon in (0.0, 0.05):
        price = bm.clean_price(coupon, maturity, D("2026-03-17"), ytm, 0)
        assert (price > 0).all()
        solved = bm.yield_from_price(coupon, maturity, D("2026-03-17"), price, 0)
        np.testing.assert_allclose(solved, ytm, atol=1e-9)


def test_yield_of_extreme_prices() -> None:
    # Far from any sensible starting point: deep discount and a huge premium.
    prices = np.array([0.01, 1.0, 400.0, 1e5])
    solved = bm.yield_from_price(0.05, D("2056-03-18"), D("2026-03-17"), prices, 0)
    assert np.isfinite(solved).all()
    assert (np.diff(solved) < 0).all()
    np.testing.assert_allclose(bm.clean_price(0.05, D("2056-03-18"), D("2026-03-17"), solved, 0), prices, rtol=1e-12)


def test_yield_from_price_speed_is_vectorized() -> None:
    # Not a benchmark: a per-bond Python loop would make this take seconds, not milliseconds.
    import time

    coupon, maturity, settle, ytm, dc, freq = _random_bonds(20_000, seed=3)
    price = bm.clean_price(coupon, maturity, settle, ytm, dc, freq)
    t0 = time.perf_counter()
    bm.yield_from_price(coupon, maturity, settle, price, dc, freq)
    assert time.perf_counter() - t0 < 1.0


# ---------------------------------------------------------------- risk


def test_dv01_matches_finite_difference() -> None:
    coupon, maturity, settle, ytm, dc, freq = _random_bonds(2000, seed=11)
    h = 1e-6
    up = bm.clean_price(coupon, maturity, settle, ytm + h, dc, freq)
    down = bm.clean_price(coupon, maturity, settle, ytm - h, dc, freq)
    fd = (down - up) / (2 * h) * 1e-4
    dv = bm.dv01(coupon, maturity, settle, ytm, dc, freq)
    assert (dv > 0).all()
    np.testing.assert_allclose(dv, fd, rtol=1e-6)
    dirty = bm.dirty_price(coupon, maturity, settle, ytm, dc, freq)
    np.testing.assert_allclose(dv, bm.modified_duration(coupon, maturity, settle, ytm, dc, freq) * dirty * 1e-4,
                               rtol=1e-13)


def test_convexity_matches_finite_difference_and_is_positive() -> None:
    coupon, maturity, settle, ytm, dc, freq = _random_bonds(2000, seed=12)
    h = 1e-4
    p0 = bm.dirty_price(coupon, maturity, settle, ytm, dc, freq)
    up = bm.dirty_price(coupon, maturity, settle, ytm + h, dc, freq)
    down = bm.dirty_price(coupon, maturity, settle, ytm - h, dc, freq)
    fd = (up + down - 2 * p0) / h**2 / p0
    cx = bm.convexity(coupon, maturity, settle, ytm, dc, freq)
    assert (cx > 0).all()
    np.testing.assert_allclose(cx, fd, rtol=1e-4, atol=1e-6)


def test_durations() -> None:
    coupon, maturity, settle, ytm, dc, freq = _random_bonds(1000, seed=13)
    mac = bm.macaulay_duration(coupon, maturity, settle, ytm, dc, freq)
    mod = bm.modified_duration(coupon, maturity, settle, ytm, dc, freq)
    ttm = bm.time_to_maturity(maturity, settle)
    assert (mac > 0).all() and (mac <= ttm + 1 / 365).all()
    np.testing.assert_allclose(mod, mac / (1 + ytm / freq), rtol=1e-13)


def test_duration_of_a_zero_is_its_maturity() -> None:
    maturity = np.array(["2027-03-17", "2031-09-17", "2046-03-17", "2056-01-31"], dtype="datetime64[D]")
    for dc in (0, 1):
        mac = bm.macaulay_duration(1e-9, maturity, D("2026-03-17"), 0.05, dc)
        np.testing.assert_allclose(mac, bm.time_to_maturity(maturity, D("2026-03-17")), atol=0.01)
    # On a coupon date it is exactly the number of periods over the frequency.
    assert bm.macaulay_duration(0.0, D("2036-01-15"), D("2026-01-15"), 0.05, 0) == pytest.approx(10.0, abs=1e-12)


def test_year_fraction() -> None:
    assert bm.year_fraction(D("2026-01-01"), D("2027-01-01")) == pytest.approx(365 / 365.25)
    assert bm.year_fraction(date(2027, 1, 1), date(2026, 1, 1)) == pytest.approx(-365 / 365.25)
    out = bm.time_to_maturity(np.array(["2036-03-17", "NaT"], dtype="datetime64[D]"), D("2026-03-17"))
    assert out[0] == pytest.approx(3653 / 365.25)
    assert np.isnan(out[1])


def test_empty_inputs() -> None:
    none = np.array([], dtype="datetime64[D]")
    assert bm.clean_price([], none, none, [], 0).shape == (0,)
    assert bm.yield_from_price([], none, none, [], 0).shape == (0,)
    assert bm.convexity([], none, none, [], 0).shape == (0,)
