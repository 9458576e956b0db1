"""A third-party strategy package, installed from tests/fixtures/plugin_pkg, found by its entry point."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.research.plugins import ENTRY_POINT_GROUP, available_strategies, registered_strategies, resolve_strategy
from server.research.scenario import ScenarioError, parse_scenario
from server.research.simulate import Simulation
from tests.unit.research.support import small_raw

PKG = Path(__file__).resolve().parents[2] / "fixtures" / "plugin_pkg"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    source = tmp_path / "src"
    shutil.copytree(PKG, source)  # build from a copy: the fixture tree stays clean
    target = tmp_path / "site"
    base = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(source)]
    done = subprocess.run(base, capture_output=True, text=True)  # an isolated build (fetches setuptools)
    if done.returncode != 0:  # offline: build with this environment's setuptools
        done = subprocess.run([*base, "--no-build-isolation"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    monkeypatch.syspath_prepend(str(target))
    importlib.invalidate_caches()
    yield target
    sys.modules.pop("tiny_dealer", None)


def test_plugin_found_by_entry_point_and_simulated(installed: Path) -> None:
    assert "tiny" not in BUILTIN_NAMES
    assert registered_strategies()["tiny"] == "tiny_dealer:TinyDealer"
    assert "tiny" in available_strategies()
    ref = resolve_strategy("tiny")
    assert ref.source == "entry point" and ref.target == "tiny_dealer:TinyDealer"
    assert str(installed) in str(Path(sys.modules["tiny_dealer"].__file__ or "").parent)

    raw = small_raw(horizon_hours=0.1, tail_s=120)
    raw["dealers"].append({"id": "tiny", "strategy": "tiny", "config": {"spread_bp": 2.0}})
    sim = Simulation(parse_scenario(raw), 1)
    result = sim.run()
    tiny = result.metrics["dealers"]["tiny"]
    assert tiny["strategy"] == "tiny" and tiny["inquiries_quoted"] > 0 and tiny["trades"] > 0
    assert getattr(sim.bots["tiny"], "seen", None) == tiny["bot"]["delivered"] > 0

    raw["dealers"][-1]["config"] = {"spread_bp": 0}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw)
    assert info.value.problems == [("dealers[3].config.spread_bp", "must be > 0")]


def test_entry_point_group_name() -> None:
    assert ENTRY_POINT_GROUP == "rfqsim.dealer_bots"


BUILTIN_NAMES = ("mid_spread", "risk", "flow", "etf_hedging", "axe", "cautious")
