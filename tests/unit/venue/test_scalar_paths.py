"""The engine's single-bond fast paths give exactly what its vectorised basket paths give.

Single-bond RFQs are most of a simulation's lifecycles, so the engine books them, checks their
quantities and builds their arrays in plain Python; these properties hold the two paths to the
same cents, the same words and the same arrays.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.events import line_arrays
from server.domain.types import InquiryKind, QuoteType
from server.venue.engine import _quantity_reason
from server.venue.state import Inquiry
from tests.support.engine import make_venue, small_universe

VENUE = make_venue()
N = len(VENUE.table)
AS_OF = small_universe().as_of
SETTLE_DAYS = st.dates(min_value=AS_OF, max_value=AS_OF + timedelta(days=90))  # before any bond matures


def _inquiry(i: int, quantity: int, sign: int) -> Inquiry:
    return Inquiry(inquiry_id="RFQ-1", kind=InquiryKind.RFQ, client_id="c1", panel=("d1",),
                   quote_type=QuoteType.PRICE, created_ts=0, expires_ts=1, instruments=(VENUE.table.cusip[i],),
                   idx=np.array([i], dtype=np.int64), sides=np.array([sign], dtype=np.int8),
                   quantities=np.array([quantity], dtype=np.int64))


@settings(max_examples=300, deadline=None)
@given(i=st.integers(0, N - 1), pieces=st.integers(0, 50_000), sign=st.sampled_from([1, -1]),
       price=st.floats(1.0, 250.0), settle=SETTLE_DAYS)
def test_single_line_booking_matches_the_basket_path(i: int, pieces: int, sign: int, price: float,
                                                      settle: date) -> None:
    table = VENUE.table
    quantity = int(table.min_piece[i]) + pieces * int(table.increment[i])
    price = round(price, 6)
    inquiry = _inquiry(i, quantity, sign)
    scalar = VENUE._book_line(inquiry, price, sign, settle)
    vector = VENUE._book_lines(inquiry, np.array([price]), np.array([sign], dtype=np.int64), settle)
    assert scalar == vector
    assert [type(v) for v in scalar[0][0].values()] == [type(v) for v in vector[0][0].values()]


@settings(max_examples=300, deadline=None)
@given(i=st.integers(0, N - 1), quantity=st.integers(0, 10**11))
def test_single_quantity_check_matches_the_basket_check(i: int, quantity: int) -> None:
    table = VENUE.table
    reason = _quantity_reason(quantity, int(table.min_piece[i]), int(table.increment[i]),
                              int(table.amount_outstanding[i]))
    errors = VENUE._quantity_errors(np.array([i]), np.array([quantity]), np.array([True]), ["quantity"])
    assert (reason is None) == (not errors)
    if errors:
        assert errors == [{"field": "quantity", "reason": reason}]


@given(a=st.integers(0, N - 1), b=st.integers(0, N - 1), side=st.sampled_from([None, "buy", "sell"]),
       quantity=st.integers(1, 10**9))
def test_one_line_arrays_match_the_many_line_path(a: int, b: int, side: str | None, quantity: int) -> None:
    universe = small_universe()
    line = {"instrument": VENUE.table.cusip[a], "side": side, "quantity": quantity}
    other = {"instrument": VENUE.table.cusip[b], "side": "buy", "quantity": 1}
    one = line_arrays([line], universe.index_of)
    many = line_arrays([line, other], universe.index_of)
    assert one[0] == many[0][:1]
    for x, y in zip(one[1:], many[1:], strict=True):
        assert x.dtype == y.dtype and x.tolist() == y.tolist()[:1]
