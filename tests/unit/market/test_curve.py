from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from server.market.curve import KEY_TENORS, TreasuryCurve, default_curve, key_rate_bump


def test_default_curve_points() -> None:
    c = default_curve()
    assert c.tenors == (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 30.0)
    assert c.yields == pytest.approx(
        (0.039, 0.0385, 0.037, 0.0355, 0.0355, 0.0365, 0.038, 0.0405, 0.0455, 0.046)
    )
    np.testing.assert_allclose(c.yield_at(np.asarray(c.tenors)), np.asarray(c.yields), rtol=0, atol=1e-15)


def test_key_tenors() -> None:
    assert KEY_TENORS == (2.0, 5.0, 10.0, 30.0)
    assert set(KEY_TENORS) <= set(default_curve().tenors)


def test_linear_interpolation_and_flat_ends() -> None:
    c = default_curve()
    assert float(c.yield_at(4.0)) == pytest.approx(0.0360, abs=1e-12)
    assert float(c.yield_at(15.0)) == pytest.approx(0.0430, abs=1e-12)
    assert float(c.yield_at(8.5)) == pytest.approx(0.0380 + 0.5 * 0.0025, abs=1e-12)
    assert float(c.yield_at(0.0)) == pytest.approx(0.0390)
    assert float(c.yield_at(0.1)) == pytest.approx(0.0390)
    assert float(c.yield_at(45.0)) == pytest.approx(0.0460)


def test_yield_at_is_vectorized_and_keeps_shape() -> None:
    c = default_curve()
    x = np.array([[1.0, 2.0, 4.0], [10.0, 25.0, 50.0]])
    out = c.yield_at(x)
    assert out.shape == (2, 3)
    assert out.dtype == np.float64
    assert out[1, 1] == pytest.approx(0.04575)
    assert c.yield_at(3.0).shape == ()


def test_parallel_shift() -> None:
    c = default_curve()
    up = c.shifted(25.0)
    assert up.tenors == c.tenors
    np.testing.assert_allclose(np.asarray(up.yields) - np.asarray(c.yields), 0.0025, atol=1e-15)
    x = np.linspace(0.0, 40.0, 81)
    np.testing.assert_allclose(up.yield_at(x) - c.yield_at(x), 0.0025, atol=1e-15)
    # the original is untouched
    assert c == default_curve()


def test_key_rate_shift_is_a_tent() -> None:
    c = default_curve()
    bumped = c.shifted(key_rate_bump(5.0, 1.0))
    diff_bp = lambda t: float(bumped.yield_at(t) - c.yield_at(t)) * 1e4  # noqa: E731
    assert diff_bp(5.0) == pytest.approx(1.0)
    assert diff_bp(2.0) == pytest.approx(0.0, abs=1e-9)
    assert diff_bp(10.0) == pytest.approx(0.0, abs=1e-9)
    assert diff_bp(30.0) == pytest.approx(0.0, abs=1e-9)
    assert diff_bp(3.0) == pytest.approx(1.0 / 3.0)
    assert diff_bp(7.0) == pytest.approx(0.6)
    assert diff_bp(0.5) == pytest.approx(0.0, abs=1e-9)


def test_key_rate_bumps_add_up_to_a_parallel_shift() -> None:
    c = default_curve()
    x = np.linspace(0.1, 35.0, 200)
    total = sum(c.shifted(key_rate_bump(k, 1.0)).yield_at(x) - c.yield_at(x) for k in KEY_TENORS)
    np.testing.assert_allclose(total, 1e-4, atol=1e-15)


def test_shift_at_a_tenor_the_curve_lacks() -> None:
    c = default_curve()
    s = c.shifted({4.0: 10.0, 12.0: -10.0})
    assert 4.0 in s.tenors and 12.0 in s.tenors
    x = np.linspace(0.0, 40.0, 401)
    profile = np.interp(x, [4.0, 12.0], [10.0, -10.0]) * 1e-4
    np.testing.assert_allclose(s.yield_at(x), c.yield_at(x) + profile, atol=1e-15)


def test_empty_mapping_is_no_shift() -> None:
    c = default_curve()
    assert c.shifted({}) == c


def test_validation() -> None:
    with pytest.raises(ValueError):
        TreasuryCurve((1.0, 2.0), (0.04,))
    with pytest.raises(ValueError):
        TreasuryCurve((2.0, 1.0), (0.04, 0.05))
    with pytest.raises(ValueError):
        TreasuryCurve((1.0, 1.0), (0.04, 0.05))
    with pytest.raises(ValueError):
        TreasuryCurve((), ())
    with pytest.raises(ValueError):
        key_rate_bump(7.0)
    with pytest.raises(ValueError):
        default_curve().shifted({5.0: float("nan")})


def test_frozen_and_hashable() -> None:
    c = default_curve()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.yields = (0.05,)  # type: ignore[misc]
    assert hash(c) == hash(default_curve())
    assert TreasuryCurve([1, 2], [0.04, 0.05]) == TreasuryCurve((1.0, 2.0), (0.04, 0.05))  # type: ignore[arg-type]
