from __future__ import annotations

import copy
import pickle
from dataclasses import fields, replace
from datetime import date

import numpy as np
import pytest

from server.domain import bondmath
from server.domain.bonds import HY_RATINGS, IG_RATINGS, RATINGS, DayCount, InstrumentKind
from server.domain.errors import InvalidInput, NotFound
from server.domain.identifiers import cusip_to_isin, make_cusip, validate_cusip, validate_isin
from server.market.curve import default_curve
from server.market.liquidity import (
    HIGH,
    LIQUIDITY_BUCKETS,
    LOW,
    MID,
    liquidity_bucket,
    liquidity_bucket_names,
    liquidity_score,
)
from server.market.universe import (
    GOVERNMENT_SECTOR,
    RATING_SPREAD_BP,
    SECTORS,
    MarketSnapshot,
    Universe,
    UniverseConfig,
    build_universe,
)


@pytest.fixture(scope="module")
def u() -> Universe:
    return build_universe(UniverseConfig())


@pytest.fixture(scope="module")
def mkt(u: Universe) -> MarketSnapshot:
    return u.initial_market()


def _settle(u: Universe) -> np.datetime64:
    return np.datetime64(u.as_of, "D")


# ---- construction, determinism -----------------------------------------------------------


def _assert_same(a: Universe, b: Universe) -> None:
    assert a.bonds == b.bonds
    assert a.treasuries == b.treasuries
    assert a.issuers == b.issuers
    assert a.etfs == b.etfs
    for name in ("coupon", "maturity", "issue_date", "day_count", "frequency", "amount_outstanding",
                 "min_piece", "increment", "rating_idx", "sector_idx", "issuer_idx", "is_hy"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    ma, mb = a.initial_market(), b.initial_market()
    for name in ("mid_price", "mid_yield", "spread_bp", "liquidity_score"):
        np.testing.assert_array_equal(getattr(ma, name), getattr(mb, name), err_msg=name)
    assert ma.etf_nav == mb.etf_nav


def test_same_config_same_universe(u: Universe) -> None:
    _assert_same(u, build_universe(UniverseConfig()))
    _assert_same(u, build_universe())


def test_different_seeds_differ(u: Universe) -> None:
    other = build_universe(UniverseConfig(seed=8))
    assert other.bonds != u.bonds
    assert not np.array_equal(other.coupon, u.coupon)
    assert [i.name for i in other.issuers] != [i.name for i in u.issuers]


def test_components_have_independent_streams(u: Universe) -> None:
    small = build_universe(UniverseConfig(n_bonds=500))
    # issuers do not depend on the number of bonds, Treasuries on nothing random
    assert small.issuers == u.issuers
    assert small.treasuries == u.treasuries


def test_sizes(u: Universe, mkt: MarketSnapshot) -> None:
    n = len(u.bonds)
    assert n == 2000 == u.n_bonds
    assert len(u.treasuries) == 4
    assert u.n_instruments == 2004
    assert len(u.issuers) == 320
    for name in ("coupon", "maturity", "issue_date", "day_count", "frequency", "amount_outstanding",
                 "min_piece", "increment", "rating_idx", "sector_idx", "issuer_idx", "is_hy"):
        assert getattr(u, name).shape == (n,), name
    assert u.maturity.dtype == np.dtype("datetime64[D]")
    assert u.day_count.dtype == np.int8
    assert u.amount_outstanding.dtype == np.int64
    assert len(mkt) == 2004
    for arr in (mkt.mid_price, mkt.mid_yield, mkt.spread_bp, mkt.liquidity_score):
        assert arr.shape == (2004,)
        assert np.isfinite(arr).all()
    # every issuer has at least one bond
    assert np.bincount(u.issuer_idx, minlength=320).min() >= 1
    assert u.as_of == date(2026, 11, 20)
    assert u.curve == default_curve()


def test_arrays_are_read_only(u: Universe, mkt: MarketSnapshot) -> None:
    with pytest.raises(ValueError):
        u.coupon[0] = 0.0
    with pytest.raises(ValueError):
        mkt.mid_price[0] = 0.0


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        UniverseConfig(n_bonds=0)
    with pytest.raises(ValueError):
        UniverseConfig(n_issuers=0)
    with pytest.raises(ValueError):
        UniverseConfig(hy_fraction=1.2)


# ---- identifiers ---------------------------------------------------------------------------


def test_identifiers_valid_and_unique(u: Universe) -> None:
    cusips = [b.cusip for b in u.instruments]
    isins = [b.isin for b in u.instruments]
    assert len(set(cusips)) == len(cusips)
    assert len(set(isins)) == len(isins)
    for b in u.instruments:
        assert validate_cusip(b.cusip) == b.cusip
        assert validate_isin(b.isin) == b.isin
        assert b.isin == cusip_to_isin(b.cusip)
        assert b.isin.startswith("US")


def test_issuer_prefixes(u: Universe) -> None:
    prefixes = [i.cusip6 for i in u.issuers]
    assert len(set(prefixes)) == len(prefixes)
    tickers = [i.ticker for i in u.issuers]
    assert len(set(tickers)) == len(tickers)
    assert all(3 <= len(t) <= 4 and t.isalpha() and t.isupper() for t in tickers)
    assert len({i.name for i in u.issuers}) == len(u.issuers)
    for b, k in zip(u.bonds, u.issuer_idx, strict=True):
        iss = u.issuers[int(k)]
        assert b.cusip[:6] == iss.cusip6
        assert b.ticker == iss.ticker and b.issuer == iss.name and b.sector == iss.sector
    for t in u.treasuries:
        assert t.cusip.startswith("91282C")


# ---- bond terms ------------------------------------------------------------------------------


def test_grade_share_and_ratings(u: Universe) -> None:
    assert u.is_hy.mean() == pytest.approx(0.28, abs=0.01)
    ratings = [b.rating for b in u.bonds]
    assert ratings == [RATINGS[int(r)] for r in u.rating_idx]
    np.testing.assert_array_equal(u.is_hy, [r in HY_RATINGS for r in ratings])
    # a bond's rating stays within its issuer's grade, at most one letter away
    for b, k in zip(u.bonds, u.issuer_idx, strict=True):
        base = u.issuers[int(k)].rating
        assert (base in HY_RATINGS) == (b.rating in HY_RATINGS)
        assert abs(RATINGS.index(base) - RATINGS.index(b.rating)) <= 1
    # all ratings and all sectors occur
    assert set(ratings) == set(RATINGS)
    assert set(np.unique(u.sector_idx)) == set(range(len(SECTORS)))
    assert [b.sector for b in u.bonds] == [SECTORS[int(s)] for s in u.sector_idx]


def test_dates_and_maturity_profile(u: Universe) -> None:
    settle = _settle(u)
    assert (u.issue_date < settle).all()
    assert (u.issue_date >= settle - np.timedelta64(3653, "D")).all()
    assert (u.maturity > u.issue_date).all()
    ttm = bondmath.time_to_maturity(u.maturity, settle)
    np.testing.assert_allclose(u.ttm, ttm)
    assert ttm.min() >= 0.9 and ttm.max() <= 30.1
    tenor = (u.maturity - u.issue_date).astype(np.float64) / 365.25
    hy_tenor = tenor[u.is_hy]
    assert np.mean((hy_tenor >= 2.9) & (hy_tenor <= 10.1)) > 0.9
    assert ttm[u.is_hy].max() <= 10.1
    assert ttm[~u.is_hy].max() > 25.0  # IG has long bonds
    assert np.median(ttm[~u.is_hy]) > np.median(ttm[u.is_hy])
    assert [b.maturity for b in u.bonds] == u.maturity.astype(object).tolist()
    assert [b.issue_date for b in u.bonds] == u.issue_date.astype(object).tolist()


def test_coupons_amounts_denominations(u: Universe) -> None:
    eighths = u.coupon * 800.0
    np.testing.assert_allclose(eighths, np.round(eighths), atol=1e-9)
    np.testing.assert_allclose([b.coupon for b in u.bonds], u.coupon * 100.0)
    assert (u.coupon > 0).all()
    ig, hy = ~u.is_hy, u.is_hy
    amt = u.amount_outstanding
    assert amt[ig].min() >= 250_000_000 and amt[ig].max() <= 4_000_000_000
    assert amt[hy].min() >= 300_000_000 and amt[hy].max() <= 1_500_000_000
    assert 500e6 < np.median(amt[ig]) < 1.5e9
    assert (u.min_piece[ig] == 1_000).all()
    assert np.isin(u.min_piece[hy], (1_000, 2_000)).all()
    assert np.mean(u.min_piece[hy] == 2_000) > 0.7
    assert (u.increment == 1_000).all()
    assert (u.day_count == bondmath.DC_30_360).all() and (u.frequency == 2).all()
    assert all(b.day_count is DayCount.THIRTY_360 and b.kind is InstrumentKind.CORPORATE for b in u.bonds)
    assert [b.amount_outstanding for b in u.bonds] == amt.tolist()


def test_spreads_by_rating_near_calibration(u: Universe, mkt: MarketSnapshot) -> None:
    spread = mkt.spread_bp[: u.n_bonds]
    for k, rating in enumerate(RATINGS):
        med = float(np.median(spread[u.rating_idx == k]))
        target = RATING_SPREAD_BP[rating]
        assert abs(med / target - 1.0) <= 0.35, (rating, med, target)
    # ordered by rating, wider for HY
    medians = [np.median(spread[u.rating_idx == k]) for k in range(len(RATINGS))]
    assert medians == sorted(medians)
    # bond-level dispersion exists but is moderate within a rating
    bbb = spread[u.rating_idx == RATINGS.index("BBB")]
    assert 0.1 < np.std(np.log(bbb)) < 0.5


def test_ig_term_tilt(u: Universe, mkt: MarketSnapshot) -> None:
    ig = ~u.is_hy
    spread = mkt.spread_bp[: u.n_bonds]
    # compare within one rating so the rating mix does not interfere
    a = ig & (u.rating_idx == RATINGS.index("A"))
    short = np.median(spread[a & (u.ttm < 4)])
    long = np.median(spread[a & (u.ttm > 15)])
    assert long > short


def test_durations(u: Universe, mkt: MarketSnapshot) -> None:
    n = u.n_bonds
    md = bondmath.modified_duration(
        u.coupon, u.maturity, _settle(u), mkt.mid_yield[:n], u.day_count, u.frequency
    )
    assert 5.0 <= np.median(md[~u.is_hy]) <= 9.0
    assert 2.5 <= np.median(md[u.is_hy]) <= 5.0
    # ETF-level durations near LQD ~8.4 and HYG ~3.3-3.8
    lqd = float(np.dot(md[u.etf_holdings_idx["LQD"]], u.etf_weights["LQD"]))
    hyg = float(np.dot(md[u.etf_holdings_idx["HYG"]], u.etf_weights["HYG"]))
    assert 7.0 <= lqd <= 9.5
    assert 2.8 <= hyg <= 4.5


# ---- pricing ---------------------------------------------------------------------------------


def test_mid_yield_is_curve_plus_spread(u: Universe, mkt: MarketSnapshot) -> None:
    ttm = bondmath.time_to_maturity(u.all_maturity, _settle(u))
    np.testing.assert_allclose(mkt.mid_yield, u.curve.yield_at(ttm) + mkt.spread_bp * 1e-4, atol=1e-15)
    assert (mkt.spread_bp[u.n_bonds :] == 0.0).all()
    assert (mkt.spread_bp[: u.n_bonds] > 0.0).all()


def test_mid_price_round_trips_through_yield(u: Universe, mkt: MarketSnapshot) -> None:
    y = bondmath.yield_from_price(
        u.all_coupon, u.all_maturity, _settle(u), mkt.mid_price, u.all_day_count, u.all_frequency
    )
    np.testing.assert_allclose(y, mkt.mid_yield, atol=1e-10)
    p = bondmath.clean_price(u.all_coupon, u.all_maturity, _settle(u), mkt.mid_yield, u.all_day_count,
                             u.all_frequency)
    np.testing.assert_allclose(p, mkt.mid_price, atol=1e-10)
    assert mkt.mid_price.min() > 40.0 and mkt.mid_price.max() < 140.0


def test_from_spreads_reprices(u: Universe, mkt: MarketSnapshot) -> None:
    wider = MarketSnapshot.from_spreads(u, mkt.spread_bp + 10.0, mkt.liquidity_score)
    assert (wider.mid_price < mkt.mid_price).all()
    np.testing.assert_allclose(wider.mid_yield - mkt.mid_yield, 0.001, atol=1e-15)
    # 10 bp wider costs about 10 x DV01
    dv01 = bondmath.dv01(u.all_coupon, u.all_maturity, _settle(u), mkt.mid_yield, u.all_day_count,
                         u.all_frequency)
    np.testing.assert_allclose(mkt.mid_price - wider.mid_price, 10.0 * dv01, rtol=0.02)
    with pytest.raises(ValueError):
        MarketSnapshot.from_spreads(u, mkt.spread_bp[:10], mkt.liquidity_score)


def test_quote_for(u: Universe, mkt: MarketSnapshot) -> None:
    q = mkt.quote_for(5)
    assert q == {
        "mid_price": pytest.approx(mkt.mid_price[5]),
        "mid_yield": pytest.approx(mkt.mid_yield[5] * 100.0),
        "spread_bp": pytest.approx(mkt.spread_bp[5]),
        "liquidity_score": pytest.approx(mkt.liquidity_score[5]),
    }
    assert 0.5 < q["mid_yield"] < 30.0
    tq = mkt.quote_for(u.n_bonds + 2)
    assert tq["spread_bp"] == 0.0 and tq["liquidity_score"] >= 99.0
    with pytest.raises(IndexError):
        mkt.quote_for(u.n_instruments)
    with pytest.raises(IndexError):
        mkt.quote_for(-1)


def test_custom_curve_moves_yields(u: Universe, mkt: MarketSnapshot) -> None:
    shifted = build_universe(UniverseConfig(curve=default_curve().shifted(100.0)))
    np.testing.assert_allclose(shifted.initial_market().mid_yield - mkt.mid_yield, 0.01, atol=1e-12)
    np.testing.assert_array_equal(shifted.initial_market().spread_bp, mkt.spread_bp)


# ---- Treasuries --------------------------------------------------------------------------------


def test_treasuries(u: Universe, mkt: MarketSnapshot) -> None:
    settle = _settle(u)
    for k, (t, tenor) in enumerate(zip(u.treasuries, (2, 5, 10, 30), strict=True)):
        assert t.kind is InstrumentKind.TREASURY
        assert t.day_count is DayCount.ACT_ACT
        assert (t.rating, t.issuer, t.ticker, t.sector) == ("AAA", "US Treasury", "T", GOVERNMENT_SECTOR)
        assert t.issue_date < u.as_of
        assert (u.as_of - t.issue_date).days < 100
        assert abs((t.maturity - t.issue_date).days / 365.25 - tenor) < 0.01
        i = u.n_bonds + k
        assert u.instrument(i) is t
        ttm = float(bondmath.time_to_maturity(np.datetime64(t.maturity), settle))
        y = float(u.curve.yield_at(ttm))
        assert mkt.mid_yield[i] == pytest.approx(y)
        assert 0.0 <= y * 100.0 - t.coupon < 0.125 + 0.05  # coupon: yield at issue rounded down to 1/8
        assert 95.0 < mkt.mid_price[i] <= 100.5
        assert mkt.liquidity_score[i] >= 99.0
    assert (u.all_day_count[u.n_bonds :] == bondmath.DC_ACT_ACT).all()


# ---- liquidity ---------------------------------------------------------------------------------


def test_liquidity_distribution(u: Universe, mkt: MarketSnapshot) -> None:
    liq = mkt.liquidity_score[: u.n_bonds]
    assert liq.min() >= 1.0 and liq.max() <= 100.0
    assert liq.min() < 8.0 and liq.max() > 95.0
    assert 45.0 <= np.median(liq) <= 55.0
    assert np.corrcoef(np.log(u.amount_outstanding), liq)[0, 1] > 0.3
    assert np.corrcoef(u.age, liq)[0, 1] < -0.2
    assert np.corrcoef(u.ttm, liq)[0, 1] < 0.0
    assert np.median(liq[u.is_hy]) < np.median(liq[~u.is_hy])
    new_big_ig = (~u.is_hy) & (u.amount_outstanding >= 2_000_000_000) & (u.age < 1.0)
    assert new_big_ig.sum() >= 20
    assert np.mean(liq[new_big_ig] > 80.0) >= 0.75
    np.testing.assert_array_equal(u.base_liquidity, mkt.liquidity_score)


def test_liquidity_score_monotone_in_each_driver() -> None:
    base = {"amount_outstanding": 1e9, "age_years": 2.0, "ttm_years": 7.0, "is_hy": False, "noise": 0.0}

    def score(**kw: object) -> float:
        args = {**base, **kw}
        return float(liquidity_score(**args))  # type: ignore[arg-type]

    s0 = score()
    assert score(amount_outstanding=3e9) > s0 > score(amount_outstanding=3e8)
    assert score(age_years=0.1) > s0 > score(age_years=8.0)
    assert score(ttm_years=2.0) > s0 > score(ttm_years=28.0)
    assert score(is_hy=True) < s0
    assert score(noise=1.0) > s0 > score(noise=-1.0)


def test_liquidity_score_bounds_and_vectorization() -> None:
    n = 1000
    rng = np.random.default_rng(0)
    s = liquidity_score(
        rng.uniform(1e6, 1e11, n), rng.uniform(0, 40, n), rng.uniform(0, 50, n), rng.random(n) < 0.5,
        rng.standard_normal(n) * 10,
    )
    assert s.shape == (n,)
    assert (s >= 1.0).all() and (s <= 100.0).all()
    extreme = liquidity_score([1e12, 1e3], [0.0, 50.0], [0.1, 50.0], [False, True], [10.0, -10.0])
    assert extreme[0] > 99.0 and extreme[1] < 2.0


def test_liquidity_buckets() -> None:
    scores = np.array([1.0, 39.99, 40.0, 69.99, 70.0, 100.0])
    np.testing.assert_array_equal(liquidity_bucket(scores), [LOW, LOW, MID, MID, HIGH, HIGH])
    assert LIQUIDITY_BUCKETS == ("low", "mid", "high")
    assert liquidity_bucket_names(scores).tolist() == ["low", "low", "mid", "mid", "high", "high"]
    assert int(liquidity_bucket(75.0)) == HIGH


# ---- ETFs ----------------------------------------------------------------------------------


def test_etf_holdings_rules(u: Universe, mkt: MarketSnapshot) -> None:
    assert set(u.etfs) == {"LQD", "HYG"}
    lqd_rule = (~u.is_hy) & (u.amount_outstanding >= 750_000_000) & (u.ttm >= 3.0)
    hyg_rule = u.is_hy & (u.amount_outstanding >= 400_000_000) & (u.ttm >= 1.0)
    for ticker, rule in (("LQD", lqd_rule), ("HYG", hyg_rule)):
        etf = u.etfs[ticker]
        idx = u.etf_holdings_idx[ticker]
        np.testing.assert_array_equal(idx, np.flatnonzero(rule))
        assert etf.holdings == tuple(u.bonds[int(i)].cusip for i in idx)
        assert len(etf.holdings) > 200
        w = np.asarray(etf.weights)
        assert (w > 0).all()
        assert w.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(u.etf_weights[ticker], w)
        # market-value weights: proportional to amount x dirty price
        settle = _settle(u)
        dirty = mkt.mid_price[idx] + bondmath.accrued_interest(
            u.coupon[idx], u.maturity[idx], settle, u.day_count[idx], u.frequency[idx]
        )
        mv = u.amount_outstanding[idx] * dirty
        np.testing.assert_allclose(w, mv / mv.sum(), rtol=1e-9)
    assert all(u.bonds[int(i)].rating in IG_RATINGS for i in u.etf_holdings_idx["LQD"])
    assert u.etfs["LQD"].half_spread_bp == 0.5
    assert u.etfs["HYG"].half_spread_bp == 0.75
    assert mkt.etf_nav == {"LQD": 110.0, "HYG": 80.0}
    assert mkt.etf_price == mkt.etf_nav


def test_all_ig_universe_has_empty_hyg() -> None:
    v = build_universe(UniverseConfig(n_bonds=120, n_issuers=30, hy_fraction=0.0))
    assert not v.is_hy.any()
    assert v.etfs["HYG"].holdings == () and v.etfs["HYG"].weights == ()
    assert len(v.etfs["LQD"].holdings) > 0
    w = build_universe(UniverseConfig(n_bonds=50, n_issuers=80, hy_fraction=1.0))
    assert w.is_hy.all() and len(w.bonds) == 50


# ---- lookup --------------------------------------------------------------------------------------


def test_index_of_by_cusip_and_isin(u: Universe) -> None:
    for i in (0, 17, 1999, 2000, 2003):
        b = u.instrument(i)
        assert u.index_of(b.cusip) == i
        assert u.index_of(b.isin) == i
        assert u.index_of(f"  {b.cusip.lower()} ") == i
        assert u.bond(b.isin) is b
    with pytest.raises(IndexError):
        u.instrument(2004)


def test_wrong_check_digit_names_expected_digit(u: Universe) -> None:
    good = u.bonds[3].cusip
    bad = good[:8] + str((int(good[8]) + 1) % 10)
    with pytest.raises(InvalidInput) as ei:
        u.index_of(bad, field="lines[3].identifier")
    assert ei.value.field == "lines[3].identifier"
    assert f"expected {good[8]}" in ei.value.reason
    good_isin = u.bonds[3].isin
    bad_isin = good_isin[:11] + str((int(good_isin[11]) + 1) % 10)
    with pytest.raises(InvalidInput) as ei2:
        u.index_of(bad_isin)
    assert f"expected {good_isin[11]}" in ei2.value.reason
    assert ei2.value.field == "identifier"
    # the worked example's misprinted identifiers
    with pytest.raises(InvalidInput, match="expected 7"):
        u.index_of("254687DC3")
    with pytest.raises(InvalidInput, match="expected 1"):
        u.index_of("023135AG9")
    with pytest.raises(InvalidInput):
        u.index_of("12345")


def test_unknown_valid_identifier_is_not_found(u: Universe) -> None:
    cusip = make_cusip("88579YAA")
    with pytest.raises(NotFound) as ei:
        u.index_of(cusip, field="cusip")
    assert ei.value.field == "cusip"
    assert ei.value.reason == f"no instrument with CUSIP {cusip}"
    with pytest.raises(NotFound, match="no instrument with ISIN"):
        u.index_of(cusip_to_isin(cusip))
    with pytest.raises(NotFound):
        u.bond(cusip)


# ---- search --------------------------------------------------------------------------------------


def test_search_by_ticker_issuer_and_identifier(u: Universe) -> None:
    b = u.bonds[100]
    by_ticker = u.search(b.ticker.lower(), limit=10_000)
    assert b in by_ticker
    assert all(x.ticker.startswith(b.ticker) or b.ticker in x.issuer.upper()
               or x.cusip.startswith(b.ticker) for x in by_ticker)
    same_issuer = [x for x in u.bonds if x.ticker == b.ticker]
    assert set(same_issuer) <= set(by_ticker)
    word = b.issuer.split()[0]
    by_name = u.search(word.upper(), limit=10_000)
    assert b in by_name and all(word.lower() in x.issuer.lower() or x.ticker.startswith(word.upper())
                                for x in by_name)
    assert u.search(b.cusip[:8]) == [b]
    assert u.search(b.isin.lower()) == [b]
    assert u.search(b.cusip[:6], limit=10_000) == [x for x in u.bonds if x.cusip[:6] == b.cusip[:6]]
    assert u.search("zzzzzzzz") == []


def test_search_filters_and_pagination(u: Universe) -> None:
    everything = u.search(limit=100_000)
    assert everything == list(u.instruments)
    assert len(u.search()) == 50
    bb = u.search(rating="bb", limit=100_000)
    assert bb and all(x.rating == "BB" for x in bb)
    assert len(bb) == int((u.rating_idx == RATINGS.index("BB")).sum())
    energy_hy = u.search(sector="energy", grade="hy", limit=100_000)
    assert energy_hy and all(x.sector == "Energy" and x.grade == "HY" for x in energy_hy)
    ig = u.search(grade="IG", limit=100_000)
    assert len(ig) == int((~u.is_hy).sum()) + len(u.treasuries)
    gov = u.search(sector="Government")
    assert gov == list(u.treasuries)
    assert u.search("T", sector="Government") == list(u.treasuries)
    page = u.search(grade="HY", limit=25, offset=50)
    assert page == u.search(grade="HY", limit=100_000)[50:75]
    assert u.search(limit=0) == []
    assert u.search(offset=10**6) == []
    with pytest.raises(InvalidInput) as ei:
        u.search(rating="A+")
    assert ei.value.field == "rating"
    with pytest.raises(InvalidInput):
        u.search(sector="Crypto")
    with pytest.raises(InvalidInput):
        u.search(grade="junk")
    with pytest.raises(InvalidInput):
        u.search(limit=-1)


def _moved(mkt: MarketSnapshot, bp: float) -> MarketSnapshot:
    """``mkt`` with every price ``bp`` bp higher (yield and spread left alone: only the mids matter here)."""
    return mkt.with_mids(mkt.mid_price * (1.0 + bp * 1e-4), mkt.mid_yield, mkt.spread_bp)


def test_with_mids_names_its_basis_and_shares_the_rest(mkt: MarketSnapshot) -> None:
    assert mkt.basis is None
    moved = _moved(mkt, 3.0)
    assert moved.basis is mkt
    assert moved.mid_yield is mkt.mid_yield and moved.spread_bp is mkt.spread_bp  # read-only: taken as given
    for name in ("as_of", "curve", "liquidity_score", "etf_nav", "etf_price"):
        assert getattr(moved, name) is getattr(mkt, name), name
    assert not moved.mid_price.flags.writeable
    np.testing.assert_allclose(moved.mid_price / mkt.mid_price - 1.0, 3e-4, rtol=1e-9)
    # Moved again: the basis is still the snapshot in its own right, one level up.
    again = _moved(moved, 1.0)
    assert again.basis is mkt
    # A writable input is copied, so the caller's array cannot change the snapshot.
    price = np.array(mkt.mid_price)
    copied = mkt.with_mids(price, mkt.mid_yield, mkt.spread_bp)
    price[0] += 1.0
    assert copied.mid_price[0] == mkt.mid_price[0] and not copied.mid_price.flags.writeable
    with pytest.raises(ValueError):
        mkt.with_mids(mkt.mid_price[:10], mkt.mid_yield, mkt.spread_bp)


def test_the_basis_is_kept_out_of_replace_repr_comparison_and_pickles(mkt: MarketSnapshot) -> None:
    moved = _moved(mkt, -2.0)
    # replace may change anything (an ETF price, the liquidity): the result is a snapshot in its own right
    assert replace(moved, etf_price={"LQD": 100.0}).basis is None
    with pytest.raises(ValueError):
        replace(moved, basis=mkt)
    assert "basis" not in repr(moved)
    assert not next(f for f in fields(MarketSnapshot) if f.name == "basis").compare
    assert moved != _moved(mkt, -2.0) and moved == moved  # identity, as before
    back = pickle.loads(pickle.dumps(moved))
    assert back.basis is None
    np.testing.assert_array_equal(back.mid_price, moved.mid_price)
    assert len(pickle.dumps(moved)) < 1.5 * len(pickle.dumps(mkt))  # the basis's arrays are not in it
    assert copy.copy(moved).basis is None and copy.deepcopy(moved).basis is None
