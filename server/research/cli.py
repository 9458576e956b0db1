"""The research commands of the ``rfqsim`` CLI: ``simulate``, ``tournament``, ``sweep``.

``server/cli.py`` adds them with ``register(app)``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from server.console import output_console

__all__ = ["register"]

_SET_HELP = "override a scenario setting: key.path=value (a TOML value), repeatable"


def _overrides(pairs: list[str] | None) -> dict[str, Any]:
    from server.research.scenario import ScenarioError
    from server.research.sweep import parse_value

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ScenarioError([("--set", f"{pair!r} is not key.path=value")])
        out[key.strip()] = parse_value(value)
    return out


def _fail(console: Console, exc: Exception) -> typer.Exit:
    console.print(f"[red]rfqsim:[/red] {exc}", highlight=False, markup=True)
    return typer.Exit(2)


def _workers(requested: int | None, runs: int) -> int:
    """Local worker processes: as asked, or one per CPU but no more than there are runs."""
    return requested if requested is not None else max(1, min(os.cpu_count() or 1, runs))


def _seeds(first: int, n: int) -> list[int]:
    if n < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--seeds")
    return list(range(first, first + n))


def simulate_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario file (TOML, or YAML)", exists=True, dir_okay=False)],
    seed: Annotated[int | None, typer.Option(help="run seed (default: the scenario's)")] = None,
    out: Annotated[Path | None, typer.Option(help="output directory [default: runs/<name>-seed<seed>]")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=_SET_HELP)] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar over simulated time")] = True,
    charts: Annotated[bool, typer.Option(help="write PNG charts (needs matplotlib)")] = True,
) -> None:
    """Run a scenario on the simulated clock: event log (JSONL), metrics (JSON and tables), charts."""
    from server.research.report import print_metrics
    from server.research.scenario import ScenarioError, load_scenario
    from server.research.simulate import simulate

    console = output_console()
    err = Console(stderr=True)
    try:
        scn = load_scenario(scenario, _overrides(set_))
    except ScenarioError as exc:
        raise _fail(err, exc) from None
    run_seed = scn.seed if seed is None else seed
    out_dir = out if out is not None else Path("runs") / f"{scn.name}-seed{run_seed}"
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[clock]}"),
                  TimeElapsedColumn(), console=err, disable=not progress, transient=True) as bar:
        task = bar.add_task(f"{scn.name} seed {run_seed}", total=1.0, clock="")

        def report(done_ns: int, total_ns: int) -> None:
            bar.update(task, completed=done_ns / total_ns if total_ns else 1.0,
                       clock=f"{done_ns / 3.6e12:.2f} / {total_ns / 3.6e12:.2f} h simulated")

        result = simulate(scn, run_seed, out_dir=out_dir, progress=report, charts=charts)
    print_metrics(result.metrics, console)
    console.print(f"{result.events:,} events in {result.wall_s:.2f} s; wrote {out_dir}/events.jsonl, "
                  f"metrics.json, metrics.txt" + (", charts" if charts else ""))


def tournament_cmd(
    scenario: Annotated[Path | None, typer.Argument(help="scenario file [default: the built-in one]",
                                                    dir_okay=False)] = None,
    strategies: Annotated[str | None, typer.Option(
        help="comma-separated strategies (entry-point names or module:Class) [default: the scenario's dealers]")
    ] = None,
    seeds: Annotated[int, typer.Option(help="how many seeds (one simulation each)")] = 20,
    first_seed: Annotated[int | None, typer.Option(help="first seed [default: the scenario's]")] = None,
    workers: Annotated[int | None, typer.Option(help="local worker processes [default: CPU count]")] = None,
    ray_address: Annotated[str | None, typer.Option(help="run on Ray: 'local', 'auto' or ray://host:port")] = None,
    latency_ms: Annotated[float, typer.Option(help="every strategy's latency")] = 20.0,
    set_: Annotated[list[str] | None, typer.Option("--set", help=_SET_HELP)] = None,
    out: Annotated[Path | None, typer.Option(help="write per-seed rows (CSV, JSONL) and the league (JSON) here")
                   ] = None,
) -> None:
    """Strategies against each other over many seeds: a league table of P&L (95% CI), hit ratio, markouts."""
    from server.research.plugins import StrategyError
    from server.research.scenario import ScenarioError, default_scenario, load_scenario
    from server.research.sweep import write_rows
    from server.research.tournament import league_table, run_tournament, tournament_scenario

    console = output_console()
    err = Console(stderr=True)
    try:
        if scenario is None:
            base = default_scenario()
            if set_:
                raise ScenarioError([("--set", "needs a scenario file")])
        else:
            if not scenario.exists():
                raise ScenarioError([("", "no such file")], str(scenario))
            base = load_scenario(scenario, _overrides(set_))
        names = [s.strip() for s in (strategies or "").split(",") if s.strip()]
        scn = tournament_scenario(base, names, latency_ms=latency_ms)
    except (ScenarioError, StrategyError) as exc:
        raise _fail(err, exc) from None
    seed_list = _seeds(scn.seed if first_seed is None else first_seed, seeds)
    with Progress(TextColumn("[bold]tournament"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("runs", total=len(seed_list))
        result = run_tournament(scn, seed_list, workers=_workers(workers, len(seed_list)), ray_address=ray_address,
                                on_done=lambda n: bar.update(task, completed=n))
    console.print(league_table(result))
    if out is not None:
        write_rows(result.rows, out, "tournament")
        (out / "league.json").write_text(json.dumps([r.__dict__ for r in result.league], indent=2) + "\n",
                                         encoding="utf-8")
        console.print(f"wrote {out}/tournament.csv, tournament.jsonl, league.json")


def sweep_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario file (TOML, or YAML)", exists=True, dir_okay=False)],
    grid: Annotated[list[str], typer.Option(help="an axis: key.path=v1,v2,... (repeatable; axes multiply)")],
    seeds: Annotated[int, typer.Option(help="seeds per grid point")] = 10,
    first_seed: Annotated[int | None, typer.Option(help="first seed [default: the scenario's]")] = None,
    workers: Annotated[int | None, typer.Option(help="local worker processes [default: CPU count]")] = None,
    ray_address: Annotated[str | None, typer.Option(help="run on Ray: 'local', 'auto' or ray://host:port")] = None,
    out: Annotated[Path | None, typer.Option(help="output directory [default: runs/sweep-<name>]")] = None,
) -> None:
    """A parameter grid across seeds, in parallel: one table (CSV, JSONL and printed)."""
    from server.research.scenario import ScenarioError, parse_scenario, read_scenario_file
    from server.research.sweep import parse_grid, run_sweep, sweep_table, write_rows

    console = output_console()
    err = Console(stderr=True)
    try:
        raw = read_scenario_file(scenario)
        axes = parse_grid(grid)
        base = parse_scenario(raw, str(scenario))
        result_seeds = _seeds(base.seed if first_seed is None else first_seed, seeds)
        total = max(1, len(result_seeds))
        for _, values in axes:
            total *= len(values)
        with Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("runs", total=total)
            result = run_sweep(raw, axes, result_seeds, workers=_workers(workers, total), ray_address=ray_address,
                               source=str(scenario), on_done=lambda n: bar.update(task, completed=n))
    except ScenarioError as exc:
        raise _fail(err, exc) from None
    out_dir = out if out is not None else Path("runs") / f"sweep-{base.name}"
    csv_path, jsonl_path = write_rows(result.rows, out_dir)
    console.print(sweep_table(result))
    console.print(f"{len(result.rows)} runs; wrote {csv_path} and {jsonl_path}")


def register(app: typer.Typer) -> None:
    """Add ``simulate``, ``tournament`` and ``sweep`` to ``app``."""
    app.command("simulate")(simulate_cmd)
    app.command("tournament")(tournament_cmd)
    app.command("sweep")(sweep_cmd)
