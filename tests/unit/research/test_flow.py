"""Client flow: independent random streams; adding a dealer leaves every client order as it was."""

from __future__ import annotations

import itertools

import numpy as np

from server.domain import events as ev
from server.domain.types import InquiryKind
from server.research.flow import FlowModel
from server.research.scenario import parse_scenario, universe_for
from server.research.seeds import component_seed, stable_hash, stream
from server.research.simulate import Simulation
from tests.unit.research.support import small_raw, small_scenario


def test_stable_hash_and_streams() -> None:
    assert stable_hash("flow") == 2679931163  # fixed forever: changing it changes every run
    assert stream(0, "flow", "rfq").integers(0, 1000, 3).tolist() == [443, 939, 434]
    assert stable_hash("flow") != stable_hash("market")
    a = stream(3, "flow", "rfq").random(5)
    assert np.array_equal(a, stream(3, "flow", "rfq").random(5))
    assert not np.array_equal(a, stream(3, "flow", "portfolio").random(5))
    assert not np.array_equal(a, stream(4, "flow", "rfq").random(5))
    assert component_seed(3, "dealer", "a") != component_seed(3, "dealer", "b")


def test_orders_are_valid_lots_and_distinct_basket_lines() -> None:
    scenario = small_scenario()
    u = universe_for(scenario)
    orders = FlowModel(scenario.flow, u).orders(1, scenario.start_ns, scenario.horizon_ns)
    assert orders and [o.number for o in orders] == list(range(1, len(orders) + 1))
    assert all(a.at_ns <= b.at_ns for a, b in itertools.pairwise(orders))
    for o in orders:
        lo, inc, top = u.min_piece[o.idx], u.increment[o.idx], u.amount_outstanding[o.idx]
        assert np.all(o.quantities >= lo) and np.all((o.quantities - lo) % inc == 0) and np.all(o.quantities <= top)
        if o.kind is InquiryKind.PORTFOLIO:
            assert len(set(o.idx.tolist())) == o.n_lines >= 10


def _created(scenario_raw: dict[str, object], seed: int) -> list[tuple[object, ...]]:
    sim = Simulation(parse_scenario(scenario_raw), seed, keep_log=True)
    sim.run()
    return [(e.ts, e.data["client_id"], e.data["kind"], str(e.data["lines"])) for e in sim.sim.log
            if e.type == ev.INQUIRY_CREATED]


def test_adding_a_dealer_leaves_the_client_flow_identical() -> None:
    base = small_raw()
    more = small_raw()
    more["dealers"] = [*more["dealers"], {"id": "d", "strategy": "mid_spread",
                                          "config": {"skew_bp": -1.0}, "latency_ms": 5}]
    s1, s2 = parse_scenario(base), parse_scenario(more)
    u = universe_for(s1)
    o1 = [o.key() for o in FlowModel(s1.flow, u).orders(9, s1.start_ns, s1.horizon_ns)]
    o2 = [o.key() for o in FlowModel(s2.flow, u).orders(9, s2.start_ns, s2.horizon_ns)]
    assert o1 == o2
    # and in the event log: the same inquiries, at the same times, from the same clients
    c1, c2 = _created(base, 9), _created(more, 9)
    assert c1 == c2 and len(c1) == len(o1)
    # changing the basket rate leaves the single-bond RFQs alone (separate streams)
    fewer = small_raw()
    fewer["flow"]["portfolio_per_hour"] = 1
    s3 = parse_scenario(fewer)
    rfq = [k for k in o1 if k[3] == "rfq"]
    again = FlowModel(s3.flow, u).orders(9, s3.start_ns, s3.horizon_ns)
    assert rfq == [o.key() for o in again if o.kind.value == "rfq"]
