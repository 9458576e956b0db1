"""The command-line tools' standard output: whole tables when piped."""

from __future__ import annotations

import io

import pytest
from rich.table import Table

from server.console import PIPED_WIDTH, output_console


def test_piped_output_keeps_a_wide_table_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    console = output_console(file=out)  # a file is not a terminal
    assert console.width == PIPED_WIDTH
    table = Table("cusip", "isin", "issuer", "coupon", "maturity", "rating", "sector", "min piece", "increment")
    table.add_row("49339JKH9", "US49339JKH94", "Haratio Rail Inc", "4.125", "2028-05-15", "A", "Transportation",
                  "1,000", "1,000")
    console.print(table)
    assert "49339JKH9" in out.getvalue() and "US49339JKH94" in out.getvalue() and "Transportation" in out.getvalue()


def test_columns_still_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "90")
    assert output_console(file=io.StringIO()).width == 90
