"""Post-trade transaction cost analysis: what a trade cost against four benchmarks.

* **Arrival mid**: the venue's evaluated mid of each line when the inquiry arrived (the trade
  lines' ``arrival_mid``, logged with the inquiry).
* **Previous close**: the evaluated mid at the close of the universe's ``as_of`` date (the
  universe's initial market).
* **Cover**: the second-best quote at the award (the quote left in state ``covered``): its price
  on the trade's side for an RFQ, its line prices and net price for a portfolio. A trade won
  without a rival live quote has no cover.
* **NAV** (portfolios): the basket's value at the arrival mids, ``sum(side x mid x quantity) /
  100`` (buys positive), against what the client paid net, ``-net_price``; in bp of the gross NAV
  it is the premium (a net buyer paid above NAV) or the discount the basket traded at.

Every cost is signed so that **positive is a cost to the client**: it paid more than the
benchmark on a buy, received less on a sell, ``side x (price - benchmark) x quantity / 100`` USD
per line; bp are of face (notional), as the pre-trade estimates are, and a basket's bp are its
USD over its gross notional. Prices are clean (accrued interest is not a cost).

Who may see a trade's TCA: its client, and its dealer, who is party to the trade and sees it in
``GET /v1/trades``. The dealer's view leaves out the cover unless the venue discloses the cover
to the winner (``disclose_cover``; even then only the level, never the quote or its dealer), so
TCA leaks nothing the dealer's feedback does not already carry. Anyone else gets 404.

``pretrade_estimate`` compares the cost against the arrival mid with the pre-trade estimate of
the same trade (:mod:`server.analytics.pretrade`): the full dealer charge of the lines alone for
an RFQ, of the basket for a portfolio, and the liquidity-curve part of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from server.analytics.pretrade import AnalyticsContext, Basket, analyse
from server.domain.errors import InvalidInput
from server.market.universe import MarketSnapshot, Universe

__all__ = ["Cover", "TradeCosts", "costs", "report"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SIGN_CONVENTION = ("positive = a cost to the client: it paid more than the benchmark on a buy or received less on "
                   "a sell; side x (price - benchmark) x quantity / 100 USD per line; bp of face (notional)")


@dataclass(frozen=True)
class Cover:
    """The cover quote as the caller may see it: the client price per line and, for a portfolio, the net price."""

    prices: FloatArray
    net_price: float | None = None
    quote_id: str | None = None
    dealer_id: str | None = None


@dataclass(frozen=True, eq=False)
class TradeCosts:
    idx: IntArray
    side: IntArray
    quantity: FloatArray
    price: FloatArray
    arrival: FloatArray  # NaN where the trade carries no arrival mid
    close: FloatArray
    cover: FloatArray | None

    def cost_usd(self, benchmark: FloatArray) -> FloatArray:
        return np.asarray(self.side * (self.price - benchmark) * self.quantity / 100.0, dtype=np.float64)

    def cost_bp(self, benchmark: FloatArray) -> FloatArray:
        return np.asarray(self.side * (self.price - benchmark) * 100.0, dtype=np.float64)

    @property
    def gross_notional(self) -> float:
        return float(self.quantity.sum())


def costs(trade: dict[str, Any], universe: Universe, close: MarketSnapshot, cover: Cover | None) -> TradeCosts:
    """Per-line arrays of a booked trade (the venue's trade JSON) and its benchmarks."""
    lines: Sequence[dict[str, Any]] = trade.get("lines") or []
    if not lines:
        raise InvalidInput(f"trade {trade.get('trade_id')} has no lines", field="trade_id")
    idx = np.fromiter((universe.index_of(str(ln["instrument"]), "instrument") for ln in lines), dtype=np.int64,
                      count=len(lines))
    side = np.fromiter((1 if ln["side"] == "buy" else -1 for ln in lines), dtype=np.int64, count=len(lines))
    qty = np.fromiter((float(ln["quantity"]) for ln in lines), dtype=np.float64, count=len(lines))
    price = np.fromiter((float(ln["clean_price"]) for ln in lines), dtype=np.float64, count=len(lines))
    arrival = np.fromiter((np.nan if ln.get("arrival_mid") is None else float(ln["arrival_mid"]) for ln in lines),
                          dtype=np.float64, count=len(lines))
    cover_prices = None
    if cover is not None:
        cover_prices = np.asarray(cover.prices, dtype=np.float64)
        if cover_prices.shape != price.shape:
            raise ValueError("the cover has one price per trade line")
    return TradeCosts(idx, side, qty, price, arrival, np.asarray(close.mid_price, dtype=np.float64)[idx],
                      cover_prices)


def _col(a: FloatArray, digits: int) -> list[float | None]:
    values: list[float] = np.round(np.asarray(a, dtype=np.float64), digits).tolist()
    return [None if v != v else v for v in values]


def _benchmark(c: TradeCosts, bench: FloatArray | None, description: str) -> dict[str, Any]:
    if bench is None or bool(np.isnan(bench).any()):
        return {"available": False, "description": description,
                "reason": "not recorded for this trade" if bench is not None else "no cover quote"}
    usd = float(c.cost_usd(bench).sum())
    return {"available": True, "description": description, "cost_usd": round(usd, 2),
            "cost_bp": round(usd / c.gross_notional * 1e4, 4) if c.gross_notional > 0 else None}


def report(trade: dict[str, Any], universe: Universe, close: MarketSnapshot, *, cover: Cover | None,
           cover_note: str | None = None, viewer_role: str = "client",
           context: AnalyticsContext | None = None, include_lines: bool = True) -> dict[str, Any]:
    """TCA of one trade, JSON-ready (USD to cents, bp to 4 decimals)."""
    c = costs(trade, universe, close, cover)
    is_portfolio = trade.get("kind") == "portfolio"
    benchmarks: dict[str, Any] = {
        "arrival_mid": _benchmark(c, c.arrival, "the evaluated mid of each line when the inquiry arrived"),
        "previous_close": {**_benchmark(c, c.close, f"the evaluated mid at the close of {close.as_of.isoformat()}"),
                           "as_of": close.as_of.isoformat()},
    }
    cover_doc = _benchmark(c, c.cover, "the cover: the second-best quote at the award")
    if cover is None:
        cover_doc["reason"] = cover_note or "no other live quote at the award: no cover"
    else:
        if cover.quote_id is not None:
            cover_doc["quote_id"] = cover.quote_id
        if cover.dealer_id is not None:
            cover_doc["dealer_id"] = cover.dealer_id
        if is_portfolio and cover.net_price is not None and trade.get("net_price") is not None:
            cover_doc["cover_net_price"] = cover.net_price
            cover_doc["net_price"] = trade["net_price"]
            cover_doc["cost_usd"] = round(float(cover.net_price) - float(trade["net_price"]), 2)
            cover_doc["cost_bp"] = round(cover_doc["cost_usd"] / c.gross_notional * 1e4, 4)
    benchmarks["cover"] = cover_doc
    if is_portfolio:
        benchmarks["nav"] = _nav(trade, c)
    out: dict[str, Any] = {
        "trade_id": trade.get("trade_id"), "inquiry_id": trade.get("inquiry_id"), "kind": trade.get("kind"),
        "client_id": trade.get("client_id"), "dealer_id": trade.get("dealer_id"),
        "executed_ts": trade.get("executed_ts"), "trade_date": trade.get("trade_date"),
        "viewer_role": viewer_role, "n_lines": int(c.idx.size), "gross_notional": round(c.gross_notional, 2),
        "sign_convention": SIGN_CONVENTION, "benchmarks": benchmarks,
    }
    estimate_bp: FloatArray | None = None
    if context is not None:
        out["pretrade_estimate"], estimate_bp = _estimate(context, c, is_portfolio)
    if include_lines:
        out["lines"] = _lines(trade, c, estimate_bp)
    return out


def _nav(trade: dict[str, Any], c: TradeCosts) -> dict[str, Any]:
    description = "the basket at the arrival mids: sum(side x mid x quantity) / 100, buys positive"
    if bool(np.isnan(c.arrival).any()) or trade.get("net_price") is None:
        return {"available": False, "description": description, "reason": "not recorded for this trade"}
    values = c.side * c.arrival * c.quantity / 100.0
    nav = float(values.sum())
    gross = float(np.abs(values).sum())
    paid = -float(trade["net_price"])
    cost = paid - nav
    return {"available": True, "description": description, "nav_usd": round(nav, 2), "gross_nav_usd": round(gross, 2),
            "paid_usd": round(paid, 2), "cost_usd": round(cost, 2),
            "cost_bp": round(cost / gross * 1e4, 4) if gross > 0 else None,
            "note": "paid_usd is the clean amount the client paid net (-net_price); cost_bp is of the gross NAV: "
                    "the premium (+) or discount (-) to NAV the basket traded at, from the client's side"}


def _estimate(ctx: AnalyticsContext, c: TradeCosts, is_portfolio: bool) -> tuple[dict[str, Any], FloatArray]:
    basket = Basket.of(ctx.universe, c.idx, c.side, c.quantity)
    a = analyse(ctx, basket)
    t = a.totals()
    if is_portfolio:
        dealer, liquidity, per_line = t["dealer_pt_usd"], t["pt_cost_usd"], a.dealer_pt_usd
        basis = "portfolio: the full dealer charge of the basket (and its liquidity part)"
    else:
        dealer, liquidity, per_line = t["dealer_rfq_usd"], t["rfq_cost_usd"], a.dealer_rfq_usd
        basis = "RFQ: the full dealer charge of the line alone (and its liquidity part)"
    realised = float(np.nansum(c.cost_usd(c.arrival)))
    gross = c.gross_notional
    doc = {"basis": basis, "dealer_charge_usd": round(dealer, 2), "dealer_charge_bp": round(dealer / gross * 1e4, 4),
           "liquidity_usd": round(liquidity, 2), "liquidity_bp": round(liquidity / gross * 1e4, 4),
           "realised_vs_arrival_usd": round(realised, 2),
           "realised_minus_estimate_usd": round(realised - dealer, 2),
           "note": "estimated against today's evaluated market; the realised cost is against the arrival mids"}
    return doc, np.asarray(per_line / c.quantity * 1e4, dtype=np.float64)


def _lines(trade: dict[str, Any], c: TradeCosts, estimate_bp: FloatArray | None) -> list[dict[str, Any]]:
    nan = np.full(c.idx.size, np.nan)
    cover = c.cover if c.cover is not None else nan
    cols = {
        "price": _col(c.price, 6), "arrival_mid": _col(c.arrival, 6), "previous_close": _col(c.close, 6),
        "cover_price": _col(cover, 6),
        "cost_vs_arrival_usd": _col(c.cost_usd(c.arrival), 2), "cost_vs_arrival_bp": _col(c.cost_bp(c.arrival), 4),
        "cost_vs_close_usd": _col(c.cost_usd(c.close), 2), "cost_vs_close_bp": _col(c.cost_bp(c.close), 4),
        "cost_vs_cover_usd": _col(c.cost_usd(cover), 2), "cost_vs_cover_bp": _col(c.cost_bp(cover), 4),
        "estimated_cost_bp": _col(estimate_bp if estimate_bp is not None else nan, 4),
    }
    names = list(cols)
    lines = trade.get("lines") or []
    out: list[dict[str, Any]] = []
    for line, values in zip(lines, zip(*cols.values(), strict=True), strict=True):
        row: dict[str, Any] = {"instrument": line["instrument"], "side": line["side"], "quantity": line["quantity"]}
        row.update(zip(names, values, strict=True))
        out.append(row)
    return out
