"""The README's first dealer bot runs as printed: it quotes RFQs, requests for market and baskets."""

from __future__ import annotations

import re
from pathlib import Path

from server.bots.host import BotHost, BotSpec
from server.domain import events as ev
from server.domain.commands import CreatePortfolio, CreateRfq, LineSpec
from server.domain.types import Role, Side
from server.runtime.sim import SimRuntime
from server.venue.engine import Venue
from server.venue.rules import VenueRules
from tests.support.engine import T0, small_universe

README = Path(__file__).resolve().parents[2] / "README.md"


def test_first_bot_from_the_readme_trades() -> None:
    block = re.search(r"## A first dealer bot\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    bot = namespace["HalfPointDealer"]()  # type: ignore[operator]
    u = small_universe()
    venue = Venue(u, {"c": Role.CLIENT, "me": Role.DEALER}, VenueRules(default_panel=("me",)))
    market = u.initial_market()
    sim = SimRuntime(venue, BotHost([BotSpec("me", bot)], u, lambda: market), start_ns=T0)
    sim.execute(CreateRfq("c", u.bonds[0].cusip, Side.BUY, 1_000_000))
    sim.execute(CreateRfq("c", u.bonds[1].cusip, None, 1_000_000))
    sim.execute(CreatePortfolio("c", tuple(LineSpec(b.cusip, Side.SELL, 1_000_000) for b in u.bonds[:20])))
    sim.run(until=T0 + 1)
    assert sim.rejections == []
    assert [e.type for e in sim.log].count(ev.QUOTE_NEW) == 3
