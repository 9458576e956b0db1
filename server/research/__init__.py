"""Research tools: scenarios, simulations on the virtual clock, metrics, tournaments, sweeps, a Gym env.

    from server.research import load_scenario, simulate

    result = simulate(load_scenario("scenarios/quickstart.toml"), seed=7)
    result.metrics["dealers"]["tight"]["pnl"]

The command line: ``rfqsim simulate | tournament | sweep`` (``server.research.cli.register``).
The Gymnasium environment is ``server.research.gym_env.DealerEnv`` (imported on demand: it needs
gymnasium).
"""

from server.research.flow import ClientOrder, FlowModel
from server.research.plugins import (
    ENTRY_POINT_GROUP,
    StrategyRef,
    available_strategies,
    build_strategy,
    registered_strategies,
    resolve_strategy,
)
from server.research.scenario import Scenario, ScenarioError, default_scenario, load_scenario, parse_scenario
from server.research.seeds import component_seed, stable_hash, stream
from server.research.simulate import ExternalDealer, Simulation, SimulationResult, simulate
from server.research.sweep import SweepResult, parse_grid, run_sweep
from server.research.tournament import TournamentResult, run_tournament, tournament_scenario

__all__ = [
    "ENTRY_POINT_GROUP",
    "ClientOrder",
    "ExternalDealer",
    "FlowModel",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulationResult",
    "StrategyRef",
    "SweepResult",
    "TournamentResult",
    "available_strategies",
    "build_strategy",
    "component_seed",
    "default_scenario",
    "load_scenario",
    "parse_grid",
    "parse_scenario",
    "registered_strategies",
    "resolve_strategy",
    "run_sweep",
    "run_tournament",
    "simulate",
    "stable_hash",
    "stream",
    "tournament_scenario",
]
