"""The research commands through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from server.research.cli import register

SCENARIO = """
name = "cli"
seed = 3
horizon_hours = 0.05
tail_s = 60
[universe]
seed = 11
n_bonds = 300
n_issuers = 60
[metrics]
markouts_s = [30]
sample_s = 60
[[dealers]]
id = "a"
strategy = "mid_spread"
[[dealers]]
id = "b"
strategy = "mid_spread"
config = { skew_bp = 1.5 }
[flow]
rfq_per_hour = 600
portfolio_per_hour = 20
"""


def app() -> typer.Typer:
    a = typer.Typer(add_completion=False)

    @a.callback()
    def root() -> None:
        """test root"""

    register(a)
    return a


def write(tmp_path: Path, text: str = SCENARIO) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_simulate(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app(), ["simulate", str(write(tmp_path)), "--seed", "4", "--out", str(out),
                                        "--no-charts", "--set", "dealers[1].latency_ms=50"])
    assert result.exit_code == 0, result.output
    assert "Dealers" in result.output and "events in" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["seed"] == 4 and metrics["run"]["scenario"] == "cli"
    assert (out / "events.jsonl").read_bytes().count(b"\n") == metrics["run"]["events"]
    again = CliRunner().invoke(app(), ["simulate", str(write(tmp_path)), "--seed", "4", "--out", str(tmp_path / "r2"),
                                       "--no-charts", "--no-progress", "--set", "dealers[1].latency_ms=50"])
    assert again.exit_code == 0
    assert (tmp_path / "r2" / "events.jsonl").read_bytes() == (out / "events.jsonl").read_bytes()


def test_simulate_reports_validation_errors(tmp_path: Path) -> None:
    bad = SCENARIO.replace('config = { skew_bp = 1.5 }', 'config = { skew_bp = 1.5, colour = "red" }')
    result = CliRunner().invoke(app(), ["simulate", str(write(tmp_path, bad))])
    assert result.exit_code == 2
    assert "dealers[1].config.colour: unknown key" in result.output


def test_tournament_and_sweep(tmp_path: Path) -> None:
    path = write(tmp_path)
    # Piped, with no COLUMNS: the league keeps its full width (not rich's 80 columns, which fold every cell).
    result = CliRunner().invoke(app(), ["tournament", str(path), "--strategies", "mid_spread,mid_spread",
                                        "--seeds", "2", "--out", str(tmp_path / "t")],
                                 env={"COLUMNS": None})
    assert result.exit_code == 0, result.output
    assert "League" in result.output and "mid_spread-2" in result.output
    header = next(line for line in result.output.splitlines() if "hit ratio" in line)
    assert "spread capt." in header and "mko 30s bp" in header
    league = json.loads((tmp_path / "t" / "league.json").read_text())
    assert sorted(r["dealer"] for r in league) == ["mid_spread", "mid_spread-2"]
    result = CliRunner().invoke(app(), ["sweep", str(path), "--grid", "dealers[1].config.skew_bp=0,3", "--seeds", "2",
                                        "--workers", "1", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "Sweep: 2 points x 2 seeds" in result.output
    assert len((tmp_path / "s" / "results.jsonl").read_text().splitlines()) == 4
    result = CliRunner().invoke(app(), ["sweep", str(path), "--grid", "dealers[7].config.skew_bp=0,3"])
    assert result.exit_code == 2 and "dealers[7]" in result.output
