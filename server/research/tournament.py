"""Tournaments: strategies against each other over many seeds.

Each seed is one simulation with every strategy on the panel (the scenario's clients, market and
venue; its dealers replaced by the strategies, all at the same latency, so speed is no edge). The
league table ranks dealers by mean P&L over the seeds, with a 95% confidence interval from the
t-distribution, and shows the mean hit ratio, response rate and markouts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from server.research.parallel import RunJob, run_jobs, run_one
from server.research.plugins import resolve_strategy
from server.research.scenario import DealerSettings, Scenario
from server.research.stats import mean_ci

__all__ = ["LeagueRow", "TournamentResult", "league", "league_table", "run_tournament", "tournament_scenario"]


def tournament_scenario(base: Scenario, strategies: Sequence[str], *, latency_ms: float = 20.0) -> Scenario:
    """``base`` with its dealers replaced by ``strategies`` (names or ``module:Class``), one each.

    Dealer ids are the strategies' short names (numbered when a strategy appears twice)."""
    if not strategies:
        return base
    dealers: list[DealerSettings] = []
    counts: dict[str, int] = {}
    for name in strategies:
        label = re.sub(r"[^A-Za-z0-9_.\-]", "_", resolve_strategy(name).short_name)[:56]
        counts[label] = counts.get(label, 0) + 1
        dealer_id = label if counts[label] == 1 else f"{label}-{counts[label]}"
        dealers.append(DealerSettings(id=dealer_id, strategy=name, latency_ms=latency_ms))
    return base.model_copy(update={"dealers": dealers})


@dataclass(frozen=True)
class LeagueRow:
    dealer: str
    strategy: str
    seeds: int
    pnl_mean: float
    pnl_low: float
    pnl_high: float
    spread_capture: float
    inventory_mtm: float
    hedge: float
    hit_ratio: float
    response_rate: float
    trades: float
    markouts_bp: dict[str, float]


@dataclass(frozen=True)
class TournamentResult:
    scenario: Scenario
    seeds: list[int]
    rows: list[dict[str, Any]]
    league: list[LeagueRow]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def league(rows: Sequence[dict[str, Any]], scenario: Scenario) -> list[LeagueRow]:
    """Aggregate per-seed rows into the league, best mean P&L first (ties: dealer id)."""
    out: list[LeagueRow] = []
    for settings, dealer in zip(scenario.dealers, scenario.dealer_ids, strict=True):
        p = f"dealer.{dealer}."
        pnl = [float(r[p + "pnl.total"]) for r in rows]
        mean, lo, hi = mean_ci(pnl)
        horizons = [k[len(p) + len("markout_bp."):] for k in (rows[0] if rows else {}) if
                    k.startswith(p + "markout_bp.")]
        out.append(LeagueRow(
            dealer=dealer, strategy=settings.strategy, seeds=len(rows), pnl_mean=mean, pnl_low=lo, pnl_high=hi,
            spread_capture=_mean([float(r[p + "pnl.spread_capture"]) for r in rows]),
            inventory_mtm=_mean([float(r[p + "pnl.inventory_mtm"]) for r in rows]),
            hedge=_mean([float(r[p + "pnl.hedge"]) for r in rows]),
            hit_ratio=_mean([float(r[p + "hit_ratio"]) for r in rows]),
            response_rate=_mean([float(r[p + "response_rate"]) for r in rows]),
            trades=_mean([float(r[p + "trades"]) for r in rows]),
            markouts_bp={h: _mean([float(r[p + "markout_bp." + h]) for r in rows]) for h in horizons}))
    out.sort(key=lambda r: (-r.pnl_mean, r.dealer))
    return out


def run_tournament(scenario: Scenario, seeds: Sequence[int], *, workers: int = 1, ray_address: str | None = None,
                   on_done: Callable[[int], None] | None = None) -> TournamentResult:
    """Run ``scenario`` (already holding the competing dealers) once per seed; build the league."""
    jobs = [RunJob(scenario, seed, {}) for seed in seeds]
    rows = run_jobs(run_one, jobs, workers=workers, ray_address=ray_address, on_done=on_done)
    return TournamentResult(scenario, list(seeds), rows, league(rows, scenario))


def league_table(result: TournamentResult) -> Table:
    n = len(result.seeds)
    t = Table(title=f"League: {result.scenario.name}, {n} seed{'s' if n != 1 else ''} "
                    f"({result.seeds[0]}..{result.seeds[-1]})" if result.seeds else "League",
              title_justify="left")
    horizons = list(result.league[0].markouts_bp) if result.league else []
    for col in ("#", "dealer", "strategy", "P&L mean", "95% CI", "spread capt.", "inv. MTM", "hedge", "hit ratio",
                "resp. rate", "trades", *(f"mko {h} bp" for h in horizons)):
        t.add_column(col, justify="left" if col in ("dealer", "strategy") else "right")
    for rank, r in enumerate(result.league, start=1):
        t.add_row(str(rank), r.dealer, r.strategy, f"{r.pnl_mean:,.0f}", f"[{r.pnl_low:,.0f}, {r.pnl_high:,.0f}]",
                  f"{r.spread_capture:,.0f}", f"{r.inventory_mtm:,.0f}", f"{r.hedge:,.0f}", f"{r.hit_ratio:.1%}",
                  f"{r.response_rate:.1%}", f"{r.trades:.1f}", *(f"{r.markouts_bp[h]:.2f}" for h in horizons))
    return t
