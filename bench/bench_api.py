"""Lifecycles through the real API: HTTP to create and award, websocket for the streamed quotes.

    .venv/bin/python -m bench.bench_api                # defaults: 10 s per phase, 16 concurrent RFQ workers
    .venv/bin/python -m bench.bench_api --seconds 5 --concurrency 32
    .venv/bin/python -m bench.bench_api --curve 1,2,4,8,16,32    # throughput against latency (default 4,6,8,12)

One venue process (uvicorn, one worker, SQLite, in-process bots with zero latency; by default the
simple mid-spread dealers, so the figures measure the venue rather than the dealers' pricing — pass
``--strategies ''`` for the net-risk panel) and this load generator share the machine. It prints, from one run:
  - the ceiling: requests per second of GET /healthz on the same server;
  - single-bond RFQ lifecycles per second (create, five bot quotes streamed, award, trade booked) and
    submit-to-last-quote latency p50 / p99;
  - the same for 500-line portfolio inquiries (the venue's default portfolio panel);
  - the venue process's CPU time per lifecycle (all its threads), which the machine's other load barely
    moves (not meaningful with RFQSIM_BENCH_PROFILE, which wraps the venue in a profiler);
  - RFQ lifecycles/s and latency by number of concurrent clients (``--curve``), and the best throughput
    whose p50 stays under 5 ms: the goal is at least 1,000 lifecycles/s there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect

from bench._loadgen import Connection, percentile, start_venue
from server.market.universe import UniverseConfig, build_universe

KEY = "bench-client-key-0123456789"
GOAL_PER_SECOND = 1_000  # the venue core's goal: lifecycles per second with p50 under GOAL_P50_MS,
GOAL_P50_MS = 5.0  # submit to last quote, bots at zero latency, on the 2-core machine


@dataclass
class Tracker:
    expected: int
    quotes: list[dict[str, Any]] = field(default_factory=list)
    responses: int = 0  # quotes and passes
    last_quote_at: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Stream:
    """One websocket for the client; routes quote events to the inquiry waiting for them."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.trackers: dict[str, Tracker] = {}

    def tracker(self, inquiry_id: str) -> Tracker:
        found = self.trackers.get(inquiry_id)
        if found is None:
            found = self.trackers[inquiry_id] = Tracker(self.expected)
        return found

    async def run(self, url: str) -> None:
        async with connect(url, max_size=2**28) as ws:
            async for raw in ws:
                frame = orjson.loads(raw)
                if frame.get("type") in ("quote.new", "quote.passed"):
                    t = self.tracker(frame["inquiry_id"])
                    if frame["type"] == "quote.new":
                        t.quotes.append(frame)
                    t.responses += 1
                    if t.responses == t.expected:
                        t.last_quote_at = time.perf_counter()
                        t.done.set()


async def ceiling(port: int, seconds: float, concurrency: int) -> float:
    count = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        conn = await Connection("127.0.0.1", port, {}).open()
        while time.perf_counter() < stop:
            status, _ = await conn.request("GET", "/healthz")
            assert status == 200
            count += 1
        await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - start)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the process has used: a figure the machine's other load
    barely moves, unlike throughput. NaN where /proc is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def lifecycles(port: int, seconds: float, concurrency: int, make_body: Any, path: str, expected_quotes: int,
                     pick_best: Any, pid: int) -> dict[str, float]:
    stream = Stream(expected_quotes)
    reader = asyncio.create_task(stream.run(f"ws://127.0.0.1:{port}/v1/stream?api_key={KEY}"))
    await asyncio.sleep(0.3)
    latencies: list[float] = []
    completed = 0
    stop = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal completed
        conn = await Connection("127.0.0.1", port, {"Authorization": f"Bearer {KEY}"}).open()
        i = 0
        while time.perf_counter() < stop:
            body = make_body(n, i)
            i += 1
            t0 = time.perf_counter()
            status, created = await conn.request("POST", path, body)
            assert status == 201, created
            tracker = stream.tracker(created["id"])
            await asyncio.wait_for(tracker.done.wait(), 30)
            latencies.append(tracker.last_quote_at - t0)
            del stream.trackers[created["id"]]
            if not tracker.quotes:  # every dealer passed (a cautious panel on an illiquid bond)
                status, _ = await conn.request("POST", f"{path}/{created['id']}/cancel", {})
                continue
            best = pick_best(tracker.quotes)
            status, award = await conn.request("POST", f"{path}/{created['id']}/award", {"quote_id": best})
            assert status == 200, award
            completed += 1
        await conn.close()

    start = time.perf_counter()
    cpu0 = cpu_seconds(pid)
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(pid) - cpu0
    reader.cancel()
    return {"per_second": completed / elapsed, "p50_ms": percentile(latencies, 50) * 1e3,
            "p99_ms": percentile(latencies, 99) * 1e3, "completed": completed,
            "cpu_ms": cpu / max(completed, 1) * 1e3}


async def main(args: argparse.Namespace) -> None:
    universe = build_universe(UniverseConfig())
    ig = [b for b in universe.bonds if b.grade == "IG"]
    with tempfile.TemporaryDirectory(prefix="rfqsim-bench-") as tmp:
        workdir = Path(tmp)
        participants = workdir / "participants.toml"
        participants.write_text(f'[[participant]]\nid = "bench"\nrole = "client"\napi_key = "{KEY}"\n')
        port = 18000 + int(time.time()) % 1000
        proc = start_venue(workdir, port, participants, {"RFQSIM_BOT_LATENCY_MS": "0",
                                                          "RFQSIM_RFQ_TIME_LIMIT_S": "120",
                                                          "RFQSIM_DEALER_STRATEGIES": args.strategies})
        try:
            ceiling_rps = await ceiling(port, args.seconds, args.concurrency)

            def rfq_body(n: int, i: int) -> dict[str, Any]:
                bond = ig[(n * 7919 + i) % len(ig)]
                return {"instrument": bond.cusip, "side": "buy" if i % 2 else "sell", "quantity": 1_000_000}

            def best_price(quotes: list[dict[str, Any]]) -> str:
                return str(min(quotes, key=lambda q: q["price"])["quote_id"])

            rfq = await lifecycles(port, args.seconds, args.concurrency, rfq_body, "/v1/rfqs", 5, best_price, proc.pid)
            rfq1 = await lifecycles(port, min(args.seconds, 3.0), 1, rfq_body, "/v1/rfqs", 5, best_price, proc.pid)

            curve = []
            for c in ([int(x) for x in args.curve.split(",") if x.strip()] if args.curve else []):
                curve.append((c, await lifecycles(port, args.curve_seconds, c, rfq_body, "/v1/rfqs", 5, best_price,
                                                  proc.pid)))

            lines = args.lines

            def pt_body(n: int, i: int) -> dict[str, Any]:
                off = (n * 131 + i * 17) % (len(universe.bonds) - lines)
                return {"lines": [{"instrument": b.cusip, "side": "buy" if k % 2 else "sell",
                                   "quantity": b.min_piece * 1000}
                                  for k, b in enumerate(universe.bonds[off:off + lines])]}

            def best_net(quotes: list[dict[str, Any]]) -> str:
                return str(max(quotes, key=lambda q: q["net_price"])["quote_id"])

            pt = await lifecycles(port, args.pt_seconds if args.pt_seconds is not None else args.seconds,
                                  args.pt_concurrency, pt_body, "/v1/portfolio-inquiries", 3, best_net, proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)  # lets a profiler wrapping the venue write its output
            proc.wait(30)
    print(f"rfqsim API benchmark: {args.seconds:g} s per phase, one uvicorn worker, SQLite, bots at zero latency, "
          f"dealers: {args.strategies or 'the reference net-risk panel'}")
    print(f"{'measure':<52}{'value':>12}")
    print(f"{'ceiling: GET /healthz requests/s (' + str(args.concurrency) + ' connections)':<52}{ceiling_rps:>12,.0f}")
    print(f"{'RFQ lifecycles/s (create, 5 quotes streamed, award)':<52}{rfq['per_second']:>12,.0f}")
    print(f"{'  submit-to-last-quote p50 (ms), ' + str(args.concurrency) + ' clients':<52}{rfq['p50_ms']:>12.2f}")
    print(f"{'  submit-to-last-quote p99 (ms), ' + str(args.concurrency) + ' clients':<52}{rfq['p99_ms']:>12.2f}")
    print(f"{'  lifecycles/s as a share of the ceiling':<52}{rfq['per_second'] / ceiling_rps:>12.1%}")
    print(f"{'  venue CPU per lifecycle (ms, all threads)':<52}{rfq['cpu_ms']:>12.2f}")
    print(f"{'  one client at a time: p50 (ms)':<52}{rfq1['p50_ms']:>12.2f}")
    print(f"{'  one client at a time: p99 (ms)':<52}{rfq1['p99_ms']:>12.2f}")
    print(f"{f'{lines}-line portfolio lifecycles/s (3 quotes, award)':<52}{pt['per_second']:>12,.1f}")
    print(f"{'  submit-to-last-quote p50 (ms)':<52}{pt['p50_ms']:>12.2f}")
    print(f"{'  submit-to-last-quote p99 (ms)':<52}{pt['p99_ms']:>12.2f}")
    print(f"{'  venue CPU per lifecycle (ms, all threads)':<52}{pt['cpu_ms']:>12.2f}")
    if curve:
        print("RFQ lifecycles by number of concurrent clients (throughput against submit-to-last-quote latency):")
        print(f"{'clients':>9}{'lifecycles/s':>14}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>9}")
        for c, m in curve:
            print(f"{c:>9}{m['per_second']:>14,.0f}{m['p50_ms']:>9.2f}{m['p99_ms']:>9.2f}{m['cpu_ms']:>9.2f}")
        within = [(m["per_second"], c, m["p50_ms"]) for c, m in curve if m["p50_ms"] < GOAL_P50_MS]
        if within:
            rate, c, p50 = max(within)
            verdict = "met" if rate >= GOAL_PER_SECOND else "not met"
            print(f"goal (at least {GOAL_PER_SECOND:,} RFQ lifecycles/s with p50 under {GOAL_P50_MS:g} ms): {verdict}; "
                  f"best with p50 under {GOAL_P50_MS:g} ms: {rate:,.0f}/s at {c} clients (p50 {p50:.2f} ms)")
        else:
            print(f"goal: not met; no client count kept p50 under {GOAL_P50_MS:g} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pt-concurrency", type=int, default=2)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--pt-seconds", type=float, default=None, help="default: --seconds")
    parser.add_argument("--curve", default="4,6,8,12",
                        help="also measure RFQ lifecycles at these client counts ('' for none), and the best "
                             "throughput with p50 under 5 ms among them")
    parser.add_argument("--curve-seconds", type=float, default=4.0)
    parser.add_argument("--strategies", default="mid_spread",
                        help="the in-process dealers (RFQSIM_DEALER_STRATEGIES); '' for the net-risk panel")
    asyncio.run(main(parser.parse_args()))
