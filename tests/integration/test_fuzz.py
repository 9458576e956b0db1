"""Bad input never gets a 500: random and mutated bodies against every write endpoint of a real venue."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_api import IG
from tests.support.server import KEYS, VenueProcess

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=10), inner, max_size=4), max_leaves=12)
good_rfq = {"instrument": IG[0].cusip, "side": "buy", "quantity": 1_000_000}
good_line = {"instrument": IG[0].cusip, "side": "sell", "quantity": 1_000_000}


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from([*base, "panel", "time_limit", "quote_type", "lines", "name"]),
                           json_values, max_size=6).map(lambda extra: {**base, **extra})


bodies = st.one_of(
    json_values,
    mutated(good_rfq),
    mutated({"lines": [good_line]}),
    st.builds(lambda lines: {"lines": lines}, st.lists(mutated(good_line), min_size=1, max_size=5)),
    mutated({"quote_id": "Q-1"}),
)
paths = st.sampled_from(["/v1/rfqs", "/v1/portfolio-inquiries", "/v1/rfqs/RFQ-1/award", "/v1/rfqs/RFQ-1/cancel",
                         "/v1/portfolio-inquiries/PT-1/award", "/v1/portfolio-inquiries/PT-1/cancel"])


def test_random_bodies_get_4xx_or_success_never_5xx(venue: VenueProcess) -> None:
    with httpx.Client(base_url=venue.base_url, headers={"Authorization": f"Bearer {KEYS['client-1']}"},
                      timeout=30) as client:

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(path=paths, body=bodies, raw=st.booleans())
        def check(path: str, body: Any, raw: bool) -> None:
            if raw:
                r = client.post(path, content=repr(body).encode(), headers={"content-type": "application/json"})
            else:
                r = client.post(path, json=body)
            assert r.status_code < 500, (path, body, r.text)
            if r.status_code >= 400:
                error = r.json()["error"]
                assert error["reason"] and "code" in error and "field" in error

        check()
