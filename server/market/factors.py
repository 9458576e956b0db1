"""The factor risk model: rates key rates, IG and HY credit, sectors, and idiosyncratic risk.

Factors, in the order of :data:`FACTOR_NAMES`:

* ``KR2, KR5, KR10, KR30``: moves of the Treasury key rates, in **basis points of yield**;
* ``IG``, ``HY``: **proportional** moves of credit spreads (DTS style): a one-unit move of the
  factor changes the spread of every bond of that grade by 100% of itself, so a bond's spread
  change is ``spread x factor`` (a 1.5% daily vol on an 80 bp spread is 1.2 bp a day);
* ``SEC_<sector>`` for each of :data:`server.market.universe.SECTORS` (e.g. ``SEC_Financials``,
  ``SEC_Consumer Staples``): proportional spread moves shared by the bonds of one sector, IG and
  HY alike.

On top of the factors every corporate bond has its own proportional spread shock (independent
across bonds), whose daily vol rises as liquidity falls and as the bond trades wide of its grade::

    idio_base_vol x (1 + idio_illiquidity_slope x (1 - liquidity / 100))
                  x (spread / grade reference spread) ** idio_spread_elasticity
                  x (idio_hy_multiplier for high yield)

The dispersion this gives (a few illiquid or stressed names carry much of the idiosyncratic
risk) is what lets a single bond track its ETF loosely while a diversified basket tracks it
closely, and makes HY baskets track HYG less closely than IG baskets track LQD.

Exposures are **daily price returns per 1 USD of market value** (dirty) for a one-unit move of
each factor, so a position's factor exposure in USD is its market value times its row, and
``exposure' cov exposure`` is a daily P&L variance in USD squared:

* rates columns: ``-KRD_k x 1e-4`` (per bp of key rate ``k``);
* credit column of the bond's grade and its sector column: ``-spread duration x spread``
  (spread as a decimal); Treasuries load on rates only.

Key-rate durations: the venue prices every instrument at a single yield, ``curve(ttm) + spread``
(see :meth:`MarketSnapshot.from_spreads`), and a key-rate bump (:func:`key_rate_bump`) moves the
curve by a triangular profile, linear between key tenors and flat beyond the 2y and 30y. Bumping
key rate ``k`` and repricing with bondmath therefore moves a bond's yield by the profile's weight
at its maturity, ``h_k(ttm)``, and to first order ``KRD_k = modified duration x h_k(ttm)``. The
model computes exactly that, vectorised (no repricing per key rate); the weights sum to one, so
the KRDs sum to the modified duration. This is the rates risk the venue's own market evolution
produces (:mod:`server.market.evolution` shocks the same key tenors), so the hedges it implies are
consistent with how marks move. Spread duration of these fixed-coupon bullets is the modified
duration.

Default calibration (CALIBRATION section 4), measured on the default universe (and checked by the
tests): the credit excess return of a single corporate bond has an average R-squared of about 0.43
(IG, against LQD) and 0.35 (HY, against HYG); an equally weighted basket of 60 bonds of distinct
issuers about 0.89 (IG) and 0.86 (HY). The ETF is taken at NAV there; its premium/discount to NAV
(``etf_premium_vol``) is a separate risk, counted in :meth:`FactorModel.etf_exposure`.

Everything here is pure: no clock, no randomness, no I/O. Per-snapshot tables of all instruments
are cached by snapshot identity, so repeated lookups against one snapshot are a gather.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from server.domain import bondmath
from server.market.curve import KEY_TENORS
from server.market.universe import SECTORS, MarketSnapshot, Universe

__all__ = [
    "CREDIT_FACTORS",
    "FACTOR_NAMES",
    "HY",
    "IG",
    "N_FACTORS",
    "RATES",
    "RATE_FACTORS",
    "SECTOR_FACTORS",
    "SECTOR_OFFSET",
    "EtfHedge",
    "ExposureTable",
    "FactorModel",
    "FactorModelConfig",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
SettleLike = np.datetime64 | date | str

RATE_FACTORS: Final[tuple[str, ...]] = tuple(f"KR{int(t)}" for t in KEY_TENORS)
CREDIT_FACTORS: Final[tuple[str, ...]] = ("IG", "HY")
SECTOR_FACTORS: Final[tuple[str, ...]] = tuple(f"SEC_{s}" for s in SECTORS)
FACTOR_NAMES: Final[tuple[str, ...]] = RATE_FACTORS + CREDIT_FACTORS + SECTOR_FACTORS
"""All factor names, in the column order of exposures and covariance."""
N_FACTORS: Final = len(FACTOR_NAMES)
RATES: Final = slice(0, len(RATE_FACTORS))
"""Columns of the key-rate factors."""
IG: Final = len(RATE_FACTORS)
"""Column of the IG credit factor."""
HY: Final = IG + 1
"""Column of the HY credit factor."""
SECTOR_OFFSET: Final = HY + 1
"""Column of the first sector factor: sector ``s`` (``universe.sector_idx``) is ``SECTOR_OFFSET + s``."""

_BP: Final = 1e-4
_N_RATES: Final = len(RATE_FACTORS)
_CACHE_SIZE: Final = 8


def _default_rate_corr() -> tuple[tuple[float, ...], ...]:
    return (
        (1.00, 0.90, 0.78, 0.60),
        (0.90, 1.00, 0.90, 0.75),
        (0.78, 0.90, 1.00, 0.88),
        (0.60, 0.75, 0.88, 1.00),
    )


@dataclass(frozen=True)
class FactorModelConfig:
    """Daily vols and correlations of the factors, and idiosyncratic spread risk.

    All vols are one-day standard deviations (a trading day; see :mod:`server.market.evolution`).
    """

    rate_vols_bp: tuple[float, ...] = (6.0, 7.0, 6.5, 5.5)
    """Daily yield vol of each key rate (2y, 5y, 10y, 30y), bp."""
    rate_corr: tuple[tuple[float, ...], ...] = _default_rate_corr()
    """Correlations of the key-rate moves: adjacent tenors ~0.9, 2y-30y 0.6."""
    ig_vol: float = 0.015
    """Daily proportional vol of IG spreads (1.5%: ~1.2 bp a day on an 80 bp spread)."""
    hy_vol: float = 0.020
    """Daily proportional vol of HY spreads (2%: ~5-6 bp a day on a 280 bp spread)."""
    ig_hy_corr: float = 0.75
    rates_credit_corr: float = -0.30
    """Correlation of each key rate with each credit factor (yields up, spreads in)."""
    sector_vol: float = 0.008
    """Daily proportional vol of each sector factor; sectors are independent of everything."""
    idio_base_vol: float = 0.0045
    """Daily proportional idiosyncratic spread vol of a perfectly liquid bond at its grade's reference spread."""
    idio_illiquidity_slope: float = 7.0
    """``k`` in ``idio vol = base x (1 + k x (1 - liquidity/100))``: a score of 50 has 4.5x the base vol."""
    idio_hy_multiplier: float = 1.1
    """Extra idiosyncratic vol of high yield (issuer news moves HY bonds more)."""
    idio_spread_elasticity: float = 0.6
    """``g`` in ``x (spread / reference) ** g``: bonds wide of their grade carry more idiosyncratic risk."""
    idio_reference_spread_bp: tuple[float, float] = (82.0, 275.0)
    """Reference spreads (IG, HY), bp: the index OAS of each grade (CALIBRATION section 4)."""
    etf_premium_vol: float = 0.001
    """Daily vol of an ETF's premium/discount to NAV, as a return (0.1%)."""

    def __post_init__(self) -> None:
        if len(self.rate_vols_bp) != _N_RATES:
            raise ValueError(f"rate_vols_bp needs {_N_RATES} values, one per key rate")
        corr = np.asarray(self.rate_corr, dtype=np.float64)
        if corr.shape != (_N_RATES, _N_RATES):
            raise ValueError(f"rate_corr must be {_N_RATES}x{_N_RATES}")
        if not np.allclose(corr, corr.T) or not np.allclose(np.diag(corr), 1.0):
            raise ValueError("rate_corr must be symmetric with a unit diagonal")
        vols = (*self.rate_vols_bp, self.ig_vol, self.hy_vol, self.sector_vol, self.idio_base_vol,
                self.etf_premium_vol)
        if any(not np.isfinite(v) or v < 0.0 for v in vols):
            raise ValueError("vols must be finite and non-negative")
        for name in ("ig_hy_corr", "rates_credit_corr"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between -1 and 1")
        if self.idio_illiquidity_slope < 0.0 or self.idio_hy_multiplier < 0.0:
            raise ValueError("idio_illiquidity_slope and idio_hy_multiplier must be non-negative")

    def correlation(self) -> FloatArray:
        """The K x K factor correlation matrix, in :data:`FACTOR_NAMES` order."""
        corr = np.eye(N_FACTORS)
        corr[RATES, RATES] = np.asarray(self.rate_corr, dtype=np.float64)
        corr[RATES, IG:HY + 1] = self.rates_credit_corr
        corr[IG:HY + 1, RATES] = self.rates_credit_corr
        corr[IG, HY] = corr[HY, IG] = self.ig_hy_corr
        return corr

    def vols(self) -> FloatArray:
        """Daily vol of each factor (bp for key rates, proportional for credit and sectors)."""
        return np.concatenate([
            np.asarray(self.rate_vols_bp, dtype=np.float64),
            [self.ig_vol, self.hy_vol],
            np.full(len(SECTOR_FACTORS), self.sector_vol),
        ])

    def covariance(self) -> FloatArray:
        """The K x K daily factor covariance; raises if it is not positive semi-definite."""
        v = self.vols()
        cov = self.correlation() * np.outer(v, v)
        scale = max(float(np.max(np.diag(cov))), 1e-300)
        if float(np.linalg.eigvalsh(cov / scale)[0]) < -1e-10:
            raise ValueError("the factor correlations are not positive semi-definite")
        return cov


class ExposureTable(NamedTuple):
    """Risk of every instrument of the universe at one snapshot and settlement date (read-only arrays)."""

    exposures: FloatArray  # (n_instruments, K): daily price return per 1 USD per unit factor move
    idio_var: FloatArray  # (n_instruments,): daily idiosyncratic return variance per 1 USD
    krd: FloatArray  # (n_instruments, 4): key-rate durations, years
    modified_duration: FloatArray  # (n_instruments,): years (also the spread duration)
    dirty_price: FloatArray  # (n_instruments,): per 100 face


class EtfHedge(NamedTuple):
    """A basket's credit risk against one ETF, rates hedged (all variances daily, USD squared)."""

    etf_usd: float
    """USD of the ETF whose credit risk best replicates the basket's (the hedge sells this much)."""
    r_squared: float
    """Share of the basket's credit excess-return variance the ETF explains."""
    basket_var: float
    """Variance of the basket's credit excess return."""
    residual_var: float
    """Variance left after the ETF hedge: ``basket_var x (1 - r_squared)``."""


def _readonly(a: FloatArray) -> FloatArray:
    a.setflags(write=False)
    return a


def _as_settle(settle: SettleLike) -> np.datetime64:
    day = np.asarray(settle, dtype="datetime64[D]")
    if day.shape != () or bool(np.isnat(day)):
        raise ValueError("settle must be one date")
    out: np.datetime64 = day.reshape(1)[0]
    return out


class FactorModel:
    """Factor exposures, covariance and idiosyncratic risk of the universe's instruments.

    ``names`` are the factor names (:data:`FACTOR_NAMES`), ``cov`` the K x K daily factor
    covariance (read-only, positive semi-definite).
    """

    def __init__(self, universe: Universe, config: FactorModelConfig = FactorModelConfig()) -> None:
        self.universe = universe
        self.config = config
        self.names: tuple[str, ...] = FACTOR_NAMES
        self.cov: FloatArray = _readonly(config.covariance())
        n, nb = universe.n_instruments, universe.n_bonds
        self._n = n
        self._nb = nb
        # Static per-instrument loadings: which credit and sector column a corporate loads on.
        is_hy = np.asarray(universe.is_hy, dtype=bool)
        self._credit_col = np.where(is_hy, HY, IG).astype(np.int64)
        self._sector_col = (SECTOR_OFFSET + np.asarray(universe.sector_idx, dtype=np.int64)).astype(np.int64)
        self._is_hy = is_hy
        self._key_tenors = np.asarray(KEY_TENORS, dtype=np.float64)
        self._etf_dense: dict[str, FloatArray] = {}
        for ticker, hold in universe.etf_holdings_idx.items():
            dense = np.zeros(n)
            np.add.at(dense, hold, universe.etf_weights[ticker])
            self._etf_dense[ticker] = _readonly(dense)
        # (snapshot, settle, table, per-ETF exposure and residual), most recent last.
        self._cache: list[tuple[MarketSnapshot, np.datetime64, ExposureTable, dict[str, tuple[FloatArray, float]]]] = []

    # ---- per-snapshot tables ---------------------------------------------------------------

    def exposure_table(self, snapshot: MarketSnapshot, settle: SettleLike) -> ExposureTable:
        """Exposures and risk of every instrument at ``snapshot``, settling ``settle`` (cached).

        The cache holds the last few snapshots by identity (snapshots are immutable).
        """
        return self._entry(snapshot, _as_settle(settle))[0]

    def _entry(
        self, snapshot: MarketSnapshot, settle: np.datetime64
    ) -> tuple[ExposureTable, dict[str, tuple[FloatArray, float]]]:
        for snap, st, cached, per_etf in self._cache:
            if snap is snapshot and st == settle:
                return cached, per_etf
        if len(snapshot) != self._n:
            raise ValueError(f"snapshot has {len(snapshot)} instruments, the universe {self._n}")
        table = self._build_table(snapshot, settle)
        etfs: dict[str, tuple[FloatArray, float]] = {}
        self._cache.append((snapshot, settle, table, etfs))
        if len(self._cache) > _CACHE_SIZE:
            self._cache.pop(0)
        return table, etfs

    def _build_table(self, snapshot: MarketSnapshot, settle: np.datetime64) -> ExposureTable:
        u = self.universe
        n, nb = self._n, self._nb
        ttm = bondmath.time_to_maturity(u.all_maturity, settle)
        md = bondmath.modified_duration(
            u.all_coupon, u.all_maturity, settle, snapshot.mid_yield, u.all_day_count, u.all_frequency
        )
        dirty = np.asarray(snapshot.mid_price, dtype=np.float64) + bondmath.accrued_interest(
            u.all_coupon, u.all_maturity, settle, u.all_day_count, u.all_frequency
        )
        # A matured (unpriceable) instrument carries no risk.
        live = np.isfinite(md) & np.isfinite(ttm)
        md = np.where(live, md, 0.0)
        dirty = np.where(np.isfinite(dirty), dirty, 0.0)
        hat = np.empty((n, _N_RATES))
        for k in range(_N_RATES):
            hat[:, k] = np.interp(ttm, self._key_tenors, np.eye(_N_RATES)[k])
        krd = md[:, None] * hat
        exp = np.zeros((n, N_FACTORS))
        exp[:, RATES] = -krd * _BP
        spread = np.maximum(np.asarray(snapshot.spread_bp[:nb], dtype=np.float64), 0.0) * _BP
        dts = md[:nb] * spread  # spread duration x spread
        rows = np.arange(nb)
        exp[rows, self._credit_col] = -dts
        exp[rows, self._sector_col] = -dts
        idio = np.zeros(n)
        idio[:nb] = (dts * self.idio_vol(snapshot)[:nb]) ** 2
        return ExposureTable(
            exposures=_readonly(exp),
            idio_var=_readonly(idio),
            krd=_readonly(krd),
            modified_duration=_readonly(md),
            dirty_price=_readonly(dirty),
        )

    def idio_vol(self, snapshot: MarketSnapshot) -> FloatArray:
        """Daily proportional idiosyncratic spread vol of each instrument (0 for Treasuries)."""
        cfg = self.config
        nb = self._nb
        illiq = 1.0 - np.clip(np.asarray(snapshot.liquidity_score[:nb], dtype=np.float64), 0.0, 100.0) / 100.0
        vol = cfg.idio_base_vol * (1.0 + cfg.idio_illiquidity_slope * illiq)
        vol = np.where(self._is_hy, vol * cfg.idio_hy_multiplier, vol)
        if cfg.idio_spread_elasticity:
            spread = np.maximum(np.asarray(snapshot.spread_bp[:nb], dtype=np.float64), 1.0)
            ref = np.where(self._is_hy, cfg.idio_reference_spread_bp[1], cfg.idio_reference_spread_bp[0])
            vol = vol * (spread / ref) ** cfg.idio_spread_elasticity
        out = np.zeros(self._n)
        out[:nb] = vol
        return out

    # ---- per-line lookups ------------------------------------------------------------------

    def _idx(self, idx: ArrayLike) -> IntArray:
        i = np.asarray(idx, dtype=np.int64)
        if i.size and (int(i.min()) < 0 or int(i.max()) >= self._n):
            raise IndexError(f"instrument indices must be in 0..{self._n - 1}")
        return i

    def exposures(
        self, snapshot: MarketSnapshot, idx: ArrayLike, settle: SettleLike
    ) -> FloatArray:
        """(n, K) daily price return per 1 USD of market value per unit move of each factor."""
        return self.exposure_table(snapshot, settle).exposures[self._idx(idx)]

    def idio_var(self, snapshot: MarketSnapshot, idx: ArrayLike, settle: SettleLike) -> FloatArray:
        """(n,) daily idiosyncratic return variance per 1 USD of market value (0 for Treasuries)."""
        return self.exposure_table(snapshot, settle).idio_var[self._idx(idx)]

    def key_rate_durations(
        self, snapshot: MarketSnapshot, idx: ArrayLike, settle: SettleLike
    ) -> FloatArray:
        """(n, 4) key-rate durations (years) at 2y, 5y, 10y, 30y; each row sums to the modified duration."""
        return self.exposure_table(snapshot, settle).krd[self._idx(idx)]

    def basket_exposure(
        self,
        snapshot: MarketSnapshot,
        idx: ArrayLike,
        weights_usd: ArrayLike,
        settle: SettleLike,
    ) -> tuple[FloatArray, float]:
        """Factor exposure (K,) in USD per unit factor move and idiosyncratic variance (USD^2) of a basket.

        ``weights_usd`` are signed market values (long positive) of the lines ``idx``; repeated
        instruments are netted before the idiosyncratic variance is summed.
        """
        i = self._idx(idx)
        w = np.asarray(weights_usd, dtype=np.float64)
        if w.shape != i.shape:
            raise ValueError("idx and weights_usd must have the same shape")
        table = self.exposure_table(snapshot, settle)
        net = np.bincount(i.ravel(), w.ravel(), minlength=self._n)
        nz = np.flatnonzero(net)
        wn = net[nz]
        return wn @ table.exposures[nz], float(wn**2 @ table.idio_var[nz])

    # ---- ETFs ----------------------------------------------------------------------------

    def etf_exposure(
        self, snapshot: MarketSnapshot, ticker: str, settle: SettleLike
    ) -> tuple[FloatArray, float]:
        """An ETF's factor exposure per 1 USD (K,) and its residual daily return variance.

        Exposure: holdings-weighted (the universe's market-value weights). Residual: the
        holdings' idiosyncratic variance, diversified, plus the premium/discount-to-NAV variance
        (``etf_premium_vol`` squared).
        """
        if ticker not in self._etf_dense:
            raise KeyError(f"unknown ETF {ticker!r}; one of {', '.join(sorted(self._etf_dense))}")
        table, etfs = self._entry(snapshot, _as_settle(settle))
        hit = etfs.get(ticker)
        if hit is None:
            hold = self.universe.etf_holdings_idx[ticker]
            w = self.universe.etf_weights[ticker]
            e = _readonly(np.asarray(w @ table.exposures[hold], dtype=np.float64))
            resid = float(w**2 @ table.idio_var[hold]) + self.config.etf_premium_vol**2
            hit = etfs[ticker] = (e, resid)
        return hit[0].copy(), hit[1]

    # ---- variance helpers -----------------------------------------------------------------

    def portfolio_variance(self, exposure_usd: ArrayLike, idio_usd2: float = 0.0) -> float:
        """Daily P&L variance (USD^2): ``e' cov e + idio``."""
        e = np.asarray(exposure_usd, dtype=np.float64)
        if e.shape != (N_FACTORS,):
            raise ValueError(f"exposure_usd must have shape ({N_FACTORS},)")
        return float(e @ self.cov @ e) + float(idio_usd2)

    def etf_hedge(
        self,
        snapshot: MarketSnapshot,
        idx: ArrayLike,
        weights_usd: ArrayLike,
        ticker: str,
        settle: SettleLike,
        *,
        include_premium: bool = False,
    ) -> EtfHedge:
        """The minimum-variance ETF hedge of a basket's credit excess return (rates hedged away).

        Rates exposures of both the basket and the ETF are removed (as a Treasury key-rate hedge
        would); what remains is credit (grade and sector factors) and idiosyncratic risk. The
        covariance counts the idiosyncratic risk of bonds both in the basket and the ETF.
        ``include_premium`` adds the ETF's premium/discount variance to the hedge instrument's
        noise; by default the ETF is taken at NAV, as the R-squared calibration is stated (the
        premium is a separate hedge-cost item for dealers, CALIBRATION section 5).
        """
        st = _as_settle(settle)
        i = self._idx(idx)
        w = np.asarray(weights_usd, dtype=np.float64)
        b, idio_b = self.basket_exposure(snapshot, i, w, st)
        e, resid_e = self.etf_exposure(snapshot, ticker, st)
        if not include_premium:
            resid_e -= self.config.etf_premium_vol**2
        b[RATES] = 0.0
        e[RATES] = 0.0
        table = self.exposure_table(snapshot, st)
        net = np.bincount(i.ravel(), w.ravel(), minlength=self._n)
        cov_idio = float(net @ (self._etf_dense[ticker] * table.idio_var))
        var_b = float(b @ self.cov @ b) + idio_b
        var_e = float(e @ self.cov @ e) + max(resid_e, 0.0)
        cov = float(b @ self.cov @ e) + cov_idio
        if var_b <= 0.0 or var_e <= 0.0:
            return EtfHedge(0.0, 0.0, max(var_b, 0.0), max(var_b, 0.0))
        r2 = min(cov * cov / (var_b * var_e), 1.0)
        return EtfHedge(cov / var_e, r2, var_b, max(var_b * (1.0 - r2), 0.0))

    def r_squared_vs_etf(
        self,
        snapshot: MarketSnapshot,
        idx: ArrayLike,
        weights_usd: ArrayLike,
        ticker: str,
        settle: SettleLike,
        *,
        include_premium: bool = False,
    ) -> float:
        """Share of the basket's credit excess-return variance explained by the ETF, rates hedged.

        See :meth:`etf_hedge`.
        """
        return self.etf_hedge(
            snapshot, idx, weights_usd, ticker, settle, include_premium=include_premium
        ).r_squared


_SHARED: dict[tuple[int, FactorModelConfig], FactorModel] = {}


def shared_factor_model(universe: Universe, config: FactorModelConfig) -> FactorModel:
    """One factor model per universe and config in the process, shared by all who use it (a simulation's
    market and metrics, every dealer that prices with the same config): its exposure tables (a few ms per
    market snapshot) are then built once per snapshot, not once per user. The model holds only tables
    computed from the universe, the config and the snapshots it is asked about, the same for every user,
    so sharing cannot carry one user's state to another."""
    key = (id(universe), config)
    model = _SHARED.get(key)
    if model is None or model.universe is not universe:
        if len(_SHARED) >= 16:
            _SHARED.pop(next(iter(_SHARED)))
        model = _SHARED[key] = FactorModel(universe, config)
    return model
