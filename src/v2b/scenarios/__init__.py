"""Data-driven generative models: episodes, replay months and futures for the MPC.

The public API::

    from v2b.scenarios import site_scenarios
    sc = site_scenarios(site)
    sc.test_episode(i), sc.pool_episode(i), sc.replay_episode(i)
    sc.future_sampler().sample(obs, n, rng)
    sc.model.save(path); GenerativeModel.load(path)
"""

from __future__ import annotations

from v2b.scenarios.episodes import EpisodeArrays, generate_episode, weekdays_of_month
from v2b.scenarios.futures import PoolFutureSampler
from v2b.scenarios.model import GenerativeModel
from v2b.scenarios.site import SiteScenarios, fit_site_model, site_scenarios

__all__ = [
    "EpisodeArrays",
    "GenerativeModel",
    "PoolFutureSampler",
    "SiteScenarios",
    "fit_site_model",
    "generate_episode",
    "site_scenarios",
    "weekdays_of_month",
]
