from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from server.domain import bondmath
from server.market.curve import KEY_TENORS, key_rate_bump
from server.market.factors import (
    FACTOR_NAMES,
    HY,
    IG,
    N_FACTORS,
    RATES,
    SECTOR_OFFSET,
    FactorModel,
    FactorModelConfig,
)
from server.market.universe import SECTORS, MarketSnapshot, Universe, UniverseConfig, build_universe


@pytest.fixture(scope="module")
def u() -> Universe:
    return build_universe(UniverseConfig())


@pytest.fixture(scope="module")
def mkt(u: Universe) -> MarketSnapshot:
    return u.initial_market()


@pytest.fixture(scope="module")
def fm(u: Universe) -> FactorModel:
    return FactorModel(u)


@pytest.fixture(scope="module")
def settle(u: Universe) -> np.datetime64:
    return np.datetime64(u.as_of, "D")


def _diversified(u: Universe, pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random bonds of ``pool``, one per issuer."""
    perm = rng.permutation(pool)
    _, first = np.unique(u.issuer_idx[perm], return_index=True)
    picked = perm[np.sort(first)]
    assert len(picked) >= n
    return picked[:n]


# ---- names and covariance -----------------------------------------------------------------


def test_factor_names() -> None:
    assert FACTOR_NAMES[:6] == ("KR2", "KR5", "KR10", "KR30", "IG", "HY")
    assert FACTOR_NAMES[6:] == tuple(f"SEC_{s}" for s in SECTORS)
    assert len(FACTOR_NAMES) == N_FACTORS == 6 + len(SECTORS)
    assert FACTOR_NAMES[IG] == "IG" and FACTOR_NAMES[HY] == "HY"
    assert FACTOR_NAMES[SECTOR_OFFSET] == f"SEC_{SECTORS[0]}"


def test_cov_symmetric_psd_and_as_configured(fm: FactorModel) -> None:
    cfg = fm.config
    cov = fm.cov
    assert cov.shape == (N_FACTORS, N_FACTORS)
    assert fm.names == FACTOR_NAMES
    np.testing.assert_array_equal(cov, cov.T)
    assert np.linalg.eigvalsh(cov / cov.max())[0] > -1e-12
    vol = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(vol[RATES], cfg.rate_vols_bp)
    assert all(5.0 <= v <= 7.0 for v in vol[RATES])
    np.testing.assert_allclose(vol[[IG, HY]], [0.015, 0.020])
    np.testing.assert_allclose(vol[SECTOR_OFFSET:], 0.008)
    corr = cov / np.outer(vol, vol)
    for a, b in ((0, 1), (1, 2), (2, 3)):
        assert 0.85 <= corr[a, b] <= 0.9 + 1e-12
    assert corr[0, 3] == pytest.approx(0.6)
    assert corr[IG, HY] == pytest.approx(0.75)
    np.testing.assert_allclose(corr[RATES, IG], -0.3)
    np.testing.assert_allclose(corr[RATES, HY], -0.3)
    sec = corr[SECTOR_OFFSET:, :]
    np.testing.assert_allclose(sec[:, :SECTOR_OFFSET], 0.0)
    np.testing.assert_allclose(sec[:, SECTOR_OFFSET:], np.eye(len(SECTORS)))
    with pytest.raises(ValueError):
        fm.cov[0, 0] = 1.0  # read-only


def test_config_rejects_inconsistent_correlations() -> None:
    with pytest.raises(ValueError, match="positive semi-definite"):
        FactorModelConfig(ig_hy_corr=-1.0, rates_credit_corr=-0.9).covariance()
    with pytest.raises(ValueError):
        FactorModelConfig(rate_vols_bp=(6.0, 7.0))
    with pytest.raises(ValueError):
        FactorModelConfig(ig_vol=-0.01)
    with pytest.raises(ValueError):
        FactorModelConfig(rates_credit_corr=1.5)


# ---- exposures ----------------------------------------------------------------------------------


def test_exposure_shapes_and_loadings(u: Universe, mkt: MarketSnapshot, fm: FactorModel, settle: np.datetime64) -> None:
    idx = np.arange(u.n_instruments)
    x = fm.exposures(mkt, idx, settle)
    assert x.shape == (u.n_instruments, N_FACTORS)
    assert x.dtype == np.float64
    nb = u.n_bonds
    corp = x[:nb]
    assert np.all(corp[:, RATES] <= 0.0)
    assert np.all(corp[:, RATES].sum(axis=1) < 0.0)
    hy = u.is_hy
    assert np.all(corp[hy, HY] < 0.0) and np.all(corp[hy, IG] == 0.0)
    assert np.all(corp[~hy, IG] < 0.0) and np.all(corp[~hy, HY] == 0.0)
    # Sector column: the bond's own, equal to its grade loading; no other sector.
    own = corp[np.arange(nb), SECTOR_OFFSET + u.sector_idx.astype(np.int64)]
    np.testing.assert_allclose(own, np.where(hy, corp[:, HY], corp[:, IG]))
    assert np.count_nonzero(corp[:, SECTOR_OFFSET:], axis=1).max() == 1
    # Treasuries: rates only.
    tsy = x[nb:]
    assert np.all(tsy[:, RATES].sum(axis=1) < 0.0)
    np.testing.assert_array_equal(tsy[:, IG:], 0.0)
    # DTS: credit loading = -modified duration x spread.
    md = bondmath.modified_duration(u.coupon, u.maturity, settle, mkt.mid_yield[:nb], u.day_count, u.frequency)
    np.testing.assert_allclose(-np.where(hy, corp[:, HY], corp[:, IG]), md * mkt.spread_bp[:nb] * 1e-4, rtol=1e-12)


def test_longer_bonds_have_more_rate_exposure(u: Universe, mkt: MarketSnapshot, fm: FactorModel,
                                              settle: np.datetime64) -> None:
    tsy = np.arange(u.n_bonds, u.n_instruments)
    rate = -fm.exposures(mkt, tsy, settle)[:, RATES].sum(axis=1)
    assert np.all(np.diff(rate) > 0.0)  # 2y < 5y < 10y < 30y
    corp = np.arange(u.n_bonds)
    r = -fm.exposures(mkt, corp, settle)[:, RATES].sum(axis=1)
    assert r[u.ttm > 20.0].min() > r[u.ttm < 5.0].max()
    # Rank correlation with maturity is strong.
    rank = np.argsort(np.argsort(r))
    rank_t = np.argsort(np.argsort(u.ttm))
    assert np.corrcoef(rank, rank_t)[0, 1] > 0.9


def test_krd_sums_to_modified_duration(u: Universe, mkt: MarketSnapshot, fm: FactorModel,
                                       settle: np.datetime64) -> None:
    idx = np.arange(u.n_instruments)
    krd = fm.key_rate_durations(mkt, idx, settle)
    assert krd.shape == (u.n_instruments, 4)
    assert np.all(krd >= 0.0)
    md = bondmath.modified_duration(
        u.all_coupon, u.all_maturity, settle, mkt.mid_yield, u.all_day_count, u.all_frequency
    )
    np.testing.assert_allclose(krd.sum(axis=1), md, rtol=0.10)
    np.testing.assert_allclose(fm.exposures(mkt, idx, settle)[:, RATES], -krd * 1e-4)
    # The 10y Treasury's risk sits (almost all) at the 10y key rate.
    ten = u.n_bonds + 2
    assert krd[ten, 2] / krd[ten].sum() > 0.95


def test_krd_matches_bump_and_reprice(u: Universe, mkt: MarketSnapshot, fm: FactorModel,
                                      settle: np.datetime64) -> None:
    idx = np.arange(u.n_instruments)
    krd = fm.key_rate_durations(mkt, idx, settle)
    dirty = mkt.mid_price + bondmath.accrued_interest(
        u.all_coupon, u.all_maturity, settle, u.all_day_count, u.all_frequency
    )
    for k, tenor in enumerate(KEY_TENORS):
        bumped = MarketSnapshot.from_spreads(
            u, mkt.spread_bp, mkt.liquidity_score, curve=mkt.curve.shifted(key_rate_bump(tenor, 1.0))
        )
        fd = (mkt.mid_price - bumped.mid_price) / dirty * 1e4
        np.testing.assert_allclose(fd, krd[:, k], atol=2e-3, rtol=0.01)


def test_credit_exposure_matches_spread_reprice(u: Universe, mkt: MarketSnapshot, fm: FactorModel,
                                                settle: np.datetime64) -> None:
    nb = u.n_bonds
    x = fm.exposures(mkt, np.arange(nb), settle)
    move = 0.01  # every spread 1% wider
    wider = MarketSnapshot.from_spreads(u, mkt.spread_bp * (1.0 + move), mkt.liquidity_score)
    dirty = mkt.mid_price[:nb] + bondmath.accrued_interest(u.coupon, u.maturity, settle, u.day_count, u.frequency)
    ret = (wider.mid_price[:nb] - mkt.mid_price[:nb]) / dirty
    grade = np.where(u.is_hy, x[:, HY], x[:, IG])
    np.testing.assert_allclose(ret, grade * move, rtol=0.02, atol=1e-7)


def test_idio_var(u: Universe, mkt: MarketSnapshot, fm: FactorModel, settle: np.datetime64) -> None:
    idx = np.arange(u.n_instruments)
    var = fm.idio_var(mkt, idx, settle)
    assert var.shape == (u.n_instruments,)
    assert np.all(var[: u.n_bonds] > 0.0)
    np.testing.assert_array_equal(var[u.n_bonds:], 0.0)
    # Less liquid -> more idiosyncratic risk, all else equal.
    liq = np.array(mkt.liquidity_score)
    worse = MarketSnapshot.from_spreads(u, mkt.spread_bp, np.clip(liq - 30.0, 1.0, 100.0))
    v2 = fm.idio_var(worse, idx, settle)
    assert np.all(v2[: u.n_bonds] > var[: u.n_bonds])
    vol = fm.idio_vol(mkt)
    assert vol[: u.n_bonds].min() >= fm.config.idio_base_vol * 0.3
    assert np.all(vol[u.n_bonds:] == 0.0)


def test_settle_forms_and_cache(u: Universe, mkt: MarketSnapshot, fm: FactorModel, settle: np.datetime64) -> None:
    t1 = fm.exposure_table(mkt, settle)
    assert fm.exposure_table(mkt, u.as_of) is t1
    assert fm.exposure_table(mkt, u.as_of.isoformat()) is t1
    later = fm.exposure_table(mkt, settle + np.timedelta64(365, "D"))
    assert later is not t1
    # A year later every bond is a year shorter: less rate risk.
    assert later.krd[: u.n_bonds].sum() < t1.krd[: u.n_bonds].sum()
    with pytest.raises(ValueError):
        t1.exposures[0, 0] = 0.0
    with pytest.raises(IndexError):
        fm.exposures(mkt, [u.n_instruments], settle)
    with pytest.raises(IndexError):
        fm.exposures(mkt, [-1], settle)


# ---- ETFs and baskets ---------------------------------------------------------------------------


def test_etf_exposure(u: Universe, mkt: MarketSnapshot, fm: FactorModel, settle: np.datetime64) -> None:
    lqd, res_lqd = fm.etf_exposure(mkt, "LQD", settle)
    hyg, res_hyg = fm.etf_exposure(mkt, "HYG", settle)
    assert lqd.shape == (N_FACTORS,)
    assert lqd[IG] < 0.0 and lqd[HY] == 0.0
    assert hyg[HY] < 0.0 and hyg[IG] == 0.0
    assert np.all(lqd[RATES] < 0.0)
    # LQD is longer than HYG (duration about 8 vs 3.5): more rate risk per USD.
    assert lqd[RATES].sum() < hyg[RATES].sum()
    assert 6.0 < -lqd[RATES].sum() * 1e4 < 11.0
    assert 2.5 < -hyg[RATES].sum() * 1e4 < 5.0
    hold, w = u.etf_holdings_idx["LQD"], u.etf_weights["LQD"]
    np.testing.assert_allclose(lqd, w @ fm.exposures(mkt, hold, settle))
    prem = fm.config.etf_premium_vol**2
    idio = float(w**2 @ fm.idio_var(mkt, hold, settle))
    assert res_lqd == pytest.approx(idio + prem)
    assert res_hyg > prem
    lqd[0] = 0.0  # a copy: the cache is not touched
    assert fm.etf_exposure(mkt, "LQD", settle)[0][0] < 0.0
    with pytest.raises(KeyError):
        fm.etf_exposure(mkt, "SPY", settle)


def test_portfolio_variance(fm: FactorModel) -> None:
    e = np.zeros(N_FACTORS)
    e[2] = 1000.0  # 1000 USD per bp of 10y
    assert fm.portfolio_variance(e, 5.0) == pytest.approx(1000.0**2 * 6.5**2 + 5.0)
    rng = np.random.default_rng(3)
    e = rng.standard_normal(N_FACTORS)
    assert fm.portfolio_variance(e) == pytest.approx(float(e @ fm.cov @ e))
    with pytest.raises(ValueError):
        fm.portfolio_variance(np.zeros(3))


def test_basket_exposure_nets_duplicates(u: Universe, mkt: MarketSnapshot, fm: FactorModel,
                                         settle: np.datetime64) -> None:
    e, idio = fm.basket_exposure(mkt, [3, 3], [1e6, -1e6], settle)
    np.testing.assert_array_equal(e, 0.0)
    assert idio == 0.0
    e, idio = fm.basket_exposure(mkt, [3, 3, 7], [1e6, 1e6, 5e5], settle)
    x = fm.exposures(mkt, [3, 7], settle)
    v = fm.idio_var(mkt, [3, 7], settle)
    np.testing.assert_allclose(e, 2e6 * x[0] + 5e5 * x[1])
    assert idio == pytest.approx(4e12 * v[0] + 2.5e11 * v[1])


def test_r_squared_single_bonds(u: Universe, mkt: MarketSnapshot, fm: FactorModel, settle: np.datetime64) -> None:
    rng = np.random.default_rng(20)
    for hy, ticker in ((False, "LQD"), (True, "HYG")):
        pool = np.flatnonzero(u.is_hy == hy)
        sample = rng.choice(pool, 200, replace=False)
        r2 = np.array([fm.r_squared_vs_etf(mkt, [i], [1.0], ticker, settle) for i in sample])
        assert np.all((r2 > 0.0) & (r2 < 1.0))
        assert 0.3 <= r2.mean() <= 0.6, (ticker, r2.mean())


def test_r_squared_diversified_baskets(u: Universe, mkt: MarketSnapshot, fm: FactorModel,
                                       settle: np.datetime64) -> None:
    rng = np.random.default_rng(21)
    means = {}
    for hy, ticker in ((False, "LQD"), (True, "HYG")):
        pool = np.flatnonzero(u.is_hy == hy)
        r2 = [
            fm.r_squared_vs_etf(mkt, (b := _diversified(u, pool, 60, rng)), np.full(len(b), 1e6), ticker, settle)
            for _ in range(30)
        ]
        means[ticker] = float(np.mean(r2))
    assert 0.8 <= means["LQD"] <= 0.95, means
    assert 0.6 < means["HYG"] < means["LQD"], means


def test_r_squared_wrong_etf_and_premium(u: Universe, mkt: MarketSnapshot, fm: FactorModel,
                                         settle: np.datetime64) -> None:
    rng = np.random.default_rng(22)
    basket = _diversified(u, np.flatnonzero(~u.is_hy), 60, rng)
    w = np.full(60, 1e6)
    own = fm.r_squared_vs_etf(mkt, basket, w, "LQD", settle)
    other = fm.r_squared_vs_etf(mkt, basket, w, "HYG", settle)
    assert other < own  # IG basket hedged with HYG: only through the IG-HY correlation
    with_premium = fm.r_squared_vs_etf(mkt, basket, w, "LQD", settle, include_premium=True)
    assert with_premium < own
    # Sign does not matter for R-squared; the hedge flips.
    h_long = fm.etf_hedge(mkt, basket, w, "LQD", settle)
    h_short = fm.etf_hedge(mkt, basket, -w, "LQD", settle)
    assert h_short.r_squared == pytest.approx(h_long.r_squared)
    assert h_long.etf_usd > 0.0 > h_short.etf_usd
    # Treasuries have no credit risk: nothing to explain.
    tsy = fm.etf_hedge(mkt, [u.n_bonds], [1e6], "LQD", settle)
    assert tsy.r_squared == 0.0 and tsy.basket_var == 0.0


def test_basket_residual_much_lower_than_single_bond(u: Universe, mkt: MarketSnapshot, fm: FactorModel,
                                                     settle: np.datetime64) -> None:
    rng = np.random.default_rng(23)
    pool = np.flatnonzero(~u.is_hy)
    basket = _diversified(u, pool, 60, rng)
    per_usd_basket = fm.etf_hedge(mkt, basket, np.full(60, 1.0 / 60), "LQD", settle).residual_var
    single = [fm.etf_hedge(mkt, [i], [1.0], "LQD", settle).residual_var for i in basket]
    assert per_usd_basket < 0.1 * float(np.mean(single))
    # Residual = basket variance x (1 - R^2).
    h = fm.etf_hedge(mkt, basket, np.full(60, 1.0 / 60), "LQD", settle)
    assert h.residual_var == pytest.approx(h.basket_var * (1.0 - h.r_squared))


def test_config_changes_calibration(u: Universe, mkt: MarketSnapshot, settle: np.datetime64) -> None:
    quiet = FactorModel(u, replace(FactorModelConfig(), idio_base_vol=0.0))
    noisy = FactorModel(u, replace(FactorModelConfig(), idio_base_vol=0.02))
    i = [int(np.flatnonzero(~u.is_hy)[10])]
    assert quiet.r_squared_vs_etf(mkt, i, [1.0], "LQD", settle) > noisy.r_squared_vs_etf(mkt, i, [1.0], "LQD", settle)
    np.testing.assert_array_equal(quiet.idio_var(mkt, np.arange(u.n_instruments), settle), 0.0)
