"""The client commands of the command line (clients.cli) against a real venue process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from clients.cli import register
from clients.sdk import Instrument, VenueClient
from tests.support.server import KEYS, ROOT, VenueProcess, free_port


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, add_completion=False)
    register(app)
    return app


@pytest.fixture(scope="module")
def bonds(venue: VenueProcess) -> list[Instrument]:
    with VenueClient(venue.base_url, KEYS["client-1"]) as v:
        return [b for b in v.instruments(limit=1000) if b.kind == "corporate" and b.grade == "IG"]


@pytest.fixture(scope="module")
def sdk(venue: VenueProcess) -> Iterator[VenueClient]:
    with VenueClient(venue.base_url, KEYS["client-1"]) as v:
        yield v


def run(app: typer.Typer, venue: VenueProcess, *args: str, key: str | None = KEYS["client-1"],
        url: str | None = None) -> Result:
    env = {"RFQSIM_URL": url or venue.base_url, "RFQSIM_API_KEY": key, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def size(bond: Instrument) -> str:
    return f"{max(bond.min_piece, 2_000_000 // bond.increment * bond.increment)}"


def csv_basket(path: Path, bonds: list[Instrument], n: int = 20) -> Path:
    rows = ["CUSIP,Side,Size"] + [f"{b.cusip},{'B' if i % 2 else 'S'},{b.min_piece * 1000}"
                                  for i, b in enumerate(bonds[:n])]
    path.write_text("\n".join(rows) + "\n")
    return path


def trade_id(output: str) -> str:
    found = re.search(r"Trade (T-\d+)", output)
    assert found, output
    return found.group(1)


def test_register_adds_the_client_commands(app: typer.Typer) -> None:
    names = {c.name for c in app.registered_commands}
    assert {"rfq", "pt", "trades", "trade"} <= names
    help_text = CliRunner().invoke(app, ["rfq", "--help"], env={"COLUMNS": "200"}).output
    assert "--award" in help_text and "--dealers" in help_text and "RFQSIM_API_KEY" in help_text


class TestRfq:
    def test_award_best_books_a_trade(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument],
                                      sdk: VenueClient) -> None:
        bond = bonds[0]
        result = run(app, venue, "rfq", bond.cusip, "buy", size(bond), "--award", "best")
        assert result.exit_code == 0, result.output
        assert result.output.count("dealer-") >= 5 and "net settlement" in result.output
        trade = sdk.trade(trade_id(result.output))
        assert trade.lines[0].instrument == bond.cusip and trade.lines[0].side == "buy"
        quotes = sdk.rfq(trade.inquiry_id).quotes
        assert trade.lines[0].clean_price == min(q.price or 0 for q in quotes)  # the best one

    def test_two_way_with_dealers_and_quote_type(self, app: typer.Typer, venue: VenueProcess,
                                                 bonds: list[Instrument], sdk: VenueClient) -> None:
        bond = bonds[1]
        args = ["rfq", bond.isin, "two-way", "1mm", "--dealers", "dealer-a,dealer-c", "--quote-type", "spread",
                "--award", "best"]
        refused = run(app, venue, *args)
        assert refused.exit_code == 2 and "--award-side" in refused.output
        result = run(app, venue, *args, "--award-side", "sell")
        assert result.exit_code == 0, result.output
        trade = sdk.trade(trade_id(result.output))
        assert trade.lines[0].side == "sell" and trade.quote_type == "spread"
        assert trade.dealer_id in ("dealer-a", "dealer-c") and "(spread)" in result.output

    def test_no_award_cancels_and_exits_1(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument],
                                          sdk: VenueClient) -> None:
        result = run(app, venue, "rfq", bonds[2].cusip, "sell", size(bonds[2]), "--award", "none")
        assert result.exit_code == 1, result.output
        assert "no trade" in result.output
        rfq_id = re.search(r"(RFQ-\d+)", result.output)
        assert rfq_id and sdk.rfq(rfq_id.group(1)).state == "cancelled"

    @pytest.mark.parametrize(("args", "message"), [
        (["buy", "5 lots"], "SIZE"),
        (["hold", "1mm"], "side"),
    ])
    def test_bad_arguments_exit_2(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument],
                                  args: list[str], message: str) -> None:
        result = run(app, venue, "rfq", bonds[3].cusip, *args, "--award", "best")
        assert result.exit_code == 2 and message in result.output, result.output

    def test_venue_refusals_name_the_field_and_reason(self, app: typer.Typer, venue: VenueProcess,
                                                      bonds: list[Instrument]) -> None:
        result = run(app, venue, "rfq", "254687DC3", "buy", "1mm", "--award", "best")
        assert result.exit_code == 2
        assert "CUSIP 254687DC3 has check digit 3; expected 7 (field instrument)" in result.output
        result = run(app, venue, "rfq", bonds[4].cusip, "buy", size(bonds[4]), "--dealers", "dealer-a,nobody",
                     "--award", "best")
        assert result.exit_code == 2 and "unknown dealer 'nobody' (field panel[1])" in result.output


class TestPortfolio:
    def test_csv_file_award_best(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument],
                                 tmp_path: Path, sdk: VenueClient) -> None:
        path = csv_basket(tmp_path / "basket.csv", bonds[10:], 20)
        result = run(app, venue, "pt", str(path), "--award", "best")
        assert result.exit_code == 0, result.output
        assert "20 lines" in result.output and "net settlement" in result.output and "gross" in result.output
        trade = sdk.trade(trade_id(result.output))
        assert trade.kind == "portfolio" and len(trade.lines) == 20
        assert f"{trade.net_settlement:,.2f}" in result.output
        assert sdk.portfolio(trade.inquiry_id, lines=False).name == "basket.csv"

    def test_xlsx_file_with_dealers(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument],
                                    tmp_path: Path, sdk: VenueClient) -> None:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["ISIN", "Direction", "Par Amount"])
        for i, b in enumerate(bonds[40:52]):
            sheet.append([b.isin, "Buy" if i % 2 else "Sell", b.min_piece * 1000])
        path = tmp_path / "basket.xlsx"
        book.save(path)
        result = run(app, venue, "pt", str(path), "--dealers", "dealer-b,dealer-d", "--award", "best",
                     "--name", "rebalance")
        assert result.exit_code == 0, result.output
        trade = sdk.trade(trade_id(result.output))
        assert len(trade.lines) == 12 and trade.dealer_id in ("dealer-b", "dealer-d")
        assert sdk.portfolio(trade.inquiry_id, lines=False).name == "rebalance"

    def test_bad_file_exits_2_naming_row_and_column(self, app: typer.Typer, venue: VenueProcess,
                                                    bonds: list[Instrument], tmp_path: Path) -> None:
        bad = tmp_path / "bad.csv"
        bad.write_text(f"cusip,side,quantity\n{bonds[0].cusip},buy,5mm\n{bonds[1].cusip},hold,1mm\n"
                       f"{bonds[2].cusip},sell,lots\n")
        result = run(app, venue, "pt", str(bad), "--award", "best")
        assert result.exit_code == 2, result.output
        assert "bad.csv: row 3, column 'side': 'hold' is not buy or sell" in result.output
        assert "row 4, column 'quantity'" in result.output
        # well formed, refused by the venue: still told by row and column
        wrong = tmp_path / "wrong.csv"
        wrong.write_text(f"Security,B/S,Face\n{bonds[0].cusip},buy,{bonds[0].min_piece * 1000}\n"
                         f"254687DC3,sell,{bonds[0].min_piece * 1000}\n")
        result = run(app, venue, "pt", str(wrong), "--award", "best")
        assert result.exit_code == 2, result.output
        assert "wrong.csv: row 3, column 'Security'" in result.output and "expected 7" in result.output
        missing = run(app, venue, "pt", str(tmp_path / "nope.csv"), "--award", "best")
        assert missing.exit_code == 2 and "nope.csv" in missing.output


class TestTrades:
    def test_trades_and_trade(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument]) -> None:
        booked = run(app, venue, "rfq", bonds[5].cusip, "buy", size(bonds[5]), "--award", "best")
        tid = trade_id(booked.output)
        listed = run(app, venue, "trades", "--limit", "5")
        assert listed.exit_code == 0 and tid in listed.output
        shown = run(app, venue, "trade", tid)
        assert shown.exit_code == 0 and tid in shown.output and "settlement date" in shown.output
        assert bonds[5].cusip in shown.output
        unknown = run(app, venue, "trade", "T-999999")
        assert unknown.exit_code == 1 and "no trade T-999999" in unknown.output

    def test_instruments_and_market(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument]) -> None:
        found = run(app, venue, "instruments", bonds[0].ticker, "--limit", "5")
        assert found.exit_code == 0 and bonds[0].ticker in found.output
        market = run(app, venue, "market", bonds[0].isin)
        assert market.exit_code == 0 and "liquidity score" in market.output and bonds[0].cusip in market.output


class TestAccessProblems:
    def test_wrong_key(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument]) -> None:
        result = run(app, venue, "rfq", bonds[0].cusip, "buy", "1mm", "--award", "best", key="wrong-key-0000000000")
        assert result.exit_code == 1
        assert "the venue refused the API key: unknown API key" in result.output
        assert "RFQSIM_API_KEY" in result.output
        result = run(app, venue, "trades", "--api-key", "another-wrong-key-0000")
        assert result.exit_code == 1 and "unknown API key" in result.output

    def test_missing_key(self, app: typer.Typer, venue: VenueProcess) -> None:
        result = run(app, venue, "trades", key=None)
        assert result.exit_code == 2 and "no API key" in result.output and "--api-key" in result.output

    def test_a_dealer_key_is_refused(self, app: typer.Typer, venue: VenueProcess, bonds: list[Instrument]) -> None:
        result = run(app, venue, "rfq", bonds[0].cusip, "buy", "1mm", "--award", "best", key=KEYS["dealer-remote"])
        assert result.exit_code == 1 and "only clients may do this" in result.output

    def test_connection_refused_names_the_url(self, app: typer.Typer, venue: VenueProcess) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        result = run(app, venue, "trades", url=url)
        assert result.exit_code == 3 and url in result.output and "cannot" in result.output


def test_python_m_clients_cli(venue: VenueProcess, bonds: list[Instrument], tmp_path: Path) -> None:
    """The module entry point, in a process of its own, as a user runs it."""
    env = {**os.environ, "RFQSIM_URL": venue.base_url, "RFQSIM_API_KEY": KEYS["client-2"], "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "clients.cli", "rfq", bonds[7].cusip, "sell", size(bonds[7]),
                           "--award", "best", "--dealers", "dealer-e"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dealer-e" in done.stdout and "Trade T-" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("cusip,side,quantity\n12345,buy,\n")
    refused = subprocess.run([sys.executable, "-m", "clients.cli", "pt", str(bad), "--award", "best"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "row 2, column 'quantity'" in refused.stderr
