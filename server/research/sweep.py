"""Parameter sweeps: a grid of scenario overrides, each point run over many seeds.

    rfqsim sweep scenarios/quickstart.toml --grid 'dealers[0].config.skew_bp=0,1,2' \\
        --grid 'flow.rfq_per_hour=60,240' --seeds 10 --workers 2

A grid axis is ``key.path=v1,v2,...``: the key path of a scenario setting (as in its validation
errors) and values, each read as a TOML value (``2``, ``0.5``, ``true``, ``"text"``, ``[1, 2]``;
a bare word is a string). Axes combine as a cartesian product; every point is validated before
anything runs, so a bad key or value fails fast naming the key. Each (point, seed) is one
simulation; rows come back in (point, seed) order whatever the executor.
"""

from __future__ import annotations

import csv
import itertools
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from server.research.parallel import RunJob, run_jobs, run_one
from server.research.scenario import Scenario, ScenarioError, apply_override, parse_scenario
from server.research.stats import mean_ci

__all__ = ["SweepResult", "grid_points", "parse_grid", "parse_value", "run_sweep", "sweep_table", "write_rows"]


def parse_value(token: str) -> Any:
    """A grid value: a TOML value if it reads as one, else the bare string."""
    text = token.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _split(values: str) -> list[str]:
    out: list[str] = []
    depth = 0
    quote: str | None = None
    current = ""
    for ch in values:
        if quote:
            current += ch
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current += ch
        elif ch in "[{":
            depth += 1
            current += ch
        elif ch in "]}":
            depth -= 1
            current += ch
        elif ch == "," and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    out.append(current)
    return [v for v in (x.strip() for x in out) if v]


def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """``["dealers[0].config.skew_bp=0,1,2"]`` -> ``[("dealers[0].config.skew_bp", [0, 1, 2])]``."""
    axes: list[tuple[str, list[Any]]] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError([("--grid", f"{spec!r} is not key.path=value,value,...")])
        parsed = [parse_value(v) for v in _split(values)]
        if not parsed:
            raise ScenarioError([(key, "the grid axis has no values")])
        if any(k == key for k, _ in axes):
            raise ScenarioError([(key, "appears twice in the grid")])
        axes.append((key, parsed))
    return axes


def grid_points(axes: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """The cartesian product, first axis slowest."""
    if not axes:
        return [{}]
    keys = [k for k, _ in axes]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))]


@dataclass(frozen=True)
class SweepResult:
    axes: list[tuple[str, list[Any]]]
    points: list[dict[str, Any]]
    seeds: list[int]
    rows: list[dict[str, Any]]


def run_sweep(raw: Mapping[str, Any], axes: Sequence[tuple[str, Sequence[Any]]], seeds: Sequence[int], *,
              workers: int = 1, ray_address: str | None = None, source: str | None = None,
              on_done: Callable[[int], None] | None = None) -> SweepResult:
    """Run every grid point of the scenario table ``raw`` over ``seeds``."""
    points = grid_points(axes)
    scenarios: list[Scenario] = []
    for point in points:
        table = dict(raw)
        for key, value in point.items():
            table = apply_override(table, key, value, source=source)
        scenarios.append(parse_scenario(table, source))
    jobs = [RunJob(scn, seed, {"point": i, **{f"param:{k}": v for k, v in point.items()}})
            for i, (scn, point) in enumerate(zip(scenarios, points, strict=True)) for seed in seeds]
    rows = run_jobs(run_one, jobs, workers=workers, ray_address=ray_address, on_done=on_done)
    return SweepResult([(k, list(v)) for k, v in axes], points, list(seeds), rows)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    first = ["point"]
    params: list[str] = []
    rest: list[str] = []
    for row in rows:
        for key in row:
            if key in first or key in params or key in rest:
                continue
            (params if key.startswith("param:") else rest).append(key)
    lead = [k for k in ("seed",) if k in rest]
    return first + params + lead + sorted(k for k in rest if k not in lead)


def write_rows(rows: Sequence[Mapping[str, Any]], out_dir: Path, stem: str = "results") -> tuple[Path, Path]:
    """``<stem>.csv`` and ``<stem>.jsonl`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = _columns(rows)
    csv_path = out_dir / f"{stem}.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()})
    jsonl_path = out_dir / f"{stem}.jsonl"
    with jsonl_path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({k: row.get(k) for k in columns}) + "\n")
    return csv_path, jsonl_path


def sweep_table(result: SweepResult) -> Table:
    """Per grid point: mean over seeds (95% interval) of each dealer's P&L, its hit ratio, and the clients'
    cost (against the mid at the trade and at arrival) and completion."""
    t = Table(title=f"Sweep: {len(result.points)} points x {len(result.seeds)} seeds", title_justify="left")
    keys = [k for k, _ in result.axes]
    for k in keys:
        t.add_column(k)
    dealers = sorted({key.split(".")[1] for row in result.rows for key in row
                      if key.startswith("dealer.") and key.endswith(".pnl.total")})
    for d in dealers:
        t.add_column(f"{d} P&L", justify="right")
        t.add_column(f"{d} hit", justify="right")
    for col in ("client cost bp", "vs arrival bp", "completion"):
        t.add_column(col, justify="right")
    for i, point in enumerate(result.points):
        rows = [r for r in result.rows if r["point"] == i]
        cells = [json.dumps(point[k]) if not isinstance(point[k], str) else point[k] for k in keys]
        for d in dealers:
            m, lo, hi = mean_ci([float(r.get(f"dealer.{d}.pnl.total", 0.0)) for r in rows])
            cells.append(f"{m:,.0f} [{lo:,.0f}, {hi:,.0f}]")
            h, _, _ = mean_ci([float(r.get(f"dealer.{d}.hit_ratio", 0.0)) for r in rows])
            cells.append(f"{h:.1%}")
        c, _, _ = mean_ci([float(r["clients.cost_bp"]) for r in rows])
        a, _, _ = mean_ci([float(r["clients.cost_vs_arrival_bp"]) for r in rows])
        p, _, _ = mean_ci([float(r["clients.completion_rate"]) for r in rows])
        cells += [f"{c:.2f}", f"{a:.2f}", f"{p:.1%}"]
        t.add_row(*cells)
    return t
