"""Market impact and information leakage of inquiries.

Asking dealers for a price tells them something. An inquiry moves the evaluated mid of its bond
in the direction of the client's trade (a client buy pushes the mid up), and moves related bonds
less; the move fades exponentially. The model, per line of an inquiry (all in bp of clean price):

* **Size.** ``impact_bp x sqrt(|quantity| / ADV)``, concave in size (the square-root law), capped
  at ``max_line_impact_bp``; lines of one instrument in one event are netted first. ADV, the
  bond's typical daily volume, is ``amount outstanding x annual turnover / 252``; turnover rises
  linearly with the (base) liquidity score from ``turnover_at_score_0`` to
  ``turnover_at_score_100`` (Treasuries: ``treasury_turnover``).
* **Leakage.** The inquiry's impulse is that times ``1 + dealer_leakage_slope x (n_dealers -
  1)``: each extra dealer asked is one more party who knows. After the award the losing dealers'
  pre-hedging adds ``loser_prehedge_share x n_losers`` times the size term, in the same direction.
* **Portfolios.** A portfolio inquiry leaks ``portfolio_leakage_factor`` (0.2) of a single-bond
  RFQ per line: dealers see a diversified basket to price as a whole, not a directional signal on
  a bond.
* **Related bonds.** Other bonds of the same issuer move ``issuer_spillover`` (50%) of the
  impulse, other bonds of the same sector ``sector_spillover`` (10%), everything else not at all.
  Treasuries move only by their own inquiries.
* **Decay.** Every displacement decays with half-life ``half_life_ns`` (30 minutes). One
  half-life for all makes decay a common factor: the state is one array of displacements and the
  time it was last brought up to date, decayed lazily and exactly.

A pure state machine: time comes in as integer nanoseconds; no clock, no randomness. Times are
expected not to go backwards; a call with an earlier time than the last update is taken at the
last update's time (no decay, no error). ``ImpactConfig(enabled=False)`` makes every call a no-op.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from server.domain import bondmath
from server.market.universe import SECTORS, MarketSnapshot, Universe

__all__ = ["ImpactConfig", "ImpactModel"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

NS_PER_MINUTE: Final = 60 * 10**9
_TRADING_DAYS_PER_YEAR: Final = 252.0
_NEGLIGIBLE_BP: Final = 1e-9


@dataclass(frozen=True)
class ImpactConfig:
    """Parameters of impact and leakage (estimates: keep configurable)."""

    enabled: bool = True
    impact_bp: float = 2.0
    """Mid move (bp of price) of a one-dealer RFQ for one ADV of size; it scales with sqrt(size / ADV)."""
    max_line_impact_bp: float = 50.0
    """Cap on the move one line of one event can cause."""
    turnover_at_score_0: float = 0.2
    """Annual turnover (volume / amount outstanding) of the least liquid bond."""
    turnover_at_score_100: float = 1.5
    """Annual turnover of the most liquid corporate bond."""
    treasury_turnover: float = 250.0
    """Annual turnover of an on-the-run Treasury (it trades about its size every day)."""
    dealer_leakage_slope: float = 0.25
    """``a`` in ``1 + a x (n_dealers - 1)``: five dealers leak twice what one does."""
    loser_prehedge_share: float = 0.10
    """Further move per losing dealer after the award, as a share of the size term."""
    portfolio_leakage_factor: float = 0.2
    """Leakage of a portfolio inquiry's line relative to the same line as an RFQ."""
    issuer_spillover: float = 0.5
    """Share of a bond's move that other bonds of its issuer follow."""
    sector_spillover: float = 0.1
    """Share of a bond's move that other issuers' bonds in its sector follow."""
    half_life_ns: int = 30 * NS_PER_MINUTE
    """Half-life of every displacement (30 minutes)."""

    def __post_init__(self) -> None:
        nonneg = ("impact_bp", "max_line_impact_bp", "dealer_leakage_slope", "loser_prehedge_share",
                  "portfolio_leakage_factor")
        for name in nonneg:
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0.0):
                raise ValueError(f"{name} must be finite and non-negative")
        for name in ("turnover_at_score_0", "turnover_at_score_100", "treasury_turnover"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0.0):
                raise ValueError(f"{name} must be positive")
        for name in ("issuer_spillover", "sector_spillover"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.half_life_ns <= 0:
            raise ValueError("half_life_ns must be positive")


class ImpactModel:
    """Cumulative, decaying mid displacement of every instrument caused by inquiries."""

    def __init__(self, universe: Universe, config: ImpactConfig = ImpactConfig()) -> None:
        self.universe = universe
        self.config = config
        n, nb = universe.n_instruments, universe.n_bonds
        self._n = n
        self._nb = nb
        self._issuer = np.asarray(universe.issuer_idx, dtype=np.int64)
        self._sector = np.asarray(universe.sector_idx, dtype=np.int64)
        self._n_issuers = len(universe.issuers)
        self._n_sectors = len(SECTORS)
        liq = np.clip(np.asarray(universe.base_liquidity, dtype=np.float64), 0.0, 100.0)
        turnover = config.turnover_at_score_0 + (config.turnover_at_score_100 - config.turnover_at_score_0) * liq / 100
        turnover[nb:] = config.treasury_turnover
        adv = np.asarray(universe.all_amount_outstanding, dtype=np.float64) * turnover / _TRADING_DAYS_PER_YEAR
        self._adv = np.maximum(adv, 1.0)
        self._adv.setflags(write=False)
        self._disp = np.zeros(n)
        self._t: int | None = None
        self._risk: tuple[MarketSnapshot, FloatArray] | None = None
        self._reach_cache: dict[int, tuple[IntArray, BoolArray, BoolArray, BoolArray]] = {}

    @property
    def adv(self) -> FloatArray:
        """Typical daily volume (USD face) of each instrument, read-only."""
        return self._adv

    def reset(self) -> None:
        """Forget every displacement."""
        self._disp = np.zeros(self._n)
        self._t = None

    # ---- events ----------------------------------------------------------------------------

    def on_inquiry(
        self,
        now_ns: int,
        idx: ArrayLike,
        signed_qty: ArrayLike,
        n_dealers: int,
        is_portfolio: bool = False,
    ) -> None:
        """An inquiry for lines ``idx`` of client-side signed face ``signed_qty`` (buy > 0) sent to ``n_dealers``."""
        if not self.config.enabled:
            return
        if n_dealers < 1:
            raise ValueError("n_dealers must be at least 1")
        scale = 1.0 + self.config.dealer_leakage_slope * (n_dealers - 1)
        self._add(now_ns, idx, signed_qty, scale, is_portfolio)

    def on_award(
        self,
        now_ns: int,
        idx: ArrayLike,
        signed_qty: ArrayLike,
        n_losers: int,
        is_portfolio: bool = False,
    ) -> None:
        """The award of an inquiry: ``n_losers`` losing dealers pre-hedged in the client's direction."""
        if not self.config.enabled:
            return
        if n_losers < 0:
            raise ValueError("n_losers must be non-negative")
        self._add(now_ns, idx, signed_qty, self.config.loser_prehedge_share * n_losers, is_portfolio)

    def _add(self, now_ns: int, idx: ArrayLike, signed_qty: ArrayLike, scale: float, is_portfolio: bool) -> None:
        cfg = self.config
        if (type(idx) is np.ndarray and idx.shape == (1,) and type(signed_qty) is np.ndarray
                and signed_qty.shape == (1,)):
            self._add_one(now_ns, int(idx[0]), float(signed_qty[0]), scale, is_portfolio)
            return
        i = np.atleast_1d(np.asarray(idx, dtype=np.int64)).ravel()
        q = np.broadcast_to(np.asarray(signed_qty, dtype=np.float64), np.asarray(idx).shape).ravel()
        if i.size and (int(i.min()) < 0 or int(i.max()) >= self._n):
            raise IndexError(f"instrument indices must be in 0..{self._n - 1}")
        if not np.all(np.isfinite(q)):
            raise ValueError("signed_qty must be finite")
        self._advance(now_ns)
        if scale == 0.0 or i.size == 0:
            return
        if is_portfolio:
            scale *= cfg.portfolio_leakage_factor
        # Lines of the same instrument are one order: net them before the (concave) size term.
        net = np.bincount(i, q, minlength=self._n)
        lines = np.flatnonzero(net).astype(np.int64)
        qn = net[lines]
        size = cfg.impact_bp * np.sqrt(np.abs(qn) / self._adv[lines])
        d = np.sign(qn) * np.minimum(size * scale, cfg.max_line_impact_bp)
        self._disp += self._spread(lines, d)

    def _add_one(self, now_ns: int, i: int, q: float, scale: float, is_portfolio: bool) -> None:
        """``_add`` for one line (a single-bond RFQ): the same arithmetic on the instruments the impulse
        reaches (the bond, its issuer's and its sector's bonds) instead of on the whole universe."""
        cfg = self.config
        if not 0 <= i < self._n:
            raise IndexError(f"instrument indices must be in 0..{self._n - 1}")
        if not math.isfinite(q):
            raise ValueError("signed_qty must be finite")
        self._advance(now_ns)
        if scale == 0.0 or q == 0.0:
            return
        if is_portfolio:
            scale *= cfg.portfolio_leakage_factor
        size = cfg.impact_bp * math.sqrt(abs(q) / float(self._adv[i]))
        d = (1.0 if q > 0.0 else -1.0) * min(size * scale, cfg.max_line_impact_bp)
        if i >= self._nb:  # a Treasury: no issuer or sector spillover
            self._disp[i] += d
            return
        reach, is_self, same_issuer, same_sector = self._reach(i)
        own = np.where(is_self, d, 0.0)
        iss = np.where(same_issuer, d, 0.0)
        sec = np.where(same_sector, d, 0.0)
        # as in _spread: own + (issuer spillover + sector spillover), element by element
        self._disp[reach] += own + (cfg.issuer_spillover * (iss - own) + cfg.sector_spillover * (sec - iss))

    def _reach(self, i: int) -> tuple[IntArray, BoolArray, BoolArray, BoolArray]:
        """The corporates an impulse on bond ``i`` moves (same issuer or same sector) and which is which."""
        found = self._reach_cache.get(i)
        if found is None:
            same_issuer = self._issuer == self._issuer[i]
            same_sector = self._sector == self._sector[i]
            reach = np.flatnonzero(same_issuer | same_sector).astype(np.int64)
            found = (reach, reach == i, same_issuer[reach], same_sector[reach])
            self._reach_cache[i] = found
        return found

    def _spread(self, i: IntArray, d: FloatArray) -> FloatArray:
        """Displacement of every instrument from per-line impulses ``d`` on instruments ``i``."""
        cfg = self.config
        nb = self._nb
        own = np.asarray(np.bincount(i, d, minlength=self._n), dtype=np.float64)
        corp = i < nb
        ic, dc = i[corp], d[corp]
        by_issuer = np.bincount(self._issuer[ic], dc, minlength=self._n_issuers)
        by_sector = np.bincount(self._sector[ic], dc, minlength=self._n_sectors)
        out = own.copy()
        iss = by_issuer[self._issuer]
        sec = by_sector[self._sector]
        out[:nb] += cfg.issuer_spillover * (iss - own[:nb]) + cfg.sector_spillover * (sec - iss)
        return out

    # ---- state -----------------------------------------------------------------------------

    def _decay(self, now_ns: int) -> float:
        if self._t is None or now_ns <= self._t:
            return 1.0
        return 0.5 ** ((now_ns - self._t) / self.config.half_life_ns)

    def _advance(self, now_ns: int) -> None:
        f = self._decay(now_ns)
        if f != 1.0:
            self._disp *= f
        self._t = now_ns if self._t is None else max(self._t, now_ns)

    def displacement_bp(self, now_ns: int) -> FloatArray:
        """Current displacement of every instrument's mid, bp of clean price (positive: up)."""
        if not self.config.enabled:
            return np.zeros(self._n)
        return self._disp * self._decay(now_ns)

    def apply(self, snapshot: MarketSnapshot, now_ns: int) -> MarketSnapshot:
        """``snapshot`` with every mid moved by its displacement at ``now_ns``.

        The move is made through the spread (``ds = -d x clean / (modified duration x dirty)``) and
        the instrument repriced by :meth:`MarketSnapshot.from_spreads`, so price, yield and spread
        stay consistent; the price then moves by the displacement up to convexity (a relative
        error of order the move squared). ETFs are not moved. Without displacement, or disabled,
        the snapshot itself is returned. The result is ``snapshot.with_mids(...)``: only the mids
        are new objects, and its ``basis`` names the snapshot they were moved from.
        """
        d = self.displacement_bp(now_ns)
        if not self.config.enabled or not np.any(np.abs(d) > _NEGLIGIBLE_BP):
            return snapshot
        if len(snapshot) != self._n:
            raise ValueError(f"snapshot has {len(snapshot)} instruments, the universe {self._n}")
        per_bp = self._price_per_spread_bp(snapshot)
        shift = np.where(per_bp > 0.0, -d / np.where(per_bp > 0.0, per_bp, 1.0), 0.0)
        moved = MarketSnapshot.from_spreads(
            self.universe,
            np.asarray(snapshot.spread_bp, dtype=np.float64) + shift,
            snapshot.liquidity_score,
            curve=snapshot.curve,
            as_of=snapshot.as_of,
            etf_nav=snapshot.etf_nav,
            etf_price=snapshot.etf_price,
        )
        return snapshot.with_mids(moved.mid_price, moved.mid_yield, moved.spread_bp)

    def _price_per_spread_bp(self, snapshot: MarketSnapshot) -> FloatArray:
        """bp of clean price lost per bp of spread: ``modified duration x dirty / clean``."""
        if self._risk is not None and self._risk[0] is snapshot:
            return self._risk[1]
        u = self.universe
        settle = np.datetime64(snapshot.as_of, "D")
        md = bondmath.modified_duration(
            u.all_coupon, u.all_maturity, settle, snapshot.mid_yield, u.all_day_count, u.all_frequency
        )
        ai = bondmath.accrued_interest(u.all_coupon, u.all_maturity, settle, u.all_day_count, u.all_frequency)
        clean = np.asarray(snapshot.mid_price, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_bp = md * (clean + ai) / clean
        per_bp = np.asarray(np.where(np.isfinite(per_bp), per_bp, 0.0), dtype=np.float64)
        self._risk = (snapshot, per_bp)
        return per_bp
