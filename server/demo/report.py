"""The switch trade's outputs: a terminal summary (rich) and a self-contained HTML report.

The HTML report embeds its charts (matplotlib PNGs) as base64 ``data:image/png`` URIs, so the one
file opens anywhere; ``write_html(..., save_png=True)`` also writes them as files next to it. Charts need
matplotlib (``pip install matplotlib==3.11.2``); without it the report says so and has tables only.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from server.demo.switch_trade import LineOutcome, PathResult, PlanLine, SwitchTradeResult

__all__ = ["charts", "html_report", "print_summary", "summary_rows", "write_html"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RFQ_COLOUR = "#d9822b"
_PT_COLOUR = "#2b6cb0"
_UNDONE_COLOUR = "#c0392b"
_TARGET_COLOUR = "#2f855a"


# ---- formatting ---------------------------------------------------------------------------------------

def usd(x: float) -> str:
    return f"{x:,.0f}"


def mm(x: float) -> str:
    return f"{x / 1e6:,.1f} mm"


def pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f}%" if math.isfinite(x) else "n/a"


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _line_cost_bp(ln: PlanLine, price: float | None) -> float | None:
    """Cost of trading ``ln`` at ``price`` against its arrival mid, bp of price (positive: the fund pays)."""
    if price is None:
        return None
    return ln.sign * (price - ln.mid) / ln.mid * 1e4


def _drift_bp(ln: PlanLine, mid: float | None) -> float | None:
    """How far the mid moved against the fund since the start (bp): up for a buy, down for a sell."""
    if mid is None:
        return None
    return ln.sign * (mid - ln.mid) / ln.mid * 1e4


# ---- the figures, as rows ------------------------------------------------------------------------------

def summary_rows(result: SwitchTradeResult) -> list[tuple[str, str, str]]:
    """(measure, RFQ path, portfolio trade) rows of the comparison."""
    cfg = result.config
    rfq, pt = result.rfq, result.pt

    def shortfall(p: PathResult) -> str:
        total = p.cost_usd + p.opportunity_cost_usd
        return f"{usd(total)} ({total / p.target_notional * 1e4:.2f} bp of the list)" if p.target_notional else "n/a"

    def panel(p: PathResult, per: str) -> str:
        return " ".join(x for x in (str(len(p.dealers)), per, f"({', '.join(p.dealers)})" if p.dealers else "") if x)

    return [
        ("dealers asked", panel(rfq, "per RFQ"), panel(pt, "for the basket")),
        ("inquiries", str(rfq.inquiries), str(pt.inquiries)),
        ("lines done", f"{len(rfq.lines) - rfq.undone_lines} of {len(rfq.lines)}",
         f"{len(pt.lines) - pt.undone_lines} of {len(pt.lines)}"),
        ("completion (face)", f"{pct(rfq.completion)} ({mm(rfq.executed_notional)} of {mm(rfq.target_notional)})",
         f"{pct(pt.completion)} ({mm(pt.executed_notional)} of {mm(pt.target_notional)})"),
        ("cost vs arrival mids (USD)", usd(rfq.cost_usd), usd(pt.cost_usd)),
        ("cost (bp of executed face)", f"{rfq.cost_bp:.2f}", f"{pt.cost_bp:.2f}"),
        ("leakage: the inquiry's own move of the mid (bp, mean)", _bp(rfq.own_impact_bp), _bp(pt.own_impact_bp)),
        ("leakage: earlier inquiries' move of the mid (bp, mean)", _bp(rfq.earlier_leak_bp), _bp(pt.earlier_leak_bp)),
        ("opportunity cost of undone lines (USD)",
         f"{usd(rfq.opportunity_cost_usd)} (market move {usd(rfq.opportunity_market_usd)} + expected cost to "
         f"finish {usd(rfq.opportunity_completion_usd)})" if rfq.undone_lines else "0 (nothing left undone)",
         f"{usd(pt.opportunity_cost_usd)}" if pt.undone_lines else "0 (nothing left undone)"),
        ("cost + opportunity cost (USD)", shortfall(rfq), shortfall(pt)),
        ("elapsed, first inquiry to last award", duration_text(rfq.elapsed_s), duration_text(pt.elapsed_s)),
        (f"fund duration after (target {cfg.target_duration:.2f})", f"{rfq.fund_after.duration:.3f}",
         f"{pt.fund_after.duration:.3f}"),
        (f"fund BBB weight after (target {pct(cfg.target_bbb_weight)})", pct(rfq.fund_after.bbb_weight, 2),
         pct(pt.fund_after.bbb_weight, 2)),
        ("cash after (USD)", usd(rfq.fund_after.cash_usd), usd(pt.fund_after.cash_usd)),
    ]


def _bp(x: float | None) -> str:
    return "n/a (not observable live)" if x is None else f"{x:.2f}"


def _headline(result: SwitchTradeResult) -> str:
    f = result.fund
    cfg = result.config
    return (f"Switch trade: a {f.nav_usd / 1e9:,.2f} bn USD fund moves from duration {f.duration:.2f} to "
            f"{cfg.target_duration:.2f} years and from {pct(f.bbb_weight)} to {pct(cfg.target_bbb_weight)} BBB")


def _plan_text(result: SwitchTradeResult) -> str:
    plan = result.plan
    sells = [ln for ln in plan.lines if ln.side == "sell"]
    buys = [ln for ln in plan.lines if ln.side == "buy"]

    def avg_dur(lines: Sequence[PlanLine]) -> float:
        mv = sum(ln.market_value for ln in lines)
        return sum(ln.market_value * ln.duration for ln in lines) / mv if mv else math.nan

    ratings = sorted({ln.rating for ln in buys}, key=("AAA", "AA", "A", "BBB").index)
    return (f"Trade list: {len(sells)} sells of BBB bonds ({mm(plan.sell_usd)} market value, average duration "
            f"{avg_dur(sells):.1f}) and {len(buys)} buys of {'/'.join(ratings)} bonds ({mm(plan.buy_usd)}, "
            f"average duration {avg_dur(buys):.1f}); {mm(plan.notional)} face in all.")


def _verdict(result: SwitchTradeResult) -> str:
    rfq, pt = result.rfq, result.pt
    if pt.completion < 1.0 or rfq.executed_notional == 0:
        return "No comparison: " + ("the portfolio trade was not done." if pt.completion < 1.0 else
                                    "no RFQ was done.")
    saving = rfq.cost_bp - pt.cost_bp
    share = saving / rfq.cost_bp if rfq.cost_bp > 0 else math.nan
    total_rfq = rfq.cost_usd + rfq.opportunity_cost_usd
    cheaper = (f"{saving:.2f} bp ({pct(share, 0)}) less per unit done" if saving >= 0 else
               f"{-saving:.2f} bp more per unit done")
    text = (f"The portfolio trade cost {pt.cost_bp:.2f} bp against {rfq.cost_bp:.2f} bp by RFQ ({cheaper}), "
            f"completed {pct(pt.completion, 0)} of the list against {pct(rfq.completion, 0)} and cost "
            f"{usd(pt.cost_usd)} USD against {usd(total_rfq)} USD for the RFQ path counting its opportunity cost.")
    if rfq.own_impact_bp is not None and pt.own_impact_bp is not None:
        text += (f" Asking five dealers about one bond moved its mid {rfq.own_impact_bp:.1f} bp against the fund "
                 f"before they priced it; the basket moved its lines {pt.own_impact_bp:.1f} bp.")
    return text


def _leak_bp(out: LineOutcome) -> float | None:
    """Leakage against the fund when the dealers priced the line: earlier inquiries' and its own (sim mode)."""
    if out.leak_at_ask_bp is None and out.own_impact_bp is None:
        return None
    return (out.leak_at_ask_bp or 0.0) + (out.own_impact_bp or 0.0)


def _undone(result: SwitchTradeResult) -> list[tuple[PlanLine, LineOutcome]]:
    return [(ln, out) for ln, out in zip(result.plan.lines, result.rfq.lines, strict=True) if not out.done]


# ---- terminal ---------------------------------------------------------------------------------------------

def print_summary(result: SwitchTradeResult, console: Console | None = None, *, report: Path | None = None,
                  total_s: float | None = None) -> None:
    console = console or Console()
    cfg = result.config
    console.print(Text(_headline(result), style="bold"))
    mode = "in-process, simulated clock" if result.mode == "sim" else f"live venue {result.venue}"
    console.print(f"{mode}; seed {cfg.seed}; fund of {result.fund.lines} bonds (BBB {pct(result.fund.bbb_weight)} "
                  f"against {pct(result.universe_bbb_weight)} in the investment-grade universe)", soft_wrap=True)
    console.print(_plan_text(result), soft_wrap=True)
    table = Table(title="RFQ path versus portfolio trade", title_justify="left")
    table.add_column("measure")
    table.add_column("(a) single-bond RFQs", justify="right")
    table.add_column("(b) portfolio trade", justify="right")
    for row in summary_rows(result):
        table.add_row(*row)
    console.print(table)
    undone = _undone(result)
    if undone:
        t = Table(title=f"Left undone by the RFQ path (leg-out): {len(undone)} line{'s' if len(undone) > 1 else ''}",
                  title_justify="left")
        for col in ("line", "side", "face", "liq. score", "limit bp", "mid moved bp", "of which leakage bp",
                    "best quote bp", "why"):
            t.add_column(col, justify="left" if col in ("line", "side", "why") else "right")
        for ln, out in undone:
            drift = _drift_bp(ln, out.mid_at_ask)
            leak = _leak_bp(out)
            best = _line_cost_bp(ln, out.best_price)
            t.add_row(ln.name, ln.side, mm(ln.quantity), f"{ln.score:.0f}", f"{ln.limit_bp:.1f}",
                      f"{drift + (out.own_impact_bp or 0.0):.1f}" if drift is not None else "",
                      f"{leak:.1f}" if leak is not None else "n/a", f"{best:.1f}" if best is not None else "-",
                      out.reason)
        console.print(t)
    console.print(_verdict(result), soft_wrap=True)
    for note in result.notes:
        console.print(Text(note, style="dim"), soft_wrap=True)
    tail = f"run time {result.wall_s:.1f} s" if total_s is None else (
        f"run time {total_s:.1f} s (both paths {result.wall_s:.1f} s, report {total_s - result.wall_s:.1f} s)")
    if report is not None:
        tail = f"report: {report}; " + tail
    console.print(tail, soft_wrap=True)


# ---- charts -------------------------------------------------------------------------------------------------

def charts(result: SwitchTradeResult) -> dict[str, bytes]:
    """The report's charts as PNG bytes by file name (empty without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    makers: list[tuple[str, Callable[[Any, SwitchTradeResult], None], tuple[float, float]]] = [
        ("cost.png", _chart_cost, (8.0, 4.2)),
        ("progress.png", _chart_progress, (8.0, 4.2)),
        ("leakage.png", _chart_leakage, (10.0, 5.4)),
        ("line_costs.png", _chart_line_costs, (8.0, 4.6)),
        ("fund.png", _chart_fund, (9.0, 3.8)),
    ]
    out: dict[str, bytes] = {}
    for name, make, size in makers:
        fig = plt.figure(figsize=size)
        try:
            make(fig, result)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100)
            out[name] = buf.getvalue()
        finally:
            plt.close(fig)
    return out


def _chart_cost(fig: Any, result: SwitchTradeResult) -> None:
    ax = fig.add_subplot(1, 1, 1)
    rfq, pt = result.rfq, result.pt
    names = ["(a) single-bond RFQs", "(b) portfolio trade"]
    done = [rfq.cost_usd / 1e3, pt.cost_usd / 1e3]
    market = [rfq.opportunity_market_usd / 1e3, pt.opportunity_market_usd / 1e3]
    finish = [rfq.opportunity_completion_usd / 1e3, pt.opportunity_completion_usd / 1e3]
    ax.bar(names, done, color=[_RFQ_COLOUR, _PT_COLOUR], label="cost of executed lines")
    bottom = [max(d, 0.0) for d in done]
    ax.bar(names, market, bottom=bottom, color="#e8b27a", hatch="//", label="undone: market moved against the fund")
    bottom2 = [b + max(m, 0.0) for b, m in zip(bottom, market, strict=True)]
    ax.bar(names, finish, bottom=bottom2, color="#f3d9b8", hatch="..", label="undone: expected cost to finish")
    for k, p in enumerate((rfq, pt)):
        top = bottom2[k] + max(finish[k], 0.0)
        ax.annotate(f"{p.cost_bp:.1f} bp on {pct(p.completion, 0)} done", (k, top), ha="center", va="bottom",
                    xytext=(0, 3), textcoords="offset points")
    ax.set_ylabel("thousand USD against the arrival mids")
    ax.set_title("Cost of the switch")
    ax.margins(y=0.15)
    ax.legend(fontsize="small", loc="upper right")
    ax.grid(True, axis="y", alpha=0.3)


def _chart_progress(fig: Any, result: SwitchTradeResult) -> None:
    ax = fig.add_subplot(1, 1, 1)
    scale = 60.0 if max(result.rfq.elapsed_s, result.pt.elapsed_s) >= 120 else 1.0
    unit = "minutes" if scale == 60.0 else "seconds"
    for p, colour, label in ((result.rfq, _RFQ_COLOUR, "(a) single-bond RFQs"),
                             (result.pt, _PT_COLOUR, "(b) portfolio trade")):
        fills = sorted((out.done_s or 0.0, ln.quantity) for ln, out in zip(result.plan.lines, p.lines, strict=True)
                       if out.done)
        t = [0.0]
        y = [0.0]
        total = 0.0
        for at, qty in fills:
            total += qty
            t.append(at / scale)
            y.append(total / p.target_notional * 100.0 if p.target_notional else 0.0)
        end = max(result.rfq.elapsed_s, result.pt.elapsed_s, 1.0) / scale
        t.append(end)
        y.append(y[-1])
        ax.step(t, y, where="post", color=colour, label=f"{label}: {pct(p.completion)} in {duration_text(p.elapsed_s)}",
                linewidth=2)
    ax.axhline(100.0, color=_TARGET_COLOUR, linestyle="--", linewidth=1, label="the whole list")
    ax.set_xlabel(f"{unit} since the first inquiry")
    ax.set_ylabel("executed, % of the list's face")
    ax.set_ylim(0, 110)
    ax.set_title("Completion over time")
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(True, alpha=0.3)


def _chart_leakage(fig: Any, result: SwitchTradeResult) -> None:
    ax = fig.add_subplot(1, 1, 1)
    plan = result.plan
    lines = result.rfq.lines
    asked = sorted((out.asked_s if out.asked_s is not None else math.inf, k) for k, out in enumerate(lines))
    xs = list(range(1, len(asked) + 1))
    market: list[float] = []
    earlier: list[float] = []
    own: list[float] = []
    limits: list[float] = []
    best_done: list[tuple[int, float]] = []
    best_undone: list[tuple[int, float]] = []
    for n, (_, k) in zip(xs, asked, strict=True):
        ln = plan.lines[k]
        out = lines[k]
        drift = _drift_bp(ln, out.mid_at_ask) or 0.0
        leak = out.leak_at_ask_bp or 0.0
        earlier.append(leak)
        market.append(drift - leak)
        own.append(out.own_impact_bp or 0.0)
        limits.append(ln.limit_bp)
        b = _line_cost_bp(ln, out.best_price)
        if b is not None:
            (best_done if out.done else best_undone).append((n, b))
    w = 0.4
    ax.bar([x - w / 2 for x in xs], market, width=w, color="#b0b0b0", label="market move since the start")
    if any(own) or any(earlier):
        ax.bar([x + w / 2 for x in xs], earlier, width=w, color="#f0c090", label="leakage of earlier RFQs")
        ax.bar([x + w / 2 for x in xs], own, width=w, bottom=earlier, color=_RFQ_COLOUR,
               label="leakage of this RFQ (five dealers asked)")
    ax.step(xs, limits, where="mid", color=_TARGET_COLOUR, linewidth=1, label="the trader's limit")
    if best_done:
        ax.scatter([x for x, _ in best_done], [y for _, y in best_done], color="black", s=16, zorder=3,
                   label="best quote, awarded")
    if best_undone:
        ax.scatter([x for x, _ in best_undone], [y for _, y in best_undone], color=_UNDONE_COLOUR, marker="x",
                   s=45, zorder=4, label="best quote outside the limit: left undone")
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlabel("RFQ number, in the order they were sent")
    ax.set_ylabel("bp of price against the fund, vs arrival mid")
    ax.set_title("RFQ path: every RFQ leaks, later prices move; some lines find no acceptable quote")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    ax.grid(True, alpha=0.3)


def _chart_line_costs(fig: Any, result: SwitchTradeResult) -> None:
    ax = fig.add_subplot(1, 1, 1)
    plan = result.plan
    rfq_pts = [(ln.score, _line_cost_bp(ln, o.price)) for ln, o in zip(plan.lines, result.rfq.lines, strict=True)
               if o.done]
    pt_pts = [(ln.score, _line_cost_bp(ln, o.price)) for ln, o in zip(plan.lines, result.pt.lines, strict=True)
              if o.done]
    und = [(ln.score, _line_cost_bp(ln, o.best_price)) for ln, o in zip(plan.lines, result.rfq.lines, strict=True)
           if not o.done and o.best_price is not None]
    for pts, kw in ((rfq_pts, {"color": _RFQ_COLOUR, "marker": "o", "label": "(a) RFQ, done"}),
                    (und, {"color": _UNDONE_COLOUR, "marker": "x", "label": "(a) RFQ, best quote of an undone line"}),
                    (pt_pts, {"color": _PT_COLOUR, "marker": "^", "label": "(b) portfolio trade, line price"})):
        clean = [(x, y) for x, y in pts if y is not None]
        if clean:
            ax.scatter([x for x, _ in clean], [y for _, y in clean], s=22, alpha=0.85, **kw)
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlabel("liquidity score (1 hardest, 100 easiest)")
    ax.set_ylabel("cost, bp of price against the arrival mid")
    ax.set_title("Cost per line by liquidity")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)


def _chart_fund(fig: Any, result: SwitchTradeResult) -> None:
    cfg = result.config
    names = ["start", "(a) RFQs", "(b) PT"]
    colours = ["#888888", _RFQ_COLOUR, _PT_COLOUR]
    states = [result.fund, result.rfq.fund_after, result.pt.fund_after]
    for pos, (values, target, label, fmt) in enumerate((
            ([s.duration for s in states], cfg.target_duration, "duration (years)", "{:.2f}"),
            ([s.bbb_weight * 100 for s in states], cfg.target_bbb_weight * 100, "BBB weight (% of NAV)", "{:.1f}%"))):
        ax = fig.add_subplot(1, 2, pos + 1)
        bars = ax.bar(names, values, color=colours)
        ax.axhline(target, color=_TARGET_COLOUR, linestyle="--", linewidth=1.5, label=f"target {fmt.format(target)}")
        for bar, v in zip(bars, values, strict=True):
            ax.annotate(fmt.format(v), (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom",
                        xytext=(0, 2), textcoords="offset points", fontsize="small")
        ax.set_title(f"Fund {label}")
        ax.margins(y=0.15)
        ax.legend(fontsize="small", loc="lower right")
        ax.grid(True, axis="y", alpha=0.3)


# ---- HTML ----------------------------------------------------------------------------------------------------

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #1a202c; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #e2e8f0; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #e2e8f0; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th { background: #f7fafc; } td.l, th.l { text-align: left; }
tr.undone td { background: #fff5f5; }
.verdict { background: #ebf8ff; border-left: 4px solid #2b6cb0; padding: 0.6em 1em; }
.note { color: #4a5568; font-size: 0.9em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #e2e8f0; }
figcaption { color: #4a5568; font-size: 0.9em; }
"""

_CAPTIONS = {
    "cost.png": "Cost against the evaluated mids at the start of the exercise. The RFQ path's undone lines are "
                "stacked on top: how far their mids moved against the fund, and what finishing them is expected "
                "to cost.",
    "progress.png": "Share of the list's face executed over time.",
    "leakage.png": "Each RFQ in the order it was sent: how far the bond's mid had moved against the fund when it was "
                   "asked (the market's own moves, and the leakage of earlier RFQs through the issuer and the "
                   "sector), how far this RFQ's own leakage moved it before the dealers priced it, the best quote "
                   "against the arrival mid, and the trader's limit. Positive: against the fund.",
    "line_costs.png": "Per line: cost against the arrival mid by liquidity score. Inside the basket the least "
                      "liquid lines gain most.",
    "fund.png": "The fund after each path against the targets (NAV at the starting mids, cash included).",
}


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1,
           row_class: Sequence[str] | None = None) -> str:
    out = ["<table><thead><tr>"]
    out += [f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for n, row in enumerate(rows):
        cls = f' class="{row_class[n]}"' if row_class and row_class[n] else ""
        out.append(f"<tr{cls}>" + "".join(f'<td class="{"l" if i < left else ""}">{html.escape(c)}</td>'
                                          for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _line_rows(result: SwitchTradeResult) -> tuple[list[list[str]], list[str]]:
    rows: list[list[str]] = []
    classes: list[str] = []
    for ln, a, b in zip(result.plan.lines, result.rfq.lines, result.pt.lines, strict=True):
        ca = _line_cost_bp(ln, a.price)
        cb = _line_cost_bp(ln, b.price)
        best = _line_cost_bp(ln, a.best_price)
        drift = _drift_bp(ln, a.mid_at_ask)
        leak = _leak_bp(a)
        rows.append([ln.name, ln.cusip, ln.side, ln.rating, ln.sector, f"{ln.quantity:,}", f"{ln.duration:.2f}",
                     f"{ln.score:.0f}", f"{ln.mid:.3f}", f"{ln.limit_bp:.1f}",
                     f"{drift + (a.own_impact_bp or 0.0):.1f}" if drift is not None else "",
                     f"{leak:.1f}" if leak is not None else "n/a",
                     f"{best:.1f}" if best is not None else "-", f"{ca:.1f}" if ca is not None else "-",
                     a.reason, a.dealer or "", f"{cb:.1f}" if cb is not None else "-"])
        classes.append("" if a.done else "undone")
    return rows, classes


def html_report(result: SwitchTradeResult, images: dict[str, bytes] | None = None, *,
                image_src: Callable[[str, bytes], str] | None = None) -> str:
    """The report as one HTML document. ``image_src(name, png)`` gives each chart's ``src`` (default: a data URI)."""
    images = charts(result) if images is None else images
    src = image_src or (lambda name, png: "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
    cfg = result.config
    mode = "in-process on the simulated clock" if result.mode == "sim" else f"against the live venue at {result.venue}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>rfqsim switch trade (seed {cfg.seed})</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(_headline(result))}</h1>",
        f"<p>Run {html.escape(mode)}, seed {cfg.seed}; fund of {result.fund.lines} bonds, NAV "
        f"{usd(result.fund.nav_usd)} USD, duration {result.fund.duration:.3f}, BBB {pct(result.fund.bbb_weight, 2)} "
        f"(the investment-grade universe: {pct(result.universe_bbb_weight)}). "
        f"{html.escape(_plan_text(result))}</p>",
        f'<p class="verdict">{html.escape(_verdict(result))}</p>',
        "<h2>RFQ path versus portfolio trade</h2>",
        _table(["measure", "(a) single-bond RFQs", "(b) portfolio trade"], [list(r) for r in summary_rows(result)]),
    ]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in result.notes]
    parts.append("<h2>Charts</h2>")
    if not images:
        parts.append('<p class="note">matplotlib is not installed: no charts (pip install matplotlib==3.11.2).</p>')
    for name, png in images.items():
        caption = _CAPTIONS.get(name, "")
        parts.append(f'<figure><img src="{html.escape(src(name, png))}" alt="{html.escape(caption or name)}">'
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("<h2>Cost by liquidity bucket</h2>")
    bucket_rows = []
    for name in result.rfq.cost_by_bucket:
        a = result.rfq.cost_by_bucket[name]
        b = result.pt.cost_by_bucket[name]
        bucket_rows.append([name, f"{a['lines']:.0f}", f"{a['done']:.0f}", f"{a['cost_bp']:.2f}", f"{b['done']:.0f}",
                            f"{b['cost_bp']:.2f}"])
    parts.append(_table(["liquidity", "lines", "RFQ done", "RFQ cost bp", "PT done", "PT cost bp"], bucket_rows))
    rows, classes = _line_rows(result)
    parts.append("<h2>The trade list</h2>")
    parts.append('<p class="note">bp figures are of price against the mid at the start of the exercise, positive '
                 'when the fund pays (or when the mid moved against it). "Mid moved" is where the mid stood when the '
                 'dealers priced the RFQ: the market\'s own moves plus leakage (earlier RFQs\' and its own). '
                 'Red rows: left undone by the RFQ path.</p>')
    parts.append(_table(["line", "CUSIP", "side", "rating", "sector", "face", "duration", "liq.", "arrival mid",
                         "limit bp", "RFQ: mid moved bp", "of which leakage bp", "best RFQ quote bp", "RFQ cost bp",
                         "RFQ outcome",
                         "RFQ dealer", "PT cost bp"], rows, left=5, row_class=classes))
    parts.append("<h2>How the figures are computed</h2><ul>")
    for item in (
        "Cost = sum over executed lines of side x (execution price - arrival evaluated mid at the start of the "
        "exercise) x quantity / 100 (side +1 buy, -1 sell), in USD and in bp of the executed face.",
        "Opportunity cost (undone lines, reported separately): side x (mid at the end of the exercise - arrival mid) "
        "x quantity / 100, plus the expected single-bond RFQ cost of finishing them (CALIBRATION.md section 1 curve).",
        "Completion = executed face / the list's face. Elapsed = first inquiry to last award "
        + ("(simulated time)." if result.mode == "sim" else "(the venue's clock)."),
        "Fund after: net asset value at the starting evaluated mids plus accrued, plus the cash the trades settled "
        "(zero duration); duration and BBB weight are of that NAV.",
        f"RFQ limit per line: arrival mid -/+ ({cfg.limit_base_bp:g} bp + {cfg.limit_spread_bp:g} bp x duration + "
        f"{cfg.limit_multiple:g} x the single-bond RFQ cost curve at the bond's liquidity score); the best quote "
        f"is awarded only inside it. The portfolio trade awards the best net price.",
        f"RFQs: {cfg.rfq_concurrency} at a time, {cfg.rfq_gap_s:g} s between one ending and the next, a decision "
        f"once every dealer answered or after {cfg.rfq_decision_s:g} s.",
    ):
        parts.append(f"<li>{html.escape(item)}</li>")
    parts.append("</ul>")
    parts.append(f'<p class="note">Generated by rfqsim demo switch-trade in {result.wall_s:.1f} s.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(result: SwitchTradeResult, path: Path, *, save_png: bool = False) -> Path:
    """Write the report to ``path``, its charts embedded; with ``save_png`` also as files in ``<stem>_charts/``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    images = charts(result)
    if save_png and images:
        folder = path.with_name(path.stem + "_charts")
        folder.mkdir(exist_ok=True)
        for name, png in images.items():
            (folder / name).write_bytes(png)
    path.write_text(html_report(result, images), encoding="utf-8")
    return path
