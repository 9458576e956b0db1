"""What a simulation measures, per dealer and per client.

Dealers (all money in USD, clean prices; accrued interest is left out, as the market model
leaves out carry and pull-to-par):

* **hit ratio** = inquiries won / inquiries quoted; **response rate** = inquiries quoted /
  inquiries received (passes, late answers and silence count against it);
* **P&L** = spread capture + inventory mark-to-market + hedge P&L, where for every traded line
  (the dealer's signed face ``x``, long +, at clean price ``p``, evaluated mid ``m0`` at the trade)
  spread capture is ``x (m0 - p) / 100``, inventory MTM is ``x (m_end - m0) / 100`` (``m_end`` the
  mid at the end of the run), and the hedge P&L that of the hedge overlay below, less its cost;
  the total is computed on its own, as cash plus the book at ``m_end`` plus the overlay, and equals
  the sum of the parts;
* **hedge overlay**: dealer bots quote hedged prices but do not trade hedges through the venue
  (the bot protocol has no hedge action), so the simulation hedges on their behalf: at each trade,
  the lines' key-rate and credit exposures are offset with the on-the-run Treasuries and LQD/HYG
  (``dealer_bots.pricing.hedge``, at the dealer's own hedge ratios: ``config.pricing.hedge``,
  or the scenario's ``hedge`` table), paying the instruments' half-spreads, and the hedge is
  marked to market (ETFs at their traded price, premium/discount included) to the end. A dealer
  with no hedge ratios (or ``hedge = "none"``) has a hedge P&L of exactly zero, reported as
  ``hedges: false``;
* **markouts** at each horizon ``h``: ``x (m(t + h) - p) / 100`` per trade, against the evolving
  mid, reported in USD and in bp of the traded market value;
* **inventory and capital over time** (every ``sample_s``): gross and net market value of the
  book, P&L to date, and capital = the 99% 10-day VaR of the book and its hedge under the factor
  model (``2.326 sqrt(10 e' C e + idiosyncratic)``).

Clients: **cost against evaluated mid** of their trades, ``side (p - m0) q / 100`` in USD and in
bp of the market value traded (positive: the client paid); the same against the mids when the
inquiry arrived (``cost_vs_arrival``: the venue logs them on the trade lines), which adds what the
inquiry's own leakage moved the mid before the trade; and **completion rate** (inquiries
awarded / inquiries sent, by count and by notional); costs are also broken down by inquiry kind
(RFQ vs portfolio) and by the lines' liquidity bucket, where portfolio trading should win.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from server.domain.types import NS_PER_SECOND
from server.market.universe import Universe
from server.research.flow import BUCKETS, bucket_of
from server.research.market import MarketState
from server.research.scenario import LiquidityMix, MetricsSettings

__all__ = ["Z_99", "MetricsRecorder", "flatten_metrics", "hedge_ratios_of"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Z_99 = 2.3263478740408408
_N_TSY = 4
_ETFS = ("LQD", "HYG")


def hedge_ratios_of(bot: object) -> tuple[float, float] | None:
    """(rates_ratio, credit_ratio) a strategy hedges at, from ``bot.config.pricing.hedge`` or ``bot.hedge_config``."""
    hedge = getattr(bot, "hedge_config", None)
    if hedge is None:
        hedge = getattr(getattr(getattr(bot, "config", None), "pricing", None), "hedge", None)
    rates = getattr(hedge, "rates_ratio", None)
    credit = getattr(hedge, "credit_ratio", None)
    if isinstance(rates, int | float) and isinstance(credit, int | float) and (rates > 0 or credit > 0):
        return float(rates), float(credit)
    return None


@dataclass(slots=True)
class _Book:
    strategy: str
    hedge: Any  # HedgeConfig | None
    positions: FloatArray
    cash: float = 0.0  # clean cash: -sum(x p) / 100
    spread: float = 0.0
    mid_cost: float = 0.0  # sum(x m0) / 100
    traded_mv: float = 0.0  # sum(|x| m0) / 100
    traded_face: float = 0.0
    trades: int = 0
    rfq_trades: int = 0
    pt_trades: int = 0
    asked: int = 0
    quoted: int = 0
    passed: int = 0
    no_response: int = 0
    hedge_units: FloatArray = field(default_factory=lambda: np.zeros(_N_TSY + len(_ETFS)))
    hedge_cash: float = 0.0
    hedge_cost: float = 0.0
    markout_usd: dict[float, float] = field(default_factory=dict)
    markout_base: dict[float, float] = field(default_factory=dict)
    markout_n: dict[float, int] = field(default_factory=dict)
    gross: list[float] = field(default_factory=list)
    net: list[float] = field(default_factory=list)
    pnl: list[float] = field(default_factory=list)
    capital: list[float] = field(default_factory=list)
    max_gross: float = 0.0


@dataclass(slots=True)
class _Cost:
    usd: float = 0.0
    base: float = 0.0  # market value traded at mid
    arrival_usd: float = 0.0  # cost against the mids when the inquiry arrived
    arrival_base: float = 0.0
    lines: int = 0
    inquiries: int = 0
    done: int = 0

    def add(self, cost: float, base: float, arrival: tuple[float, float] | None, lines: int) -> None:
        self.done += 1
        self.usd += cost
        self.base += base
        self.lines += lines
        if arrival is not None:
            self.arrival_usd += arrival[0]
            self.arrival_base += arrival[1]

    def as_dict(self) -> dict[str, Any]:
        return {"inquiries": self.inquiries, "done": self.done, "lines_traded": self.lines,
                "completion_rate": _ratio(self.done, self.inquiries), "traded_usd": round(self.base, 2),
                "cost_usd": round(self.usd, 2), "cost_bp": _bp(self.usd, self.base),
                "cost_vs_arrival_usd": round(self.arrival_usd, 2),
                "cost_vs_arrival_bp": _bp(self.arrival_usd, self.arrival_base),
                "traded_at_arrival_usd": round(self.arrival_base, 2)}


@dataclass(slots=True)
class _Client:
    client_type: str
    inquiries: int = 0
    rejected: int = 0
    awarded: int = 0
    cancelled: int = 0
    expired: int = 0
    no_quotes: int = 0
    face_asked: float = 0.0
    face_done: float = 0.0
    cost: _Cost = field(default_factory=_Cost)  # against mid and against arrival, as for its client type
    quotes_received: int = 0


@dataclass(slots=True)
class _Inquiry:
    client_id: str
    is_portfolio: bool
    idx: IntArray
    sides: NDArray[np.int8]
    qty: FloatArray
    panel: tuple[str, ...]
    quoted: dict[str, bool] = field(default_factory=dict)


def _hedge_note(hedge: Any) -> str:
    if hedge is None:
        return "does not hedge: hedge P&L is zero"
    return f"hedge overlay at the strategy's ratios (rates {hedge.rates_ratio:.2f}, credit {hedge.credit_ratio:.2f})"


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def _bp(usd: float, base: float) -> float:
    return round(usd / base * 1e4, 4) if base else 0.0


class MetricsRecorder:
    """Observes the venue's events and the market; ``result()`` builds the metrics document."""

    def __init__(self, universe: Universe, market: MarketState, settings: MetricsSettings,
                 strategies: Mapping[str, str], hedges: Mapping[str, tuple[float, float] | None],
                 client_types: Mapping[str, str], mix: LiquidityMix,
                 schedule: Callable[[int, Callable[[], None]], None], start_ns: int) -> None:
        self.universe = universe
        self.market = market
        self.settings = settings
        self.schedule = schedule
        self.start_ns = start_ns
        n = universe.n_instruments
        self._hedge_cls: Any = None
        self.books: dict[str, _Book] = {}
        for dealer_id, strategy in strategies.items():
            ratios = hedges.get(dealer_id) if settings.hedge_overlay else None
            self.books[dealer_id] = _Book(strategy, self._hedge_config(ratios), np.zeros(n))
        self.clients = {c: _Client(t) for c, t in sorted(client_types.items())}
        self.types = {t: _Cost() for t in dict.fromkeys(client_types.values())}
        self.kinds = {"rfq": _Cost(), "portfolio": _Cost()}
        self.buckets = {(k, b): _Cost() for k in ("rfq", "portfolio") for b in BUCKETS}
        self.inquiries: dict[str, _Inquiry] = {}
        self._bucket = np.full(n, 1, dtype=np.int64)
        self._bucket[: universe.n_bonds] = bucket_of(np.asarray(universe.base_liquidity[: universe.n_bonds]), mix)
        self._bucket_list: list[int] = self._bucket.tolist()
        self.times: list[float] = []
        self.horizons = tuple(settings.markouts_s)
        self.trades = 0
        self.events = 0
        self._tsy = universe.n_bonds + np.arange(min(_N_TSY, len(universe.treasuries)))
        self._hedge_books: dict[Any, tuple[object, object, Any]] = {}
        self._hedge_inputs_cache: dict[Any, tuple[object, object, object, Any]] = {}
        self._hedge_notionals: Any = None

    # ---- hedge overlay ------------------------------------------------------------------------

    def _hedge_config(self, ratios: tuple[float, float] | None) -> Any:
        if ratios is None:
            return None
        if self._hedge_cls is None:
            from dealer_bots.pricing.hedge import HedgeConfig

            self._hedge_cls = HedgeConfig
        return self._hedge_cls(rates_ratio=ratios[0], credit_ratio=ratios[1])

    def _hedge_book(self, cfg: Any, now: int) -> Any:
        from dealer_bots.pricing.hedge import hedge_book

        base = self.market.base
        settle = self.market.settle(now)
        hit = self._hedge_books.get(cfg)
        if hit is not None and hit[0] is base and hit[1] == settle:
            return hit[2]
        book = hedge_book(self.market.factor_model, self.universe, base, settle, cfg)
        self._hedge_books[cfg] = (base, settle, book)
        return book

    def _hedge_trade(self, book: _Book, idx: IntArray, x: FloatArray, now: int) -> None:
        table, hb, tsy_scale, prices, etf_px = self._hedge_inputs(book.hedge, now)
        mv = x * table.dirty_price[idx] / 100.0
        exposure = mv @ table.exposures[idx]
        h = self._hedge_notionals(hb, exposure[None, :])[0]  # USD of each hedge instrument, + buy
        units = np.zeros_like(book.hedge_units)
        units[: self._tsy.size] = h[: self._tsy.size] / tsy_scale
        for j, px in enumerate(etf_px, start=_N_TSY):
            units[j] = h[j] / px if px > 0 else 0.0
        book.hedge_units += units
        book.hedge_cash -= float(units @ prices)
        book.hedge_cost += float(np.abs(h) @ hb.half_spread_bp) * 1e-4

    def _hedge_inputs(self, cfg: Any, now: int) -> tuple[Any, Any, FloatArray, FloatArray, list[float]]:
        """What a trade's hedge needs besides its lines: the exposure table and the hedge book of the market
        step (``base``) at the settlement date of ``now``, the Treasuries' dirty prices per 1 face, and the
        hedge instruments' prices in the current view. Looked up once per (step, settlement date, view)
        and hedge config, not per trade: the same arrays, so the same arithmetic on them."""
        market = self.market
        base, view = market.base, market.view
        settle = market.settle(now)
        hit = self._hedge_inputs_cache.get(cfg)
        if hit is not None and hit[0] is base and hit[1] is view and hit[2] == settle:
            return hit[3]
        if self._hedge_notionals is None:
            from dealer_bots.pricing.hedge import hedge_notionals

            self._hedge_notionals = hedge_notionals
        table = market.factor_model.exposure_table(base, settle)
        inputs = (table, self._hedge_book(cfg, now), table.dirty_price[self._tsy] / 100.0, self._hedge_prices(view),
                  [float(view.etf_price.get(ticker, 0.0)) for ticker in _ETFS])
        self._hedge_inputs_cache[cfg] = (base, view, settle, inputs)
        return inputs

    def _hedge_prices(self, view: Any) -> FloatArray:
        """Per unit of each hedge instrument: Treasury clean price per 1 face, ETF price per share."""
        out = np.zeros(_N_TSY + len(_ETFS))
        out[: self._tsy.size] = np.asarray(view.mid_price, dtype=np.float64)[self._tsy] / 100.0
        for j, ticker in enumerate(_ETFS, start=_N_TSY):
            out[j] = float(view.etf_price.get(ticker, 0.0))
        return out

    def _hedge_pnl(self, book: _Book, view: Any) -> float:
        if book.hedge is None:
            return 0.0
        return book.hedge_cash + float(book.hedge_units @ self._hedge_prices(view)) - book.hedge_cost

    # ---- events -------------------------------------------------------------------------------

    def on_created(self, d: Mapping[str, Any]) -> None:
        lines = d["lines"]
        n = len(lines)
        index_of = self.universe.index_of
        if n == 1:
            line = lines[0]
            side = line["side"]
            idx = np.array([index_of(line["instrument"])], dtype=np.int64)
            sides = np.array([1 if side == "buy" else (-1 if side == "sell" else 0)], dtype=np.int8)
            qty = np.array([float(line["quantity"])])
            face = float(line["quantity"])
            buckets = [self._bucket_list[int(idx[0])]]
        else:
            idx = np.fromiter((index_of(line["instrument"]) for line in lines), dtype=np.int64, count=n)
            sides = np.fromiter((1 if line["side"] == "buy" else (-1 if line["side"] == "sell" else 0)
                                 for line in lines), dtype=np.int8, count=n)
            qty = np.fromiter((line["quantity"] for line in lines), dtype=np.float64, count=n)
            face = float(qty.sum())
            buckets = np.unique(self._bucket[idx]).tolist()
        is_pt = d["kind"] == "portfolio"
        inquiry = _Inquiry(d["client_id"], is_pt, idx, sides, qty, tuple(d["panel"]))
        self.inquiries[d["inquiry_id"]] = inquiry
        client = self.clients.get(inquiry.client_id)
        kind = "portfolio" if is_pt else "rfq"
        self.kinds[kind].inquiries += 1
        if client is not None:
            client.inquiries += 1
            client.face_asked += face
            self.types[client.client_type].inquiries += 1
        for b in buckets:
            self.buckets[(kind, BUCKETS[b])].inquiries += 1

    def on_request(self, audience: Sequence[str]) -> None:
        for dealer in audience:
            book = self.books.get(dealer)
            if book is not None:
                book.asked += 1

    def on_quote(self, d: Mapping[str, Any]) -> None:
        inquiry = self.inquiries.get(d["inquiry_id"])
        dealer = d["dealer_id"]
        if inquiry is None or dealer in inquiry.quoted:
            return
        inquiry.quoted[dealer] = True
        book = self.books.get(dealer)
        if book is not None:
            book.quoted += 1
        client = self.clients.get(inquiry.client_id)
        if client is not None:
            client.quotes_received += 1

    def on_passed(self, d: Mapping[str, Any]) -> None:
        book = self.books.get(d["dealer_id"])
        if book is not None:
            book.passed += 1

    def on_feedback(self, d: Mapping[str, Any]) -> None:
        if d.get("outcome") == "no_response":
            book = self.books.get(d["dealer_id"])
            if book is not None:
                book.no_response += 1

    def on_end(self, state: str, inquiry_id: str) -> None:
        inquiry = self.inquiries.get(inquiry_id)
        if inquiry is None:
            return
        client = self.clients.get(inquiry.client_id)
        if client is None:
            return
        if state == "awarded":
            client.awarded += 1
        elif state == "cancelled":
            client.cancelled += 1
        elif state == "expired":
            client.expired += 1
        else:
            client.no_quotes += 1

    def on_rejected(self, client_id: str) -> None:
        client = self.clients.get(client_id)
        if client is not None:
            client.rejected += 1

    def on_trade(self, d: Mapping[str, Any], now: int) -> None:
        lines = d["lines"]
        if len(lines) == 1:
            self._trade_one(d, lines[0], now)
        else:
            self._trade_many(d, lines, now)

    def _trade_one(self, d: Mapping[str, Any], line: Mapping[str, Any], now: int) -> None:
        """A single-line trade in plain floats (the hot path of RFQ simulations)."""
        i = self.universe.index_of(line["instrument"])
        s = 1.0 if line["side"] == "buy" else -1.0
        q = float(line["quantity"])
        p = float(line["clean_price"])
        m = float(self.market.view.mid_price[i])
        x = -s * q
        base = q * m / 100.0
        cost = s * (p - m) * q / 100.0
        a = line.get("arrival_mid")
        arrival = None if a is None else (s * (p - a) * q / 100.0, q * a / 100.0)
        self.trades += 1
        is_pt = d["kind"] == "portfolio"
        book = self.books.get(d["dealer_id"])
        if book is not None:
            book.positions[i] += x
            book.cash -= x * p / 100.0
            book.spread += x * (m - p) / 100.0
            book.mid_cost += x * m / 100.0
            book.traded_mv += base
            book.traded_face += q
            book.trades += 1
            if is_pt:
                book.pt_trades += 1
            else:
                book.rfq_trades += 1
            if book.hedge is not None:
                self._hedge_trade(book, np.array([i], dtype=np.int64), np.array([x]), now)
            for h in self.horizons:
                self.schedule(now + round(h * NS_PER_SECOND), self._markout_one(book, h, i, x, p, base))
        self._client_cost(d["client_id"], "portfolio" if is_pt else "rfq", cost, base, arrival, 1, q)
        self.buckets[("portfolio" if is_pt else "rfq", BUCKETS[self._bucket_list[i]])].add(cost, base, arrival, 1)

    def _client_cost(self, client_id: str, kind: str, cost: float, base: float,
                     arrival: tuple[float, float] | None, n: int, face: float) -> None:
        client = self.clients.get(client_id)
        if client is not None:
            client.face_done += face
            client.cost.add(cost, base, arrival, n)
            self.types[client.client_type].add(cost, base, arrival, n)
        self.kinds[kind].add(cost, base, arrival, n)

    def _trade_many(self, d: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], now: int) -> None:
        n = len(lines)
        idx = np.fromiter((self.universe.index_of(line["instrument"]) for line in lines), dtype=np.int64, count=n)
        side = np.fromiter((1.0 if line["side"] == "buy" else -1.0 for line in lines), dtype=np.float64, count=n)
        qty = np.fromiter((line["quantity"] for line in lines), dtype=np.float64, count=n)
        price = np.fromiter((line["clean_price"] for line in lines), dtype=np.float64, count=n)
        m0 = np.asarray(self.market.view.mid_price, dtype=np.float64)[idx]
        x = -side * qty  # the dealer's signed face
        self.trades += 1
        is_pt = d["kind"] == "portfolio"
        kind = "portfolio" if is_pt else "rfq"
        base_lines = qty * m0 / 100.0
        cost_lines = side * (price - m0) * qty / 100.0
        base = float(base_lines.sum())
        cost = float(cost_lines.sum())
        arrival_lines: tuple[FloatArray, FloatArray] | None = None
        if n and "arrival_mid" in lines[0]:
            a0 = np.fromiter((line["arrival_mid"] for line in lines), dtype=np.float64, count=n)
            arrival_lines = (side * (price - a0) * qty / 100.0, qty * a0 / 100.0)
        arrival = None if arrival_lines is None else (float(arrival_lines[0].sum()), float(arrival_lines[1].sum()))

        book = self.books.get(d["dealer_id"])
        if book is not None:
            np.add.at(book.positions, idx, x)
            book.cash -= float(x @ price) / 100.0
            book.spread += float(x @ (m0 - price)) / 100.0
            book.mid_cost += float(x @ m0) / 100.0
            book.traded_mv += base
            book.traded_face += float(qty.sum())
            book.trades += 1
            if is_pt:
                book.pt_trades += 1
            else:
                book.rfq_trades += 1
            if book.hedge is not None:
                self._hedge_trade(book, idx, x, now)
            for h in self.horizons:
                self.schedule(now + round(h * NS_PER_SECOND), self._markout(book, h, idx, x, price, base))
        self._client_cost(d["client_id"], kind, cost, base, arrival, n, float(qty.sum()))
        buckets = self._bucket[idx]
        for b in np.unique(buckets).tolist():
            sel = buckets == b
            part = None if arrival_lines is None else (float(arrival_lines[0][sel].sum()),
                                                       float(arrival_lines[1][sel].sum()))
            self.buckets[(kind, BUCKETS[b])].add(float(cost_lines[sel].sum()), float(base_lines[sel].sum()), part,
                                                 int(sel.sum()))

    def _markout_one(self, book: _Book, h: float, i: int, x: float, p: float, base: float) -> Callable[[], None]:
        def measure() -> None:
            m = float(self.market.view.mid_price[i])
            book.markout_usd[h] = book.markout_usd.get(h, 0.0) + x * (m - p) / 100.0
            book.markout_base[h] = book.markout_base.get(h, 0.0) + base
            book.markout_n[h] = book.markout_n.get(h, 0) + 1

        return measure

    def _markout(self, book: _Book, h: float, idx: IntArray, x: FloatArray, price: FloatArray,
                 base: float) -> Callable[[], None]:
        def measure() -> None:
            m = np.asarray(self.market.view.mid_price, dtype=np.float64)[idx]
            book.markout_usd[h] = book.markout_usd.get(h, 0.0) + float(x @ (m - price)) / 100.0
            book.markout_base[h] = book.markout_base.get(h, 0.0) + base
            book.markout_n[h] = book.markout_n.get(h, 0) + 1

        return measure

    # ---- sampling -----------------------------------------------------------------------------

    def sample(self, now: int) -> None:
        view = self.market.view
        mid = np.asarray(view.mid_price, dtype=np.float64)
        self.times.append((now - self.start_ns) / NS_PER_SECOND)
        table = None
        etf_exp: dict[str, tuple[FloatArray, float]] = {}
        if self.settings.capital:
            settle = self.market.settle(now)
            table = self.market.factor_model.exposure_table(self.market.base, settle)
            for ticker in _ETFS:
                if ticker in self.universe.etf_holdings_idx:
                    etf_exp[ticker] = self.market.factor_model.etf_exposure(self.market.base, ticker, settle)
        cov = self.market.factor_model.cov
        for book in self.books.values():
            nz = np.flatnonzero(book.positions)
            pos = book.positions[nz]
            value = pos * mid[nz] / 100.0
            gross = float(np.abs(value).sum())
            book.gross.append(round(gross, 2))
            book.net.append(round(float(value.sum()), 2))
            book.max_gross = max(book.max_gross, gross)
            book.pnl.append(round(book.cash + float(value.sum()) + self._hedge_pnl(book, view), 2))
            if table is None:
                continue
            mv = pos * table.dirty_price[nz] / 100.0
            e = mv @ table.exposures[nz]
            idio = float(mv**2 @ table.idio_var[nz])
            if book.hedge is not None:
                prices = self._hedge_prices(view)
                hv = book.hedge_units * prices
                e = e + hv[: self._tsy.size] @ table.exposures[self._tsy]
                for j, ticker in enumerate(_ETFS, start=_N_TSY):
                    if ticker in etf_exp:
                        e = e + hv[j] * etf_exp[ticker][0]
                        idio += hv[j] ** 2 * etf_exp[ticker][1]
            var = float(e @ cov @ e) + idio
            book.capital.append(round(Z_99 * math.sqrt(max(var, 0.0) * 10.0), 2))

    # ---- the document ------------------------------------------------------------------------

    def dealer_pnl(self, dealer_id: str) -> dict[str, float]:
        """P&L components of one dealer now (spread capture, inventory MTM, hedge, total)."""
        book = self.books[dealer_id]
        view = self.market.view
        mid = np.asarray(view.mid_price, dtype=np.float64)
        book_value = float(book.positions @ mid) / 100.0
        hedge = self._hedge_pnl(book, view)
        return {"spread_capture": book.spread, "inventory_mtm": book_value - book.mid_cost, "hedge": hedge,
                "total": book.cash + book_value + hedge}

    def result(self, stats: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The metrics document (JSON-ready). ``stats``: the bot host's per-dealer counters."""
        dealers: dict[str, Any] = {}
        for dealer_id, book in self.books.items():
            pnl = self.dealer_pnl(dealer_id)
            markouts_bp = {f"{h:g}s": _bp(book.markout_usd.get(h, 0.0), book.markout_base.get(h, 0.0))
                           for h in self.horizons}
            markouts_usd = {f"{h:g}s": round(book.markout_usd.get(h, 0.0), 2) for h in self.horizons}
            entry: dict[str, Any] = {
                "strategy": book.strategy,
                "inquiries_received": book.asked,
                "inquiries_quoted": book.quoted,
                "passes": book.passed,
                "no_response": book.no_response,
                "trades": book.trades,
                "rfq_trades": book.rfq_trades,
                "portfolio_trades": book.pt_trades,
                "hit_ratio": round(_ratio(book.trades, book.quoted), 6),
                "response_rate": round(_ratio(book.quoted, book.asked), 6),
                "traded_face_usd": round(book.traded_face, 2),
                "traded_mv_usd": round(book.traded_mv, 2),
                "pnl": {k: round(v, 2) for k, v in pnl.items()},
                "pnl_bp_of_traded": _bp(pnl["total"], book.traded_mv),
                "hedges": book.hedge is not None,
                "hedge_note": _hedge_note(book.hedge),
                "hedge_cost_usd": round(book.hedge_cost, 2),
                "markouts_bp": markouts_bp,
                "markouts_usd": markouts_usd,
                "markout_trades": {f"{h:g}s": book.markout_n.get(h, 0) for h in self.horizons},
                "final_gross_usd": book.gross[-1] if book.gross else 0.0,
                "max_gross_usd": round(book.max_gross, 2),
                "max_capital_usd": max(book.capital) if book.capital else 0.0,
            }
            if stats is not None and dealer_id in stats:
                s = stats[dealer_id]
                entry["bot"] = {"delivered": s.delivered, "quoted": s.quoted, "passed": s.passed,
                                "errors": s.errors, "late": s.late, "rejected": s.rejected,
                                "last_error": s.last_error}
            dealers[dealer_id] = entry
        clients: dict[str, Any] = {}
        for client_id, c in self.clients.items():
            clients[client_id] = {
                "type": c.client_type, "inquiries": c.inquiries, "rejected": c.rejected, "awarded": c.awarded,
                "cancelled": c.cancelled, "expired": c.expired, "no_quotes": c.no_quotes,
                "completion_rate": round(_ratio(c.awarded, c.inquiries), 6),
                "notional_completion_rate": round(_ratio(c.face_done, c.face_asked), 6),
                "face_asked_usd": round(c.face_asked, 2), "face_done_usd": round(c.face_done, 2),
                "quotes_per_inquiry": round(_ratio(c.quotes_received, c.inquiries), 4),
                "cost_usd": round(c.cost.usd, 2), "cost_bp": _bp(c.cost.usd, c.cost.base),
                "cost_vs_arrival_bp": _bp(c.cost.arrival_usd, c.cost.arrival_base),
            }
        series = {"t_s": self.times,
                  "dealers": {d: {"gross_usd": b.gross, "net_usd": b.net, "pnl_usd": b.pnl, "capital_usd": b.capital}
                              for d, b in self.books.items()}}
        return {
            "trades": self.trades,
            "dealers": dealers,
            "clients": clients,
            "client_types": {t: c.as_dict() for t, c in self.types.items()},
            "by_kind": {k: c.as_dict() for k, c in self.kinds.items()},
            "by_kind_and_bucket": {f"{k}.{b}": c.as_dict() for (k, b), c in self.buckets.items()},
            "series": series,
        }


def flatten_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """One flat row of a run's headline figures (for tournaments, sweeps and CSV files)."""
    run = metrics["run"]
    row: dict[str, Any] = {"seed": run["seed"], "orders": run["orders"], "events": run["events"],
                           "trades": metrics["trades"], "log_sha256": run["log_sha256"]}
    for dealer_id, d in metrics["dealers"].items():
        p = f"dealer.{dealer_id}."
        for k, v in d["pnl"].items():
            row[p + "pnl." + k] = v
        for k in ("hit_ratio", "response_rate", "trades", "traded_mv_usd", "pnl_bp_of_traded", "max_gross_usd",
                  "max_capital_usd"):
            row[p + k] = d[k]
        for h, v in d["markouts_bp"].items():
            row[p + "markout_bp." + h] = v
    total_usd = sum(c["cost_usd"] for c in metrics["by_kind"].values())
    total_base = sum(c["traded_usd"] for c in metrics["by_kind"].values())
    inquiries = sum(c["inquiries"] for c in metrics["by_kind"].values())
    done = sum(c["done"] for c in metrics["by_kind"].values())
    row["clients.cost_bp"] = _bp(total_usd, total_base)
    row["clients.cost_vs_arrival_bp"] = _bp(sum(c["cost_vs_arrival_usd"] for c in metrics["by_kind"].values()),
                                            sum(c["traded_at_arrival_usd"] for c in metrics["by_kind"].values()))
    row["clients.cost_usd"] = round(total_usd, 2)
    row["clients.completion_rate"] = round(_ratio(done, inquiries), 6)
    for name, group in (("kind", metrics["by_kind"]), ("client_type", metrics["client_types"]),
                        ("bucket", metrics["by_kind_and_bucket"])):
        for key, c in group.items():
            row[f"{name}.{key}.cost_bp"] = c["cost_bp"]
            row[f"{name}.{key}.cost_vs_arrival_bp"] = c["cost_vs_arrival_bp"]
            row[f"{name}.{key}.completion_rate"] = c["completion_rate"]
    return row
