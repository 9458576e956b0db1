"""The bot host's single-line paths give exactly what its general paths give.

One-line trades are booked in plain Python (``np.add.at``'s arithmetic for one element), and inquiry
views resolve their enums through dicts and freeze their own arrays; these properties hold the fast
paths to the same bits, the same members and the same read-only arrays as the general ones.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dealer_bots.reference.mid_spread import MidSpreadDealer
from server.bots.host import BotHost, BotSpec
from server.bots.protocol import InquiryView
from server.domain.events import line_arrays
from server.domain.types import InquiryKind, QuoteType
from tests.support.engine import small_universe

U = small_universe()
N = U.n_instruments
POSITIONS = st.floats(-1e10, 1e10, allow_nan=False) | st.sampled_from([0.0, -0.0])


@settings(max_examples=300, deadline=None)
@given(i=st.integers(0, N - 1), side=st.sampled_from(["buy", "sell"]), quantity=st.integers(1, 10**10),
       before=POSITIONS, cash=st.floats(-1e9, 1e9), settlement=st.floats(-1e9, 1e9))
def test_single_line_trade_books_as_the_basket_path(i: int, side: str, quantity: int, before: float, cash: float,
                                                    settlement: float) -> None:
    host = BotHost([BotSpec("d", MidSpreadDealer())], U, U.initial_market)
    book = host._books["d"]
    book.positions[i] = before
    book.cash = cash
    lines = [{"instrument": U.instruments[i].cusip, "side": side, "quantity": quantity}]
    host._book_trade({"dealer_id": "d", "lines": lines, "net_settlement": settlement})
    expected = np.zeros(N)
    expected[i] = before
    _, idx, sides, qty = line_arrays(lines, U.index_of)
    np.add.at(expected, idx, -sides * qty.astype(np.float64))
    assert book.positions.tobytes() == expected.tobytes()
    assert book.cash == cash - float(settlement)


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(["rfq", "portfolio"]), quote_type=st.sampled_from([q.value for q in QuoteType]),
       rows=st.lists(st.tuples(st.integers(0, N - 1), st.sampled_from(["buy", "sell", None]),
                               st.integers(1, 10**9)), min_size=1, max_size=6, unique_by=lambda r: r[0]))
def test_inquiry_view_from_event(kind: str, quote_type: str, rows: list[tuple[int, str | None, int]]) -> None:
    lines = [{"instrument": U.instruments[i].cusip, "side": s, "quantity": q} for i, s, q in rows]
    data = {"inquiry_id": "X-1", "kind": kind, "client_id": "c1", "quote_type": quote_type, "lines": lines,
            "panel_size": 3, "created_ts": 5, "expires_ts": 9, "name": None}
    view = InquiryView.from_event(data, U)
    instruments, idx, sides, qty = line_arrays(lines, U.index_of)
    assert view.kind is InquiryKind(kind) and view.quote_type is QuoteType(quote_type)
    assert view.instruments == instruments
    for got, want in ((view.idx, idx), (view.sides, sides), (view.quantities, qty)):
        assert got.dtype == want.dtype and np.array_equal(got, want) and not got.flags.writeable
    signed = view.dealer_signed_quantity
    assert not signed.flags.writeable
    assert np.array_equal(signed, -sides.astype(np.float64) * qty)
