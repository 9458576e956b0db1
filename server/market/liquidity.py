"""Liquidity score: 1 (hardest to trade) to 100 (easiest).

The score follows what the empirical literature finds drives corporate-bond trading costs
(Edwards, Harris and Piwowar; CALIBRATION section 3): larger issues, recent issues, shorter
maturities and investment grade trade more easily. A latent index adds those effects and a
bond-specific standard-normal shock; a logistic map sends it to [1, 100].

Calibrated on the default synthetic universe: scores span roughly 3-99, the median sits near
50, and benchmark-sized (>= 2 bn) investment-grade new issues (< 1 year old) mostly score
above 80.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Latent index coefficients (per unit of each driver).
_INTERCEPT: Final = 1.40
_SIZE: Final = 1.60  # per log-unit of amount outstanding over 1 bn
_SIZE_REF: Final = 1.0e9
_AGE: Final = 1.00  # per log-unit of (1 + age / 1y)
_TENOR: Final = 0.35  # per log-unit of time to maturity over 5y
_TENOR_REF: Final = 5.0
_HY: Final = 0.60  # high yield is harder to trade
_NOISE: Final = 0.60  # weight of the bond-specific shock

LIQUIDITY_BUCKETS: Final = ("low", "mid", "high")
"""Names of the codes :func:`liquidity_bucket` returns: 0 low (< 40), 1 mid (40-70), 2 high (>= 70)."""
LOW: Final = 0
MID: Final = 1
HIGH: Final = 2
MID_THRESHOLD: Final = 40.0
HIGH_THRESHOLD: Final = 70.0


def liquidity_score(
    amount_outstanding: ArrayLike,
    age_years: ArrayLike,
    ttm_years: ArrayLike,
    is_hy: ArrayLike,
    noise: ArrayLike,
) -> NDArray[np.float64]:
    """Liquidity score in [1, 100] for each bond (arrays broadcast together).

    ``amount_outstanding`` is USD face, ``age_years`` the time since issue, ``ttm_years`` the time
    to maturity, ``is_hy`` true for high yield, ``noise`` a standard-normal draw per bond, made by
    the caller from its own random stream (zero gives the score of a typical bond).
    """
    amount = np.maximum(np.asarray(amount_outstanding, dtype=np.float64), 1.0)
    age = np.maximum(np.asarray(age_years, dtype=np.float64), 0.0)
    ttm = np.maximum(np.asarray(ttm_years, dtype=np.float64), 1.0 / 12.0)
    hy = np.asarray(is_hy, dtype=np.float64)
    eps = np.asarray(noise, dtype=np.float64)
    z = (
        _INTERCEPT
        + _SIZE * np.log(amount / _SIZE_REF)
        - _AGE * np.log1p(age)
        - _TENOR * np.log(ttm / _TENOR_REF)
        - _HY * hy
        + _NOISE * eps
    )
    score = 1.0 + 99.0 / (1.0 + np.exp(-z))
    return np.asarray(np.clip(score, 1.0, 100.0), dtype=np.float64)


def liquidity_bucket(score: ArrayLike) -> NDArray[np.int8]:
    """Bucket code per score: 0 low (< 40), 1 mid (40 to < 70), 2 high (>= 70).

    ``LIQUIDITY_BUCKETS[code]`` names it.
    """
    s = np.asarray(score, dtype=np.float64)
    codes = (s >= MID_THRESHOLD).astype(np.int8) + (s >= HIGH_THRESHOLD).astype(np.int8)
    return np.asarray(codes, dtype=np.int8)


def liquidity_bucket_names(score: ArrayLike) -> NDArray[np.str_]:
    """Bucket name per score ("low", "mid" or "high")."""
    return np.asarray(LIQUIDITY_BUCKETS)[liquidity_bucket(score)]
