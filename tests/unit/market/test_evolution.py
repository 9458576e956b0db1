from __future__ import annotations

import math

import numpy as np
import pytest

from server.domain import bondmath
from server.market.evolution import NS_PER_HOUR, MarketModel, MarketModelConfig, etf_premium, stress_premium
from server.market.factors import FactorModel
from server.market.universe import MarketSnapshot, Universe, UniverseConfig, build_universe

DAY_NS = int(6.5 * NS_PER_HOUR)


@pytest.fixture(scope="module")
def u() -> Universe:
    return build_universe(UniverseConfig(n_bonds=400, n_issuers=80))


@pytest.fixture(scope="module")
def mkt(u: Universe) -> MarketSnapshot:
    return u.initial_market()


@pytest.fixture(scope="module")
def fm(u: Universe) -> FactorModel:
    return FactorModel(u)


@pytest.fixture(scope="module")
def model(u: Universe, fm: FactorModel) -> MarketModel:
    return MarketModel(u, fm)


def _same(a: MarketSnapshot, b: MarketSnapshot) -> None:
    for name in ("mid_price", "mid_yield", "spread_bp", "liquidity_score"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.curve == b.curve
    assert a.etf_nav == b.etf_nav
    assert a.etf_price == b.etf_price
    assert a.as_of == b.as_of


def test_deterministic(model: MarketModel, mkt: MarketSnapshot) -> None:
    paths = []
    for _ in range(2):
        rng = np.random.default_rng(42)
        s = mkt
        for _ in range(5):
            s = model.step(s, DAY_NS // 4, rng)
        paths.append(s)
    _same(paths[0], paths[1])
    other = model.step(mkt, DAY_NS // 4, np.random.default_rng(43))
    assert not np.array_equal(other.mid_price, model.step(mkt, DAY_NS // 4, np.random.default_rng(42)).mid_price)


def test_zero_step_is_identity(model: MarketModel, mkt: MarketSnapshot) -> None:
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert model.step(mkt, 0, rng) is mkt
    assert rng.bit_generator.state == state  # nothing drawn
    with pytest.raises(ValueError):
        model.step(mkt, -1, rng)


def test_step_moves_everything_consistently(u: Universe, model: MarketModel, mkt: MarketSnapshot) -> None:
    s = model.step(mkt, DAY_NS, np.random.default_rng(5))
    assert isinstance(s, MarketSnapshot)
    assert s.as_of == mkt.as_of
    assert not np.array_equal(s.mid_price, mkt.mid_price)
    assert s.curve != mkt.curve
    assert s.curve.tenors == mkt.curve.tenors  # key tenors are curve points already
    np.testing.assert_array_equal(s.liquidity_score, mkt.liquidity_score)
    np.testing.assert_array_equal(s.spread_bp[u.n_bonds:], 0.0)
    assert np.all(s.spread_bp[: u.n_bonds] > 0.0)
    # Prices are the bond math of curve + spread.
    rebuilt = MarketSnapshot.from_spreads(u, s.spread_bp, s.liquidity_score, curve=s.curve, as_of=s.as_of)
    np.testing.assert_allclose(s.mid_price, rebuilt.mid_price, rtol=0, atol=1e-12)
    # One trading day moves IG spreads by about a couple of percent, not tens of percent.
    change = np.log(s.spread_bp[: u.n_bonds] / mkt.spread_bp[: u.n_bonds])
    assert 0.001 < float(np.std(change)) < 0.1


def test_key_rate_daily_vol(model: MarketModel, fm: FactorModel, mkt: MarketSnapshot) -> None:
    rng = np.random.default_rng(7)
    n = 600
    moves = np.empty((n, 4))
    s = mkt
    tenors = np.array([2.0, 5.0, 10.0, 30.0])
    prev = s.curve.yield_at(tenors)
    for t in range(n):
        s = model.step(s, DAY_NS, rng)
        cur = s.curve.yield_at(tenors)
        moves[t] = (cur - prev) * 1e4
        prev = cur
    vols = moves.std(axis=0)
    # Standard error of a sample std over 600 draws is ~3%: 10% is over three of them.
    np.testing.assert_allclose(vols, fm.config.rate_vols_bp, rtol=0.10)
    corr = np.corrcoef(moves.T)
    assert corr[0, 3] == pytest.approx(0.6, abs=0.1)
    assert corr[1, 2] == pytest.approx(0.9, abs=0.05)


def test_vol_scales_with_sqrt_time(model: MarketModel, fm: FactorModel, mkt: MarketSnapshot) -> None:
    rng = np.random.default_rng(8)
    quarter = [
        (model.step(mkt, DAY_NS // 4, rng).curve.yield_at(10.0) - mkt.curve.yield_at(10.0)) * 1e4 for _ in range(600)
    ]
    assert float(np.std(quarter)) == pytest.approx(fm.config.rate_vols_bp[2] / 2.0, rel=0.10)
    assert model.trading_days(DAY_NS) == pytest.approx(1.0)


def test_factor_only_market_moves_sector_together(u: Universe, fm: FactorModel, mkt: MarketSnapshot) -> None:
    model = MarketModel(u, fm, MarketModelConfig(idiosyncratic=False))
    s = model.step(mkt, DAY_NS, np.random.default_rng(9))
    ratio = s.spread_bp[: u.n_bonds] / mkt.spread_bp[: u.n_bonds]
    key = u.is_hy.astype(np.int64) * 100 + u.sector_idx.astype(np.int64)
    for k in np.unique(key):
        group = ratio[key == k]
        np.testing.assert_allclose(group, group[0], rtol=1e-12)
    with_idio = MarketModel(u, fm).step(mkt, DAY_NS, np.random.default_rng(9))
    r2 = with_idio.spread_bp[: u.n_bonds] / mkt.spread_bp[: u.n_bonds]
    assert np.std(r2[key == key[0]]) > 0.0


def test_etf_nav_follows_holdings(u: Universe, model: MarketModel, mkt: MarketSnapshot) -> None:
    s = model.step(mkt, DAY_NS, np.random.default_rng(10))
    settle = np.datetime64(mkt.as_of, "D")
    dirty = mkt.mid_price + bondmath.accrued_interest(u.all_coupon, u.all_maturity, settle, u.all_day_count,
                                                      u.all_frequency)
    for ticker in ("LQD", "HYG"):
        hold, w = u.etf_holdings_idx[ticker], u.etf_weights[ticker]
        ret = float(w @ ((s.mid_price[hold] - mkt.mid_price[hold]) / dirty[hold]))
        assert s.etf_nav[ticker] / mkt.etf_nav[ticker] - 1.0 == pytest.approx(ret, rel=1e-9, abs=1e-15)
        assert ret != 0.0
        assert abs(etf_premium(s, ticker)) < 0.01


def test_premium_mean_reverts(u: Universe, fm: FactorModel, model: MarketModel, mkt: MarketSnapshot) -> None:
    stressed = stress_premium(mkt, "LQD", -0.02)
    half_life = int(model.config.premium_half_life_days * DAY_NS)
    rng = np.random.default_rng(11)
    after = np.array([etf_premium(model.step(stressed, half_life, rng), "LQD") for _ in range(300)])
    # Exact OU step: mean halves, sd = sigma sqrt((1 - e^{-2 k t}) / 2k).
    kappa = math.log(2.0) / model.config.premium_half_life_days
    sd = fm.config.etf_premium_vol * math.sqrt((1.0 - 0.25) / (2.0 * kappa))
    assert after.mean() == pytest.approx(-0.01, abs=4.0 * sd / math.sqrt(300))
    assert after.std() == pytest.approx(sd, rel=0.15)
    # Chained over many half-lives, the discount is gone (back within the usual +-0.3% band).
    s = stressed
    for _ in range(40):
        s = model.step(s, DAY_NS // 2, rng)
    assert abs(etf_premium(s, "LQD")) < 0.005
    # An untouched ETF wanders around zero within the usual band.
    assert abs(etf_premium(s, "HYG")) < 0.005


def test_stress_premium(mkt: MarketSnapshot) -> None:
    s = stress_premium(mkt, "HYG", -0.03)
    assert etf_premium(s, "HYG") == pytest.approx(-0.03)
    assert s.etf_nav == mkt.etf_nav
    assert s.etf_price["LQD"] == mkt.etf_price["LQD"]
    assert etf_premium(mkt, "HYG") == pytest.approx(0.0)  # the original is untouched
    assert s.mid_price is mkt.mid_price
    s.etf_price["HYG"] = 1.0
    assert mkt.etf_price["HYG"] != 1.0  # no shared mutable state
    with pytest.raises(KeyError):
        stress_premium(mkt, "SPY", 0.01)
    with pytest.raises(ValueError):
        stress_premium(mkt, "HYG", -1.5)


def test_config_validation(u: Universe, fm: FactorModel) -> None:
    with pytest.raises(ValueError):
        MarketModelConfig(trading_day_hours=0.0)
    with pytest.raises(ValueError):
        MarketModelConfig(premium_half_life_days=-1.0)
    with pytest.raises(ValueError):
        MarketModelConfig(premium_vol=-0.001)
    other = build_universe(UniverseConfig(n_bonds=50, n_issuers=10))
    with pytest.raises(ValueError):
        MarketModel(other, fm)
