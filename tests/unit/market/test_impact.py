from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from server.market.impact import ImpactConfig, ImpactModel
from server.market.universe import MarketSnapshot, Universe, UniverseConfig, build_universe

MIN = 60 * 10**9
MM = 1_000_000


@pytest.fixture(scope="module")
def u() -> Universe:
    return build_universe(UniverseConfig(n_bonds=600, n_issuers=100))


@pytest.fixture(scope="module")
def mkt(u: Universe) -> MarketSnapshot:
    return u.initial_market()


@pytest.fixture(scope="module")
def trio(u: Universe) -> tuple[int, int, int, int]:
    """A bond, another bond of its issuer, a bond of its sector from another issuer, an unrelated bond."""
    iss, sec = u.issuer_idx, u.sector_idx
    for b in range(u.n_bonds):
        sib = np.flatnonzero((iss == iss[b]) & (np.arange(u.n_bonds) != b))
        same_sec = np.flatnonzero((sec == sec[b]) & (iss != iss[b]))
        other = np.flatnonzero(sec != sec[b])
        if sib.size and same_sec.size and other.size:
            return b, int(sib[0]), int(same_sec[0]), int(other[0])
    raise AssertionError("no suitable bonds")


def test_direction(u: Universe, trio: tuple[int, int, int, int]) -> None:
    b = trio[0]
    m = ImpactModel(u)
    m.on_inquiry(0, [b], [5 * MM], 4)
    assert m.displacement_bp(0)[b] > 0.0  # a client buy pushes the mid up
    m.reset()
    m.on_inquiry(0, [b], [-5 * MM], 4)
    assert m.displacement_bp(0)[b] < 0.0
    m.reset()
    np.testing.assert_array_equal(m.displacement_bp(0), 0.0)
    m.on_inquiry(0, [b], [0], 4)  # a request for market: no side, no push
    np.testing.assert_array_equal(m.displacement_bp(0), 0.0)


def test_size_is_concave_and_capped(u: Universe, trio: tuple[int, int, int, int]) -> None:
    b = trio[0]
    sizes = [1 * MM, 2 * MM, 4 * MM, 16 * MM]
    out = []
    for q in sizes:
        m = ImpactModel(u)
        m.on_inquiry(0, [b], [q], 1)
        out.append(m.displacement_bp(0)[b])
    assert all(np.diff(out) > 0.0)
    assert out[2] / out[0] == pytest.approx(2.0)  # square root: 4x the size, 2x the move
    cfg = ImpactConfig()
    expected = cfg.impact_bp * np.sqrt(MM / ImpactModel(u).adv[b])
    assert out[0] == pytest.approx(expected)
    m = ImpactModel(u)
    m.on_inquiry(0, [b], [10**12], 1)
    assert m.displacement_bp(0)[b] == pytest.approx(cfg.max_line_impact_bp)


def test_adv_rises_with_liquidity(u: Universe) -> None:
    m = ImpactModel(u)
    cfg = m.config
    nb = u.n_bonds
    turnover = m.adv[:nb] * 252.0 / u.amount_outstanding
    order = np.argsort(u.base_liquidity[:nb])
    assert np.all(np.diff(turnover[order]) >= -1e-12)
    assert turnover.min() >= cfg.turnover_at_score_0 and turnover.max() <= cfg.turnover_at_score_100
    # Same size, less liquid bond (lower ADV) -> larger move.
    lo, hi = int(order[0]), int(order[-1])
    m.on_inquiry(0, [lo, hi], [MM, MM], 1)
    d = m.displacement_bp(0)
    if m.adv[lo] < m.adv[hi]:
        assert d[lo] > d[hi]
    assert np.all(m.adv[nb:] > 10**9)  # Treasuries trade billions a day


def test_more_dealers_more_impact(u: Universe, trio: tuple[int, int, int, int]) -> None:
    b = trio[0]
    moves = []
    for n in (1, 2, 5, 10):
        m = ImpactModel(u)
        m.on_inquiry(0, [b], [3 * MM], n)
        moves.append(m.displacement_bp(0)[b])
    assert all(np.diff(moves) > 0.0)
    assert moves[2] / moves[0] == pytest.approx(1.0 + 0.25 * 4)
    with pytest.raises(ValueError):
        ImpactModel(u).on_inquiry(0, [b], [MM], 0)


def test_issuer_then_sector_then_unrelated(u: Universe, trio: tuple[int, int, int, int]) -> None:
    b, sib, same_sec, other = trio
    m = ImpactModel(u)
    m.on_inquiry(0, [b], [5 * MM], 3)
    d = m.displacement_bp(0)
    assert d[b] > d[sib] > d[same_sec] > d[other] == 0.0
    assert d[sib] == pytest.approx(0.5 * d[b])
    assert d[same_sec] == pytest.approx(0.1 * d[b])
    np.testing.assert_array_equal(d[u.n_bonds:], 0.0)  # Treasuries do not follow corporates
    # Every bond of another sector is untouched, every other bond of the sector moved.
    other_sector = u.sector_idx != u.sector_idx[b]
    np.testing.assert_array_equal(d[: u.n_bonds][other_sector], 0.0)
    assert np.all(d[: u.n_bonds][~other_sector] > 0.0)


def test_spillover_of_two_lines_adds_up(u: Universe, trio: tuple[int, int, int, int]) -> None:
    b, _, _, other = trio
    both = ImpactModel(u)
    both.on_inquiry(0, [b, other], [2 * MM, -3 * MM], 3)
    one, two = ImpactModel(u), ImpactModel(u)
    one.on_inquiry(0, [b], [2 * MM], 3)
    two.on_inquiry(0, [other], [-3 * MM], 3)
    np.testing.assert_allclose(both.displacement_bp(0), one.displacement_bp(0) + two.displacement_bp(0), atol=1e-12)
    # Two lines of one bond are one order of their net size.
    dup = ImpactModel(u)
    dup.on_inquiry(0, [b, b], [MM, MM], 3)
    np.testing.assert_allclose(dup.displacement_bp(0), one.displacement_bp(0), rtol=1e-12)
    flat = ImpactModel(u)
    flat.on_inquiry(0, [b, b], [MM, -MM], 3)
    np.testing.assert_array_equal(flat.displacement_bp(0), 0.0)


def test_decay_half_life(u: Universe, trio: tuple[int, int, int, int]) -> None:
    b = trio[0]
    m = ImpactModel(u)
    t0 = 1_000 * MIN
    m.on_inquiry(t0, [b], [5 * MM], 4)
    d0 = m.displacement_bp(t0)
    hl = m.config.half_life_ns
    np.testing.assert_allclose(m.displacement_bp(t0 + hl), d0 / 2.0, rtol=1e-12)
    np.testing.assert_allclose(m.displacement_bp(t0 + 2 * hl), d0 / 4.0, rtol=1e-12)
    assert abs(m.displacement_bp(t0 + 20 * hl)[b]) < d0[b] * 1e-5
    # Lazy decay is exact: a later event adds to the decayed state.
    m.on_inquiry(t0 + hl, [b], [5 * MM], 4)
    np.testing.assert_allclose(m.displacement_bp(t0 + hl), d0 * 1.5, rtol=1e-12)
    np.testing.assert_allclose(m.displacement_bp(t0 + 2 * hl), d0 * 0.75, rtol=1e-12)
    # Querying does not change the state; an earlier time is read as the last update.
    np.testing.assert_allclose(m.displacement_bp(t0), d0 * 1.5, rtol=1e-12)


def test_award_adds_losers_prehedging(u: Universe, trio: tuple[int, int, int, int]) -> None:
    b = trio[0]
    m = ImpactModel(u)
    m.on_inquiry(0, [b], [5 * MM], 5)
    before = m.displacement_bp(0)[b]
    m.on_award(0, [b], [5 * MM], 0)
    assert m.displacement_bp(0)[b] == before
    m.on_award(0, [b], [5 * MM], 4)
    after = m.displacement_bp(0)[b]
    size = m.config.impact_bp * np.sqrt(5 * MM / m.adv[b])
    assert after - before == pytest.approx(size * 0.1 * 4)
    with pytest.raises(ValueError):
        m.on_award(0, [b], [MM], -1)


def test_portfolio_leaks_less(u: Universe) -> None:
    rng = np.random.default_rng(4)
    lines = rng.choice(u.n_bonds, 40, replace=False)
    qty = rng.choice([-1, 1], 40) * rng.integers(1, 10, 40) * MM
    rfq = ImpactModel(u)
    for i, q in zip(lines, qty, strict=True):
        rfq.on_inquiry(0, [i], [q], 5)
        rfq.on_award(0, [i], [q], 4)
    pt = ImpactModel(u)
    pt.on_inquiry(0, lines, qty, 5, is_portfolio=True)
    pt.on_award(0, lines, qty, 4, is_portfolio=True)
    d_rfq, d_pt = rfq.displacement_bp(0), pt.displacement_bp(0)
    assert np.abs(d_pt).sum() < 0.5 * np.abs(d_rfq).sum()
    np.testing.assert_allclose(d_pt, 0.2 * d_rfq, atol=1e-12)


def test_apply_moves_mids(u: Universe, mkt: MarketSnapshot, trio: tuple[int, int, int, int]) -> None:
    b, sib, _, other = trio
    m = ImpactModel(u)
    assert m.apply(mkt, 0) is mkt
    m.on_inquiry(0, [b], [20 * MM], 5)
    d = m.displacement_bp(0)
    s = m.apply(mkt, 0)
    moved = (s.mid_price / mkt.mid_price - 1.0) * 1e4
    np.testing.assert_allclose(moved, d, rtol=0.01, atol=1e-9)
    assert s.spread_bp[b] < mkt.spread_bp[b]  # price up, spread in
    assert s.mid_price[other] == mkt.mid_price[other]
    assert s.mid_price[sib] > mkt.mid_price[sib]
    np.testing.assert_array_equal(s.mid_price[u.n_bonds:], mkt.mid_price[u.n_bonds:])
    assert s.etf_nav == mkt.etf_nav and s.etf_price == mkt.etf_price
    # Only the mids are new: the snapshot names the one they were moved from.
    assert s.basis is mkt and mkt.basis is None
    assert s.liquidity_score is mkt.liquidity_score and s.curve is mkt.curve and s.etf_price is mkt.etf_price
    # Later, the move has decayed.
    later = m.apply(mkt, m.config.half_life_ns)
    assert (later.mid_price[b] / mkt.mid_price[b] - 1.0) * 1e4 == pytest.approx(d[b] / 2.0, rel=0.01)
    # A Treasury inquiry moves the Treasury only.
    t = ImpactModel(u)
    t.on_inquiry(0, [u.n_bonds + 1], [-500 * MM], 3)
    dt = t.displacement_bp(0)
    assert dt[u.n_bonds + 1] < 0.0
    assert np.count_nonzero(dt) == 1


def test_disabled_is_a_no_op(u: Universe, mkt: MarketSnapshot, trio: tuple[int, int, int, int]) -> None:
    m = ImpactModel(u, replace(ImpactConfig(), enabled=False))
    m.on_inquiry(0, [trio[0]], [50 * MM], 8)
    m.on_award(0, [trio[0]], [50 * MM], 7)
    np.testing.assert_array_equal(m.displacement_bp(0), 0.0)
    assert m.displacement_bp(0).shape == (u.n_instruments,)
    assert m.apply(mkt, 0) is mkt


def test_reset_and_validation(u: Universe, trio: tuple[int, int, int, int]) -> None:
    m = ImpactModel(u)
    m.on_inquiry(0, [trio[0]], [MM], 2)
    m.reset()
    np.testing.assert_array_equal(m.displacement_bp(10 * MIN), 0.0)
    with pytest.raises(IndexError):
        m.on_inquiry(0, [u.n_instruments], [MM], 2)
    with pytest.raises(ValueError):
        m.on_inquiry(0, [0], [float("nan")], 2)
    with pytest.raises(ValueError):
        ImpactConfig(issuer_spillover=1.5)
    with pytest.raises(ValueError):
        ImpactConfig(half_life_ns=0)
    with pytest.raises(ValueError):
        ImpactConfig(impact_bp=-1.0)


def test_one_line_fast_path_is_bit_identical_to_the_universe_wide_path(u: Universe) -> None:
    """Single-bond inquiries take ``_add_one`` (arrays of shape (1,)); lists take the general path.
    The displacements must be equal to the last bit: simulated event logs depend on them."""
    fast, general = ImpactModel(u), ImpactModel(u)
    rng = np.random.default_rng(5)
    t = 1_700_000_000 * 10**9
    for k in range(600):
        i = int(rng.integers(0, u.n_instruments))  # corporates and Treasuries
        q = float(rng.choice([-1.0, 1.0]) * rng.integers(0, 80) * 250_000)  # zero size included
        t += int(rng.integers(0, 3 * 10**9))
        if k % 2:
            fast.on_inquiry(t, np.array([i]), np.array([q]), 1 + k % 6, bool(k % 5 == 0))
            general.on_inquiry(t, [i], [q], 1 + k % 6, bool(k % 5 == 0))
        else:
            fast.on_award(t, np.array([i]), np.array([q]), k % 4, bool(k % 3 == 0))
            general.on_award(t, [i], [q], k % 4, bool(k % 3 == 0))
    assert np.count_nonzero(fast.displacement_bp(t)) > 100
    assert np.array_equal(fast.displacement_bp(t), general.displacement_bp(t))
    with pytest.raises(IndexError):
        fast.on_inquiry(t, np.array([u.n_instruments]), np.array([1e6]), 1)
    with pytest.raises(ValueError):
        fast.on_inquiry(t, np.array([0]), np.array([np.nan]), 1)
