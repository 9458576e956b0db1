"""Client commands of the ``rfqsim`` command line: ``rfq``, ``pt``, ``trades``, ``trade``, ``instruments``,
``market``, ``pretrade``, ``tca``.

``server/cli.py`` owns the ``rfqsim`` console script and calls :func:`register` on its typer app;
``python -m clients.cli`` runs these commands on their own.

Every command takes ``--url`` (env ``RFQSIM_URL``, default http://127.0.0.1:8000) and ``--api-key``
(env ``RFQSIM_API_KEY``). Exit codes: 0 done (``rfq`` / ``pt``: a trade was booked); 1 no trade, or
the venue refused (unknown key, not found, conflict); 2 invalid input (a bad file, size, side or
option; a 422 from the venue; no API key); 3 the venue cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import sys
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from clients.sdk.client import DEFAULT_URL, AsyncVenueClient, to_panel, to_quantity, to_side
from clients.sdk.errors import (
    AlreadyAwarded,
    Conflict,
    InvalidRequest,
    Unauthorized,
    Unavailable,
    VenueError,
)
from clients.sdk.models import (
    Inquiry,
    OptimiseResult,
    PretradeReport,
    Quote,
    QuoteBoard,
    Trade,
    TradeTca,
    best_quote,
)
from server.console import output_console

EXIT_OK, EXIT_NO_TRADE, EXIT_INPUT, EXIT_UNREACHABLE = 0, 1, 2, 3
RETRYABLE_AWARD = frozenset({"quote_withdrawn", "quote_replaced", "quote_expired"})
T = TypeVar("T")

UrlOption = Annotated[str, typer.Option("--url", envvar="RFQSIM_URL", show_default=True,
                                        help="the venue's base URL")]
KeyOption = Annotated[str | None, typer.Option("--api-key", envvar="RFQSIM_API_KEY", show_default=False,
                                               help="your API key")]
DealersOption = Annotated[str | None, typer.Option("--dealers", help="comma-separated dealer ids (default: the "
                                                                     "venue's panel)")]


class AwardMode(StrEnum):
    best = "best"  # the best quote once every dealer answered (or --wait passed)
    none = "none"  # show the quotes, award nothing, cancel the inquiry
    ask = "ask"  # a keypress: a row number, Enter for the best, q to quit (interactive terminals)


class QuoteTypeChoice(StrEnum):
    price = "price"
    spread = "spread"
    yield_ = "yield"


# -- plumbing ----------------------------------------------------------------------------------------

def _consoles() -> tuple[Console, Console]:
    return output_console(highlight=False), Console(stderr=True, highlight=False)


class CliExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _fail(err: Console, message: str, code: int) -> CliExit:
    _say(err, message)
    return CliExit(code)


def explain(exc: VenueError, url: str, err: Console) -> int:
    """Print a venue error for a person; the exit code for it."""
    if isinstance(exc, Unavailable):
        _say(err, exc.reason if url in exc.reason else f"cannot reach the venue at {url}: {exc.reason}")
        err.print("  is it running? (rfqsim serve; --url or RFQSIM_URL names another venue)", soft_wrap=True)
        return EXIT_UNREACHABLE
    if isinstance(exc, Unauthorized):
        _say(err, f"the venue refused the API key: {exc.reason}")
        err.print("  pass a key the venue knows with --api-key or RFQSIM_API_KEY (the venue prints the "
                  "development keys on its first start)", soft_wrap=True)
        return EXIT_NO_TRADE
    problems = exc.errors
    total = exc.details.get("error_count", len(problems))
    if len(problems) > 1:
        _say(err, f"{total if isinstance(total, int) else len(problems)} problems:")
        for problem in problems[:20]:
            err.print(f"  - {problem.get('reason')}{_where(problem.get('field'))}", soft_wrap=True)
        if isinstance(total, int) and total > 20:
            err.print(f"  ... and {total - 20} more", soft_wrap=True)
    else:
        _say(err, f"{exc.reason}{_where(exc.field)}")
    return EXIT_INPUT if isinstance(exc, InvalidRequest) else EXIT_NO_TRADE


def _where(field_name: Any) -> str:
    """`` (field)`` unless the reason names the file row and column already."""
    if not field_name or str(field_name).startswith("file"):
        return ""
    return f" (field {field_name})"


def _say(err: Console, message: str) -> None:
    err.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def _run(url: str, work: Callable[[Console, Console], Coroutine[Any, Any, int]]) -> None:
    out, err = _consoles()
    try:
        code = asyncio.run(work(out, err))
    except CliExit as exc:
        code = exc.code
    except VenueError as exc:
        code = explain(exc, url, err)
    except KeyboardInterrupt:
        err.print("interrupted")
        code = 130
    raise typer.Exit(code)


def _need_key(api_key: str | None, err: Console) -> str:
    if not api_key:
        raise _fail(err, "no API key: pass --api-key or set RFQSIM_API_KEY", EXIT_INPUT)
    return api_key


def _input(err: Console, convert: Callable[[], T]) -> T:
    try:
        return convert()
    except InvalidRequest as exc:
        raise _fail(err, f"{exc.field}: {exc.reason}" if exc.field else exc.reason, EXIT_INPUT) from None


def _interactive() -> bool:
    return sys.platform != "win32" and sys.stdin.isatty() and sys.stdout.isatty()


class KeyReader:
    """Single keypresses from the terminal (cbreak mode), as an asyncio queue."""

    def __init__(self) -> None:
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self._fd = sys.stdin.fileno()
        self._saved: Any = None

    def __enter__(self) -> KeyReader:
        import termios
        import tty

        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        asyncio.get_running_loop().add_reader(self._fd, self._on_key)
        return self

    def _on_key(self) -> None:
        data = os.read(self._fd, 16).decode(errors="ignore")
        for ch in data:
            self.keys.put_nowait(ch)

    def __exit__(self, *exc: object) -> None:
        import termios

        asyncio.get_running_loop().remove_reader(self._fd)
        termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)


# -- formatting --------------------------------------------------------------------------------------

def money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def when(ns: int | None) -> str:
    if ns is None:
        return ""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def short_when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%m-%d %H:%M:%S")


def _status(board: QuoteBoard) -> str:
    if not board.is_open:
        trade = f", trade {board.trade_id}" if board.trade_id else ""
        return f"{board.state}{trade}"
    left = (board.inquiry.expires_ts - time.time_ns()) / 1e9
    answered = len(board.responded() & set(board.panel))
    return f"open, {answered}/{len(board.panel)} dealers answered, " + (
        f"{left:.0f}s left" if left > 0 else "time limit reached")


@dataclass
class Session:
    """An inquiry being watched: its board, the row numbers of the panel, the prompt under the table."""

    board: QuoteBoard
    side: str | None
    prompt: str = ""
    rows: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rows = self.board.panel

    def quote_of(self, dealer: str) -> Quote | None:
        return next((q for q in self.board.current() if q.dealer_id == dealer), None)

    def row(self, n: int) -> Quote | None:
        if 1 <= n <= len(self.rows):
            return self.quote_of(self.rows[n - 1])
        return None


def render_rfq(s: Session) -> RenderableType:
    inquiry = s.board.inquiry
    two_way = inquiry.side is None
    best = s.board.best(s.side) if s.board.is_open else None
    side = inquiry.side or "two-way"
    table = Table(title=f"{inquiry.id}: {side} {inquiry.quantity or 0:,} {inquiry.instrument} ({inquiry.quote_type})",
                  title_justify="left", caption=_status(s.board), caption_justify="left")
    table.add_column("#", justify="right")
    table.add_column("dealer")
    if two_way:
        for name in ("bid", "offer", "bid price", "offer price"):
            table.add_column(name, justify="right")
    else:
        table.add_column("level", justify="right")
        table.add_column("price", justify="right")
    table.add_column("state")
    for i, dealer in enumerate(s.rows, start=1):
        q = s.quote_of(dealer)
        state = _state(s.board, dealer, q)
        style = "bold green" if best is not None and q is not None and q.quote_id == best.quote_id else ""
        if two_way:
            cells = [num(q.bid), num(q.offer), num(q.bid_price), num(q.offer_price)] if q else ["", "", "", ""]
        else:
            cells = [num(q.level), num(q.price)] if q else ["", ""]
        table.add_row(str(i % 10 if i == 10 else i), dealer, *cells, state + (" ★ best" if style else ""),
                      style=style)
    return Group(table, Text(s.prompt, style="cyan")) if s.prompt else table


def render_pt(s: Session) -> RenderableType:
    inquiry = s.board.inquiry
    priced = [q for q in s.board.current() if q.net_price is not None and q.state != "withdrawn"]
    best = best_quote(priced, side=None, portfolio=True)
    table = Table(title=f"{inquiry.id}: {inquiry.name or 'basket'}, {inquiry.n_lines or 0:,} lines, gross "
                        f"{inquiry.gross_notional or 0:,}", title_justify="left", caption=_status(s.board),
                  caption_justify="left")
    table.add_column("#", justify="right")
    table.add_column("dealer")
    table.add_column("net price (USD to you)", justify="right")
    table.add_column("vs best", justify="right")
    table.add_column("state")
    for i, dealer in enumerate(s.rows, start=1):
        q = s.quote_of(dealer)
        is_best = best is not None and q is not None and q.quote_id == best.quote_id
        gap = "" if q is None or best is None or q.net_price is None or best.net_price is None or is_best \
            else money(q.net_price - best.net_price)
        star = is_best and s.board.is_open
        table.add_row(str(i), dealer, money(q.net_price) if q else "", gap,
                      _state(s.board, dealer, q) + (" ★ best" if star else ""), style="bold green" if star else "")
    return Group(table, Text(s.prompt, style="cyan")) if s.prompt else table


def _state(board: QuoteBoard, dealer: str, q: Quote | None) -> str:
    if q is None:
        return "passed" if dealer in board.passed else ("waiting" if board.is_open else "no answer")
    if dealer in board.passed and q.state != "live":
        return "passed"
    return q.state + (f" v{q.version}" if q.version > 1 else "")


def trade_table(trade: Trade) -> Table:
    table = Table(title=f"Trade {trade.trade_id}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("inquiry", f"{trade.inquiry_id} ({trade.kind})")
    table.add_row("dealer", trade.dealer_id)
    if trade.kind == "portfolio":
        buys = sum(1 for ln in trade.lines if ln.side == "buy")
        table.add_row("lines", f"{len(trade.lines):,} ({buys:,} buy, {len(trade.lines) - buys:,} sell)")
        table.add_row("net price", money(trade.net_price))
    elif trade.lines:
        line = trade.lines[0]
        table.add_row("bond", f"{line.side} {line.quantity:,} {line.instrument}")
        level = f"{num(trade.level)} ({trade.quote_type})" if trade.quote_type != "price" else num(trade.level)
        table.add_row("level", level)
        table.add_row("clean price", num(line.clean_price, 6))
        table.add_row("accrued (per 100)", num(line.accrued, 6))
    table.add_row("gross notional", f"{trade.gross_notional:,}")
    table.add_row("net principal", money(trade.net_principal))
    table.add_row("net settlement", f"{money(trade.net_settlement)} {trade.currency} "
                                    f"({'you pay' if trade.net_settlement < 0 else 'you receive'})")
    table.add_row("trade date", trade.trade_date.isoformat())
    table.add_row("settlement date", trade.settlement_date.isoformat())
    table.add_row("executed", when(trade.executed_ts))
    return table


def lines_table(trade: Trade, limit: int) -> Table:
    table = Table(title=f"{len(trade.lines):,} lines" + (f" (first {limit})" if len(trade.lines) > limit else ""),
                  title_justify="left")
    for name, justify in (("#", "right"), ("instrument", "left"), ("side", "left"), ("quantity", "right"),
                          ("clean price", "right"), ("accrued", "right"), ("principal", "right"),
                          ("accrued amount", "right"), ("net money", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, ln in enumerate(trade.lines[:limit], start=1):
        table.add_row(str(i), ln.instrument, ln.side, f"{ln.quantity:,}", num(ln.clean_price, 6), num(ln.accrued, 6),
                      money(ln.principal), money(ln.accrued_amount), money(ln.net_money))
    return table


# -- the inquiry session: watch, decide, award -------------------------------------------------------

@dataclass
class Decision:
    quote: Quote | None = None
    side: str | None = None
    reason: str = ""


async def _updates(client: AsyncVenueClient, inquiry_id: str) -> AsyncGenerator[QuoteBoard]:
    async with contextlib.aclosing(client.watch(inquiry_id)) as boards:
        async for board in boards:
            yield board


async def run_session(client: AsyncVenueClient, inquiry: Inquiry, *, mode: AwardMode, side: str | None,
                      wait: float, out: Console, render: Callable[[Session], RenderableType]) -> int:
    """Show the quotes as they arrive, decide, award; print the trade. The exit code."""
    boards = _updates(client, inquiry.id)
    first = await anext(boards)
    session = Session(first, side)
    live: Live | None = None
    log_seen: set[str] = set()

    def show() -> None:
        if live is not None:
            live.refresh()
            return
        for dealer in session.rows:  # not a terminal: one line per answer
            q = session.quote_of(dealer)
            key = f"{dealer}:{q.quote_id}" if q else (f"{dealer}:passed" if dealer in session.board.passed else "")
            if key and key not in log_seen:
                log_seen.add(key)
                if q is None:
                    out.print(f"{inquiry.id}: {dealer} passed")
                elif q.net_price is not None:
                    out.print(f"{inquiry.id}: {dealer} net price {money(q.net_price)} ({q.quote_id})")
                elif q.level is not None:
                    out.print(f"{inquiry.id}: {dealer} {num(q.level)} price {num(q.price)} ({q.quote_id})")
                else:
                    out.print(f"{inquiry.id}: {dealer} {num(q.bid)} / {num(q.offer)} ({q.quote_id})")

    changed = asyncio.Event()

    async def follow() -> None:
        async for board in boards:
            session.board = board
            show()
            changed.set()
        changed.set()

    if out.is_terminal:
        live = Live(console=out, get_renderable=lambda: render(session), refresh_per_second=4)
        live.start()
    show()
    follower = asyncio.create_task(follow())
    decision = Decision(reason="no award")
    try:
        if mode is AwardMode.ask:
            decision = await _ask(session, changed)
        else:
            decision = await _wait_all(session, changed, wait, best=mode is AwardMode.best)
        session.prompt = ""
        code, result = await _finish(client, session, decision, out)
        with contextlib.suppress(VenueError):  # the quotes' final states: done, covered, traded away, closed
            session.board = QuoteBoard(await client.inquiry(inquiry.id, lines=False))
    except (asyncio.CancelledError, KeyboardInterrupt):
        if session.board.is_open:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.cancel(inquiry.id, "client quit"), 2)
        raise
    finally:
        follower.cancel()
        with contextlib.suppress(BaseException):
            await follower
        await boards.aclose()
        if live is not None:
            session.prompt = ""
            live.stop()
    if live is None:
        out.print(render(session))
    out.print(result)
    return code


async def _wait_changed(changed: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(changed.wait(), timeout)
    changed.clear()


async def _wait_all(session: Session, changed: asyncio.Event, wait: float, *, best: bool) -> Decision:
    deadline = time.monotonic() + wait
    while session.board.is_open and not session.board.all_responded and time.monotonic() < deadline:
        await _wait_changed(changed, max(0.0, min(0.5, deadline - time.monotonic())))
    if not session.board.is_open:
        return Decision(reason=f"{session.board.inquiry_id} is {session.board.state}")
    if not best:
        return Decision(reason="--award none")
    quote = session.board.best(session.side)
    if quote is None:
        return Decision(reason="no live quote to award")
    return Decision(quote, session.side)


async def _ask(session: Session, changed: asyncio.Event) -> Decision:
    n = len(session.rows)
    keys = f"1-{min(n, 9)}" + (", 0" if n >= 10 else "")
    base = f"press {keys} to award that dealer, Enter for the best, q to quit"
    session.prompt = base
    getter: asyncio.Future[str] | None = None  # kept across wake-ups, so no keypress is lost
    chosen: Quote | None = None
    with KeyReader() as reader:
        try:
            while session.board.is_open:
                if getter is None:
                    getter = asyncio.ensure_future(reader.keys.get())
                waiter: asyncio.Future[Any] = asyncio.ensure_future(changed.wait())
                watched: set[asyncio.Future[Any]] = {getter, waiter}
                done, _ = await asyncio.wait(watched, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                changed.clear()
                if getter not in done:
                    continue
                key, getter = getter.result(), None
                if key in ("q", "Q", "\x1b"):
                    return Decision(reason="quit")
                if chosen is not None:  # a two-way quote chosen: which side?
                    if key.lower() in ("b", "s"):
                        return Decision(chosen, "buy" if key.lower() == "b" else "sell")
                    continue
                if key in ("\r", "\n"):
                    chosen = session.board.best(session.side)
                elif key.isdigit():
                    chosen = session.row(10 if key == "0" else int(key))
                else:
                    continue
                if chosen is None or chosen.state != "live":
                    session.prompt = f"no live quote there; {base}"
                    chosen = None
                    continue
                if session.side is not None or not chosen.is_two_way:
                    return Decision(chosen, session.side)
                session.prompt = f"{chosen.dealer_id}: press b to buy at {num(chosen.offer_price)} or s to sell " \
                                 f"at {num(chosen.bid_price)} (q to quit)"
        finally:
            if getter is not None:
                getter.cancel()
    return Decision(reason=f"{session.board.inquiry_id} is {session.board.state}")


async def _finish(client: AsyncVenueClient, session: Session, decision: Decision,
                  out: Console) -> tuple[int, RenderableType]:
    """Award the decision's quote (the next best if it is no longer live); the exit code and what to print."""
    inquiry_id = session.board.inquiry_id
    quote = decision.quote
    for attempt in range(3):
        if quote is None:
            break
        try:
            trade = await client.award(inquiry_id, quote, side=decision.side if quote.is_two_way else None)
        except AlreadyAwarded as exc:
            if exc.trade_id is None:
                raise
            trade = await client.trade(exc.trade_id)
        except Conflict as exc:
            if exc.code not in RETRYABLE_AWARD or attempt == 2:
                raise
            out.print(f"{quote.quote_id} is no longer live ({exc.code}); taking the next best")
            fresh = await client.inquiry(inquiry_id, lines=False)
            quote = fresh.best_quote(decision.side)
            continue
        session.board.state = "awarded"
        session.board.trade_id = trade.trade_id
        return EXIT_OK, trade_table(trade)
    if session.board.is_open:
        with contextlib.suppress(Conflict):
            await client.cancel(inquiry_id, decision.reason or "no award")
            session.board.state = "cancelled"
    cancelled = " (inquiry cancelled)" if session.board.state == "cancelled" else ""
    return EXIT_NO_TRADE, Text(f"no trade: {decision.reason}{cancelled}")


# -- commands ----------------------------------------------------------------------------------------

def rfq(
    bond: Annotated[str, typer.Argument(help="CUSIP or ISIN")],
    side: Annotated[str, typer.Argument(help="buy, sell or two-way (a request for market)")],
    size: Annotated[str, typer.Argument(help="face value: 5mm, 250k, 1000000")],
    dealers: DealersOption = None,
    quote_type: Annotated[QuoteTypeChoice, typer.Option("--quote-type", help="how dealers quote")] =
    QuoteTypeChoice.price,
    award: Annotated[AwardMode | None, typer.Option(
        "--award", help="best: award the best quote once every dealer answered; none: award nothing; ask: "
                        "wait for a keypress (default in a terminal, else none)")] = None,
    award_side: Annotated[str | None, typer.Option(
        "--award-side", help="for a two-way RFQ awarded with --award best: buy or sell")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="seconds the RFQ stays open")] = None,
    wait: Annotated[float, typer.Option("--wait", help="with --award best/none: seconds to wait for every "
                                                       "dealer before deciding")] = 10.0,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Ask dealers for a price on one bond; watch the quotes arrive; award one. Exit 0 on a trade, 1 when none."""

    async def work(out: Console, err: Console) -> int:
        key = _need_key(api_key, err)
        chosen_side = _input(err, lambda: to_side(side))
        quantity = _input(err, lambda: to_quantity(size, field="SIZE"))
        panel = to_panel(dealers)
        mode = award or (AwardMode.ask if _interactive() else AwardMode.none)
        if mode is AwardMode.ask and not _interactive():
            raise _fail(err, "--award ask needs an interactive terminal; use --award best", EXIT_INPUT)
        trade_side = chosen_side
        if chosen_side is None and award_side is not None:
            trade_side = _input(err, lambda: to_side(award_side, field="--award-side", two_way=False))
        if chosen_side is None and mode is AwardMode.best and trade_side is None:
            raise _fail(err, "a two-way RFQ awarded with --award best needs --award-side buy or sell", EXIT_INPUT)
        async with AsyncVenueClient(url, key) as client:
            inquiry = await client.create_rfq(bond, chosen_side, quantity, quote_type=quote_type.value, panel=panel,
                                              time_limit=time_limit)
            return await run_session(client, inquiry, mode=mode, side=trade_side, wait=wait, out=out,
                                     render=render_rfq)

    _run(url, work)


def pt(
    file: Annotated[Path, typer.Argument(help="a CSV or XLSX basket: identifier (cusip/isin), side, quantity "
                                              "columns")],
    dealers: DealersOption = None,
    award: Annotated[AwardMode | None, typer.Option(
        "--award", help="best: award the best net price once every dealer answered; none: award nothing; ask: "
                        "wait for a keypress (default in a terminal, else none)")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="seconds the inquiry stays open")] = None,
    name: Annotated[str | None, typer.Option("--name", help="the basket's name (default: the file name)")] = None,
    wait: Annotated[float, typer.Option("--wait", help="with --award best/none: seconds to wait for every "
                                                       "dealer before deciding")] = 60.0,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Send a basket file as one all-or-nothing portfolio inquiry; watch the net prices; award one.

    Exit 0 on a trade, 1 when none, 2 for a bad file (the row, column and reason are printed)."""

    async def work(out: Console, err: Console) -> int:
        key = _need_key(api_key, err)
        panel = to_panel(dealers)
        mode = award or (AwardMode.ask if _interactive() else AwardMode.none)
        if mode is AwardMode.ask and not _interactive():
            raise _fail(err, "--award ask needs an interactive terminal; use --award best", EXIT_INPUT)
        async with AsyncVenueClient(url, key) as client:
            with _upload_progress(err) as progress:
                inquiry = await client.create_portfolio(file, panel=panel, time_limit=time_limit, name=name,
                                                        include_lines=False, progress=progress)
            out.print(f"{inquiry.id}: {inquiry.n_lines or 0:,} lines, gross {inquiry.gross_notional or 0:,}, "
                      f"sent to {', '.join(inquiry.panel or [])}")
            return await run_session(client, inquiry, mode=mode, side=None, wait=wait, out=out, render=render_pt)

    _run(url, work)


@contextlib.contextmanager
def _upload_progress(err: Console) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar (on a terminal) for parsing and uploading a basket."""
    if not err.is_terminal:
        yield None
        return
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), console=err, transient=True)
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            label = "parsing the basket" if stage == "parse" else "uploading"
            tasks[stage] = bar.add_task(label, total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    with bar:
        yield update


def trades(
    limit: Annotated[int, typer.Option("--limit", min=1, help="how many (newest first)")] = 20,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Your trades, newest first."""

    async def work(out: Console, err: Console) -> int:
        key = _need_key(api_key, err)
        async with AsyncVenueClient(url, key) as client:
            rows = [t async for t in client.iter_trades(page_size=min(limit, 1000), limit=limit)]
        table = Table(title=f"{len(rows)} trade{'s' if len(rows) != 1 else ''}", title_justify="left")
        for name, justify in (("trade", "left"), ("UTC", "left"), ("inquiry", "left"), ("dealer", "left"),
                              ("what", "left"), ("gross", "right"), ("level", "right"), ("net settlement", "right")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for t in rows:
            if t.kind == "portfolio":
                what = f"{len(t.lines):,} lines"
                level = money(t.net_price)
            else:
                line = t.lines[0] if t.lines else None
                what = f"{line.side} {line.instrument}" if line else ""
                level = num(t.level)
            table.add_row(t.trade_id, short_when(t.executed_ts), t.inquiry_id, t.dealer_id, what,
                          f"{t.gross_notional:,}", level, money(t.net_settlement))
        out.print(table)
        return EXIT_OK

    _run(url, work)


def trade(
    trade_id: Annotated[str, typer.Argument(help="the trade's id, e.g. T-12")],
    lines: Annotated[int, typer.Option("--lines", min=0, help="how many lines of a portfolio trade to list")] = 50,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """One trade: its terms, settlement and lines."""

    async def work(out: Console, err: Console) -> int:
        key = _need_key(api_key, err)
        async with AsyncVenueClient(url, key) as client:
            found = await client.trade(trade_id)
        out.print(trade_table(found))
        if found.kind == "portfolio" and lines > 0:
            out.print(lines_table(found, lines))
        return EXIT_OK

    _run(url, work)


def instruments(
    query: Annotated[str, typer.Argument(help="ticker prefix, issuer name or CUSIP/ISIN prefix")] = "",
    rating: Annotated[str | None, typer.Option("--rating")] = None,
    sector: Annotated[str | None, typer.Option("--sector")] = None,
    grade: Annotated[str | None, typer.Option("--grade", help="IG or HY")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Search the venue's bonds."""

    async def work(out: Console, err: Console) -> int:
        key = _need_key(api_key, err)
        async with AsyncVenueClient(url, key) as client:
            found = await client.instruments(query, rating=rating, sector=sector, grade=grade, limit=limit)
        table = Table(title=f"{len(found)} instruments", title_justify="left")
        for name in ("cusip", "isin", "ticker", "issuer", "coupon", "maturity", "rating", "sector", "min piece"):
            table.add_column(name)
        for b in found:
            table.add_row(b.cusip, b.isin, b.ticker, b.issuer, f"{b.coupon:.3f}", b.maturity.isoformat(), b.rating,
                          b.sector, f"{b.min_piece:,}")
        out.print(table)
        return EXIT_OK

    _run(url, work)


def market(
    bond: Annotated[str, typer.Argument(help="CUSIP or ISIN")],
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """A bond's evaluated mid price, yield, spread, liquidity score and risk."""

    async def work(out: Console, err: Console) -> int:
        key = _need_key(api_key, err)
        async with AsyncVenueClient(url, key) as client:
            m = await client.market(bond)
        table = Table(title=f"{m.cusip} / {m.isin} as of {m.as_of}", title_justify="left", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value", justify="right")
        for label, value in (("evaluated mid price", num(m.evaluated_mid_price, 6)),
                             ("evaluated mid yield (%)", num(m.evaluated_mid_yield, 4)),
                             ("spread (bp)", num(m.spread_bp, 1)), ("liquidity score", num(m.liquidity_score, 1)),
                             ("modified duration", num(m.modified_duration, 3)), ("DV01 per 1mm", money(m.dv01)),
                             ("accrued (per 100)", num(m.accrued, 6)),
                             ("settlement date", m.settlement_date.isoformat())):
            table.add_row(label, value)
        out.print(table)
        return EXIT_OK

    _run(url, work)


# -- analytics ---------------------------------------------------------------------------------------

def _basket_source(file: Path, err: Console) -> list[dict[str, Any]] | Path:
    """A CSV/XLSX path (sent as parsed lines), or the lines of a JSON file (``{"lines": [...]}`` or a list), which
    may hold model-only lines (notional, liquidity_score, label)."""
    if file.suffix.lower() != ".json":
        return file
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise _fail(err, f"{file}: not a readable JSON file: {exc}", EXIT_INPUT) from None
    lines = data.get("lines") if isinstance(data, dict) else data
    if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
        raise _fail(err, f"{file}: expected a list of lines, or an object with a 'lines' list", EXIT_INPUT)
    return lines


def _opt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _pair(a: float | None, b: float | None) -> str:
    """``a / b``, or n/a when the basket has no risk figures (model-only lines)."""
    return "n/a" if a is None and b is None else f"{_opt(a)} / {_opt(b)}"


def _mix_text(mix: Any, top: int = 6) -> str:
    if not isinstance(mix, dict) or not mix:
        return "n/a"
    items = sorted(mix.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{k} {v:.0%}" for k, v in items) + (" ..." if len(mix) > top else "")


def pretrade_lines_table(report: PretradeReport, limit: int) -> Table:
    lines = report.lines or []
    table = Table(title=f"{len(lines):,} lines" + (f" (first {limit})" if len(lines) > limit else ""),
                  title_justify="left")
    for name in ("#", "line", "side", "quantity", "score", "mid", "DV01", "RFQ bp", "RFQ USD", "PT bp", "PT USD",
                 "dealer RFQ USD", "dealer PT USD", "flags"):
        table.add_column(name, justify="left" if name in ("line", "side", "flags") else "right")
    for ln in lines[:limit]:
        table.add_row(str(ln.line + 1), ln.label, ln.side, f"{ln.quantity:,}", f"{ln.liquidity_score:.0f}",
                      _opt(ln.evaluated_mid, 4), _opt(ln.dv01), f"{ln.rfq_cost_bp:.2f}", money(ln.rfq_cost_usd),
                      f"{ln.pt_cost_bp:.2f}", money(ln.pt_cost_usd), _opt(ln.dealer_rfq_charge_usd),
                      _opt(ln.dealer_pt_charge_usd), ", ".join(f.code for f in ln.flags))
    return table


def pretrade_basket_table(report: PretradeReport) -> Table:
    b = report.basket
    table = Table(title=f"Basket, as of {report.as_of} (settlement {report.settlement_date.isoformat()})",
                  title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    r2 = b.get("r_squared") or {}
    liq = b.get("liquidity_cost") or {}
    rows: list[tuple[str, str]] = [
        ("lines", f"{b.get('n_lines', 0):,} ({b.get('n_model_lines', 0)} model-only)"),
        ("gross / net notional", f"{money(b.get('gross_notional'))} / {money(b.get('net_notional'))}"),
        ("gross / net market value", _pair(b.get("gross_market_value"), b.get("net_market_value"))),
        ("net DV01 / net CS01 (USD per bp)", _pair(b.get("net_dv01"), b.get("net_cs01"))),
        ("duration (years)", _opt(b.get("duration"), 3) or "n/a"),
        ("liquidity score (notional-weighted)", _opt(b.get("liquidity_score"), 1)),
        ("rating mix", _mix_text(b.get("rating_mix"))),
        ("sector mix", _mix_text(b.get("sector_mix"))),
        ("R² vs LQD / HYG / combined hedge",
         " / ".join(_opt(r2.get(k), 2) or "n/a" for k in ("LQD", "HYG", "combined"))),
        ("liquidity cost: RFQ / PT (USD)", f"{money(liq.get('rfq_cost_usd'))} / {money(liq.get('pt_cost_usd'))}"),
        ("liquidity saving", f"{money(liq.get('saving_usd'))} USD ({_opt(liq.get('saving_pct'), 1)}%), "
                             f"diversification {_opt(liq.get('diversification'), 2)} "
                             f"({liq.get('diversification_source')})"),
    ]
    dc = b.get("dealer_charge")
    if isinstance(dc, dict):
        rows.append(("full dealer charge: RFQ / PT (USD)", f"{money(dc.get('rfq_usd'))} / {money(dc.get('pt_usd'))} "
                                                           f"(saving {money(dc.get('saving_usd'))}, "
                                                           f"{_opt(dc.get('saving_pct'), 1)}%)"))
    flags = b.get("flags") or {}
    rows.append(("flagged lines", f"{flags.get('lines_flagged', 0)} (illiquid {flags.get('illiquid', 0)}, "
                                  f"hard to hedge {flags.get('hard_to_hedge', 0)}, "
                                  f"concentrated {flags.get('concentrated', 0)})"))
    for label, value in rows:
        table.add_row(label, value)
    return table


def print_pretrade(report: PretradeReport, out: Console, limit: int) -> None:
    if limit > 0 and report.lines:
        out.print(pretrade_lines_table(report, limit))
        flagged = report.flagged
        for ln in flagged[:limit]:
            for flag in ln.flags:
                out.print(f"  line {ln.line + 1} {ln.label}: {flag.code}: {flag.reason}", soft_wrap=True)
        if len(flagged) > limit:
            out.print(f"  ... and {len(flagged) - limit} more flagged lines")
    out.print(pretrade_basket_table(report))
    rec = report.recommendation
    label = "PORTFOLIO TRADE" if rec.method == "portfolio_trade" else "RFQ"
    out.print(Text(f"Recommendation: {label} ", style="bold green") + Text(
        f"(estimated saving {money(rec.saving_usd)} USD, basis: {rec.basis.replace('_', ' ')}): {rec.reason}"),
        soft_wrap=True)
    if rec.hint:
        out.print(f"  {rec.hint}", soft_wrap=True)
    out.print(Text("How:", style="bold"))
    for para in report.explanation:
        out.print(f"  - {para}", soft_wrap=True)
    for note in report.notes:
        out.print(Text("note: ", style="yellow") + Text(note), soft_wrap=True)


def print_optimisation(result: OptimiseResult, out: Console, limit: int) -> None:
    table = Table(title=f"Optimisation: {result.status}, {result.message}", title_justify="left")
    for name in ("metric", "before", "after", "change"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for row in result.side_by_side:
        table.add_row(str(row.get("metric")), *(_cell(row.get(k)) for k in ("before", "after", "change")))
    te = result.tracking_error
    table.caption = (f"tracking error vs the original basket: {money(te.get('daily_usd'))} USD a day "
                     f"({_opt(te.get('daily_bp'), 2)} bp, {_opt(te.get('annual_bp'), 1)} bp a year)")
    table.caption_justify = "left"
    out.print(table)
    if result.replacements and limit > 0:
        swaps = Table(title=f"{len(result.replacements)} replacements" + (
            f" (first {limit})" if len(result.replacements) > limit else ""), title_justify="left")
        for name in ("line", "side", "replaced", "score", "by", "score ", "quantity", "saving USD", "TE USD/day"):
            swaps.add_column(name, justify="right" if name in ("score", "score ", "quantity", "saving USD",
                                                               "TE USD/day") else "left")
        for s in result.replacements[:limit]:
            old, new = s["replaced"], s["by"]
            swaps.add_row(str(s["line"] + 1), s["side"], f"{old['instrument']} {old['rating']}",
                          f"{old['liquidity_score']:.0f}", f"{new['instrument']} {new['rating']}",
                          f"{new['liquidity_score']:.0f}", f"{new['quantity']:,}", money(s["expected_saving_usd"]),
                          money(s["tracking_error_usd"]))
        out.print(swaps)
    for para in result.explanation:
        out.print(f"  - {para}", soft_wrap=True)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.2f}"
    return "" if value is None else str(value)


def pretrade(
    file: Annotated[Path, typer.Argument(help="a CSV or XLSX basket (identifier, side, quantity columns), or a JSON "
                                              "file of lines, which may be model-only: notional, liquidity_score, "
                                              "label")],
    optimise: Annotated[bool, typer.Option("--optimise", help="also replace illiquid lines by more liquid bonds of "
                                                              "similar risk and show before/after")] = False,
    diversification: Annotated[float | None, typer.Option(
        "--diversification", min=0.0, max=1.0, help="override the basket's diversification in the liquidity "
                                                    "estimate")] = None,
    panel_size: Annotated[int | None, typer.Option("--panel-size", min=1, help="dealers in competition")] = None,
    duration_tolerance: Annotated[float | None, typer.Option("--duration-tolerance", help="--optimise: years")] = None,
    dv01_tolerance: Annotated[float | None, typer.Option(
        "--dv01-tolerance", help="--optimise: share of the gross DV01 the net DV01 may move")] = None,
    mix_tolerance: Annotated[float | None, typer.Option(
        "--mix-tolerance", help="--optimise: share of gross MV a rating or sector may move")] = None,
    te_aversion: Annotated[float | None, typer.Option(
        "--te-aversion", help="--optimise: USD of cost per USD of daily tracking-error sigma")] = None,
    save: Annotated[Path | None, typer.Option("--save", help="--optimise: write the new basket as CSV here")] = None,
    lines: Annotated[int, typer.Option("--lines", min=0, help="how many lines to list")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="print the venue's JSON")] = False,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Pre-trade analysis of a basket: cost by RFQ and as a portfolio trade, risk, problem lines, a recommendation
    and how the figures were obtained. Exit 0 on an answer, 2 for a bad file (row, column and reason printed)."""

    async def work(out: Console, err: Console) -> int:
        key = _need_key(api_key, err)
        source = _basket_source(file, err)
        if save is not None and not optimise:
            raise _fail(err, "--save needs --optimise", EXIT_INPUT)
        async with AsyncVenueClient(url, key) as client:
            report = await client.pretrade(source, diversification=diversification, panel_size=panel_size)
            result = None
            if optimise:
                result = await client.optimise(source, panel_size=panel_size, duration_tolerance=duration_tolerance,
                                               dv01_tolerance=dv01_tolerance, mix_tolerance=mix_tolerance,
                                               te_aversion=te_aversion)
        if as_json:
            doc: dict[str, Any] = {"pretrade": report.model_dump(mode="json")}
            if result is not None:
                doc["optimisation"] = result.model_dump(mode="json")
            out.print_json(data=doc if result is not None else doc["pretrade"])
        else:
            print_pretrade(report, out, lines)
            if result is not None:
                print_optimisation(result, out, lines)
        if result is not None and save is not None:
            with save.open("w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["identifier", "side", "quantity"])
                writer.writerows([ln.instrument, ln.side, ln.quantity] for ln in result.lines or [])
            (err if as_json else out).print(f"new basket written to {save} ({len(result.lines or [])} lines)")
        return EXIT_OK

    _run(url, work)


def tca_benchmarks_table(report: TradeTca) -> Table:
    table = Table(title=f"TCA of {report.trade_id} ({report.kind}, {report.n_lines:,} lines, gross "
                        f"{report.gross_notional:,.0f}), dealer {report.dealer_id}", title_justify="left",
                  caption=report.sign_convention, caption_justify="left")
    for name in ("benchmark", "cost USD", "cost bp", "note"):
        table.add_column(name, justify="right" if name.startswith("cost") else "left")
    for name, b in report.benchmarks.items():
        note = b.reason or ""
        extra = b.model_extra or {}
        if name == "nav" and b.available:
            note = f"NAV {money(extra.get('nav_usd'))}, paid {money(extra.get('paid_usd'))} (bp of gross NAV)"
        elif name == "cover" and b.available and extra.get("dealer_id"):
            note = f"{extra.get('quote_id')} from {extra.get('dealer_id')}"
        table.add_row(name.replace("_", " "), money(b.cost_usd) if b.available else "n/a",
                      _opt(b.cost_bp, 2) if b.available else "", note)
    est = report.pretrade_estimate
    if isinstance(est, dict):
        table.add_row("pre-trade estimate", money(est.get("dealer_charge_usd")), _opt(est.get("dealer_charge_bp"), 2),
                      str(est.get("basis", "")))
    return table


def tca_lines_table(report: TradeTca, limit: int) -> Table:
    lines = report.lines or []
    table = Table(title=f"{len(lines):,} lines" + (f" (first {limit})" if len(lines) > limit else ""),
                  title_justify="left")
    for name in ("#", "instrument", "side", "quantity", "price", "arrival mid", "vs arrival bp", "vs arrival USD",
                 "vs close bp", "vs cover bp", "estimate bp"):
        table.add_column(name, justify="left" if name in ("instrument", "side") else "right")
    for i, ln in enumerate(lines[:limit], start=1):
        table.add_row(str(i), ln.instrument, ln.side, f"{ln.quantity:,}", num(ln.price, 6), _opt(ln.arrival_mid, 6),
                      _opt(ln.cost_vs_arrival_bp), _opt(ln.cost_vs_arrival_usd), _opt(ln.cost_vs_close_bp),
                      _opt(ln.cost_vs_cover_bp), _opt(ln.estimated_cost_bp))
    return table


def tca(
    trade_id: Annotated[str, typer.Argument(help="the trade's id, e.g. T-12")],
    lines: Annotated[int, typer.Option("--lines", min=0, help="how many lines to list")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print the venue's JSON")] = False,
    url: UrlOption = DEFAULT_URL,
    api_key: KeyOption = None,
) -> None:
    """Transaction cost analysis of one of your trades: cost against the arrival mid, the previous close, the cover
    and (a portfolio) its NAV, per line and in total; positive = a cost to you."""

    async def work(out: Console, err: Console) -> int:
        key = _need_key(api_key, err)
        async with AsyncVenueClient(url, key) as client:
            report = await client.tca(trade_id, include_lines=lines > 0 or as_json)
        if as_json:
            out.print_json(data=report.model_dump(mode="json"))
            return EXIT_OK
        out.print(tca_benchmarks_table(report))
        if lines > 0 and report.lines:
            out.print(tca_lines_table(report, lines))
        return EXIT_OK

    _run(url, work)


COMMANDS: dict[str, Callable[..., None]] = {"rfq": rfq, "pt": pt, "trades": trades, "trade": trade,
                                            "instruments": instruments, "market": market, "pretrade": pretrade,
                                            "tca": tca}


def register(app: typer.Typer) -> None:
    """Add the client commands (rfq, pt, trades, trade, instruments, market, pretrade, tca) to ``app``."""
    for name, command in COMMANDS.items():
        app.command(name)(command)


def build_app() -> typer.Typer:
    app = typer.Typer(help="rfqsim client commands", no_args_is_help=True, add_completion=False)
    register(app)
    return app


if __name__ == "__main__":
    build_app()()
