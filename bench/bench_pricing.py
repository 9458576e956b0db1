"""Benchmark: how long a dealer takes to price a basket, vectorized against a per-line loop.

    python bench/bench_pricing.py [--repeat 20] [--bonds 6000]

For baskets of 10, 200, 1,000 and 5,000 lines (both sides, 100k-5mm a line) it prints:

* ``toolkit``: ``dealer_bots.pricing.price_basket`` (vectorized over lines);
* ``loop``: the same model written as a straightforward Python loop over the lines, kept here for
  comparison; it must compute the same numbers (asserted: line prices and every charge);
* ``speed-up``: loop / toolkit;
* one column per reference strategy: its whole ``on_inquiry`` (pricing, quote assembly, rounding,
  the net price) with the per-snapshot risk tables already built (the first inquiry on a new
  snapshot also builds them; that cost is printed once, below the table).

Times are medians of ``--repeat`` runs (``time.perf_counter_ns``). Goal: 5,000 lines in 10 ms or
less per dealer.

Then one bond (single-bond RFQs, the research simulator's bulk), per call, in the same run:

* ``price_line`` (``dealer_bots.pricing.single``, the scalar fast path the net-risk dealers use for one
  line) against ``price_basket`` on the same line (asserted: the same price and charges to 1e-9);
* each reference strategy's whole ``on_inquiry`` for a one-way RFQ, as it is (fast path) and with
  ``price`` forced through ``price_basket`` (the pricing before the fast path; asserted: the same
  quotes). Both assemble the quote with today's ``single_quote``, whose scalar rounding is itself
  cheaper than the numpy rounding it replaced, so this ratio understates the whole gain;
* what the fast path's tables cost on a new snapshot: one block of ``unit.BLOCK`` instruments (built
  on first use; every block of the universe within a few hundred inquiries on a snapshot).

Both over bonds across the universe, both sides, a random inventory (below the dealers' balance-sheet
limits) and axes; ``--repeat`` runs of each path, alternately (``--calls`` calls a run for the fast
path, a tenth for the other), and the median of the runs' ratios, so that on a shared machine the
load hits both sides of a ratio alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dealer_bots.pricing.charges import balance_sheet, desire
from dealer_bots.pricing.competition import optimal_markup
from dealer_bots.pricing.pricer import PricedBasket, PricingConfig, floor_lines, price_basket
from dealer_bots.pricing.risk import MarketRisk
from dealer_bots.pricing.single import price_line
from dealer_bots.pricing.unit import BLOCK, UnitRisk
from dealer_bots.reference.risk_dealer import RiskDealer
from dealer_bots.reference.strategies import AxeDealer, CautiousDealer, EtfHedgingDealer, FlowDealer
from server.bots.protocol import InquiryView, InventoryView, MarketView, Quote
from server.domain.calendar import date_from_ns, ns_from_date, settlement_date
from server.domain.types import InquiryKind, QuoteType
from server.market.factors import HY, IG, RATES, FactorModel
from server.market.universe import Universe, UniverseConfig, build_universe

FloatArray = NDArray[np.float64]
SIZES = (10, 200, 1_000, 5_000)
SIZES_FACE = np.array([100_000, 250_000, 500_000, 1_000_000, 2_000_000, 5_000_000])
STRATEGIES: tuple[type[RiskDealer], ...] = (FlowDealer, EtfHedgingDealer, AxeDealer, CautiousDealer)
COMPONENT_NAMES = ("liquidity", "hedge", "basis_risk", "capital", "inventory", "balance_sheet", "markup")


def price_basket_loop(ctx: MarketRisk, cfg: PricingConfig, idx: NDArray[np.int64], face: FloatArray, *,
                      n_dealers: int, positions: FloatArray | None = None,
                      axes: FloatArray | None = None) -> dict[str, FloatArray]:
    """The model of ``price_basket``, one line at a time (for comparison only)."""
    book, cov, hc = ctx.hedges, ctx.cov, cfg.hedge
    n = len(idx)
    pos_all = np.zeros(ctx.mid.shape[0]) if positions is None else positions
    line_mv, line_hold, line_var, line_cost, line_risk, line_cap, line_r2 = ([0.0] * n for _ in range(7))
    line_expo: list[FloatArray] = []
    h_sum = np.zeros(len(book.names))
    resid_sum = np.zeros(cov.shape[0])
    expo_sum = np.zeros(cov.shape[0])
    idio_sum = 0.0
    credit_cov = cov[RATES.stop:, RATES.stop:]
    for k in range(n):
        i, x = int(idx[k]), float(face[k])
        mv = x * ctx.dirty[i] / 100.0
        e = ctx.exposure[i] * mv
        idio = ctx.idio_var[i] * mv * mv
        h = -hc.credit_ratio * (e[[IG, HY]] @ book.credit_solve)
        h = h - hc.rates_ratio * ((e[RATES] + h @ book.exposure[:, RATES]) @ book.rates_solve)
        r = e + h @ book.exposure
        var = max(float(r @ cov @ r), 0.0) + idio + float((h * h) @ book.resid_var)
        cost = hc.round_trip * float(np.abs(h) @ book.half_spread_bp) * 1e-4 + hc.premium_pass_through * float(
            h @ book.premium)
        hold = float(ctx.holding_days[i])
        sigma = np.sqrt(var)
        credit, left = e[RATES.stop:], r[RATES.stop:]
        total_c = float(credit @ credit_cov @ credit) + idio
        resid_c = float(left @ credit_cov @ left) + idio + float((h * h) @ (book.resid_var - book.premium_var))
        line_r2[k] = min(max(1.0 - resid_c / total_c, 0.0), 1.0) if total_c > 0.0 else 1.0
        line_mv[k], line_hold[k], line_var[k], line_cost[k] = mv, hold, var, cost
        line_risk[k] = cfg.risk_aversion * sigma * np.sqrt(hold)
        line_cap[k] = cfg.cost_of_capital * 2.3263478740408408 * sigma * np.sqrt(cfg.var_days) * hold / 252.0
        line_expo.append(e)
        h_sum += h
        resid_sum += r
        expo_sum += e
        idio_sum += idio
    gross_mv = sum(abs(m) for m in line_mv)
    hold_b = sum(abs(m) * t for m, t in zip(line_mv, line_hold, strict=True)) / gross_mv if gross_mv > 0 else 1.0
    var_b = max(float(resid_sum @ cov @ resid_sum), 0.0) + idio_sum + float((h_sum * h_sum) @ book.resid_var)
    cost_b = hc.round_trip * float(np.abs(h_sum) @ book.half_spread_bp) * 1e-4 + hc.premium_pass_through * float(
        h_sum @ book.premium)
    risk_b = cfg.risk_aversion * np.sqrt(var_b * hold_b)
    cap_b = cfg.cost_of_capital * 2.3263478740408408 * np.sqrt(var_b) * np.sqrt(cfg.var_days) * hold_b / 252.0
    alone = sum(np.sqrt(v * t) for v, t in zip(line_var, line_hold, strict=True))
    raw = min(max(1.0 - np.sqrt(var_b * hold_b) / alone, 0.0), 1.0) if alone > 0 else 0.0
    hedgeability = sum(r2 * abs(m) for r2, m in zip(line_r2, line_mv, strict=True)) / gross_mv if gross_mv else 1.0
    div = min(raw / cfg.diversification_ref, 1.0) * min(hedgeability / cfg.hedgeability_ref, 1.0)

    def share(total: float, weights: list[float]) -> list[float]:
        w = [max(v, 0.0) for v in weights]
        s = sum(w)
        if not s > 0.0:
            w = [abs(m) for m in line_mv]
            s = sum(w)
        return [total * v / s for v in w] if s > 0 else [total / n] * n

    hedge_c = share(cost_b, [abs(c) for c in line_cost])
    risk_c = share(float(risk_b), line_risk)
    cap_c = share(float(cap_b), line_cap)
    want = desire(pos_all[idx], cfg.inventory, None if axes is None else axes[idx])
    bs = balance_sheet(pos_all, ctx.dirty, idx, face, cfg.balance_sheet)
    liq, inv, ref = [0.0] * n, [0.0] * n, [0.0] * n
    for k in range(n):
        i, x = int(idx[k]), float(face[k])
        pt_bp = ctx.rfq_bp[i] * (1.0 - div * ctx.reduction[i])
        liq[k] = cfg.liquidity_weight * (cfg.hy_liquidity_multiplier if ctx.is_hy[i] else 1.0) * abs(x) * pt_bp * 1e-4
        inv[k] = -cfg.inventory.skew_bp * 1e-4 * float(want[k]) * x
        ref[k] = abs(x) * max(pt_bp, cfg.reference_floor_bp) * 1e-4
    reference = max(sum(ref), 1e-9)
    reservation = sum(liq) + sum(hedge_c) + sum(risk_c) + sum(cap_c) + sum(inv) + float(bs.charge.sum())
    m_rel = float(optimal_markup(reservation / reference, n_dealers, cfg.competition))
    markup = share(m_rel * reference, ref)
    total = np.array([liq[k] + hedge_c[k] + risk_c[k] + cap_c[k] + inv[k] + float(bs.charge[k]) + markup[k]
                      for k in range(n)])
    edged = floor_lines(total, cfg.min_edge_bp * 1e-4 * np.abs(face))
    markup = [m + float(d) for m, d in zip(markup, edged - total, strict=True)]
    prices = np.array([ctx.mid[int(idx[k])] - 100.0 * float(edged[k]) / float(face[k]) for k in range(n)])
    return {"prices": prices, "liquidity": np.array(liq), "hedge": np.array(hedge_c), "basis_risk": np.array(risk_c),
            "capital": np.array(cap_c), "inventory": np.array(inv), "balance_sheet": bs.charge,
            "markup": np.array(markup)}


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up
    runs = []
    for _ in range(repeat):
        t = time.perf_counter_ns()
        fn()
        runs.append(time.perf_counter_ns() - t)
    return statistics.median(runs) / 1e6


def median_us_per_call(fn: Callable[[], object], calls: int, repeat: int, *, warm_up: bool = True) -> float:
    if warm_up:
        fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter_ns() - t) / calls)
    return statistics.median(runs) / 1e3


def paired_us_per_call(fast: Callable[[], object], slow: Callable[[], object], calls: int,
                       repeat: int) -> tuple[float, float, float]:
    """Median us per call of ``fast`` and ``slow``, run alternately (``calls`` and ``calls // 10`` a run), and
    the median of the runs' ratios: on a shared machine a burst of load then hits both sides of a ratio."""
    fast(), slow()  # warm up
    fast_us, slow_us = [], []
    for _ in range(repeat):
        fast_us.append(median_us_per_call(fast, calls, 1, warm_up=False))
        slow_us.append(median_us_per_call(slow, max(calls // 10, 1), 1, warm_up=False))
    ratio = statistics.median(s / f for f, s in zip(fast_us, slow_us, strict=True))
    return statistics.median(fast_us), statistics.median(slow_us), ratio


def general_path(cls: type[RiskDealer]) -> RiskDealer:
    """``cls`` with one-line inquiries priced by ``price_basket`` too, as before the single-line fast path."""

    class General(cls):  # type: ignore[valid-type, misc]
        def price(self, ctx: MarketRisk, inquiry: InquiryView, face: FloatArray,
                  inventory: InventoryView) -> PricedBasket:
            return price_basket(ctx, self.pricing, inquiry.idx, face, n_dealers=inquiry.panel_size,
                                positions=inventory.positions, axes=self.axes(ctx))

    return General()


def rfq(u: Universe, i: int, side: int, quantity: int) -> InquiryView:
    now = ns_from_date(u.as_of, 15)
    return InquiryView(f"RFQ-{i}", InquiryKind.RFQ, "bench", QuoteType.PRICE, (u.instruments[i].cusip,),
                       np.array([i], dtype=np.int64), np.array([side], dtype=np.int8), np.array([quantity]), 5, now,
                       now + 10 * 10**9)


def single_bond(u: Universe, ctx: MarketRisk, market: MarketView, calls: int, repeat: int) -> None:
    """Per-call cost of one bond: the fast path against ``price_basket``, and whole ``on_inquiry`` calls."""
    rng = np.random.default_rng(3)
    positions = rng.normal(0.0, 1e5, u.n_instruments).round(-3)
    axes = rng.choice(np.array([-1.0, 0.0, 0.0, 0.0, 1.0]), u.n_instruments)
    lines = [(int(i), float(s * q)) for i, s, q in zip(rng.choice(u.n_bonds, 64, replace=False),
                                                      rng.choice([-1.0, 1.0], 64), rng.choice(SIZES_FACE, 64),
                                                      strict=True)]
    cfg = PricingConfig()
    for i, x in lines:  # the same pricing, to rounding
        fast = price_line(ctx, cfg, i, x, n_dealers=5, positions=positions, axes=axes)
        slow = price_basket(ctx, cfg, np.array([i]), np.array([x]), n_dealers=5, positions=positions, axes=axes)
        np.testing.assert_allclose(fast.prices, slow.prices, rtol=1e-12)
        for name in COMPONENT_NAMES:
            np.testing.assert_allclose(getattr(fast.charges, name), getattr(slow.charges, name), rtol=1e-9,
                                       atol=1e-9 * abs(x) * 1e-4, err_msg=name)

    def loop(fn: Callable[[int, float], object]) -> Callable[[], None]:
        def run() -> None:
            for i, x in lines:
                fn(i, x)
        return run

    per = max(calls // len(lines), 1)
    t_fast, t_slow, ratio = paired_us_per_call(
        loop(lambda i, x: price_line(ctx, cfg, i, x, n_dealers=5, positions=positions, axes=axes)),
        loop(lambda i, x: price_basket(ctx, cfg, np.array([i]), np.array([x]), n_dealers=5, positions=positions,
                                       axes=axes)),
        per, repeat)
    print(f"\none bond, per call (median of {repeat} runs, the two paths alternately; {len(lines)} bonds, both sides, "
          "an inventory and axes):")
    print(f"  price_line (fast path) {t_fast / len(lines):8.1f} us   price_basket {t_slow / len(lines):8.1f} us   "
          f"ratio {ratio:5.1f}x   (same price and charges: asserted)")

    t_block = median_us_per_call(lambda: UnitRisk(ctx).block(0), max(per // 10, 1), repeat)
    print(f"  the fast path's tables on a new snapshot: {t_block / 1e3:.2f} ms per block of {BLOCK} instruments "
          f"({-(-u.n_instruments // BLOCK)} blocks), built when one of them is first priced")

    inventory = InventoryView(positions)
    inquiries = [rfq(u, i, 1 if x < 0 else -1, int(abs(x))) for i, x in lines]  # the client takes the other side
    print(f"  whole on_inquiry, one-way RFQ ({len(inquiries)} inquiries):")
    for cls in (*STRATEGIES, RiskDealer):
        bot, before = cls(), general_path(cls)
        quoted = 0
        for q in inquiries:  # the same answers
            a, b = bot.on_inquiry(q, market, inventory), before.on_inquiry(q, market, inventory)
            if isinstance(a, Quote) and isinstance(b, Quote):
                assert (a.level, a.bid, a.offer) == (b.level, b.bid, b.offer), (q.inquiry_id, a, b)
                quoted += 1
            else:
                assert type(a) is type(b), (q.inquiry_id, a, b)

        def answer_all(dealer: RiskDealer) -> Callable[[], None]:
            def run() -> None:
                for q in inquiries:
                    dealer.on_inquiry(q, market, inventory)
            return run

        t_new, t_old, ratio = paired_us_per_call(answer_all(bot), answer_all(before), per, repeat)
        print(f"    {cls.__name__:18s} {t_new / len(inquiries):7.1f} us   through price_basket "
              f"{t_old / len(inquiries):7.1f} us   ratio {ratio:5.1f}x   ({quoted} quoted, the same quotes: asserted)")


def basket(u: Universe, n: int, seed: int) -> InquiryView:
    rng = np.random.default_rng(seed)
    idx = rng.choice(u.n_bonds, size=n, replace=False).astype(np.int64)
    sides = rng.choice(np.array([-1, 1], dtype=np.int8), size=n)
    qty = rng.choice(SIZES_FACE, size=n).astype(np.int64)
    now = ns_from_date(u.as_of, 15)
    return InquiryView(f"PT-{n}", InquiryKind.PORTFOLIO, "bench", QuoteType.PRICE,
                       tuple(u.bonds[int(i)].cusip for i in idx), idx, sides, qty, 4, now, now + 300 * 10**9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--bonds", type=int, default=6_000)
    parser.add_argument("--calls", type=int, default=2_000, help="calls per run in the one-bond section")
    args = parser.parse_args(argv)
    u = build_universe(UniverseConfig(seed=7, n_bonds=args.bonds, n_issuers=args.bonds // 6))
    snap = u.initial_market()
    now = ns_from_date(u.as_of, 15)
    settle = settlement_date(date_from_ns(now))
    market = MarketView(u, snap, now)
    inventory = InventoryView(np.zeros(u.n_instruments))

    t = time.perf_counter_ns()
    ctx = MarketRisk.build(u, snap, settle, model=FactorModel(u))
    build_ms = (time.perf_counter_ns() - t) / 1e6
    cfg = PricingConfig()
    bots = {cls.__name__.removesuffix("Dealer"): cls() for cls in STRATEGIES}
    for bot in bots.values():
        bot.on_inquiry(basket(u, 10, 0), market, inventory)  # build each bot's per-snapshot tables

    head = f"{'lines':>6} {'toolkit ms':>11} {'loop ms':>9} {'speed-up':>9}  " + " ".join(
        f"{name + ' ms':>12}" for name in bots)
    print(f"universe: {u.n_bonds:,} bonds; median of {args.repeat} runs; dealer times are whole on_inquiry calls")
    print(head)
    print("-" * len(head))
    worst_5000 = 0.0
    for n in SIZES:
        inq = basket(u, n, n)
        face = np.asarray(inq.dealer_signed_quantity, dtype=np.float64)
        fast = price_basket(ctx, cfg, inq.idx, face, n_dealers=4)
        slow = price_basket_loop(ctx, cfg, inq.idx, face, n_dealers=4)
        np.testing.assert_allclose(slow["prices"], fast.prices, rtol=1e-10, atol=1e-9)
        for name in COMPONENT_NAMES:
            np.testing.assert_allclose(slow[name], getattr(fast.charges, name), rtol=1e-8, atol=1e-6, err_msg=name)
        t_fast = median_ms(partial(price_basket, ctx, cfg, inq.idx, face, n_dealers=4), args.repeat)
        t_slow = median_ms(partial(price_basket_loop, ctx, cfg, inq.idx, face, n_dealers=4), max(3, args.repeat // 4))
        if n == 200:  # with inventory and axes too
            rng = np.random.default_rng(1)
            pos = rng.normal(0.0, 5e6, u.n_instruments).round(-3)
            axes = rng.choice(np.array([-1.0, 0.0, 0.0, 1.0]), u.n_instruments)
            a = price_basket(ctx, cfg, inq.idx, face, n_dealers=2, positions=pos, axes=axes)
            b = price_basket_loop(ctx, cfg, inq.idx, face, n_dealers=2, positions=pos, axes=axes)
            np.testing.assert_allclose(b["prices"], a.prices, rtol=1e-10, atol=1e-9)
        per_bot = [median_ms(partial(b.on_inquiry, inq, market, inventory), args.repeat) for b in bots.values()]
        passed = [not isinstance(b.on_inquiry(inq, market, inventory), Quote) for b in bots.values()]
        if n == 5_000:
            worst_5000 = max(per_bot)
        print(f"{n:>6,} {t_fast:>11.3f} {t_slow:>9.2f} {t_slow / t_fast:>8.0f}x  " + " ".join(
            f"{ms:>11.3f}{'*' if p else ' '}" for ms, p in zip(per_bot, passed, strict=True)))
    print("* the dealer priced the basket, then passed (its balance-sheet limit or its screen)")
    print(f"per-snapshot risk tables (once per market snapshot per dealer): {build_ms:.1f} ms for "
          f"{u.n_instruments:,} instruments")
    print(f"loop and toolkit agree on every line price and charge (asserted); slowest dealer at 5,000 lines: "
          f"{worst_5000:.2f} ms (goal 10 ms): {'met' if worst_5000 <= 10.0 else 'NOT met'}")
    single_bond(u, ctx, market, args.calls, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
