"""The client flow: who asks for what, when. Drawn up front from the flow's own random streams.

Arrivals are Poisson processes (single-bond RFQs at ``rfq_per_hour``, portfolio inquiries at
``portfolio_per_hour``), drawn exactly as "a Poisson count, then uniform times". Each inquiry gets
a client type (by weight), a client of that type, a side, bonds and sizes:

* bonds: a liquidity bucket by the mix's shares (liquid: score >= ``liquid_min_score``,
  illiquid: score < ``illiquid_max_score``, mid: the rest; scores are the universe's base
  liquidity), optionally a grade (``hy_share``), then a bond of that pool with probability
  proportional to its amount outstanding (big issues trade more). Basket lines are distinct;
* sizes: log-normal, clipped, rounded to the bond's lot (minimum piece plus a multiple of the
  increment, at most the amount outstanding).

RFQs and baskets use separate streams (``("flow", "rfq")`` and ``("flow", "portfolio")``): the
orders depend on the seed, the flow settings and the universe only, never on the dealers, so
adding a dealer leaves every client order exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from server.domain.types import InquiryKind
from server.market.universe import Universe
from server.research.scenario import ClientType, FlowSettings, LiquidityMix, SizeDist
from server.research.seeds import stream

__all__ = ["BUCKETS", "ClientOrder", "FlowModel", "bucket_of"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BUCKETS: tuple[str, ...] = ("liquid", "mid", "illiquid")


@dataclass(frozen=True, slots=True, eq=False)
class ClientOrder:
    """One inquiry a client will send: at ``at_ns``, these lines (instrument indices into the universe)."""

    number: int
    at_ns: int
    client_id: str
    client_type: str
    kind: InquiryKind
    idx: IntArray
    sides: NDArray[np.int8]  # the client's side: +1 buys, -1 sells
    quantities: IntArray

    @property
    def n_lines(self) -> int:
        return int(self.idx.shape[0])

    def key(self) -> tuple[object, ...]:
        """Everything that defines the order, as plain values (for comparisons)."""
        return (self.at_ns, self.client_id, self.client_type, self.kind.value, tuple(self.idx.tolist()),
                tuple(self.sides.tolist()), tuple(self.quantities.tolist()))


def bucket_of(score: FloatArray, mix: LiquidityMix) -> NDArray[np.int64]:
    """0 liquid, 1 mid, 2 illiquid."""
    s = np.asarray(score, dtype=np.float64)
    return np.where(s >= mix.liquid_min_score, 0, np.where(s < mix.illiquid_max_score, 2, 1)).astype(np.int64)


class _Pools:
    """Bonds by (bucket, grade) with amount-outstanding weights."""

    def __init__(self, universe: Universe, mix: LiquidityMix) -> None:
        nb = universe.n_bonds
        buckets = bucket_of(np.asarray(universe.base_liquidity[:nb]), mix)
        hy = np.asarray(universe.is_hy, dtype=bool)
        weight = np.asarray(universe.amount_outstanding, dtype=np.float64)
        grades: tuple[tuple[str, NDArray[np.bool_]], ...]
        if mix.hy_share is None:
            grades = (("any", np.ones(nb, dtype=bool)),)
            grade_p = np.array([1.0])
        else:
            grades = (("IG", ~hy), ("HY", hy))
            grade_p = np.array([1.0 - mix.hy_share, mix.hy_share])
        self.pools: list[tuple[IntArray, FloatArray]] = []
        probs: list[float] = []
        for b, share in enumerate(mix.shares):
            for (_, mask), gp in zip(grades, grade_p, strict=True):
                members = np.flatnonzero((buckets == b) & mask).astype(np.int64)
                w = weight[members]
                self.pools.append((members, w / w.sum() if members.size else w))
                probs.append(share * gp if members.size else 0.0)
        p = np.asarray(probs)
        if p.sum() <= 0.0:  # nothing in the requested buckets: take any bond
            members = np.arange(nb, dtype=np.int64)
            self.pools = [(members, weight / weight.sum())]
            p = np.array([1.0])
        self.p = p / p.sum()
        self.cdfs = [np.cumsum(w) for _, w in self.pools]

    def draw(self, rng: np.random.Generator, n: int) -> IntArray:
        """``n`` bonds, independently (repeats allowed)."""
        pool = rng.choice(len(self.pools), size=n, p=self.p)
        u = rng.random(n)
        out = np.empty(n, dtype=np.int64)
        for k, (members, _) in enumerate(self.pools):
            at = np.flatnonzero(pool == k)
            if at.size:
                pos = np.minimum(np.searchsorted(self.cdfs[k], u[at], side="right"), members.size - 1)
                out[at] = members[pos]
        return out

    def draw_distinct(self, rng: np.random.Generator, n: int) -> IntArray:
        """``n`` distinct bonds (fewer if the pools run out)."""
        counts = rng.multinomial(n, self.p)
        parts: list[IntArray] = []
        short = 0
        for k, (members, w) in enumerate(self.pools):
            m = int(counts[k])
            if m == 0 or members.size == 0:
                short += m
                continue
            take = min(m, members.size)
            short += m - take
            parts.append(rng.choice(members, size=take, replace=False, p=w))
        out = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        if short:  # a bucket ran out: fill from every bond not yet taken, by weight
            everything = np.concatenate([m for m, _ in self.pools])
            rest = np.setdiff1d(everything, out)
            if rest.size:
                out = np.concatenate([out, rng.choice(rest, size=min(short, rest.size), replace=False)])
        return out.astype(np.int64)


def _sizes(rng: np.random.Generator, dist: SizeDist, n: int) -> FloatArray:
    raw = dist.median * np.exp(dist.sigma * rng.standard_normal(n)) if dist.sigma > 0 else np.full(n, dist.median)
    return np.clip(raw, dist.min, dist.max)


class FlowModel:
    """Draws the client orders of one run."""

    def __init__(self, settings: FlowSettings, universe: Universe) -> None:
        self.settings = settings
        self.universe = universe
        self._rfq_pools = _Pools(universe, settings.liquidity_mix)
        pt_mix = settings.portfolio.liquidity_mix
        self._pt_pools = self._rfq_pools if pt_mix is None else _Pools(universe, pt_mix)
        self.types: tuple[ClientType, ...] = tuple(settings.client_types)
        w = np.array([t.weight for t in self.types], dtype=np.float64)
        self._type_p = w / w.sum()
        self._min_piece = np.asarray(universe.min_piece, dtype=np.int64)
        self._increment = np.asarray(universe.increment, dtype=np.int64)
        self._outstanding = np.asarray(universe.amount_outstanding, dtype=np.int64)

    @property
    def client_ids(self) -> dict[str, str]:
        """Every client id -> its type's name."""
        return {f"{t.name}-{k + 1}": t.name for t in self.types for k in range(t.clients)}

    def lots(self, idx: IntArray, face: FloatArray) -> IntArray:
        """``face`` rounded to each bond's trading lot."""
        lo = self._min_piece[idx]
        inc = self._increment[idx]
        top = self._outstanding[idx]
        steps = np.rint((face - lo) / inc).astype(np.int64)
        q = lo + np.maximum(steps, 0) * inc
        cap = top - (top - lo) % inc
        return np.asarray(np.minimum(q, np.maximum(cap, lo)), dtype=np.int64)

    def _arrivals(self, rng: np.random.Generator, per_hour: float, horizon_ns: int) -> IntArray:
        n = int(rng.poisson(per_hour * horizon_ns / 3.6e12)) if per_hour > 0 else 0
        return np.sort(rng.integers(0, horizon_ns, size=n, dtype=np.int64))

    def _clients(self, rng: np.random.Generator, n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        kinds = rng.choice(len(self.types), size=n, p=self._type_p).astype(np.int64)
        within = np.floor(rng.random(n) * np.array([t.clients for t in self.types])[kinds]).astype(np.int64)
        return kinds, within

    def orders(self, seed: int, start_ns: int, horizon_ns: int) -> list[ClientOrder]:
        """Every order of the run, in time order (ties: RFQs first, then by number)."""
        s = self.settings
        out: list[ClientOrder] = []

        rng = stream(seed, "flow", "rfq")
        t = self._arrivals(rng, s.rfq_per_hour, horizon_ns)
        n = t.size
        kinds, within = self._clients(rng, n)
        sides = np.where(rng.random(n) < s.buy_fraction, 1, -1).astype(np.int8)
        idx = self._rfq_pools.draw(rng, n)
        qty = self.lots(idx, _sizes(rng, s.rfq_size, n))
        for j in range(n):
            ct = self.types[int(kinds[j])]
            out.append(ClientOrder(0, start_ns + int(t[j]), f"{ct.name}-{int(within[j]) + 1}", ct.name,
                                   InquiryKind.RFQ, idx[j:j + 1], sides[j:j + 1], qty[j:j + 1]))

        rng = stream(seed, "flow", "portfolio")
        pf = s.portfolio
        t = self._arrivals(rng, s.portfolio_per_hour, horizon_ns)
        n = t.size
        kinds, within = self._clients(rng, n)
        n_lines = np.rint(_sizes(rng, pf.lines, n)).astype(np.int64)
        one_way = rng.random(n) < pf.one_way_fraction
        basket_side = np.where(rng.random(n) < s.buy_fraction, 1, -1)
        for j in range(n):
            ct = self.types[int(kinds[j])]
            lines = self._pt_pools.draw_distinct(rng, int(max(n_lines[j], 1)))
            k = lines.size
            if one_way[j]:
                line_sides = np.full(k, basket_side[j], dtype=np.int8)
            else:
                line_sides = np.where(rng.random(k) < s.buy_fraction, 1, -1).astype(np.int8)
            line_qty = self.lots(lines, _sizes(rng, pf.line_size, k))
            out.append(ClientOrder(0, start_ns + int(t[j]), f"{ct.name}-{int(within[j]) + 1}", ct.name,
                                   InquiryKind.PORTFOLIO, lines, line_sides, line_qty))

        out.sort(key=lambda o: (o.at_ns, o.kind is InquiryKind.PORTFOLIO))
        return [ClientOrder(i + 1, o.at_ns, o.client_id, o.client_type, o.kind, o.idx, o.sides, o.quantities)
                for i, o in enumerate(out)]
