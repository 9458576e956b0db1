"""The ``rfqsim`` command line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="rfqsim: a simulated multi-dealer RFQ and portfolio-trading venue for corporate bonds.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """rfqsim command line."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on [env RFQSIM_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port [env RFQSIM_PORT]")] = None,
    database_url: Annotated[str | None, typer.Option(
        help="SQLAlchemy URL: sqlite+aiosqlite:///var/rfqsim.db (default) or postgresql+asyncpg://... "
             "[env RFQSIM_DATABASE_URL]")] = None,
    participants: Annotated[Path | None, typer.Option(
        help="TOML file of [[participant]] tables (id, role, api_key) [env RFQSIM_PARTICIPANTS]")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the reference universe [env RFQSIM_SEED]")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning [env RFQSIM_LOG_LEVEL]")] = None,
) -> None:
    """Run the venue: HTTP + websocket API, the default dealer panel, the event store."""
    import uvicorn
    from pydantic_settings import SettingsError

    from server.api.app import create_app
    from server.api.transport import CoalescingHttpToolsProtocol
    from server.participants import ParticipantsError
    from server.settings import Settings

    overrides = {k: v for k, v in {"host": host, "port": port, "database_url": database_url,
                                    "participants": participants, "seed": seed,
                                    "log_level": log_level}.items() if v is not None}
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except (ValueError, SettingsError) as exc:
        typer.echo(f"rfqsim: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if settings.participants is not None:
            from server.participants import load_participants

            load_participants(settings.participants)  # fail fast, with the file's problem named
    except ParticipantsError as exc:
        typer.echo(f"rfqsim: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"rfqsim: serving on http://{settings.host}:{settings.port} (database {settings.database_url})")
    level = settings.log_level.lower()
    # Access lines are logged at info: below that level uvicorn would still format each one, per request.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=level,
                access_log=level in ("trace", "debug", "info"), http=CoalescingHttpToolsProtocol,
                ws="websockets-sansio", ws_per_message_deflate=False, lifespan="on")


@app.command("check-bot")
def check_bot(
    target: Annotated[str, typer.Argument(help="module:Class of the dealer bot (or an entry-point name)")],
    deadline_ms: Annotated[float, typer.Option(help="compute-time limit per inquiry")] = 2000.0,
    large_basket: Annotated[int, typer.Option(help="lines of the largest basket")] = 5000,
    seed: Annotated[int, typer.Option(help="seed of the test universe and baskets")] = 7,
) -> None:
    """Run a dealer bot through the conformance battery on the real venue engine. Exit 0 if it passes."""
    from server.bots.conformance import format_report, run_conformance
    from server.research.plugins import resolve_strategy

    try:
        # an entry-point or built-in name (e.g. "flow") stands for the import path it registers
        path = target if ":" in target else resolve_strategy(target).target
        report = run_conformance(path, deadline_ms=deadline_ms, large_basket=large_basket, seed=seed)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        typer.echo(f"rfqsim check-bot: cannot load {target!r}: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(format_report(report), nl=False)
    raise typer.Exit(0 if report.passed else 1)


def _register_commands() -> None:
    from clients.cli import register as register_client_commands
    from server.demo.cli import register as register_demo_commands
    from server.research.cli import register as register_research_commands

    register_client_commands(app)
    register_research_commands(app)
    register_demo_commands(app)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
