"""Vectorized fixed-coupon bond math: coupon schedule, accrued interest, price, yield, risk.

Conventions:

* Coupons and yields are decimals (0.05 is 5%); prices and accrued interest are per 100 face.
* Dates are ``datetime64[D]`` scalars or arrays (``datetime.date`` and ISO strings are accepted).
* Every function broadcasts its arguments against each other and returns a float64 (or
  ``datetime64[D]``) array of the broadcast shape; scalar inputs give 0-d arrays.
* Coupon dates run backwards from maturity in steps of ``12 / frequency`` months. If maturity is
  the last day of its month every coupon is on a month end; otherwise coupons keep maturity's day
  of month, clipped to the month length.
* Day counts (:data:`DC_30_360`, :data:`DC_ACT_ACT`): 30/360 US bond basis, where a coupon period
  has ``360 / frequency`` days, and ACT/ACT ICMA (actual days over actual days in the period).
  A 30/360 accrual fraction is capped at one period (it exceeds one only for end-of-month bonds
  accruing from the end of February).
* Street convention: with ``w`` the fraction of the current period left (days from settlement to
  the next coupon over days in the period, i.e. one minus the accrual fraction), the ``k``-th
  remaining cash flow (``k = 0, 1, ...``) is discounted by ``(1 + ytm / frequency) ** (k + w)``.
  A bond in its last coupon period is priced with the same formula (no money-market yield).
* Inputs that cannot be priced (settlement on or after maturity, a yield at or below
  ``-frequency``, NaN or NaT) give NaN (NaT for dates) rather than raising.
"""

from __future__ import annotations

from datetime import date
from typing import Final, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from server.domain.bonds import DayCount

DC_30_360: Final = 0
DC_ACT_ACT: Final = 1

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
DateArray: TypeAlias = npt.NDArray[np.datetime64]
DateLike: TypeAlias = date | np.datetime64 | npt.ArrayLike
DayCountLike: TypeAlias = DayCount | str | int | npt.ArrayLike

_FREQUENCIES: Final = (1, 2, 3, 4, 6, 12)
_DAYS_PER_YEAR: Final = 365.25
_PRICE_TOL: Final = 1e-12  # per 100 of dirty price, i.e. relative 1e-14
_MAX_ITER: Final = 200
_LOG_GROWTH_LIMIT: Final = 700.0  # |log(1 + ytm / frequency)| beyond which the solver gives up
_BLOCK_CELLS: Final = 1 << 17  # matrix cells per block of bonds
_MIN_BLOCK_ROWS: Final = 64
_CUMULATIVE_DAYS: Final = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365])


# --------------------------------------------------------------------------------------------
# Input normalization


def day_count_code(dc: DayCount | str) -> int:
    """:data:`DC_30_360` or :data:`DC_ACT_ACT` for a day-count name (case-insensitive)."""
    try:
        kind = DayCount(str(dc).strip().upper())
    except ValueError:
        raise ValueError(f"unknown day count {dc!r}; expected '30/360' or 'ACT/ACT'") from None
    return DC_30_360 if kind is DayCount.THIRTY_360 else DC_ACT_ACT


def day_count_codes(day_count: DayCountLike) -> IntArray:
    """Validated day-count codes for names, :class:`DayCount` members or codes (any shape)."""
    if isinstance(day_count, str):
        return np.asarray(day_count_code(day_count), dtype=np.int64)
    arr = np.asarray(day_count)
    if arr.dtype.kind in "USO":
        names = np.strings.upper(np.strings.strip(arr.astype(str)))
        codes = np.full(arr.shape, -1, dtype=np.int64)
        codes[names == DayCount.THIRTY_360.value] = DC_30_360
        codes[names == DayCount.ACT_ACT.value] = DC_ACT_ACT
    elif arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
    else:
        raise TypeError(f"day_count must be day-count names or codes, got dtype {arr.dtype}")
    if not np.isin(codes, (DC_30_360, DC_ACT_ACT)).all():
        raise ValueError("day_count must be '30/360' (code 0) or 'ACT/ACT' (code 1)")
    return codes


def _frequencies(frequency: npt.ArrayLike) -> IntArray:
    arr = np.asarray(frequency)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"frequency must be an integer, got dtype {arr.dtype}")
    freq = arr.astype(np.int64)
    if not np.isin(freq, _FREQUENCIES).all():
        raise ValueError(f"frequency must be one of {_FREQUENCIES} coupons per year")
    return freq


def _as_dates(value: DateLike) -> DateArray:
    arr = np.asarray(value)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]")
    return np.asarray(value, dtype="datetime64[D]")


# --------------------------------------------------------------------------------------------
# Civil-calendar arithmetic on integer day numbers (days since 1970-01-01), proleptic Gregorian.
# Months are counted as ``year * 12 + month - 1``.


def _civil(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month (1-12) and day of month of day numbers (H. Hinnant's algorithm)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _is_leap(year: IntArray) -> BoolArray:
    return (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))


def _month_days(month_count: IntArray) -> tuple[IntArray, IntArray]:
    """Day number of the first day and the length of each month in ``month_count``."""
    year, m0 = np.divmod(month_count, 12)
    leap = _is_leap(year)
    y1 = year - 1
    first = (
        365 * y1 + y1 // 4 - y1 // 100 + y1 // 400 - 719_162  # Jan 1 of ``year``
        + _CUMULATIVE_DAYS[m0] + (leap & (m0 >= 2))
    )
    length = _CUMULATIVE_DAYS[m0 + 1] - _CUMULATIVE_DAYS[m0] + (leap & (m0 == 1))
    return first, length


class _Coupons(NamedTuple):
    prev: IntArray  # day number of the last coupon on or before settlement
    next: IntArray  # day number of the first coupon after settlement
    prev_day: IntArray  # day of month of ``prev``
    prev_month: IntArray  # month count of ``prev``
    remaining: IntArray  # coupons still to be paid, including the one at maturity


def _coupon_bracket(maturity: IntArray, settle: IntArray, step: IntArray) -> _Coupons:
    """Coupon dates around settlement; requires ``settle < maturity`` (day numbers)."""
    my, mm, md = _civil(maturity)
    mat_month = my * 12 + mm - 1
    _, mat_len = _month_days(mat_month)
    mat_day = np.where(md == mat_len, 31, md)  # 31 = month end
    sy, sm, _ = _civil(settle)
    # Coupon k0 falls in settlement's month or later; coupon k0 + 1 is in an earlier month.
    k0 = (mat_month - (sy * 12 + sm - 1)) // step
    first, length = _month_days(mat_month - k0 * step)
    c0 = first + np.minimum(mat_day, length) - 1
    k: IntArray = np.where(c0 <= settle, k0, k0 + 1)
    prev_month: IntArray = mat_month - k * step
    first, length = _month_days(prev_month)
    prev_day = np.minimum(mat_day, length)
    first_n, length_n = _month_days(prev_month + step)
    nxt = first_n + np.minimum(mat_day, length_n) - 1
    return _Coupons(first + prev_day - 1, nxt, prev_day, prev_month, k)


# --------------------------------------------------------------------------------------------
# Schedule: everything about a bond at a settlement date that does not depend on the yield


class _Schedule(NamedTuple):
    shape: tuple[int, ...]
    valid: BoolArray  # settle < maturity and finite coupon
    freq: FloatArray  # coupons per year
    cpn: FloatArray  # coupon cash flow per period, per 100 face
    n: IntArray  # coupons still to be paid (>= 1 where valid)
    w: FloatArray  # fraction of the current period from settlement to the next coupon
    accrued: FloatArray  # per 100 face
    years: FloatArray  # ACT/365.25 years to maturity
    extra: list[FloatArray]  # further float inputs, broadcast and flattened


def _schedule(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike,
    *extra: npt.ArrayLike,
) -> _Schedule:
    arrays = np.broadcast_arrays(
        np.asarray(coupon, dtype=np.float64),
        _as_dates(maturity),
        _as_dates(settle),
        day_count_codes(day_count),
        _frequencies(frequency),
        *(np.asarray(e, dtype=np.float64) for e in extra),
    )
    shape = arrays[0].shape
    cpn_rate, mat_d, st_d, dc, freq, *rest = (a.ravel() for a in arrays)
    valid = (st_d < mat_d) & np.isfinite(cpn_rate)  # False for NaT
    st = np.where(valid, st_d.astype(np.int64), 0)
    mat = np.where(valid, mat_d.astype(np.int64), 365)
    step = 12 // freq
    c = _coupon_bracket(mat, st, step)
    # 30/360 bond basis from the previous coupon: D1 = 31 -> 30; D2 = 31 and D1 >= 30 -> 30.
    sy, sm, sd = _civil(st)
    d1 = np.minimum(c.prev_day, 30)
    d2 = np.where((sd == 31) & (d1 == 30), 30, sd)
    days_30 = 30 * (sy * 12 + sm - 1 - c.prev_month) + d2 - d1
    is_30 = dc == DC_30_360
    accrued_days = np.where(is_30, days_30, st - c.prev)
    period_days = np.where(is_30, 30 * step, c.next - c.prev)
    frac = np.minimum(accrued_days / period_days, 1.0)
    cpn = 100.0 * np.where(valid, cpn_rate, 0.0) / freq
    return _Schedule(
        shape=shape,
        valid=valid,
        freq=freq.astype(np.float64),
        cpn=cpn,
        n=c.remaining,
        w=1.0 - frac,
        accrued=cpn * frac,
        years=(mat - st) / _DAYS_PER_YEAR,
        extra=list(rest),
    )


# --------------------------------------------------------------------------------------------
# Discounting on a padded (bonds x periods) matrix


class _Periods:
    """Padded (bonds x periods) matrices of discount factors, masked to the live coupons.

    Bonds are sorted by the number of coupons left and cut into blocks of about
    ``_BLOCK_CELLS`` cells, each padded only to its own longest bond: the work is close to the
    number of live cash flows and every block stays in cache.
    """

    def __init__(self, n: IntArray) -> None:
        self._set(n)

    def _set(self, n: IntArray) -> None:
        self.n = n
        self.order = np.argsort(n, kind="stable")
        sorted_n = n[self.order]
        self.blocks: list[tuple[int, int, int]] = []  # (start, stop, width) in sorted order
        start, size = 0, n.size
        while start < size:
            stop = min(size, start + max(_MIN_BLOCK_ROWS, _BLOCK_CELLS // int(sorted_n[start])))
            width = int(sorted_n[stop - 1])
            if (stop - start) * width > _BLOCK_CELLS:
                stop = min(size, start + max(_MIN_BLOCK_ROWS, _BLOCK_CELLS // width))
                width = int(sorted_n[stop - 1])
            self.blocks.append((start, stop, width))
            start = stop
        cells = max(((b - a) * w for a, b, w in self.blocks), default=0)
        self._exponent = np.empty(cells)
        self._discount = np.empty(cells)

    def keep(self, rows: BoolArray) -> None:
        """Drop the bonds not selected by ``rows``."""
        self._set(self.n[rows])

    def sums(self, log_growth: FloatArray, order: int) -> FloatArray:
        """``S[i, k] = sum over j < n[i] of j**k * exp(-j * log_growth[i])`` for ``k <= order``."""
        width_max = self.blocks[-1][2] if self.blocks else 0
        j = np.arange(width_max, dtype=np.float64)
        basis = j[:, None] ** np.arange(order + 1)
        out = np.empty((self.n.size, order + 1))
        for start, stop, width in self.blocks:
            rows = self.order[start:stop]
            shape = (stop - start, width)
            exponent = self._exponent[: shape[0] * width].reshape(shape)
            discount = self._discount[: shape[0] * width].reshape(shape)
            np.multiply.outer(-log_growth[rows], j[:width], out=exponent)
            discount.fill(0.0)
            np.exp(exponent, out=discount, where=j[:width] < self.n[rows, None])
            out[rows] = discount @ basis[:width]
        return out


def _moments(
    cpn: FloatArray, n: IntArray, w: FloatArray, lg: FloatArray, sums: FloatArray, order: int
) -> list[FloatArray]:
    """``[sum(pv), sum(t * pv), sum(t * (t + 1) * pv)][:order + 1]`` with ``t = w + j`` periods.

    ``sums`` comes from :meth:`_Periods.sums`; the redemption is discounted separately.
    """
    head = np.exp(-w * lg)  # discount to the next coupon date
    last = n - 1.0
    red = 100.0 * np.exp(-last * lg)  # redemption, discounted to the next coupon date
    g0 = sums[:, 0]
    out = [head * (cpn * g0 + red)]
    if order >= 1:
        g1 = sums[:, 1]
        out.append(head * (cpn * (w * g0 + g1) + (w + last) * red))
    if order >= 2:
        g2 = sums[:, 2]
        flows = (w * w + w) * g0 + (2.0 * w + 1.0) * g1 + g2
        out.append(head * (cpn * flows + (w + last) * (w + last + 1.0) * red))
    return out


def _priced(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    ytm: npt.ArrayLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike,
    order: int,
) -> tuple[_Schedule, FloatArray, BoolArray, list[FloatArray]]:
    """Schedule, ``log(1 + ytm / frequency)``, the rows that are priceable, and moments."""
    s = _schedule(coupon, maturity, settle, day_count, frequency, ytm)
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = np.log1p(s.extra[0] / s.freq)
    ok = s.valid & np.isfinite(lg)
    lg = np.where(ok, lg, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        sums = _Periods(s.n).sums(lg, order)
        moments = _moments(s.cpn, s.n, s.w, lg, sums, order)
    return s, lg, ok, moments


def _shaped(s: _Schedule, values: FloatArray, ok: BoolArray) -> FloatArray:
    """``values`` in the broadcast shape, NaN where not ``ok``."""
    return np.where(ok, values, np.nan).reshape(s.shape)


# --------------------------------------------------------------------------------------------
# Public API


def year_fraction(start: DateLike, end: DateLike) -> FloatArray:
    """ACT/365.25 years from ``start`` to ``end`` (negative if ``end`` is earlier)."""
    a, b = np.broadcast_arrays(_as_dates(start), _as_dates(end))
    out = (b - a).astype(np.float64) / _DAYS_PER_YEAR
    return np.where(np.isnat(a) | np.isnat(b), np.nan, out)


def time_to_maturity(maturity: DateLike, settle: DateLike) -> FloatArray:
    """ACT/365.25 years from settlement to maturity."""
    return year_fraction(settle, maturity)


def previous_and_next_coupon(
    maturity: DateLike, settle: DateLike, frequency: npt.ArrayLike = 2
) -> tuple[DateArray, DateArray]:
    """Last coupon date on or before settlement and first coupon date after it.

    NaT where settlement is not before maturity.
    """
    mat_d, st_d, freq = np.broadcast_arrays(_as_dates(maturity), _as_dates(settle), _frequencies(frequency))
    shape = mat_d.shape
    valid = (st_d < mat_d).ravel()
    st = np.where(valid, st_d.ravel().astype(np.int64), 0)
    mat = np.where(valid, mat_d.ravel().astype(np.int64), 365)
    c = _coupon_bracket(mat, st, 12 // freq.ravel())
    nat = np.datetime64("NaT", "D")
    prev = np.where(valid, c.prev.astype("datetime64[D]"), nat)
    nxt = np.where(valid, c.next.astype("datetime64[D]"), nat)
    return prev.reshape(shape), nxt.reshape(shape)


def accrued_interest(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike = 2,
) -> FloatArray:
    """Accrued interest per 100 face at settlement (0 on a coupon date)."""
    s = _schedule(coupon, maturity, settle, day_count, frequency)
    return _shaped(s, s.accrued, s.valid)


def dirty_price(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    ytm: npt.ArrayLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike = 2,
) -> FloatArray:
    """Full (invoice) price per 100 face: present value of the remaining cash flows."""
    s, _, ok, (pv,) = _priced(coupon, maturity, settle, ytm, day_count, frequency, 0)
    return _shaped(s, pv, ok)


def clean_price(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    ytm: npt.ArrayLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike = 2,
) -> FloatArray:
    """Quoted price per 100 face: dirty price minus accrued interest."""
    s, _, ok, (pv,) = _priced(coupon, maturity, settle, ytm, day_count, frequency, 0)
    return _shaped(s, pv - s.accrued, ok)


def macaulay_duration(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    ytm: npt.ArrayLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike = 2,
) -> FloatArray:
    """Present-value-weighted mean time to the cash flows, in years (periods / frequency)."""
    s, _, ok, (pv, m1) = _priced(coupon, maturity, settle, ytm, day_count, frequency, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _shaped(s, m1 / pv / s.freq, ok)


def modified_duration(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    ytm: npt.ArrayLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike = 2,
) -> FloatArray:
    """``-(dP/dy) / P`` in years: Macaulay duration over ``1 + ytm / frequency``."""
    s, lg, ok, (pv, m1) = _priced(coupon, maturity, settle, ytm, day_count, frequency, 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _shaped(s, m1 / pv / (s.freq * np.exp(lg)), ok)


def convexity(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    ytm: npt.ArrayLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike = 2,
) -> FloatArray:
    """``(d2P/dy2) / P`` in years squared."""
    s, lg, ok, (pv, _, m2) = _priced(coupon, maturity, settle, ytm, day_count, frequency, 2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _shaped(s, m2 / pv / (s.freq * np.exp(lg)) ** 2, ok)


def dv01(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    ytm: npt.ArrayLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike = 2,
) -> FloatArray:
    """Price gain per 100 face for a 1 bp fall in yield: modified duration x dirty price x 1e-4."""
    s, lg, ok, (_, m1) = _priced(coupon, maturity, settle, ytm, day_count, frequency, 1)
    with np.errstate(invalid="ignore", over="ignore"):
        return _shaped(s, m1 / (s.freq * np.exp(lg)) * 1e-4, ok)


def yield_from_price(
    coupon: npt.ArrayLike,
    maturity: DateLike,
    settle: DateLike,
    clean_price: npt.ArrayLike,
    day_count: DayCountLike,
    frequency: npt.ArrayLike = 2,
) -> FloatArray:
    """Yield to maturity (decimal) reproducing ``clean_price`` to 1e-12 per 100 of dirty price.

    The iteration stops when the dirty price is matched to a relative 1e-14 or when the Newton
    step falls below the resolution of a double (prices far above par, rounding noise).

    Newton's method on ``log(dirty price)`` as a function of ``L = log(1 + ytm / frequency)``
    (convex, decreasing and asymptotically linear, so it converges from far away), with a bracket
    kept per bond and bisection (or bracket expansion) whenever a step leaves it. NaN for a
    non-positive or non-finite price, an unpriceable bond, a price no yield reaches, or a bond with
    no time left under its day count (its last cash flow due at settlement, e.g. 30/360 from the 30th
    to a maturity on the 31st: every yield gives the same price, so none is implied).
    """
    s = _schedule(coupon, maturity, settle, day_count, frequency, clean_price)
    clean = s.extra[0]
    solved = np.full(s.n.size, np.nan)  # L per bond
    no_time_left = (s.n <= 1) & (s.w <= 0.0)
    idx = np.flatnonzero(s.valid & np.isfinite(clean) & (clean > 0.0) & ~no_time_left)
    if idx.size == 0:
        return solved.reshape(s.shape)

    freq, cpn, n, w = s.freq[idx], s.cpn[idx], s.n[idx], s.w[idx]
    target = clean[idx] + s.accrued[idx]
    tol = _PRICE_TOL * target / 100.0
    periods = _Periods(n)
    # Initial guess: (annual coupon + pull to par per year) / average of price and par.
    years = np.maximum(s.years[idx], 1.0 / _DAYS_PER_YEAR)
    guess = (cpn * freq + (100.0 - clean[idx]) / years) / ((100.0 + clean[idx]) / 2.0)
    lg = np.log1p(np.clip(guess, -0.5, 2.0) / freq)
    lo = np.full(idx.size, -np.inf)
    hi = np.full(idx.size, np.inf)
    eps4 = 4.0 * np.finfo(np.float64).eps

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(_MAX_ITER):
            price, slope = _moments(cpn, n, w, lg, periods.sums(lg, 1), 1)  # slope = -dP/dL
            high = price > target  # the root lies at a larger L
            lo = np.where(high, lg, lo)
            hi = np.where(price < target, lg, hi)
            # Newton on log(price), convex and nearly linear in L far from the root.
            newton = lg + np.log(price / target) * price / slope
            resolution = eps4 * np.maximum(1.0, np.abs(lg))
            tiny = np.abs(newton - lg) <= resolution  # at the root to machine precision
            lost = np.abs(lg) > _LOG_GROWTH_LIMIT
            done = (np.abs(price - target) <= tol) | tiny | (hi - lo <= resolution) | lost
            if done.any():
                good = done & ~lost
                solved[idx[good]] = np.where(tiny, newton, lg)[good]
                keep = ~done
                if not keep.any():
                    break
                if 2 * np.count_nonzero(keep) < keep.size:  # compact once half the rows are done
                    idx, lg, lo, hi, newton, high, done = (
                        a[keep] for a in (idx, lg, lo, hi, newton, high, done)
                    )
                    cpn, n, w, target, tol = (a[keep] for a in (cpn, n, w, target, tol))
                    periods.keep(keep)
            inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
            bracketed = np.isfinite(lo) & np.isfinite(hi)
            expand = np.where(high, lg + 1.0 + np.abs(lg), lg - 1.0 - np.abs(lg))
            step = np.where(inside, newton, np.where(bracketed, 0.5 * (lo + hi), expand))
            lg = np.where(done, lg, step)  # rows already solved stay put

    return (s.freq * np.expm1(solved)).reshape(s.shape)
