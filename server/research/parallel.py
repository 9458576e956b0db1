"""Run independent simulations: in this process, in local worker processes, or on a Ray cluster.

Every job is one simulation (a scenario and a seed); results come back in job order whatever the
executor, and since a run depends on nothing but its scenario and seed, one worker, many workers
and a cluster give the same rows.

Ray is optional and imported only when asked for (``ray_address``): ``"local"`` starts a local
Ray instance with ``workers`` CPUs; anything else (``"auto"``, ``"ray://host:10001"``) connects to
that cluster, whose workers need rfqsim (and any plug-in strategies) installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from server.research.metrics import flatten_metrics
from server.research.scenario import Scenario
from server.research.simulate import Simulation

__all__ = ["RunJob", "run_jobs", "run_one"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RunJob:
    scenario: Scenario
    seed: int
    tag: dict[str, Any]  # carried into the row (grid point, parameters)


def run_one(job: RunJob) -> dict[str, Any]:
    """Simulate one job; its flat row of headline figures (``tag`` first)."""
    result = Simulation(job.scenario, job.seed).run()
    return {**job.tag, **flatten_metrics(result.metrics)}


def _ray_map(fn: Callable[[T], R], jobs: Sequence[T], address: str, workers: int) -> list[R]:
    try:
        import ray
    except ImportError:
        raise RuntimeError("the Ray executor needs ray: pip install ray") from None
    started = False
    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=max(workers, 1), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
        started = True
    try:
        remote = ray.remote(fn)
        return list(ray.get([remote.remote(job) for job in jobs]))
    finally:
        if started:
            ray.shutdown()


def run_jobs(fn: Callable[[T], R], jobs: Sequence[T], *, workers: int = 1, ray_address: str | None = None,
             on_done: Callable[[int], None] | None = None) -> list[R]:
    """``[fn(job) for job in jobs]``, in order, on the chosen executor. ``on_done(n)`` reports progress."""
    if ray_address:
        out = _ray_map(fn, jobs, ray_address, workers)
        if on_done is not None:
            on_done(len(out))
        return out
    if workers <= 1 or len(jobs) <= 1:
        results: list[R] = []
        for job in jobs:
            results.append(fn(job))
            if on_done is not None:
                on_done(len(results))
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        collected: list[R] = []
        it: Iterator[R] = pool.map(fn, jobs)
        for r in it:
            collected.append(r)
            if on_done is not None:
                on_done(len(collected))
        return collected
