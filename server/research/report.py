"""Readable output: rich tables of a run's metrics, and charts (PNG, when matplotlib is installed)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["dealer_table", "metrics_tables", "print_metrics", "render_metrics", "write_charts"]


def _usd(x: float) -> str:
    return f"{x:,.0f}"


def dealer_table(metrics: Mapping[str, Any]) -> Table:
    horizons = list(next(iter(metrics["dealers"].values()))["markouts_bp"]) if metrics["dealers"] else []
    t = Table(title="Dealers", title_justify="left")
    for col in ("dealer", "strategy", "asked", "quoted", "won", "hit ratio", "resp. rate", "traded MV",
                "spread capt.", "inv. MTM", "hedge", "total P&L", "P&L bp", *(f"mko {h} bp" for h in horizons),
                "max gross", "max capital"):
        t.add_column(col, justify="left" if col in ("dealer", "strategy") else "right")
    for dealer_id, d in metrics["dealers"].items():
        p = d["pnl"]
        hedge = _usd(p["hedge"]) if d["hedges"] else "0 (none)"
        t.add_row(dealer_id, d["strategy"], str(d["inquiries_received"]), str(d["inquiries_quoted"]), str(d["trades"]),
                  f"{d['hit_ratio']:.1%}", f"{d['response_rate']:.1%}", _usd(d["traded_mv_usd"]),
                  _usd(p["spread_capture"]), _usd(p["inventory_mtm"]), hedge, _usd(p["total"]),
                  f"{d['pnl_bp_of_traded']:.2f}", *(f"{d['markouts_bp'][h]:.2f}" for h in horizons),
                  _usd(d["max_gross_usd"]), _usd(d["max_capital_usd"]))
    return t


def _cost_table(title: str, rows: Mapping[str, Mapping[str, Any]], first: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in (first, "inquiries", "done", "completion", "traded MV", "cost USD", "cost bp", "vs arrival bp"):
        t.add_column(col, justify="left" if col == first else "right")
    for name, c in rows.items():
        t.add_row(name, str(c["inquiries"]), str(c["done"]), f"{c['completion_rate']:.1%}", _usd(c["traded_usd"]),
                  _usd(c["cost_usd"]), f"{c['cost_bp']:.2f}", f"{c['cost_vs_arrival_bp']:.2f}")
    return t


def _client_table(metrics: Mapping[str, Any]) -> Table:
    t = Table(title="Clients", title_justify="left")
    for col in ("client", "type", "inquiries", "awarded", "cancelled", "expired", "no quotes", "completion",
                "notional compl.", "quotes/inq.", "cost USD", "cost bp"):
        t.add_column(col, justify="left" if col in ("client", "type") else "right")
    for client_id, c in metrics["clients"].items():
        t.add_row(client_id, c["type"], str(c["inquiries"]), str(c["awarded"]), str(c["cancelled"]),
                  str(c["expired"]), str(c["no_quotes"]), f"{c['completion_rate']:.1%}",
                  f"{c['notional_completion_rate']:.1%}", f"{c['quotes_per_inquiry']:.2f}", _usd(c["cost_usd"]),
                  f"{c['cost_bp']:.2f}")
    return t


def metrics_tables(metrics: Mapping[str, Any]) -> list[Table]:
    run = metrics["run"]
    head = Table(title=f"Run: {run['scenario']} (seed {run['seed']})", title_justify="left", show_header=False)
    head.add_column("what")
    head.add_column("value", justify="right")
    for key in ("horizon_s", "end_s", "orders", "rfq_orders", "portfolio_orders", "rejected_orders", "events",
                "market_steps", "log_sha256"):
        head.add_row(key, str(run[key]))
    head.add_row("trades", str(metrics["trades"]))
    return [head, dealer_table(metrics), _client_table(metrics),
            _cost_table("Client cost by type", metrics["client_types"], "type"),
            _cost_table("Client cost by inquiry kind", metrics["by_kind"], "kind"),
            _cost_table("Client cost by kind and liquidity bucket (line level)", metrics["by_kind_and_bucket"],
                        "kind.bucket")]


def print_metrics(metrics: Mapping[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    for table in metrics_tables(metrics):
        console.print(table)


def render_metrics(metrics: Mapping[str, Any], width: int = 140) -> str:
    """The tables as plain text."""
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    print_metrics(metrics, console)
    return console.export_text()


def write_charts(metrics: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """P&L, inventory and capital over time, and markout curves, per dealer (PNG). Needs matplotlib;
    returns the files written (none without it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written: list[Path] = []
    series = metrics["series"]
    t_h = [t / 3600.0 for t in series["t_s"]]
    for key, label, name in (("pnl_usd", "P&L to date (USD)", "pnl.png"),
                             ("gross_usd", "gross inventory, market value (USD)", "inventory.png"),
                             ("capital_usd", "capital: 99% 10-day VaR (USD)", "capital.png")):
        fig, ax = plt.subplots(figsize=(9, 4.5))
        plotted = False
        for dealer_id, s in series["dealers"].items():
            if s[key]:
                ax.plot(t_h[: len(s[key])], s[key], label=dealer_id)
                plotted = True
        ax.set_xlabel("simulated time (hours)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if plotted:
            ax.legend(fontsize="small")
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for dealer_id, d in metrics["dealers"].items():
        hs = [float(h.rstrip("s")) / 60.0 for h in d["markouts_bp"]]
        ax.plot(hs, list(d["markouts_bp"].values()), marker="o", label=dealer_id)
    ax.set_xscale("log")
    ax.set_xlabel("markout horizon (minutes)")
    ax.set_ylabel("markout (bp of traded value, dealer's view)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path = out_dir / "markouts.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    return written
