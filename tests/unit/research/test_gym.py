"""The Gymnasium environment: the checker passes; a seeded rollout repeats exactly."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

from server.research.gym_env import ENV_ID, N_OBS, DealerEnv


def test_env_checker_passes() -> None:
    env = gym.make(ENV_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warnings from the checker either
        check_env(env.unwrapped)
    assert env.observation_space.shape == (N_OBS,)


def rollout(seed: int, policy_seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    env = DealerEnv()
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(policy_seed)
    observations, rewards = [obs], []
    steps = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        assert env.observation_space.contains(obs)
        observations.append(obs)
        rewards.append(reward)
        steps += 1
        if terminated or truncated:
            break
    assert info["inquiry_id"] is None
    return np.array(observations), np.array(rewards), steps


def test_seeded_rollout_repeats_exactly() -> None:
    a, b, c = rollout(4), rollout(4), rollout(5)
    assert a[2] > 50
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not (a[0].shape == c[0].shape and np.array_equal(a[0], c[0]))


def test_actions_map_to_spreads_and_passes() -> None:
    env = DealerEnv(min_spread_bp=-10, max_spread_bp=30)
    assert env.spread_bp(np.array([-0.1, 0.0])) is None
    assert env.spread_bp(np.array([0.5, -1.0])) == -10 and env.spread_bp(np.array([0.5, 1.0])) == 30
    obs, info = env.reset(seed=1)
    assert info["inquiry_id"] is not None and obs[17] >= 0
    # always passing: no trades, so no P&L and no inventory penalty
    total = 0.0
    terminated = False
    while not terminated:
        _, reward, terminated, _, info = env.step(np.array([-1.0, 0.0], dtype=np.float32))
        total += float(reward)
    assert total == 0.0 and info["pnl"] == 0.0
