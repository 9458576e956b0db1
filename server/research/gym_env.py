"""A Gymnasium environment: one dealer of the simulated venue, driven by an agent.

Each step is one inquiry sent to the agent's dealer (``agent``), who sits on every panel by
default, alongside the scenario's bot dealers; the client flow, the market and the other
dealers run on the simulated clock between steps.

Observation (``float32``, shape ``(18,)``), for the inquiry, the agent's book and the market:

====  ===========================================================================================
 0    1 for a portfolio inquiry, 0 for a single-bond RFQ
 1    the client's side: +1 buys, -1 sells (a basket: face-weighted net side)
 2    log10 of the face (USD)
 3    log10 of the number of lines
 4    liquidity score / 100 (face-weighted)
 5    spread over Treasuries / 1000 bp (face-weighted)
 6    modified duration / 10 years (face-weighted)
 7    share of high-yield face
 8    panel size / 10
 9    time limit / 600 s
10    the agent's position in these bonds, signed by the client's side (face, 10 mm units):
      positive when the trade would reduce the position
11    the agent's gross inventory, market value / 100 mm USD
12    the agent's P&L so far / 100,000 USD
13    LQD premium to NAV, %
14    HYG premium to NAV, %
15    the 10-year Treasury yield, %
16    change of the mean IG spread since the start, bp / 100
17    share of the horizon elapsed
====  ===========================================================================================

Action (``float32``, shape ``(2,)``, each in ``[-1, 1]``): ``action[0] < 0`` passes; otherwise
the agent quotes ``spread = min_spread_bp + (action[1] + 1) / 2 x (max_spread_bp - min_spread_bp)``
bp of price on the client's side of the evaluated mid (it sells to a buying client at
``mid x (1 + spread / 1e4)``, buys from a selling one at ``mid x (1 - spread / 1e4)``; a basket
line by line). A negative spread is through the mid. :meth:`DealerEnv.spread_bp` does the mapping.

Reward: the change of the agent's P&L since its previous decision (spread capture plus the
mark-to-market of its inventory at the evolving mid), less an inventory penalty of
``inventory_penalty_bp_per_hour`` bp of the gross inventory per hour held, times
``reward_scale`` (default: thousands of USD). An episode is the scenario's horizon; it ends
(``terminated``) when no further inquiry reaches the agent before the end of the run. A given
``reset(seed=...)`` replays exactly: the run's every stream derives from that seed.
"""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from server.bots.protocol import InquiryView
from server.bots.protocol import Quote as BotQuote
from server.domain.commands import PassInquiry, SubmitQuote
from server.domain.types import NS_PER_MS, NS_PER_SECOND
from server.research.scenario import Scenario, parse_scenario
from server.research.simulate import ExternalDealer, Simulation

__all__ = ["ENV_ID", "N_OBS", "DealerEnv", "default_gym_scenario"]

N_OBS = 18
_BOUND = 1e6


def default_gym_scenario() -> Scenario:
    """A small, fast market: 300 bonds, three reference dealers, one simulated hour of flow."""
    return parse_scenario({
        "name": "gym",
        "seed": 0,
        "horizon_hours": 1.0,
        "tail_s": 120,
        "universe": {"seed": 11, "n_bonds": 300, "n_issuers": 60},
        "dealers": [
            {"id": "mid-a", "strategy": "mid_spread", "config": {"skew_bp": 0.0}, "latency_ms": 20},
            {"id": "mid-b", "strategy": "mid_spread", "config": {"skew_bp": 1.5, "basket_factor": 0.6},
             "latency_ms": 30},
            {"id": "mid-c", "strategy": "mid_spread", "config": {"skew_bp": -0.5, "liquid_half_spread_bp": 6.0},
             "latency_ms": 40},
        ],
        "flow": {"rfq_per_hour": 240, "portfolio_per_hour": 6,
                 "portfolio": {"lines": {"median": 20, "sigma": 0.4, "min": 10, "max": 60}},
                 "client_types": [
                     {"name": "real_money", "weight": 0.6, "clients": 2, "panel_size": 4, "pt_panel_size": 3,
                      "time_limit_s": 30, "pt_time_limit_s": 120, "award": "band", "band_bp": 8,
                      "band_illiquid_bp": 60},
                     {"name": "hedge_fund", "weight": 0.4, "clients": 2, "panel_size": 3, "pt_panel_size": 3,
                      "time_limit_s": 10, "pt_time_limit_s": 60, "award": "best"},
                 ]},
        "metrics": {"markouts_s": [60], "sample_s": 600, "capital": False, "hedge_overlay": False},
    }, "built-in gym scenario")


class DealerEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """One dealer of the simulated venue as an RL environment (see the module docstring)."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - gymnasium's own convention

    def __init__(self, scenario: Scenario | None = None, *, agent_id: str = "agent", latency_ms: float = 10.0,
                 min_spread_bp: float = -20.0, max_spread_bp: float = 100.0,
                 inventory_penalty_bp_per_hour: float = 0.5, reward_scale: float = 1e-3,
                 always_in_panel: bool = True) -> None:
        super().__init__()
        self.scenario = scenario if scenario is not None else default_gym_scenario()
        if self.scenario.flow.quote_type != "price":
            raise ValueError("the environment quotes prices: the scenario's flow.quote_type must be 'price'")
        if agent_id in self.scenario.dealer_ids:
            raise ValueError(f"agent id {agent_id!r} is already one of the scenario's dealers")
        if not max_spread_bp > min_spread_bp:
            raise ValueError("max_spread_bp must be above min_spread_bp")
        self.agent_id = agent_id
        self.latency_ns = round(latency_ms * NS_PER_MS)
        self.min_spread_bp = min_spread_bp
        self.max_spread_bp = max_spread_bp
        self.penalty = inventory_penalty_bp_per_hour
        self.reward_scale = reward_scale
        self.always_in_panel = always_in_panel
        self.observation_space = spaces.Box(-_BOUND, _BOUND, shape=(N_OBS,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._sim: Simulation | None = None
        self._pending: InquiryView | None = None
        self._value = 0.0
        self._gross = 0.0
        self._t = 0
        self._ig: NDArray[np.bool_] | None = None
        self.run_seed: int | None = None

    # ---- the gymnasium API -----------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self.run_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        agent = ExternalDealer(self.agent_id, self._deliver, self.latency_ns, self.always_in_panel)
        self._sim = Simulation(self.scenario, self.run_seed, hash_log=False, external=[agent])
        u = self._sim.universe
        self._ig = ~np.asarray(u.is_hy, dtype=bool)
        self._pending = None
        self._value = 0.0
        self._gross = 0.0
        self._t = self._sim.start_ns
        self._sim.start()
        self._run_to_next()
        return self._observe(), self._info()

    def step(self, action: NDArray[np.float32]) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool,
                                                          dict[str, Any]]:
        sim = self._sim
        if sim is None:
            raise RuntimeError("call reset() first")
        inquiry = self._pending
        self._pending = None
        if inquiry is not None:
            sim.execute(self._answer(inquiry, np.asarray(action, dtype=np.float64)))
        self._run_to_next()
        terminated = self._pending is None
        if terminated:
            sim.advance()
        reward = self._reward()
        return self._observe(), reward, terminated, False, self._info()

    # ---- helpers -------------------------------------------------------------------------------

    def spread_bp(self, action: NDArray[Any]) -> float | None:
        """The spread an action quotes (bp), or None for a pass."""
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if not np.all(np.isfinite(a)) or a[0] < 0.0:
            return None
        return self.min_spread_bp + (float(a[1]) + 1.0) / 2.0 * (self.max_spread_bp - self.min_spread_bp)

    def _deliver(self, view: InquiryView) -> None:
        if self._pending is not None:  # answer an overlapping inquiry we never got to decide on: pass
            assert self._sim is not None
            self._sim.execute(PassInquiry(self.agent_id, self._pending.inquiry_id, "agent busy"))
        self._pending = view

    def _run_to_next(self) -> None:
        sim = self._sim
        assert sim is not None
        while self._pending is None and sim.step_one():
            pass

    def _answer(self, inquiry: InquiryView, action: NDArray[np.float64]) -> PassInquiry | SubmitQuote:
        spread = self.spread_bp(action)
        if spread is None:
            return PassInquiry(self.agent_id, inquiry.inquiry_id, "agent passed")
        assert self._sim is not None
        mid = np.asarray(self._sim.market.view.mid_price, dtype=np.float64)[inquiry.idx]
        prices = mid * (1.0 + np.where(inquiry.sides > 0, 1.0, -1.0) * spread / 1e4)
        if inquiry.is_portfolio:
            q = BotQuote.portfolio(inquiry, prices)
            return SubmitQuote(self.agent_id, inquiry.inquiry_id, net_price=q.net_price, line_prices=q.line_prices)
        return SubmitQuote(self.agent_id, inquiry.inquiry_id, level=round(float(prices[0]), 6))

    def _reward(self) -> float:
        sim = self._sim
        assert sim is not None
        value = sim.metrics.dealer_pnl(self.agent_id)["total"]
        now = sim.now
        hours = (now - self._t) / (3_600 * NS_PER_SECOND)
        penalty = self.penalty * 1e-4 * self._gross * hours
        reward = (value - self._value - penalty) * self.reward_scale
        self._value = value
        self._t = now
        book = sim.metrics.books[self.agent_id]
        self._gross = float(np.abs(book.positions) @ np.asarray(sim.market.view.mid_price, dtype=np.float64)) / 100.0
        return float(reward)

    def _observe(self) -> NDArray[np.float32]:
        sim = self._sim
        assert sim is not None and self._ig is not None
        obs = np.zeros(N_OBS, dtype=np.float64)
        market = sim.market
        view = market.view
        book = sim.metrics.books[self.agent_id]
        mid_all = np.asarray(view.mid_price, dtype=np.float64)
        inquiry = self._pending
        if inquiry is not None:
            idx = inquiry.idx
            face = inquiry.quantities.astype(np.float64)
            total = float(face.sum())
            w = face / total if total > 0 else np.full(face.shape, 1.0 / max(face.size, 1))
            side = inquiry.sides.astype(np.float64)
            table = market.factor_model.exposure_table(market.base, market.settle(sim.now))
            nb = sim.universe.n_bonds
            hy = np.zeros(idx.shape, dtype=bool)
            corp = idx < nb
            hy[corp] = np.asarray(sim.universe.is_hy, dtype=bool)[idx[corp]]
            obs[0] = 1.0 if inquiry.is_portfolio else 0.0
            obs[1] = float(w @ side)
            obs[2] = math.log10(max(total, 1.0))
            obs[3] = math.log10(max(inquiry.n_lines, 1))
            obs[4] = float(w @ np.asarray(view.liquidity_score, dtype=np.float64)[idx]) / 100.0
            obs[5] = float(w @ np.asarray(view.spread_bp, dtype=np.float64)[idx]) / 1000.0
            obs[6] = float(w @ table.modified_duration[idx]) / 10.0
            obs[7] = float(w @ hy)
            obs[8] = inquiry.panel_size / 10.0
            obs[9] = (inquiry.expires_ts - inquiry.created_ts) / NS_PER_SECOND / 600.0
            obs[10] = float(book.positions[idx] @ side) / 1e7
        obs[11] = float(np.abs(book.positions) @ mid_all) / 100.0 / 1e8
        obs[12] = sim.metrics.dealer_pnl(self.agent_id)["total"] / 1e5
        for j, ticker in ((13, "LQD"), (14, "HYG")):
            nav = float(view.etf_nav.get(ticker, 0.0))
            obs[j] = (float(view.etf_price.get(ticker, nav)) / nav - 1.0) * 100.0 if nav > 0 else 0.0
        obs[15] = float(np.asarray(view.curve.yield_at(10.0))) * 100.0
        spread_now = np.asarray(view.spread_bp, dtype=np.float64)[: sim.universe.n_bonds][self._ig]
        spread_0 = np.asarray(market.initial.spread_bp, dtype=np.float64)[: sim.universe.n_bonds][self._ig]
        obs[16] = (float(spread_now.mean()) - float(spread_0.mean())) / 100.0 if spread_now.size else 0.0
        obs[17] = min(max((sim.now - sim.start_ns) / max(sim.horizon_end - sim.start_ns, 1), 0.0), 2.0)
        return np.clip(np.nan_to_num(obs, nan=0.0, posinf=_BOUND, neginf=-_BOUND), -_BOUND, _BOUND).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        sim = self._sim
        assert sim is not None
        inquiry = self._pending
        return {"inquiry_id": inquiry.inquiry_id if inquiry is not None else None,
                "is_portfolio": bool(inquiry.is_portfolio) if inquiry is not None else None,
                "pnl": sim.metrics.dealer_pnl(self.agent_id)["total"],
                "sim_time_s": (sim.now - sim.start_ns) / NS_PER_SECOND, "run_seed": self.run_seed}


ENV_ID = "rfqsim/Dealer-v0"
if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="server.research.gym_env:DealerEnv")
