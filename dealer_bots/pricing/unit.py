"""Per-instrument risk per unit of market value: the tables behind the single-line fast path.

One line of instrument ``i`` with the dealer's signed face ``x`` has market value
``mv = x x dirty_i / 100``, and every quantity :func:`~dealer_bots.pricing.pricer.price_basket` derives
from its factor exposure ``E_i x mv`` is a per-instrument constant times ``mv``, ``|mv|`` or ``mv^2``:

* the hedge, ``H_i x mv``: both hedge steps (credit with the ETFs, then rates with the Treasuries) are
  linear in the exposure; so is the residual exposure ``R_i x mv`` it leaves;
* the hedged daily variance, ``V_i x mv^2`` with ``V_i = max(R_i' C R_i, 0) + idio_i + H_i^2 . own``
  (every term is quadratic in ``mv``, and the ``max`` commutes with a positive factor);
* the unhedged daily variance, ``U_i x mv^2``;
* the hedge cost, ``S_i x |mv| + P_i x mv``: half-spreads on the absolute amounts and the ETF premium on
  the signed ones (:func:`~dealer_bots.pricing.hedge.hedge_cost_parts`; neither has a fixed part);
* the hedge R-squared, ``R2_i``: a ratio of two variances that are both proportional to ``mv^2``.

:class:`UnitRisk` evaluates the model's own functions (``hedge_notionals``, ``residual_variance``,
``hedge_r_squared``, ...) at ``mv = 1``, vectorized over blocks of :data:`BLOCK` instruments, so the
single-line pricer (:mod:`dealer_bots.pricing.single`) needs no numpy per call. The results agree with
those functions evaluated at the line's own ``mv`` to rounding (a few units in the last place), not bit
for bit: products are associated differently and matrix products go through BLAS.

Nothing here depends on the mids: the line's dirty price (for ``mv``) and mid (for the price) are the
context's (``MarketRisk.dirty`` and ``MarketRisk.mid``), read by the pricer per call.

A block is computed the first time one of its instruments is priced, always the same way (the same
rows, the same functions), so a line's figures do not depend on which instruments were priced before.
Blocks keep the cost proportional to use: a market step brings new tables, and the inquiries until the
next step price a few instruments on them, a block costing a fraction of the whole universe's tables.

The tables belong to one :class:`~dealer_bots.pricing.risk.MarketRisk` (``MarketRisk.unit``) and to the
contexts moved from it to impacted snapshots (``MarketRisk.at``), which share its per-unit tables: a
``MarketRisk`` is immutable (read-only arrays of one snapshot and settlement date, a frozen hedge
book), so they cannot go stale; a new market step gets a new ``MarketRisk`` and new tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from dealer_bots.pricing.hedge import (
    HedgeBook,
    hedge_cost_parts,
    hedge_notionals,
    hedge_r_squared,
    hedged_exposure,
    residual_variance,
)

if TYPE_CHECKING:
    from dealer_bots.pricing.risk import MarketRisk

__all__ = ["BLOCK", "ROW", "UnitRisk"]

FloatArray = NDArray[np.float64]

BLOCK: Final = 256
"""Instruments per block of the tables."""

ROW: Final[tuple[str, ...]] = (
    "holding_days", "rfq_bp", "reduction", "is_hy", "is_bond", "duration",
    "krd_2y", "krd_5y", "krd_10y", "krd_30y",
    "variance", "unhedged_variance", "spread_cost", "premium_cost", "r_squared",
)
"""The columns of a row, in order; the hedge per unit of market value (one column per hedge instrument,
``HEDGE_NAMES`` order) follows them. ``variance`` and ``unhedged_variance`` are daily, per USD^2 of
market value; ``spread_cost`` per 1 USD of ``|mv|``, ``premium_cost`` per 1 USD of signed ``mv``. No
mid and no dirty price: those are the context's, which may have moved since the tables were built."""


class UnitRisk:
    """Per instrument (corporates then Treasuries): its inputs and its risk per 1 USD of market value
    (nothing that moves with the mids)."""

    __slots__ = ("_blocks", "_book", "_cov", "_exposure", "_idio_var", "_inputs", "_n_bonds", "_rows", "n")

    def __init__(self, ctx: MarketRisk) -> None:
        # The arrays it needs, not ``ctx``: ``ctx`` caches this object, and no cycle keeps either alive.
        self.n = int(ctx.mid.shape[0])
        self._book: HedgeBook = ctx.hedges
        self._cov = ctx.cov
        self._exposure = ctx.exposure
        self._idio_var = ctx.idio_var
        self._n_bonds = ctx.universe.n_bonds
        self._inputs = (ctx.holding_days, ctx.rfq_bp, ctx.reduction, ctx.is_hy, ctx.duration, ctx.krd)
        self._blocks: list[FloatArray | None] = [None] * -(-self.n // BLOCK)
        self._rows: dict[int, tuple[float, ...]] = {}

    def row(self, i: int) -> tuple[float, ...]:
        """Instrument ``i``'s row (``ROW`` order, then the hedge), as Python floats (kept once read: an
        instrument is priced again and again on one market step's tables)."""
        row = self._rows.get(i)
        if row is not None:
            return row
        if not 0 <= i < self.n:
            raise IndexError(f"instrument index {i} out of range for {self.n} instruments")
        b, k = divmod(i, BLOCK)
        block = self._blocks[b]
        if block is None:
            block = self._blocks[b] = self.block(b)
        row = self._rows[i] = tuple(block[k].tolist())
        return row

    def block(self, b: int) -> FloatArray:
        """Rows ``b x BLOCK`` to ``(b + 1) x BLOCK`` (fewer in the last block), computed (not cached)."""
        rows = slice(b * BLOCK, min((b + 1) * BLOCK, self.n))
        book, cov = self._book, self._cov
        unit, idio = self._exposure[rows], self._idio_var[rows]
        hedge = hedge_notionals(book, unit)
        resid = hedged_exposure(book, unit, hedge)
        variance = residual_variance(book, cov, resid, idio, hedge)
        unhedged = np.einsum("ik,ik->i", unit @ cov, unit) + idio
        spread, premium = hedge_cost_parts(book, hedge)
        r2 = hedge_r_squared(book, cov, unit, idio, hedge, resid)
        days, rfq_bp, reduction, is_hy, duration, krd = (a[rows] for a in self._inputs)
        is_bond = np.arange(rows.start, rows.stop) < self._n_bonds
        out = np.column_stack([days, rfq_bp, reduction, is_hy, is_bond, duration, krd,  # ROW order
                               variance, unhedged, spread, premium, r2, hedge])
        out.setflags(write=False)
        return out
