"""The switch trade against a running venue, through the Python SDK (``clients.sdk``).

The bond table comes from the venue's API (``GET /v1/instruments`` for the investment-grade
corporates, ``GET /v1/market/{cusip}`` for each one's evaluated mid, accrued, duration and
liquidity score), so the fund and the trade list are built exactly as in simulation, from what
the venue says. Then:

* the RFQ path: one RFQ per line (``rfq_concurrency`` at a time, ``rfq_gap_s`` of wall time
  between them), waiting until every dealer answered or ``rfq_decision_s`` passed, awarding the
  best quote inside the line's limit, cancelling otherwise;
* the PT path: one portfolio inquiry, the best net price awarded.

Both run on the same venue, one after the other: the dealers' books after the RFQ path are
still theirs when the basket arrives (in ``--sim`` mode each path gets a fresh venue), and the
venue's market is whatever it serves (the default live venue's evaluated mids are static: no
evolution and no impact, so no leakage shows there). Elapsed time is the venue's own clock: from
the first inquiry's creation to the last trade.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import numpy as np

from clients.sdk import AsyncVenueClient, Conflict, Inquiry, MarketData, Quote, Trade, best_quote
from server.demo.switch_trade import (
    BondTable,
    Fund,
    LineOutcome,
    PathResult,
    SwitchPlan,
    SwitchTradeConfig,
    summarise_path,
)

__all__ = ["fetch_bond_table", "run_pt_live", "run_rfq_live"]

Progress = Callable[[str], None]
_FETCH_CONCURRENCY = 16


async def fetch_bond_table(venue: AsyncVenueClient, cfg: SwitchTradeConfig,
                           progress: Progress | None = None) -> BondTable:
    """The venue's investment-grade corporates of at least ``min_issue_usd``, with their market data."""
    bonds = [b async for b in venue.iter_instruments(grade="IG", page_size=1000)
             if b.kind == "corporate" and b.amount_outstanding >= cfg.min_issue_usd]
    if progress is not None:
        progress(f"{len(bonds)} investment-grade corporates; fetching their evaluated market")
    gate = asyncio.Semaphore(_FETCH_CONCURRENCY)

    async def one(cusip: str) -> MarketData:
        async with gate:
            return await venue.market(cusip)

    market = await asyncio.gather(*(one(b.cusip) for b in bonds))
    return BondTable(
        cusip=tuple(b.cusip for b in bonds),
        name=tuple(f"{b.ticker} {b.coupon:g} {b.maturity:%m/%d/%y}" for b in bonds),
        issuer=tuple(b.issuer for b in bonds),
        sector=tuple(b.sector for b in bonds),
        rating=np.asarray([b.rating for b in bonds]),
        amount=np.asarray([b.amount_outstanding for b in bonds], dtype=np.float64),
        mid=np.asarray([m.evaluated_mid_price for m in market], dtype=np.float64),
        accrued=np.asarray([m.accrued for m in market], dtype=np.float64),
        duration=np.asarray([m.modified_duration for m in market], dtype=np.float64),
        score=np.asarray([m.liquidity_score for m in market], dtype=np.float64),
    )


def _fill(out: LineOutcome, sign: int, trade: Trade, k: int, at_s: float) -> None:
    line = trade.lines[k]
    out.done = True
    out.reason = "done"
    out.price = line.clean_price
    out.net_money = -sign * line.net_money  # cash to the fund: it pays for buys, receives for sells
    out.dealer = trade.dealer_id
    out.done_s = at_s


class _Clock:
    """Seconds on the venue's clock since the first inquiry of a path."""

    def __init__(self) -> None:
        self.first: int | None = None
        self.last: int | None = None

    def started(self, inquiry: Inquiry) -> None:
        if self.first is None or inquiry.created_ts < self.first:
            self.first = inquiry.created_ts

    def traded(self, trade: Trade) -> float:
        self.last = trade.executed_ts if self.last is None else max(self.last, trade.executed_ts)
        return self.seconds(trade.executed_ts)

    def seconds(self, ts: int) -> float:
        return (ts - (self.first if self.first is not None else ts)) / 1e9

    @property
    def elapsed_s(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first) / 1e9


async def _award_best(venue: AsyncVenueClient, inquiry_id: str, ranked: Sequence[Quote],
                      acceptable: Callable[[Quote], bool]) -> Trade | None:
    """Award the first acceptable quote of ``ranked`` (best first); the next one if it was withdrawn meanwhile."""
    for quote in ranked:
        if not acceptable(quote):
            return None
        try:
            return await venue.award(inquiry_id, quote)
        except Conflict as exc:
            if exc.code in ("quote_withdrawn", "quote_replaced", "quote_expired"):
                continue
            raise
    return None


async def run_rfq_live(venue: AsyncVenueClient, cfg: SwitchTradeConfig, table: BondTable, fund: Fund,
                       plan: SwitchPlan, progress: Progress | None = None) -> PathResult:
    outcomes = [LineOutcome(line=k) for k in range(len(plan.lines))]
    queue = plan.execution_order()
    clock = _Clock()
    panels: list[str] = []

    async def one(k: int) -> None:
        ln = plan.lines[k]
        out = outcomes[k]
        out.mid_at_ask = (await venue.market(ln.cusip)).evaluated_mid_price
        inquiry = await venue.create_rfq(ln.cusip, ln.side, ln.quantity, panel=cfg.rfq_panel,
                                         time_limit=cfg.rfq_time_limit_s)
        clock.started(inquiry)
        out.inquiry_id = inquiry.id
        out.asked_s = clock.seconds(inquiry.created_ts)
        if not panels and inquiry.panel:
            panels.extend(inquiry.panel)
        live = await venue.wait_quotes(inquiry.id, None, cfg.rfq_decision_s)
        board = await venue.rfq(inquiry.id)
        out.quotes = len({q.dealer_id for q in board.quotes})
        out.passes = len(board.passed) if isinstance(board.passed, list) else 0
        sign = ln.sign
        ranked = sorted((q for q in live if q.client_price(ln.side) is not None),
                        key=lambda q: (sign * (q.client_price(ln.side) or 0.0), q.dealer_id))
        best = best_quote(live, side=ln.side)
        out.best_price = best.client_price(ln.side) if best is not None else None

        def inside(q: Quote) -> bool:
            price = q.client_price(ln.side)
            return price is not None and sign * (price - ln.limit_price) <= 0

        trade = await _award_best(venue, inquiry.id, ranked, inside)
        if trade is not None:
            _fill(out, sign, trade, 0, clock.traded(trade))
        else:
            out.reason = "no quote" if not live else "best quote outside the limit"
            with contextlib.suppress(Conflict):  # it may have ended by itself meanwhile (expired)
                await venue.cancel_rfq(inquiry.id, out.reason)
        if progress is not None:
            progress(f"RFQ {k + 1}/{len(plan.lines)} {ln.side} {ln.name}: {out.reason}")

    async def worker() -> None:
        while queue:
            await one(queue.pop(0))
            if queue and cfg.rfq_gap_s > 0:
                await asyncio.sleep(cfg.rfq_gap_s)

    await asyncio.gather(*(worker() for _ in range(cfg.rfq_concurrency)))
    for ln, out in zip(plan.lines, outcomes, strict=True):
        if not out.done:
            out.end_mid = (await venue.market(ln.cusip)).evaluated_mid_price
    return summarise_path("rfq", table, fund, plan, outcomes, dealers=panels,
                          inquiries=sum(1 for o in outcomes if o.inquiry_id), elapsed_s=clock.elapsed_s)


async def run_pt_live(venue: AsyncVenueClient, cfg: SwitchTradeConfig, table: BondTable, fund: Fund,
                      plan: SwitchPlan, progress: Progress | None = None) -> PathResult:
    outcomes = [LineOutcome(line=k, asked_s=0.0, mid_at_ask=ln.mid) for k, ln in enumerate(plan.lines)]
    clock = _Clock()
    lines = [{"instrument": ln.cusip, "side": ln.side, "quantity": ln.quantity} for ln in plan.lines]
    inquiry = await venue.create_portfolio(lines, panel=cfg.pt_panel, time_limit=cfg.pt_time_limit_s,
                                           name="switch trade", include_lines=False)
    clock.started(inquiry)
    live = await venue.wait_quotes(inquiry.id, None, cfg.pt_decision_s)
    board = await venue.portfolio(inquiry.id, lines=False)
    n_quotes = len({q.dealer_id for q in board.quotes})
    n_passes = len(board.passed) if isinstance(board.passed, list) else 0
    ranked = sorted((q for q in live if q.net_price is not None), key=lambda q: (-(q.net_price or 0.0), q.dealer_id))
    trade = await _award_best(venue, inquiry.id, ranked, lambda q: True)
    for k, out in enumerate(outcomes):
        out.inquiry_id = inquiry.id
        out.quotes = n_quotes
        out.passes = n_passes
        if trade is not None:
            _fill(out, plan.lines[k].sign, trade, k, clock.traded(trade))
        else:
            out.reason = "no quote"
    if trade is None:
        with contextlib.suppress(Conflict):
            await venue.cancel_portfolio(inquiry.id, "no quote")
        for ln, out in zip(plan.lines, outcomes, strict=True):
            out.end_mid = (await venue.market(ln.cusip)).evaluated_mid_price
    if progress is not None:
        progress(f"portfolio inquiry {inquiry.id}: {'awarded to ' + trade.dealer_id if trade else 'no trade'}")
    return summarise_path("pt", table, fund, plan, outcomes, dealers=list(board.panel or []), inquiries=1,
                          elapsed_s=clock.elapsed_s)
