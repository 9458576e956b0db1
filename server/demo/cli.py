"""``rfqsim demo ...``: scripted demonstrations. ``server/cli.py`` calls :func:`register` on its app.

    rfqsim demo switch-trade --sim --seed 7 --out switch-trade.html
    rfqsim demo switch-trade --url http://127.0.0.1:8000 --api-key $KEY --nav 500mm

Exit codes: 0 done; 1 the venue refused a request; 2 invalid options; 3 the venue cannot be reached.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from server.console import output_console

__all__ = ["register"]

_AMOUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*(k|m|mm|bn|b)?\s*$", re.IGNORECASE)
_SCALE = {None: 1.0, "k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9}


def parse_amount(text: str) -> float:
    """``2bn``, ``500mm``, ``750m``, ``250k`` or a plain number of USD."""
    match = _AMOUNT.match(text.replace(",", "").replace("_", ""))
    if match is None:
        raise typer.BadParameter(f"{text!r} is not an amount (e.g. 2bn, 500mm, 2000000000)")
    return float(match.group(1)) * _SCALE[match.group(2).lower() if match.group(2) else None]


def _panel(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    members = tuple(p.strip() for p in text.split(",") if p.strip())
    return members or None


def switch_trade(
    sim: Annotated[bool, typer.Option("--sim", help="run in-process on the simulated clock (the default "
                                                    "without --url)")] = False,
    url: Annotated[str | None, typer.Option("--url", help="run against the venue at this URL, through the SDK",
                                            show_default=False)] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="RFQSIM_API_KEY",
                                                help="a client's API key (live mode)", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="the fund's draw and the market's path: same seed, same figures")] = 7,
    out: Annotated[Path, typer.Option("--out", help="the HTML report")] = Path("switch-trade.html"),
    json_out: Annotated[Path | None, typer.Option("--json", help="also write every figure as JSON here",
                                                  show_default=False)] = None,
    save_png: Annotated[bool, typer.Option("--save-png", help="also write the charts as PNG files next to the "
                                                              "report")] = False,
    nav: Annotated[str, typer.Option(help="the fund's net asset value, USD (2bn, 500mm, ...)")] = "2bn",
    fund_lines: Annotated[int, typer.Option(help="bonds in the fund")] = 160,
    buy_lines: Annotated[int, typer.Option(help="bonds bought")] = 25,
    target_duration: Annotated[float, typer.Option(help="the fund's target duration, years")] = 6.0,
    target_bbb: Annotated[float, typer.Option(help="the fund's target BBB weight (0-1)")] = 0.45,
    rfq_dealers: Annotated[str | None, typer.Option(help="comma-separated RFQ panel (default: the venue's "
                                                         "five)", show_default=False)] = None,
    pt_dealers: Annotated[str | None, typer.Option(help="comma-separated portfolio panel (default: the venue's "
                                                        "first three)", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(help="RFQs in flight at once")] = 1,
    gap: Annotated[float | None, typer.Option(help="seconds between one RFQ ending and the next (default: 20 "
                                                   "simulated, 0 live)", show_default=False)] = None,
) -> None:
    """The switch trade: a bond fund cuts duration 7.5 -> 6.0 and its BBB weight, by RFQs and by one portfolio trade."""
    from clients.sdk.errors import InvalidRequest, Unavailable, VenueError
    from server.demo.report import print_summary, write_html
    from server.demo.switch_trade import SwitchTradeConfig, run_switch_trade

    console = output_console(highlight=False)
    err = Console(stderr=True, highlight=False)
    if sim and url is not None:
        err.print("error: --sim and --url are exclusive: in-process or against a venue, not both")
        raise typer.Exit(2)
    live = url is not None
    try:
        cfg = SwitchTradeConfig(
            seed=seed, fund_nav_usd=parse_amount(nav), fund_lines=fund_lines, buy_lines=buy_lines,
            target_duration=target_duration, target_bbb_weight=target_bbb, rfq_panel=_panel(rfq_dealers),
            pt_panel=_panel(pt_dealers), rfq_concurrency=concurrency)
    except (ValueError, typer.BadParameter) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    if gap is not None or live:
        cfg = dataclasses.replace(cfg, rfq_gap_s=gap if gap is not None else 0.0)
    if live and not api_key:
        err.print("error: live mode needs a client's API key: --api-key or RFQSIM_API_KEY")
        raise typer.Exit(2)
    t0 = time.perf_counter()
    with console.status("running the switch trade...") as status:
        try:
            result = run_switch_trade(cfg, url=url, api_key=api_key, progress=lambda m: status.update(m))
        except Unavailable as exc:
            err.print(f"error: cannot reach the venue at {url}: {exc.reason}")
            raise typer.Exit(3) from None
        except InvalidRequest as exc:
            err.print(f"error: the venue refused a request: {exc}")
            raise typer.Exit(2) from None
        except VenueError as exc:
            err.print(f"error: the venue refused a request: {exc}")
            raise typer.Exit(1) from None
        except ValueError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(2) from None
    report = write_html(result, out, save_png=save_png)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    print_summary(result, console, report=report, total_s=time.perf_counter() - t0)


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command group (``demo switch-trade``) to ``app``."""
    demo = typer.Typer(help="Scripted demonstrations of the venue.", no_args_is_help=True, add_completion=False)
    demo.command("switch-trade")(switch_trade)
    app.add_typer(demo, name="demo")


def build_app() -> typer.Typer:
    app = typer.Typer(help="rfqsim demos", no_args_is_help=True, add_completion=False)

    @app.callback()
    def _root() -> None:
        """rfqsim demos."""

    register(app)
    return app


if __name__ == "__main__":
    build_app()()
