"""Random streams: one seed per run, one independent stream per component.

A component's stream is ``SeedSequence(seed, spawn_key=(stable_hash(name), ...))``: it depends on
the run's seed and the component's *name* only, never on how many other components there are or
in which order they were created. Adding a dealer therefore leaves the client flow, the market
and every other dealer's draws exactly as they were.

``stable_hash`` is a 32-bit BLAKE2b digest of the UTF-8 name: the same on every machine, process
and Python version (``hash(str)`` is salted per process and would break reproducibility).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["component_seed", "seed_sequence", "stable_hash", "stream"]


def stable_hash(name: str) -> int:
    """A stable unsigned 32-bit hash of ``name``."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=4).digest(), "big")


def seed_sequence(seed: int, *names: str) -> np.random.SeedSequence:
    """The seed sequence of component ``names`` (a path: ``("flow", "rfq")``) in run ``seed``."""
    if seed < 0:
        raise ValueError("seed must be non-negative")
    return np.random.SeedSequence(seed, spawn_key=tuple(stable_hash(n) for n in names))


def stream(seed: int, *names: str) -> np.random.Generator:
    """A PCG64 generator for component ``names`` of run ``seed``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *names)))


def component_seed(seed: int, *names: str) -> int:
    """A plain integer seed (63 bits) for a component that seeds itself (e.g. a bot's ``config.seed``)."""
    state = seed_sequence(seed, *names).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
