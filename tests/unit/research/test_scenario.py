"""Scenario files: validation errors name the key path and the reason; the config convention."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.research.plugins import ConfigProblem, build_strategy, config_class, resolve_strategy
from server.research.scenario import (
    ScenarioError,
    apply_override,
    default_scenario,
    load_scenario,
    parse_scenario,
)
from tests.unit.research.support import KeywordDealer, SeededConfig, ToyConfig, ToyDealer, small_raw

ROOT = Path(__file__).resolve().parents[3]


def problems(raw: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, "test.toml")
    return dict(info.value.problems)


def test_example_scenarios_load() -> None:
    for name in ("quickstart.toml", "pt_vs_rfq.toml"):
        scenario = load_scenario(ROOT / "scenarios" / name)
        assert scenario.dealers and scenario.horizon_ns > 0
    assert default_scenario().dealer_ids == ("mid-a", "mid-b", "mid-c", "mid-d", "mid-e")


def test_dealer_config_error_names_the_key_and_reason() -> None:
    raw = small_raw()
    raw["dealers"][2]["config"] = {"spread_bp": -1.0}
    found = problems(raw)
    assert found == {"dealers[2].config.spread_bp": "must be > 0"}


def test_nested_dataclass_config_errors_name_the_nested_key() -> None:
    raw = small_raw()
    raw["dealers"].append({"strategy": "dealer_bots.reference.risk_dealer:RiskDealer",
                           "config": {"pricing": {"risk_aversion": -2, "hedge": {"rates_ratio": "lots"}},
                                      "max_lines": "many", "colour": "blue"}})
    found = problems(raw)
    assert found["dealers[3].config.colour"].startswith("unknown key")
    raw["dealers"][3]["config"].pop("colour")
    found = problems(raw)
    assert "dealers[3].config.max_lines" in found and "integer" in found["dealers[3].config.max_lines"]
    assert "dealers[3].config.pricing.hedge.rates_ratio" in found
    raw["dealers"][3]["config"] = {"pricing": {"risk_aversion": -2}}
    assert problems(raw) == {"dealers[3].config.pricing.risk_aversion": "must be non-negative"}


def test_structural_errors_name_the_key() -> None:
    raw = small_raw()
    raw["flow"]["client_types"][0]["panel_size"] = 0
    raw["dealers"][0]["latency_ms"] = -5
    raw["horizon_hours"] = 0
    raw["colour"] = "red"
    found = problems(raw)
    assert found["flow.client_types[0].panel_size"] == "must be >= 1"
    assert found["dealers[0].latency_ms"] == "must be >= 0.0"
    assert found["horizon_hours"] == "must be > 0.0"
    assert found["colour"] == "unknown key"


def test_unknown_strategy_and_duplicate_ids() -> None:
    raw = small_raw()
    raw["dealers"][1]["strategy"] = "no_such_strategy"
    raw["dealers"][2]["id"] = "a"
    found = problems(raw)
    assert "no strategy 'no_such_strategy'" in found["dealers[1].strategy"]
    assert "already dealers[0]" in found["dealers[2].id"]


def test_keyword_convention_and_its_errors() -> None:
    raw = small_raw()
    raw["dealers"][2] = {"strategy": "tests.unit.research.support:KeywordDealer", "config": {"width": 3}}
    assert problems(raw)["dealers[2].config.width"].startswith("unknown key; KeywordDealer takes spread_bp")
    raw["dealers"][2]["config"] = {"spread_bp": 0}
    assert "spread_bp must be positive" in problems(raw)["dealers[2].config"]


def test_config_convention() -> None:
    assert config_class(ToyDealer) is ToyConfig
    assert config_class(KeywordDealer) is None
    bot = build_strategy(resolve_strategy("tests.unit.research.support:ToyDealer"), {"spread_bp": 3})
    assert isinstance(bot, ToyDealer) and bot.config == ToyConfig(spread_bp=3.0)
    kw = build_strategy(resolve_strategy("tests.unit.research.support:KeywordDealer"), {"spread_bp": 2})
    assert isinstance(kw, KeywordDealer) and kw.config.spread_bp == 2
    seeded = build_strategy(resolve_strategy("tests.unit.research.support:SeededDealer"), {}, seed=99)
    assert getattr(seeded, "seed", None) == 99
    fixed = build_strategy(resolve_strategy("tests.unit.research.support:SeededDealer"), {"seed": 1}, seed=99)
    assert getattr(fixed, "seed", None) == 1
    assert SeededConfig().seed == 0
    with pytest.raises(ConfigProblem):
        build_strategy(resolve_strategy("tests.unit.research.support:ToyDealer"), {"spread_bp": "wide"})


def test_market_settings_are_validated() -> None:
    raw = small_raw()
    raw["market"] = {"impact_params": {"impact_bp": -1, "wobble": 1}, "model": {"trading_day_hours": 0}}
    found = problems(raw)
    assert found["market.impact_params.wobble"].startswith("unknown key")
    raw["market"] = {"impact_params": {"impact_bp": -1}, "model": {"trading_day_hours": 0}}
    found = problems(raw)
    assert found["market.impact_params.impact_bp"] == "must be finite and non-negative"
    assert found["market.model.trading_day_hours"] == "must be positive"


def test_files_and_overrides(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[dealers]\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="invalid TOML"):
        load_scenario(bad)
    good = tmp_path / "good.toml"
    good.write_text('seed = 3\n[[dealers]]\nstrategy = "mid_spread"\n', encoding="utf-8")
    scenario = load_scenario(good, {"dealers[0].config.skew_bp": 2.5, "flow.rfq_per_hour": 10})
    assert scenario.dealers[0].config == {"skew_bp": 2.5} and scenario.flow.rfq_per_hour == 10
    assert scenario.dealer_ids == ("mid_spread",)
    with pytest.raises(ScenarioError) as info:
        load_scenario(good, {"dealers[0].config.skew_bp": "wide"})
    assert "dealers[0].config.skew_bp" in str(info.value) and "good.toml" in str(info.value)
    with pytest.raises(ScenarioError, match=r"dealers\[4\]: no such element"):
        apply_override({"dealers": [{}]}, "dealers[4].id", "x")
    yaml_file = tmp_path / "s.yaml"
    yaml_file.write_text("seed: 4\ndealers:\n  - strategy: mid_spread\n    latency_ms: 5\n", encoding="utf-8")
    assert load_scenario(yaml_file).dealers[0].latency_ms == 5
