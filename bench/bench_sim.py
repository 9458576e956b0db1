"""Simulated lifecycles per second on one core: the venue engine, the bot host and the research layer.

    .venv/bin/python -m bench.bench_sim                      # defaults: 20,000 RFQs, 200 baskets of 200 lines
    .venv/bin/python -m bench.bench_sim --rfqs 5000 --baskets 40 --strategies mid_spread
    .venv/bin/python -m bench.bench_sim --profile            # where the time goes, by module and function

Each figure is one simulation (``server.research.simulate.Simulation``) of the default 2,000-bond
universe with five dealers on every panel and clients who award the best quote as soon as all five
have answered: a lifecycle is an inquiry created, five quotes priced and validated, an award, a
trade booked and five feedbacks (14 events). The market steps every 60 s of simulated time;
impact is off unless stated (with impact on, every inquiry moves the mids the bots see: a new
snapshot of mids, and the market model's repricing, at every inquiry and award; net-risk bots
re-tabulate their risk only at market steps). Dealers: the net-risk strategies registered as
entry points (group ``rfqsim.dealer_bots``) when there are any, else the reference
``MidSpreadDealer``; ``--strategies`` chooses. It also measures the engine path alone (venue, bot
host and ``SimRuntime``, no clients, market or metrics), which bounds what the research layer can
reach, and the five dealers' ``on_inquiry`` alone (no venue around them), which bounds any
simulation of these dealers. Single-threaded: BLAS is held to one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from server.bots.host import BotHost, BotSpec  # noqa: E402
from server.bots.protocol import InquiryView, InventoryView, MarketView  # noqa: E402
from server.domain.commands import Award, CreateRfq  # noqa: E402
from server.domain.types import NS_PER_MS, NS_PER_SECOND, InquiryKind, QuoteType, Role, Side  # noqa: E402
from server.research.plugins import build_strategy, registered_strategies, resolve_strategy  # noqa: E402
from server.research.scenario import Scenario, parse_scenario, universe_for  # noqa: E402
from server.research.simulate import Simulation  # noqa: E402
from server.runtime.sim import SimRuntime  # noqa: E402
from server.venue.engine import Venue  # noqa: E402
from server.venue.rules import VenueRules  # noqa: E402

MID_SPREAD = "dealer_bots.reference.mid_spread:MidSpreadDealer"


def pick_strategies(requested: str | None) -> tuple[list[str], str]:
    if requested:
        names = [s.strip() for s in requested.split(",") if s.strip()]
        return names, "as requested"
    registered = [name for name, target in registered_strategies().items()
                  if "mid_spread" not in target and "template" not in name and "_template" not in target]
    if registered:
        return registered, "the net-risk strategies registered as entry points"
    return [MID_SPREAD], "the reference MidSpreadDealer (no net-risk strategies are registered as entry points)"


def scenario(strategies: list[str], *, rfqs: int, baskets: int, lines: int, impact: bool) -> Scenario:
    per_hour = 36_000.0  # ten inquiries a simulated second: most lifecycles do not overlap
    n = rfqs if rfqs else baskets
    dealers = [{"id": f"d{i + 1}", "strategy": strategies[i % len(strategies)], "latency_ms": 1 + i}
               for i in range(5)]
    return parse_scenario({
        "name": "bench", "seed": 1, "horizon_hours": n / per_hour, "tail_s": 30,
        "dealers": dealers,
        "market": {"evolution": True, "step_s": 60, "impact": impact},
        "metrics": {"markouts_s": [60], "sample_s": 3_600, "capital": False},
        "flow": {
            "rfq_per_hour": per_hour if rfqs else 0, "portfolio_per_hour": 0 if rfqs else per_hour,
            "portfolio": {"lines": {"median": lines, "sigma": 0, "min": lines, "max": lines}, "one_way_fraction": 0},
            "client_types": [{"name": "bench", "clients": 4, "weight": 1, "panel_size": 5, "pt_panel_size": 5,
                              "time_limit_s": 10, "pt_time_limit_s": 60, "award": "best", "reaction_ms": 1}],
        },
    }, "bench")


def measure(scn: Scenario) -> dict[str, Any]:
    universe_for(scn)  # built once, outside the timing
    sim = Simulation(scn, hash_log=False)
    t0 = time.perf_counter()
    result = sim.run()
    wall = time.perf_counter() - t0
    kinds = result.metrics["by_kind"]
    done = sum(k["inquiries"] for k in kinds.values())
    return {"lifecycles": done, "trades": result.metrics["trades"], "events": result.events, "wall": wall,
            "per_s": done / wall, "events_per_s": result.events / wall}


def engine_only(strategies: list[str], n: int) -> dict[str, Any]:
    """The engine path alone: create, five bot answers (host + venue), award; no research layer."""
    scn = scenario(strategies, rfqs=1, baskets=0, lines=1, impact=False)
    u = universe_for(scn)
    snap = u.initial_market()
    dealers = [f"d{i + 1}" for i in range(5)]
    bots = [build_strategy(resolve_strategy(strategies[i % len(strategies)]), {}) for i in range(5)]
    venue = Venue(u, {"c1": Role.CLIENT, **{d: Role.DEALER for d in dealers}}, VenueRules(default_panel=tuple(dealers)))
    host = BotHost([BotSpec(d, b, (i + 1) * NS_PER_MS) for i, (d, b) in enumerate(zip(dealers, bots, strict=True))],
                   u, lambda: snap)
    start = scn.start_ns
    sim = SimRuntime(venue, host, start_ns=start, keep_log=False)
    cusips = [b.cusip for b in u.bonds]
    t0 = time.perf_counter()
    for k in range(n):
        at = start + k * 100 * NS_PER_MS
        sim.run(until=at)
        out = sim.execute(CreateRfq("c1", cusips[(k * 7) % len(cusips)], Side.BUY if k % 2 else Side.SELL,
                                    1_000_000, panel=tuple(dealers)))
        sim.run(until=at + 10 * NS_PER_MS)
        inquiry = venue.inquiries[str(out.ref)]
        quotes = inquiry.current_quotes()
        if quotes:
            sign = 1.0 if k % 2 else -1.0
            best = min(quotes, key=lambda q: sign * (q.price or 0.0))
            sim.execute(Award("c1", inquiry.inquiry_id, best.quote_id))
    wall = time.perf_counter() - t0
    return {"lifecycles": n, "wall": wall, "per_s": n / wall}


def pricing_alone(strategies: list[str], n: int) -> dict[str, Any]:
    """The five dealers' own work alone: each answers ``n`` one-way RFQs (``on_inquiry``: pricing, quote
    assembly, rounding) at the scenario's first market state, with no venue, host or runtime around them.
    Their sum per RFQ bounds the lifecycles per second of any simulation of these dealers on one core,
    however cheap everything else were made. The best of three passes."""
    scn = scenario(strategies, rfqs=1, baskets=0, lines=1, impact=False)
    u = universe_for(scn)
    market = MarketView(u, u.initial_market(), scn.start_ns)
    inventory = InventoryView(np.zeros(u.n_instruments))
    bots = [build_strategy(resolve_strategy(strategies[i % len(strategies)]), {}) for i in range(5)]
    views = [InquiryView(f"RFQ-{k}", InquiryKind.RFQ, "c1", QuoteType.PRICE, (u.bonds[i].cusip,),
                         np.array([i], dtype=np.int64),  # corporates come first: bond i is instrument i
                         np.array([1 if k % 2 else -1], dtype=np.int8), np.array([1_000_000]), 5, scn.start_ns,
                         scn.start_ns + 10 * NS_PER_SECOND)
             for k, i in enumerate((k * 7) % len(u.bonds) for k in range(n))]
    for bot in bots:  # each bot's per-snapshot tables, built once as at a market step
        for view in views:
            bot.on_inquiry(view, market, inventory)
    walls = []
    for _ in range(3):  # the least disturbed of three passes: the machine is shared
        t0 = time.perf_counter()
        for view in views:
            for bot in bots:
                bot.on_inquiry(view, market, inventory)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    return {"per_lifecycle_us": 1e6 * wall / n, "ceiling": n / wall}


def profile(scn: Scenario) -> None:
    sim = Simulation(scn, hash_log=False)
    prof = cProfile.Profile()
    prof.enable()
    sim.run()
    prof.disable()
    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())  # own time over every function
    by_area: dict[str, float] = defaultdict(float)
    rows: list[tuple[float, float, str]] = []
    for (filename, line, name), (_, _, own, cum, _) in raw.items():
        path = filename.replace("\\", "/")
        area = next((a for a in ("server/venue/", "server/bots/", "server/runtime/", "server/research/",
                                 "server/market/", "server/domain/", "dealer_bots/") if a in path), "other")
        by_area[area] += own
        short = path.split("/work/main/")[-1] if "/work/main/" in path else path.rsplit("/", 1)[-1]
        rows.append((own, cum, f"{short}:{line} {name}"))
    print("  own time by area (cProfile; it inflates Python-call-heavy code):")
    for area, own in sorted(by_area.items(), key=lambda x: -x[1]):
        print(f"    {area:20s} {100 * own / total:5.1f}%")
    print("  top functions by own time:")
    for own, cum, label in sorted(rows, reverse=True)[:20]:
        print(f"    {100 * own / total:5.1f}% own  {100 * cum / total:5.1f}% cum  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rfqs", type=int, default=20_000, help="single-bond RFQs per measurement")
    parser.add_argument("--baskets", type=int, default=200, help="portfolio inquiries per measurement")
    parser.add_argument("--lines", type=int, default=200, help="lines per basket")
    parser.add_argument("--strategies", help="comma-separated strategies (names or module:Class), cycled over five")
    parser.add_argument("--profile", action="store_true", help="also profile the RFQ run")
    args = parser.parse_args()

    strategies, why = pick_strategies(args.strategies)
    print(f"dealers: {', '.join(strategies)} ({why}); five on every panel; one core")
    rfq = scenario(strategies, rfqs=args.rfqs, baskets=0, lines=1, impact=False)
    measure(scenario(strategies, rfqs=200, baskets=0, lines=1, impact=False))  # warm up imports and caches

    eng = engine_only(strategies, max(args.rfqs // 4, 500))
    print(f"engine path only (venue + bot host + SimRuntime): {eng['per_s']:,.0f} RFQ lifecycles/s "
          f"({eng['lifecycles']:,} in {eng['wall']:.2f} s)")
    alone = pricing_alone(strategies, 2_000)
    print(f"the five dealers' on_inquiry alone (no venue, host or runtime): {alone['per_lifecycle_us']:,.0f} us "
          f"per RFQ, a ceiling of {alone['ceiling']:,.0f} RFQ lifecycles/s were all else free")
    r = measure(rfq)
    print(f"single-bond RFQ lifecycles/s, full simulation, impact off: {r['per_s']:,.0f} "
          f"({r['lifecycles']:,} RFQs, {r['trades']:,} trades, {r['events']:,} events, {r['wall']:.2f} s, "
          f"{r['events_per_s']:,.0f} events/s)")
    n_impact = max(args.rfqs // 10, 200)
    ri = measure(scenario(strategies, rfqs=n_impact, baskets=0, lines=1, impact=True))
    print(f"single-bond RFQ lifecycles/s, full simulation, impact on:  {ri['per_s']:,.0f} "
          f"({ri['lifecycles']:,} RFQs in {ri['wall']:.2f} s)")
    if args.baskets:
        measure(scenario(strategies, rfqs=0, baskets=10, lines=args.lines, impact=False))  # warm up
        p = measure(scenario(strategies, rfqs=0, baskets=args.baskets, lines=args.lines, impact=False))
        print(f"{args.lines}-line portfolio lifecycles/s, impact off: {p['per_s']:,.1f} "
              f"({p['lifecycles']:,} baskets, {p['trades']:,} trades, {p['wall']:.2f} s)")
    print("goal: 20,000 single-bond RFQ lifecycles/s")
    if args.profile:
        print("profile of the RFQ run (impact off):")
        profile(scenario(strategies, rfqs=min(args.rfqs, 5_000), baskets=0, lines=1, impact=False))


if __name__ == "__main__":
    main()
