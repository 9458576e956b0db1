"""Determinism: the same scenario and seed give the same event log, byte for byte, in any process."""

from __future__ import annotations

import hashlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from server.research.scenario import load_scenario
from server.research.simulate import Simulation

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios" / "quickstart.toml"
PT_VS_RFQ = ROOT / "scenarios" / "pt_vs_rfq.toml"


def log_bytes(path: str, seed: int, overrides: dict[str, object] | None = None) -> bytes:
    sim = Simulation(load_scenario(path, overrides), seed, keep_log=True)
    result = sim.run()
    blob = result.log_bytes
    assert hashlib.sha256(blob).hexdigest() == result.log_sha256
    return blob


def digest(args: tuple[str, int, dict[str, object] | None]) -> str:
    return hashlib.sha256(log_bytes(*args)).hexdigest()


def test_same_seed_same_bytes_different_seed_different_bytes() -> None:
    a = log_bytes(str(QUICKSTART), 7)
    b = log_bytes(str(QUICKSTART), 7)
    c = log_bytes(str(QUICKSTART), 8)
    assert a == b and len(a) > 100_000
    assert a != c


def test_same_bytes_in_fresh_worker_processes() -> None:
    """Spawned interpreters (another hash seed for str, fresh caches) write the same log."""
    jobs: list[tuple[str, int, dict[str, object] | None]] = [
        (str(QUICKSTART), 3, None), (str(PT_VS_RFQ), 5, {"horizon_hours": 0.25})]
    here = [hashlib.sha256(log_bytes(*job)).hexdigest() for job in jobs]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = list(pool.map(digest, jobs))
    assert here == there
