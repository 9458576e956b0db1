"""Cross-check of :mod:`server.domain.bondmath` against QuantLib on a few thousand generated cases.

Bonds come from the synthetic universe (corporates, plus the on-the-run Treasuries of many ``as_of``
dates so that month-end and February coupons occur), the same corporates relabelled ACT/ACT, and a
batch of synthetic bonds maturing on the 29th, 30th or the last day of a month (the universe's
corporates mature on days 1-28 only). Each bond is settled on random dates and on the awkward ones:
a coupon date, the day before a coupon date, inside the last coupon period, the day before maturity.

QuantLib set-up (street convention for US bonds): a schedule generated backward from maturity,
semiannual, no holiday calendar and no adjustment, end-of-month when maturity is a month end;
settlement days 0 and evaluation date = settlement; 30/360 bond basis for corporates and ACT/ACT ICMA
for Treasuries; yields compounded semiannually.

Known, deliberate or unavoidable differences have their own tests at the end of the module (each
docstring explains the convention); they are excluded from the bulk comparison by name, never
silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import QuantLib as ql

from server.domain import bondmath as bm
from server.market.universe import UniverseConfig, build_universe

FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]
BoolArray = npt.NDArray[np.bool_]

D = np.datetime64
ONE_DAY = np.timedelta64(1, "D")

# Tolerances: the two agree to floating-point rounding. Worst differences over 12 seeds (~51,000
# cases): clean/dirty price 1.8e-12, accrued 1.2e-14, yield 2.3e-13, risk 2.6e-14 relative. The
# tolerances leave about 10x (yield: 40x, as bondmath's solver only promises the dirty price to a
# relative 1e-14, i.e. ~4e-12 of yield the day before maturity).
PRICE_ATOL = 2e-11  # per 100 (clean and dirty)
ACCRUED_ATOL = 1e-13  # per 100
YIELD_ATOL = 1e-11  # decimal
RISK_RTOL = 2e-13  # modified and Macaulay duration, convexity, DV01

_SEED = 20_260_317
_CORPORATE_UNIVERSE = UniverseConfig(seed=11, n_bonds=300)
_TREASURY_AS_OF = tuple(date(2024 + k // 12, k % 12 + 1, 20) for k in range(36))
_N_SYNTHETIC = 120


# --------------------------------------------------------------------------------------------
# QuantLib helpers


def _ql_date(d: np.datetime64 | date) -> Any:
    py = d if isinstance(d, date) else d.astype("datetime64[D]").astype(date)
    return ql.Date(py.day, py.month, py.year)


def _np_date(d: Any) -> np.datetime64:
    return np.datetime64(date(d.year(), d.month(), d.dayOfMonth()), "D")


def _is_month_end(d: np.datetime64) -> bool:
    return bool((d + ONE_DAY).astype("datetime64[M]") != d.astype("datetime64[M]"))


def _ql_schedule(effective: np.datetime64, maturity: np.datetime64) -> Any:
    return ql.Schedule(
        _ql_date(effective),
        _ql_date(maturity),
        ql.Period(ql.Semiannual),
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        _is_month_end(maturity),
    )


def _ql_day_counter(dc_code: int, schedule: Any, *, thirty_360: int | None = None) -> Any:
    if dc_code == bm.DC_30_360:
        return ql.Thirty360(ql.Thirty360.BondBasis if thirty_360 is None else thirty_360)
    return ql.ActualActual(ql.ActualActual.ISMA, schedule)


def _ql_bond(
    coupon: float, maturity: np.datetime64, effective: np.datetime64, dc_code: int, *, thirty_360: int | None = None
) -> tuple[Any, Any]:
    """A ``FixedRateBond`` (settlement days 0, face 100) and its day counter."""
    schedule = _ql_schedule(effective, maturity)
    dc = _ql_day_counter(dc_code, schedule, thirty_360=thirty_360)
    bond = ql.FixedRateBond(0, 100.0, schedule, [coupon], dc, ql.Unadjusted, 100.0, _ql_date(effective))
    return bond, dc


def _rate(ytm: float, dc: Any, compounding: Any = ql.Compounded) -> Any:
    return ql.InterestRate(ytm, dc, compounding, ql.Semiannual)


@pytest.fixture(autouse=True)
def _restore_evaluation_date() -> Any:
    settings = ql.Settings.instance()
    saved = settings.evaluationDate
    yield
    settings.evaluationDate = saved


def _set_evaluation_date(settle: np.datetime64) -> Any:
    d = _ql_date(settle)
    ql.Settings.instance().evaluationDate = d
    return d


def _february_off_day_30360(maturity: np.datetime64, dc_code: int) -> bool:
    """30/360 bond with a February coupon that is not on its nominal day of month (EOM, 29th, 30th).

    QuantLib's coupon amounts and discount times are uneven for these bonds; see
    :func:`test_30360_february_month_end_coupons_quantlib_pays_uneven_amounts`.
    """
    py = maturity.astype(date)
    nominal_day = 31 if _is_month_end(maturity) else py.day
    return dc_code == bm.DC_30_360 and py.month % 6 == 2 and nominal_day > 28


# --------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class _Bonds:
    coupon: FloatArray  # decimal
    maturity: DateArray
    issue: DateArray
    day_count: npt.NDArray[np.int64]
    source: list[str]


def _universe_bonds() -> _Bonds:
    u = build_universe(_CORPORATE_UNIVERSE)
    n = u.n_bonds
    assert all(abs(b.coupon / 100.0 - c) < 1e-15 for b, c in zip(u.bonds, u.coupon, strict=True))
    assert (u.frequency == 2).all()
    coupons: list[FloatArray] = [np.asarray(u.coupon), np.asarray(u.coupon)]
    maturities: list[DateArray] = [np.asarray(u.maturity), np.asarray(u.maturity)]
    issues: list[DateArray] = [np.asarray(u.issue_date), np.asarray(u.issue_date)]
    day_counts = [np.asarray(u.day_count, dtype=np.int64), np.full(n, bm.DC_ACT_ACT, dtype=np.int64)]
    source = ["corporate"] * n + ["corporate as ACT/ACT"] * n
    for as_of in _TREASURY_AS_OF:
        t = build_universe(UniverseConfig(seed=1, n_bonds=1, n_issuers=1, as_of=as_of))
        k = len(t.treasuries)
        assert (t.all_day_count[-k:] == bm.DC_ACT_ACT).all()
        coupons.append(np.array([b.coupon / 100.0 for b in t.treasuries]))
        maturities.append(np.array([b.maturity for b in t.treasuries], dtype="datetime64[D]"))
        issues.append(np.array([b.issue_date for b in t.treasuries], dtype="datetime64[D]"))
        day_counts.append(np.asarray(t.all_day_count[-k:], dtype=np.int64))
        source += ["treasury"] * k
    return _Bonds(
        np.concatenate(coupons), np.concatenate(maturities), np.concatenate(issues), np.concatenate(day_counts), source
    )


def _synthetic_bonds(rng: np.random.Generator) -> _Bonds:
    """Bonds maturing on the 29th, 30th or a month end, any month, both day counts."""
    n = _N_SYNTHETIC
    month = D("2027-01") + rng.integers(0, 30 * 12, n).astype("timedelta64[M]")
    month_len = ((month + np.timedelta64(1, "M")).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(int)
    day = np.minimum(rng.choice([29, 30, 31], n), month_len)
    maturity = month.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    tenor = rng.choice([2, 5, 10, 30], n)
    issue = np.array(
        [_np_date(_ql_date(m) - ql.Period(int(t), ql.Years)) for m, t in zip(maturity, tenor, strict=True)],
        dtype="datetime64[D]",
    )
    coupon = np.round(rng.uniform(0.0, 0.12, n) * 800.0) / 800.0  # 1/8 %, some zero coupons
    day_count = rng.integers(0, 2, n)
    return _Bonds(coupon, maturity, issue, day_count, ["synthetic"] * n)


@dataclass(frozen=True)
class _Cases:
    coupon: FloatArray
    maturity: DateArray
    effective: DateArray  # start of the QuantLib schedule
    settle: DateArray
    ytm: FloatArray
    day_count: npt.NDArray[np.int64]
    source: list[str]
    kind: list[str]  # which settlement date rule
    excluded: BoolArray  # 30/360 February off-day bonds, see _february_off_day_30360


def _settles(rng: np.random.Generator, effective: np.datetime64, maturity: np.datetime64) -> list[tuple[str, Any]]:
    """Settlement dates from the QuantLib schedule (independently of bondmath's own schedule)."""
    schedule = _ql_schedule(effective, maturity)
    dates = np.array([_np_date(d) for d in schedule.dates()], dtype="datetime64[D]")
    # Settle from the first regular period on: an odd first period is a known difference.
    start = dates[0] if len(dates) < 3 or schedule.isRegular(1) else dates[1]
    coupons = dates[(dates >= start) & (dates < maturity)]
    ends = dates[dates > start]
    last_start = dates[-2]
    return [
        ("random", start + rng.integers(0, (maturity - start).astype(int))),
        ("coupon date", rng.choice(coupons)),
        ("day before coupon", rng.choice(ends) - ONE_DAY),
        ("last period", maturity - rng.integers(1, (maturity - last_start).astype(int) + 1)),
        ("day before maturity", maturity - ONE_DAY),
    ]


def _make_cases() -> _Cases:
    rng = np.random.default_rng(_SEED)
    parts = [_universe_bonds(), _synthetic_bonds(rng)]
    rows: list[tuple[float, np.datetime64, np.datetime64, np.datetime64, int, str, str]] = []
    for b in parts:
        for i in range(len(b.coupon)):
            mat, iss = b.maturity[i], b.issue[i]
            for kind, settle in _settles(rng, iss, mat):
                rows.append((float(b.coupon[i]), mat, iss, settle, int(b.day_count[i]), b.source[i], kind))
    n = len(rows)
    # Mostly ordinary yields, some negative, one in ten high-yield to distressed.
    ytm = np.where(rng.random(n) < 0.9, rng.uniform(-0.01, 0.15, n), rng.uniform(0.15, 0.6, n))
    maturity = np.array([r[1] for r in rows], dtype="datetime64[D]")
    day_count = np.array([r[4] for r in rows], dtype=np.int64)
    return _Cases(
        coupon=np.array([r[0] for r in rows]),
        maturity=maturity,
        effective=np.array([r[2] for r in rows], dtype="datetime64[D]"),
        settle=np.array([r[3] for r in rows], dtype="datetime64[D]"),
        ytm=ytm,
        day_count=day_count,
        source=[r[5] for r in rows],
        kind=[r[6] for r in rows],
        excluded=np.array([_february_off_day_30360(m, int(dc)) for m, dc in zip(maturity, day_count, strict=True)]),
    )


@dataclass(frozen=True)
class _Values:
    clean: FloatArray
    dirty: FloatArray
    accrued: FloatArray
    yield_: FloatArray  # from ``clean``
    modified: FloatArray
    macaulay: FloatArray
    convexity: FloatArray
    dv01: FloatArray


def _quantlib_values(c: _Cases) -> _Values:
    n = len(c.coupon)
    out = {k: np.empty(n) for k in ("clean", "dirty", "accrued", "yield_", "modified", "macaulay", "convexity", "dv01")}
    for i in range(n):
        settle = _set_evaluation_date(c.settle[i])
        bond, dc = _ql_bond(float(c.coupon[i]), c.maturity[i], c.effective[i], int(c.day_count[i]))
        y = _rate(float(c.ytm[i]), dc)
        clean = ql.BondFunctions.cleanPrice(bond, y, settle)
        out["clean"][i] = clean
        out["dirty"][i] = bond.dirtyPrice(float(c.ytm[i]), dc, ql.Compounded, ql.Semiannual, settle)
        out["accrued"][i] = bond.accruedAmount(settle)
        out["yield_"][i] = ql.BondFunctions.bondYield(
            bond, ql.BondPrice(clean, ql.BondPrice.Clean), dc, ql.Compounded, ql.Semiannual, settle, 1e-15, 500, 0.05
        )
        out["modified"][i] = ql.BondFunctions.duration(bond, y, ql.Duration.Modified, settle)
        out["macaulay"][i] = ql.BondFunctions.duration(bond, y, ql.Duration.Macaulay, settle)
        out["convexity"][i] = ql.BondFunctions.convexity(bond, y, settle)
    # QuantLib's basisPointValue adds a convexity term; ours is the first-order modified duration x dirty x 1 bp.
    out["dv01"] = out["modified"] * out["dirty"] * 1e-4
    return _Values(**out)


def _our_values(c: _Cases, ql_clean: FloatArray) -> _Values:
    args = (c.coupon, c.maturity, c.settle)
    risk = (*args, c.ytm, c.day_count, 2)
    return _Values(
        clean=bm.clean_price(*risk),
        dirty=bm.dirty_price(*risk),
        accrued=bm.accrued_interest(*args, c.day_count, 2),
        yield_=bm.yield_from_price(*args, ql_clean, c.day_count, 2),
        modified=bm.modified_duration(*risk),
        macaulay=bm.macaulay_duration(*risk),
        convexity=bm.convexity(*risk),
        dv01=bm.dv01(*risk),
    )


@dataclass(frozen=True)
class _Comparison:
    cases: _Cases
    ours: _Values
    theirs: _Values


@pytest.fixture(scope="module")
def comparison() -> _Comparison:
    settings = ql.Settings.instance()
    saved = settings.evaluationDate
    try:
        cases = _make_cases()
        theirs = _quantlib_values(cases)
    finally:
        settings.evaluationDate = saved
    return _Comparison(cases, _our_values(cases, theirs.clean), theirs)


def _check(
    cmp: _Comparison, name: str, *, atol: float = 0.0, rtol: float = 0.0, skip: BoolArray | None = None
) -> None:
    c = cmp.cases
    ours, theirs = getattr(cmp.ours, name), getattr(cmp.theirs, name)
    keep = ~c.excluded if skip is None else ~c.excluded & ~skip
    assert np.isfinite(ours[keep]).all() and np.isfinite(theirs[keep]).all()
    err = np.abs(ours - theirs) - rtol * np.abs(theirs)
    err = np.where(keep, err, -np.inf)
    worst = int(np.argmax(err))
    assert err[worst] <= atol, (
        f"{name}: ours {ours[worst]!r} vs QuantLib {theirs[worst]!r} (diff {ours[worst] - theirs[worst]:.3e}) "
        f"for {c.source[worst]}, coupon {c.coupon[worst]}, maturity {c.maturity[worst]}, "
        f"settle {c.settle[worst]} ({c.kind[worst]}), ytm {c.ytm[worst]}, day count {c.day_count[worst]}"
    )


# --------------------------------------------------------------------------------------------
# Bulk comparison


def test_the_cases_cover_the_corners(comparison: _Comparison) -> None:
    c = comparison.cases
    source, kind = np.array(c.source), np.array(c.kind)
    assert len(c.coupon) >= 3000
    assert (source == "corporate").sum() == 5 * _CORPORATE_UNIVERSE.n_bonds
    assert (source == "treasury").sum() == 5 * 4 * len(_TREASURY_AS_OF)
    assert ((c.day_count == bm.DC_ACT_ACT) & ~c.excluded).sum() >= 1500
    assert ((c.day_count == bm.DC_30_360) & ~c.excluded).sum() >= 1500
    month_end = np.array([_is_month_end(m) for m in c.maturity])
    february = (c.settle.astype("datetime64[M]").astype(int) % 12) == 1
    for dc in (bm.DC_30_360, bm.DC_ACT_ACT):
        assert (month_end & ~c.excluded & (c.day_count == dc)).sum() >= 50
        assert (february & ~c.excluded & (c.day_count == dc)).sum() >= 50
    for k in ("random", "coupon date", "day before coupon", "last period", "day before maturity"):
        assert (kind == k).sum() >= 600
    assert c.excluded.sum() < 0.1 * len(c.coupon)
    assert (comparison.ours.accrued[kind == "coupon date"] == 0.0).all()


def test_clean_price_from_yield(comparison: _Comparison) -> None:
    _check(comparison, "clean", atol=PRICE_ATOL)


def test_dirty_price_from_yield(comparison: _Comparison) -> None:
    _check(comparison, "dirty", atol=PRICE_ATOL)


def test_accrued_interest(comparison: _Comparison) -> None:
    _check(comparison, "accrued", atol=ACCRUED_ATOL)


def test_yield_from_clean_price(comparison: _Comparison) -> None:
    c = comparison.cases
    # 30/360, maturity on the 31st, settlement on the 30th: no time left to maturity (30/360 counts
    # the 30th to the 31st as 0 days), so every yield gives the same price and the yield is moot.
    no_time = (comparison.theirs.modified == 0.0) & ~c.excluded
    assert (no_time == ((comparison.ours.modified == 0.0) & ~c.excluded)).all()
    assert no_time.any()
    assert (c.day_count[no_time] == bm.DC_30_360).all()
    assert (c.maturity[no_time] - c.settle[no_time] == ONE_DAY).all()
    np.testing.assert_allclose(comparison.ours.clean[no_time], 100.0, rtol=0.0, atol=1e-12)
    _check(comparison, "yield_", atol=YIELD_ATOL, skip=no_time)
    keep = ~c.excluded & ~no_time
    assert np.abs(comparison.ours.yield_ - c.ytm)[keep].max() <= YIELD_ATOL


def test_modified_duration(comparison: _Comparison) -> None:
    _check(comparison, "modified", rtol=RISK_RTOL)


def test_macaulay_duration(comparison: _Comparison) -> None:
    _check(comparison, "macaulay", rtol=RISK_RTOL)


def test_convexity(comparison: _Comparison) -> None:
    _check(comparison, "convexity", rtol=RISK_RTOL)


def test_dv01(comparison: _Comparison) -> None:
    _check(comparison, "dv01", rtol=RISK_RTOL)


# --------------------------------------------------------------------------------------------
# Known differences, each pinned down by its own test


def _accrued_days_30360(accrued: float, coupon: float) -> float:
    """Accrued interest per 100 converted back to 30/360 days of accrual."""
    return round(accrued / (100.0 * coupon) * 360.0, 9)


def test_30360_february_month_end_coupons_quantlib_pays_uneven_amounts() -> None:
    """QuantLib side, off market: uneven 30/360 coupons around the end of February.

    A 30/360 bond paying on Feb/Aug whose nominal coupon day is past the 28th (an end-of-month bond
    such as Aug 31 / Feb 28, or one paying on the 29th or 30th) has its February coupon on the last
    day of February. QuantLib computes every coupon as ``rate x dayCount(start, end) / 360``, so with
    bond basis the Aug 31 -> Feb 28 coupon is 178/360 of the rate and Feb 28 -> Aug 31 is 183/360
    (179 and 182 around a leap day), and its discount times use the same uneven day counts. US
    corporate bonds pay exactly ``rate / 2`` on every regular coupon date (the indenture's "360-day
    year of twelve 30-day months"), which is what bondmath does: its accrual runs in 30/360 days from
    the previous coupon over a fixed 180-day period, capped at one coupon. No QuantLib 30/360 variant
    gives level coupons here (Thirty360.USA still counts Aug 31 -> Feb 28 as 178 days), so these
    bonds are left out of the bulk comparison (``_february_off_day_30360``) and pinned down here.

    A side effect of the cap: in the last one or two days of a Feb 28 -> Aug 29/30/31 period, the
    30/360 accrual already reaches 180 days, so bondmath accrues the full coupon and prices with no
    time left to the next coupon (for the last period: clean price 100 whatever the yield).
    """
    coupon, ytm = 0.05, 0.06
    maturity, effective = D("2034-08-31"), D("2029-08-31")
    bond, dc = _ql_bond(coupon, maturity, effective, bm.DC_30_360)
    days = [_accrued_days_30360(cf.amount(), coupon) for cf in bond.cashflows()[:6]]
    assert days == [178.0, 183.0, 178.0, 183.0, 179.0, 182.0]  # 180 every time on the street

    # Accrual: the same 30/360 bond-basis day count as QuantLib, until the 180-day cap.
    for settle, ql_days, our_days in [
        ("2030-03-15", 17, 17),
        ("2030-08-27", 179, 179),
        ("2030-08-28", 180, 180),
        ("2030-08-29", 181, 180),  # ours capped at one coupon
        ("2030-08-30", 182, 180),
        ("2030-09-15", 15, 15),
    ]:
        s = _set_evaluation_date(D(settle))
        assert _accrued_days_30360(bond.accruedAmount(s), coupon) == ql_days
        ours = float(bm.accrued_interest(coupon, maturity, D(settle), bm.DC_30_360))
        assert _accrued_days_30360(ours, coupon) == our_days

    # Prices therefore differ by far more than rounding (here about 0.016 per 100).
    s = _set_evaluation_date(D("2030-03-15"))
    theirs = bond.cleanPrice(ytm, dc, ql.Compounded, ql.Semiannual, s)
    ours = float(bm.clean_price(coupon, maturity, D("2030-03-15"), ytm, bm.DC_30_360))
    assert ours == pytest.approx(96.13950763928533, abs=1e-9)
    assert theirs == pytest.approx(96.12347935080929, abs=1e-9)

    # Last period: one calendar day before maturity, 180 30/360 days accrued, no yield dependence.
    last = (coupon, D("2041-08-29"), D("2041-08-28"))
    assert float(bm.accrued_interest(*last, bm.DC_30_360)) == pytest.approx(2.5, abs=1e-12)
    assert float(bm.clean_price(*last, 0.01, bm.DC_30_360)) == pytest.approx(100.0, abs=1e-12)
    assert float(bm.clean_price(*last, 0.30, bm.DC_30_360)) == pytest.approx(100.0, abs=1e-12)
    assert float(bm.modified_duration(*last, 0.05, bm.DC_30_360)) == 0.0


def test_30360_eom_accrual_from_end_of_february_is_bond_basis_not_sia_us() -> None:
    """bondmath side, convention choice: no February rule for end-of-month 30/360 bonds.

    bondmath implements 30/360 "bond basis" as in ISDA 2006 section 4.16(f) (QuantLib's
    ``Thirty360.BondBasis``): D1 = 31 -> 30; D2 = 31 and D1 = 30 -> 30. The US street convention
    for corporates, SIA *Standard Securities Calculation Methods* 30/360 (QuantLib's
    ``Thirty360.USA``; Bloomberg's US 30/360) adds the end-of-month rules: for an end-of-month
    bond, if D1 is the last day of February, D1 -> 30 (and D2 -> 30 if D2 is too). The two
    differ only for end-of-month bonds accruing from the last day of February: bondmath counts
    Feb 28 -> Mar 15 as 17 days (16 from Feb 29) where SIA counts 15, Feb 28 -> Mar 31 as 33
    days where SIA counts 30, and stops at the 180-day cap on Aug 28 where SIA reaches 180 days
    on Aug 30. In the synthetic universe this concerns the corporates maturing on Feb 28 of a
    non-leap year (end-of-month bonds): 4 of the 2000 of the default universe.
    """
    coupon, maturity, effective = 0.05, D("2034-08-31"), D("2029-08-31")
    sia, _ = _ql_bond(coupon, maturity, effective, bm.DC_30_360, thirty_360=ql.Thirty360.USA)
    bond_basis, _ = _ql_bond(coupon, maturity, effective, bm.DC_30_360)
    for settle, our_days, sia_days in [
        ("2030-03-01", 3, 1),
        ("2030-03-15", 17, 15),
        ("2030-03-31", 33, 30),
        ("2032-03-15", 16, 15),  # from Feb 29
        ("2030-08-27", 179, 177),
        ("2030-08-29", 180, 179),
        ("2030-09-15", 15, 15),  # from Aug 31: no difference
        ("2031-02-27", 177, 177),
    ]:
        s = _set_evaluation_date(D(settle))
        ours = _accrued_days_30360(float(bm.accrued_interest(coupon, maturity, D(settle), bm.DC_30_360)), coupon)
        assert ours == our_days
        assert _accrued_days_30360(sia.accruedAmount(s), coupon) == sia_days
        if our_days < 180:
            assert _accrued_days_30360(bond_basis.accruedAmount(s), coupon) == our_days


def test_last_coupon_period_is_compounded_not_money_market() -> None:
    """bondmath side, by design: no money-market yield in the last coupon period.

    SIA street convention (and the US Treasury's own formula) prices a bond in its final coupon
    period with simple interest, ``dirty = (100 + c/2) / (1 + w * y / 2)``, where ``w`` is the
    fraction of the period left. bondmath keeps the compounded formula ``(1 + y/2) ** -w`` in the
    last period too (documented in its module docstring), exactly QuantLib with ``ql.Compounded``,
    which is what the bulk comparison checks. With ``ql.SimpleThenCompounded`` QuantLib gives the
    money-market price; the difference is a fraction of a basis point of yield.
    """
    coupon, ytm = 0.04, 0.045
    maturity, settle = D("2027-05-15"), D("2027-02-01")
    bond, dc = _ql_bond(coupon, maturity, D("2025-05-15"), bm.DC_ACT_ACT)
    s = _set_evaluation_date(settle)
    ours = float(bm.clean_price(coupon, maturity, settle, ytm, bm.DC_ACT_ACT))
    accrued = float(bm.accrued_interest(coupon, maturity, settle, bm.DC_ACT_ACT))
    w = 103 / 181  # 2027-02-01 -> 2027-05-15 over 2026-11-15 -> 2027-05-15
    compounded = bond.cleanPrice(ytm, dc, ql.Compounded, ql.Semiannual, s)
    money_market = bond.cleanPrice(ytm, dc, ql.SimpleThenCompounded, ql.Semiannual, s)
    assert ours == pytest.approx(compounded, abs=PRICE_ATOL)
    assert ours == pytest.approx(102.0 * (1.0 + ytm / 2.0) ** -w - accrued, abs=PRICE_ATOL)
    assert money_market == pytest.approx(102.0 / (1.0 + w * ytm / 2.0) - accrued, abs=PRICE_ATOL)
    assert ours - money_market == pytest.approx(0.0061075, abs=1e-6)
    # Our yield for the money-market price is ~0.22 bp above the money-market yield.
    assert float(bm.yield_from_price(coupon, maturity, settle, money_market, bm.DC_ACT_ACT)) == pytest.approx(
        0.0452179378797284, abs=1e-12
    )


def test_odd_first_coupon_period_is_not_modelled() -> None:
    """bondmath side, API limitation: no dated (issue) date, so no odd first coupon.

    bondmath runs coupon dates back from maturity and knows no issue date: a bond settling in an
    odd first coupon period is treated as if it had a regular previous coupon. On the street (SIA,
    QuantLib with the schedule starting at the dated date) interest accrues from the dated date and
    a short first coupon pays pro rata. Here (30/360, 5%, dated 2026-03-03, first coupon
    2026-06-15, settling 2026-04-01) bondmath accrues 106 days from the quasi-coupon date
    2025-12-15 (1.4722 per 100) where the street accrues 28 days from the dated date (0.3889), and
    the first coupon is 1.4167 instead of 2.5. bondmath equals QuantLib with the schedule started on
    the quasi-coupon date. The universe's bonds are issued on a coupon date (the bulk comparison
    settles from the first regular period on), except end-of-month corporates issued on Feb 28 of
    a leap year, whose first coupon is the next day, Feb 29.
    """
    coupon, ytm = 0.05, 0.06
    maturity, settle = D("2031-06-15"), D("2026-04-01")
    dated, _ = _ql_bond(coupon, maturity, D("2026-03-03"), bm.DC_30_360)
    regular, dc = _ql_bond(coupon, maturity, D("2025-12-15"), bm.DC_30_360)
    s = _set_evaluation_date(settle)
    assert dated.cashflows()[0].amount() == pytest.approx(5.0 * 102 / 360, abs=1e-12)
    ours_accrued = float(bm.accrued_interest(coupon, maturity, settle, bm.DC_30_360))
    assert ours_accrued == pytest.approx(2.5 * 106 / 180, abs=ACCRUED_ATOL)
    assert ours_accrued == pytest.approx(regular.accruedAmount(s), abs=ACCRUED_ATOL)
    assert dated.accruedAmount(s) == pytest.approx(5.0 * 28 / 360, abs=ACCRUED_ATOL)
    ours = float(bm.clean_price(coupon, maturity, settle, ytm, bm.DC_30_360))
    assert ours == pytest.approx(regular.cleanPrice(ytm, dc, ql.Compounded, ql.Semiannual, s), abs=PRICE_ATOL)
    assert dated.cleanPrice(ytm, dc, ql.Compounded, ql.Semiannual, s) - ours == pytest.approx(0.0130849, abs=1e-6)
