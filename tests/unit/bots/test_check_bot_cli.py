"""``rfqsim check-bot``: by import path or by the name a strategy is registered under."""

from __future__ import annotations

from typer.testing import CliRunner

from server.cli import app


def test_check_bot_by_entry_point_name_and_by_import_path() -> None:
    runner = CliRunner()
    by_name = runner.invoke(app, ["check-bot", "mid_spread", "--large-basket", "50"])
    assert by_name.exit_code == 0, by_name.output
    by_path = runner.invoke(app, ["check-bot", "dealer_bots.reference.mid_spread:MidSpreadDealer",
                                  "--large-basket", "50"])
    assert by_path.exit_code == 0, by_path.output
    first = by_name.output.splitlines()[0]
    assert first == by_path.output.splitlines()[0]  # the same bot, the same verdict
    assert first.startswith("Conformance of dealer_bots.reference.mid_spread:MidSpreadDealer: PASSED")


def test_check_bot_names_what_it_cannot_load() -> None:
    result = CliRunner().invoke(app, ["check-bot", "no_such_strategy"])
    assert result.exit_code == 2
    assert "no strategy 'no_such_strategy'" in result.output
