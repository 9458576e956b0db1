"""Scenario files: what a simulation runs (TOML, or YAML when PyYAML is installed).

A scenario holds the reference universe's settings, the dealers (strategy, config, latency,
deadline), the client flow, the market model, the venue rules, the metrics, the horizon and the
seed. ``load_scenario(path)`` validates it with pydantic and raises :class:`ScenarioError` naming
every problem by its key path and reason::

    scenarios/bad.toml: dealers[2].config.pricing.risk_aversion: must be non-negative
    scenarios/bad.toml: flow.client_types[0].panel_size: must be >= 1

A minimal file::

    name = "mine"
    seed = 1
    horizon_hours = 2

    [[dealers]]
    strategy = "mid_spread"                 # entry-point name, built-in name or module:Class
    config = { skew_bp = 0.5 }              # see server.research.plugins for the convention
    latency_ms = 20

    [flow]
    rfq_per_hour = 120
    portfolio_per_hour = 2

Every other table has defaults (see the models below and ``scenarios/*.toml``).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from server.domain.calendar import ns_from_date
from server.domain.types import NS_PER_SECOND
from server.market.evolution import MarketModelConfig
from server.market.factors import FactorModelConfig
from server.market.impact import ImpactConfig
from server.market.universe import Universe, UniverseConfig, build_universe
from server.research.plugins import (
    ConfigProblem,
    Loc,
    StrategyError,
    build_strategy,
    make_config,
    pydantic_problems,
    resolve_strategy,
)

__all__ = [
    "ClientType",
    "DealerSettings",
    "FlowSettings",
    "HedgeSettings",
    "LiquidityMix",
    "MarketSettings",
    "MetricsSettings",
    "PortfolioSettings",
    "Scenario",
    "ScenarioError",
    "SizeDist",
    "UniverseSettings",
    "VenueSettings",
    "apply_override",
    "default_scenario",
    "format_path",
    "load_scenario",
    "parse_scenario",
    "read_scenario_file",
    "universe_for",
]


def format_path(loc: Loc) -> str:
    """``("dealers", 2, "config", "spread_bp")`` -> ``dealers[2].config.spread_bp``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class ScenarioError(ValueError):
    """Everything wrong with a scenario: ``problems`` are (key path, reason) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(f"{prefix}{path}: {reason}" if path else f"{prefix}{reason}"
                                   for path, reason in self.problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UniverseSettings(_Model):
    """The synthetic reference universe (``server.market.universe.UniverseConfig``)."""

    seed: int = Field(7, ge=0)
    n_bonds: int = Field(2000, ge=1, le=200_000)
    n_issuers: int = Field(320, ge=1)
    hy_fraction: float = Field(0.28, ge=0.0, le=1.0)
    as_of: date = date(2026, 11, 20)

    def config(self) -> UniverseConfig:
        return UniverseConfig(seed=self.seed, n_bonds=self.n_bonds, n_issuers=self.n_issuers,
                              hy_fraction=self.hy_fraction, as_of=self.as_of)


class HedgeSettings(_Model):
    """A hedge overlay for the metrics (bots do not trade hedges through the venue)."""

    rates_ratio: float = Field(1.0, ge=0.0, le=1.0)
    credit_ratio: float = Field(1.0, ge=0.0, le=1.0)


_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class DealerSettings(_Model):
    id: str | None = None
    """Participant id; default: the strategy's short name, numbered when repeated."""
    strategy: str
    """Entry-point name (group ``rfqsim.dealer_bots``), built-in name, or ``module:Class``."""
    config: dict[str, Any] = Field(default_factory=dict)
    """Mapped onto the strategy's config dataclass, or passed as keywords (see ``plugins``)."""
    latency_ms: float = Field(20.0, ge=0.0)
    """Time from the inquiry to the bot's answer, simulated."""
    deadline_ms: float = Field(2_000.0, gt=0.0)
    """An answer later than this after the inquiry is a pass."""
    hedge: Literal["auto", "none"] | HedgeSettings = "auto"
    """The metrics' hedge overlay: ``auto`` uses the strategy's own hedge ratios (``config.pricing.hedge``)
    when it has them, ``none`` never hedges, a table sets the ratios."""

    @field_validator("id")
    @classmethod
    def _id_ok(cls, v: str | None) -> str | None:
        if v is not None and not _ID.match(v):
            raise ValueError("must be 1-64 letters, digits, '_', '.' or '-'")
        return v


class SizeDist(_Model):
    """A log-normal size: ``median x exp(sigma x N(0, 1))``, clipped to ``[min, max]``."""

    median: float = Field(gt=0.0)
    sigma: float = Field(0.0, ge=0.0, le=5.0)
    min: float = Field(gt=0.0)
    max: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> SizeDist:
        if not self.min <= self.median <= self.max:
            raise ValueError("need min <= median <= max")
        return self


class LiquidityMix(_Model):
    """Which bonds clients ask for: shares of liquid / mid / illiquid buckets by liquidity score."""

    liquid: float = Field(0.5, ge=0.0)
    mid: float = Field(0.35, ge=0.0)
    illiquid: float = Field(0.15, ge=0.0)
    liquid_min_score: float = Field(70.0, gt=0.0, le=100.0)
    illiquid_max_score: float = Field(40.0, gt=0.0, le=100.0)
    hy_share: float | None = Field(None, ge=0.0, le=1.0)
    """Share of high-yield lines; None: as the universe (weighted by amount outstanding)."""

    @model_validator(mode="after")
    def _check(self) -> LiquidityMix:
        if self.liquid + self.mid + self.illiquid <= 0.0:
            raise ValueError("liquid, mid and illiquid shares must not all be zero")
        if self.illiquid_max_score >= self.liquid_min_score:
            raise ValueError("illiquid_max_score must be below liquid_min_score")
        return self

    @property
    def shares(self) -> tuple[float, float, float]:
        total = self.liquid + self.mid + self.illiquid
        return self.liquid / total, self.mid / total, self.illiquid / total


class PortfolioSettings(_Model):
    lines: SizeDist = SizeDist(median=50, sigma=0.6, min=10, max=500)
    """Lines per basket (rounded)."""
    line_size: SizeDist = SizeDist(median=1_000_000, sigma=0.7, min=100_000, max=10_000_000)
    """Face per line, USD (rounded to the bond's trading lot)."""
    one_way_fraction: float = Field(0.5, ge=0.0, le=1.0)
    """Share of baskets with every line on one side (the rest: each line's side drawn)."""
    liquidity_mix: LiquidityMix | None = None
    """Bucket mix of basket lines; None: the flow's."""


class ClientType(_Model):
    """A kind of client, from patient real money to urgent.

    Urgency shows in the panel size, the time limit and the award rule: a client decides after the
    last expected answer (every panel dealer quoted or passed) or at its patience deadline
    (``decision_s`` after asking), whichever comes first, plus ``reaction_ms``. ``award = "best"``
    takes the best live quote whatever its level; ``award = "band"`` takes the best quote only if
    its cost against the evaluated mid is inside the patience band (``band_bp`` at liquidity score
    100, widening linearly to ``band_illiquid_bp`` at score 1; notional-weighted for a basket),
    and otherwise cancels: no trade.
    """

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    weight: float = Field(1.0, gt=0.0)
    """Share of the inquiries sent by clients of this type."""
    clients: int = Field(1, ge=1, le=1_000)
    """How many clients of this type (named ``<name>-1`` ...)."""
    panel_size: int = Field(4, ge=1, le=10)
    pt_panel_size: int = Field(3, ge=1, le=6)
    time_limit_s: float = Field(30.0, ge=1.0, le=3_600.0)
    pt_time_limit_s: float = Field(300.0, ge=1.0, le=3_600.0)
    decision_s: float | None = Field(None, gt=0.0)
    """Patience deadline for an RFQ; default 90% of the time limit."""
    pt_decision_s: float | None = Field(None, gt=0.0)
    award: Literal["best", "band"] = "best"
    band_bp: float = Field(10.0, ge=0.0)
    band_illiquid_bp: float = Field(60.0, ge=0.0)
    reaction_ms: float = Field(200.0, ge=0.0)

    @model_validator(mode="after")
    def _decisions(self) -> ClientType:
        if self.decision_s is not None and self.decision_s >= self.time_limit_s:
            raise ValueError("decision_s must be below time_limit_s")
        if self.pt_decision_s is not None and self.pt_decision_s >= self.pt_time_limit_s:
            raise ValueError("pt_decision_s must be below pt_time_limit_s")
        return self

    @property
    def rfq_decision_s(self) -> float:
        return self.decision_s if self.decision_s is not None else 0.9 * self.time_limit_s

    @property
    def portfolio_decision_s(self) -> float:
        return self.pt_decision_s if self.pt_decision_s is not None else 0.9 * self.pt_time_limit_s


def _default_client_types() -> list[ClientType]:
    return [
        ClientType(name="real_money", weight=0.6, clients=3, panel_size=5, pt_panel_size=4, time_limit_s=60,
                   pt_time_limit_s=600, award="band", band_bp=8.0, band_illiquid_bp=60.0, reaction_ms=1_000),
        ClientType(name="hedge_fund", weight=0.4, clients=2, panel_size=3, pt_panel_size=3, time_limit_s=10,
                   pt_time_limit_s=120, decision_s=5, pt_decision_s=60, award="best", reaction_ms=100),
    ]


class FlowSettings(_Model):
    """Clients' inquiries: Poisson arrivals, sizes, which bonds, which clients."""

    rfq_per_hour: float = Field(120.0, ge=0.0, le=10_000_000.0)
    portfolio_per_hour: float = Field(2.0, ge=0.0, le=1_000_000.0)
    buy_fraction: float = Field(0.5, ge=0.0, le=1.0)
    quote_type: Literal["price", "spread", "yield"] = "price"
    rfq_size: SizeDist = SizeDist(median=2_000_000, sigma=0.9, min=100_000, max=25_000_000)
    liquidity_mix: LiquidityMix = LiquidityMix()
    portfolio: PortfolioSettings = PortfolioSettings()
    client_types: list[ClientType] = Field(default_factory=_default_client_types, min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FlowSettings:
        names = [c.name for c in self.client_types]
        if len(set(names)) != len(names):
            raise ValueError(f"client type names must be unique: {names}")
        return self


class MarketSettings(_Model):
    evolution: bool = True
    """Step the market (``MarketModel.step``) every ``step_s`` of simulated time."""
    step_s: float = Field(60.0, gt=0.0)
    impact: bool = True
    """Inquiries and awards move mids (``ImpactModel``)."""
    impact_refresh_s: float = Field(0.0, ge=0.0)
    """Fold impact into the mids the bots see at most this often (0: at every inquiry and award).
    Every refresh is a new snapshot of mids (net-risk bots keep their risk tables until the next market
    step and take only the new mids); a coarser refresh is a little faster."""
    impact_repricing: Literal["linear", "exact"] = "linear"
    """How impact reaches the mids: ``linear`` moves each clean price by exactly its displacement (bp of
    price) and yield and spread by the matching shift, to first order (microseconds); ``exact`` reprices
    every instrument through ``ImpactModel.apply`` (about 2 ms per refresh on 2,000 bonds)."""
    model: dict[str, Any] = Field(default_factory=dict)
    """Fields of ``MarketModelConfig`` (trading_day_hours, premium_half_life_days, premium_vol, idiosyncratic)."""
    impact_params: dict[str, Any] = Field(default_factory=dict)
    """Fields of ``ImpactConfig`` (impact_bp, dealer_leakage_slope, half_life_ns, ...)."""
    factor: dict[str, Any] = Field(default_factory=dict)
    """Fields of ``FactorModelConfig`` (the vols the market moves with)."""

    def market_model_config(self) -> MarketModelConfig:
        return cast(MarketModelConfig, make_config(MarketModelConfig, self.model))

    def impact_config(self) -> ImpactConfig:
        cfg = cast(ImpactConfig, make_config(ImpactConfig, self.impact_params))
        return dataclasses.replace(cfg, enabled=cfg.enabled and self.impact)

    def factor_config(self) -> FactorModelConfig:
        return cast(FactorModelConfig, make_config(FactorModelConfig, self.factor))


class VenueSettings(_Model):
    disclose_cover_to_winner: bool = True
    max_rfq_panel: int = Field(10, ge=1, le=50)
    max_pt_panel: int = Field(6, ge=1, le=50)


class MetricsSettings(_Model):
    markouts_s: list[float] = Field(default_factory=lambda: [60.0, 300.0, 1_800.0, 3_600.0], min_length=1)
    """Markout horizons, seconds of simulated time after each trade."""
    sample_s: float = Field(300.0, gt=0.0)
    """Inventory, capital and P&L are sampled this often."""
    hedge_overlay: bool = True
    capital: bool = True
    """Sample each book's 99% 10-day VaR under the factor model (the capital it ties up)."""

    @field_validator("markouts_s")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(not h > 0 for h in v):
            raise ValueError("every markout horizon must be > 0")
        return sorted(set(v))


class Scenario(_Model):
    name: str = "scenario"
    description: str = ""
    seed: int = Field(0, ge=0)
    horizon_hours: float = Field(1.0, gt=0.0, le=24.0 * 31)
    """Clients send inquiries from the start for this long."""
    tail_s: float | None = Field(None, ge=0.0)
    """The simulation runs on this long after the horizon, so open inquiries end and every trade gets its
    markouts; default: the longest markout plus the longest time limit."""
    start: datetime | None = None
    """Simulated start (UTC); default 14:00 UTC on the universe's ``as_of`` date."""
    universe: UniverseSettings = UniverseSettings()
    dealers: list[DealerSettings] = Field(min_length=1)
    flow: FlowSettings = FlowSettings()
    market: MarketSettings = MarketSettings()
    venue: VenueSettings = VenueSettings()
    metrics: MetricsSettings = MetricsSettings()

    @property
    def dealer_ids(self) -> tuple[str, ...]:
        return tuple(_dealer_ids(self.dealers))

    @property
    def start_ns(self) -> int:
        if self.start is None:
            return ns_from_date(self.universe.as_of, 14)
        start = self.start if self.start.tzinfo is not None else self.start.replace(tzinfo=UTC)
        delta = start - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1_000

    @property
    def horizon_ns(self) -> int:
        return round(self.horizon_hours * 3_600 * NS_PER_SECOND)

    @property
    def tail_ns(self) -> int:
        if self.tail_s is not None:
            return round(self.tail_s * NS_PER_SECOND)
        longest_limit = max(max(c.time_limit_s, c.pt_time_limit_s) for c in self.flow.client_types)
        return round((max(self.metrics.markouts_s) + longest_limit) * NS_PER_SECOND)

    def with_seed(self, seed: int) -> Scenario:
        return self.model_copy(update={"seed": seed})


def _dealer_ids(dealers: Sequence[DealerSettings]) -> list[str]:
    ids: list[str] = []
    for d in dealers:
        if d.id is not None:
            ids.append(d.id)
            continue
        base = d.strategy.rsplit(":", 1)[-1].rsplit(".", 1)[-1] or "dealer"
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", base)[:56]
        n, candidate = 1, base
        taken = {x.id for x in dealers if x.id is not None} | set(ids)
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        ids.append(candidate)
    return ids


# ---- validation -------------------------------------------------------------------------------------


def _check_dealers(scenario: Scenario) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    ids = scenario.dealer_ids
    clients = {f"{c.name}-{k + 1}" for c in scenario.flow.client_types for k in range(c.clients)}
    seen: dict[str, int] = {}
    for i, (dealer, did) in enumerate(zip(scenario.dealers, ids, strict=True)):
        if did in seen:
            problems.append((f"dealers[{i}].id", f"{did!r} is already dealers[{seen[did]}]"))
        elif did in clients:
            problems.append((f"dealers[{i}].id", f"{did!r} is also a client's id"))
        seen.setdefault(did, i)
        try:
            ref = resolve_strategy(dealer.strategy)
        except StrategyError as exc:
            problems.append((f"dealers[{i}].strategy", str(exc)))
            continue
        try:
            build_strategy(ref, dealer.config, seed=0)
        except ConfigProblem as exc:
            problems.extend((format_path(("dealers", i, "config", *loc)), reason) for loc, reason in exc.problems)
        except StrategyError as exc:
            problems.append((f"dealers[{i}].strategy", str(exc)))
        except Exception as exc:  # the strategy's own constructor failed
            problems.append((f"dealers[{i}].config", f"building the strategy failed: {type(exc).__name__}: {exc}"))
    return problems


def _check_market(scenario: Scenario) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    m = scenario.market
    builders: tuple[tuple[str, Callable[[], object]], ...] = (
        ("model", m.market_model_config), ("impact_params", m.impact_config), ("factor", m.factor_config))
    for key, build in builders:
        try:
            build()
        except ConfigProblem as exc:
            problems.extend((format_path(("market", key, *loc)), reason) for loc, reason in exc.problems)
    return problems


def _check_flow(scenario: Scenario) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if scenario.flow.rfq_per_hour == 0 and scenario.flow.portfolio_per_hour == 0:
        problems.append(("flow", "no inquiries: rfq_per_hour and portfolio_per_hour are both 0"))
    for i, c in enumerate(scenario.flow.client_types):
        if c.pt_panel_size > scenario.venue.max_pt_panel:
            problems.append((f"flow.client_types[{i}].pt_panel_size",
                             f"must be <= venue.max_pt_panel ({scenario.venue.max_pt_panel})"))
        if c.panel_size > scenario.venue.max_rfq_panel:
            problems.append((f"flow.client_types[{i}].panel_size",
                             f"must be <= venue.max_rfq_panel ({scenario.venue.max_rfq_panel})"))
    if scenario.flow.portfolio.lines.max > 10_000:
        problems.append(("flow.portfolio.lines.max", "must be <= 10000 (the venue's basket limit)"))
    return problems


def parse_scenario(raw: Mapping[str, Any], source: str | None = None) -> Scenario:
    """Validate a scenario table (as read from a file); ``ScenarioError`` names every problem."""
    try:
        scenario = Scenario.model_validate(dict(raw))
    except ValidationError as exc:
        raise ScenarioError([(format_path(loc), reason) for loc, reason in pydantic_problems(None, exc)],
                            source) from None
    problems = _check_dealers(scenario) + _check_market(scenario) + _check_flow(scenario)
    if problems:
        raise ScenarioError(problems, source)
    return scenario


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """The raw table of a scenario file (TOML; ``.yaml``/``.yml`` with PyYAML)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([("", f"cannot read: {exc.strerror or exc}")], str(p)) from None
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ScenarioError([("", "YAML scenarios need PyYAML (pip install pyyaml); or use TOML")],
                                str(p)) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError([("", f"invalid YAML: {exc}")], str(p)) from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError([("", f"invalid TOML: {exc}")], str(p)) from None
    if not isinstance(data, dict):
        raise ScenarioError([("", "the file must hold a table of settings")], str(p))
    return data


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file, after applying ``overrides`` (key path -> value)."""
    raw = read_scenario_file(path)
    for key, value in (overrides or {}).items():
        raw = apply_override(raw, key, value, source=str(path))
    return parse_scenario(raw, str(path))


_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]")


def _parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for segment in path.split("."):
        if not segment:
            raise ScenarioError([(path, "empty segment in key path")])
        i = 0
        while i < len(segment):
            m = _TOKEN.match(segment, i)
            if m is None or (m.group(2) is not None and i == 0 and not parts):
                raise ScenarioError([(path, f"cannot read the key path at {segment[i:]!r}")])
            parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
            i = m.end()
    return parts


def apply_override(raw: Mapping[str, Any], path: str, value: Any, *, source: str | None = None) -> dict[str, Any]:
    """A deep copy of ``raw`` with the value at ``path`` (``dealers[0].config.skew_bp``) replaced.

    Missing tables on the way are created; a list index must exist.
    """
    out = copy.deepcopy(dict(raw))
    parts = _parse_path(path)
    node: Any = out
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        here = format_path(tuple(parts[: k + 1]))
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ScenarioError([(here, "is not a list")], source)
            if not 0 <= part < len(node):
                raise ScenarioError([(here, f"no such element (the list has {len(node)})")], source)
            if last:
                node[part] = value
            else:
                node = node[part]
        else:
            if not isinstance(node, dict):
                raise ScenarioError([(here, "is not a table")], source)
            if last:
                node[part] = value
            else:
                nxt = parts[k + 1]
                if part not in node:
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
    return out


@lru_cache(maxsize=4)
def _universe(config: UniverseConfig) -> Universe:
    return build_universe(config)


def universe_for(scenario: Scenario) -> Universe:
    """The scenario's universe (built once per process per settings; universes are immutable)."""
    return _universe(scenario.universe.config())


def default_scenario() -> Scenario:
    """A built-in scenario (what ``scenarios/quickstart.toml`` holds): five reference dealers, one hour."""
    return parse_scenario({
        "name": "default",
        "description": "five reference mid-spread dealers, mixed real-money and hedge-fund flow, one hour",
        "seed": 1,
        "horizon_hours": 1.0,
        "dealers": [
            {"id": "mid-a", "strategy": "mid_spread", "config": {"skew_bp": 0.0}, "latency_ms": 15},
            {"id": "mid-b", "strategy": "mid_spread", "config": {"skew_bp": 1.0, "basket_factor": 0.6},
             "latency_ms": 25},
            {"id": "mid-c", "strategy": "mid_spread",
             "config": {"skew_bp": -0.5, "liquid_half_spread_bp": 6.0, "illiquid_half_spread_bp": 50.0},
             "latency_ms": 35},
            {"id": "mid-d", "strategy": "mid_spread", "config": {"skew_bp": 2.0, "hy_multiplier": 2.5},
             "latency_ms": 45},
            {"id": "mid-e", "strategy": "mid_spread",
             "config": {"skew_bp": 0.5, "basket_factor": 0.8, "illiquid_half_spread_bp": 35.0}, "latency_ms": 55},
        ],
        "flow": {"rfq_per_hour": 120, "portfolio_per_hour": 2},
    }, "built-in default scenario")
