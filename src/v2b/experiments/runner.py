"""Run policies on a site's episodes: one run, or a grid of runs on a process pool.

A run is described by plain data (:class:`RunSpec`), so it pickles to a worker
process and its result (the summary) comes back as data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v2b.control.registry import make_policy
from v2b.data.openv2b import read_openv2b
from v2b.episode import Episode
from v2b.errors import UserError
from v2b.scenarios import site_scenarios
from v2b.scenarios.openv2b_episode import openv2b_episode, openv2b_site
from v2b.sim import SimResult, simulate
from v2b.site import Site, load_site
from v2b.users.choice import LogitChooser
from v2b.users.population import site_chooser
from v2b.users.types import PROFILES


class RunError(UserError):
    """A run that cannot start (bad episode index, unknown policy...)."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one simulation run."""

    site: str
    policy: str
    episode: int
    seed: int = 1
    days: int | None = None
    replay: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    skip_invalid: bool = False
    openv2b: str | None = None


def episode_for(
    site: Site,
    index: int,
    replay: bool = False,
    days: int | None = None,
    skip_invalid: bool = False,
) -> Episode:
    """Test episode ``index`` (or replay month ``index``), optionally shortened."""
    scenarios = site_scenarios(site, skip_invalid)
    count = scenarios.n_replay if replay else scenarios.n_test
    kind = "replay month" if replay else "test episode"
    if not 0 <= index < count:
        raise RunError(f"{kind} {index} does not exist: site {site.name!r} has {kind}s 0..{count - 1}")
    episode = scenarios.replay_episode(index) if replay else scenarios.test_episode(index)
    return _shortened(episode, days)


def _shortened(episode: Episode, days: int | None) -> Episode:
    if days is None:
        return episode
    if days < 1:
        raise RunError(f"--days must be at least 1, got {days}")
    return episode.truncated(days)


def openv2b_run_inputs(spec: RunSpec, defaults: Site) -> tuple[Site, Episode, tuple[str, ...]]:
    """The site and episode of an openv2b scenario directory (``spec.openv2b``), and what of
    the scenario v2b does not model (``OpenV2BScenario.ignored``)."""
    scenario = read_openv2b(spec.openv2b or "", skip_invalid=spec.skip_invalid)
    site = openv2b_site(scenario, defaults)
    return site, _shortened(openv2b_episode(scenario, site.name), spec.days), scenario.ignored


def run(spec: RunSpec, site: Site | None = None,
        progress: Callable[[int, int], None] | None = None) -> SimResult:
    """Simulate one :class:`RunSpec`; ``progress(slots done, slots)`` after each day.

    An openv2b scenario brings its own chargers, prices and episode and has no
    sampling pool: sampling policies then see no futures (``futures=None``).
    """
    site = scaled_site(site or load_site(spec.site), spec.options.get("arrival_scale"))
    policy = make_policy(spec.policy)
    not_modelled: tuple[str, ...] = ()
    if spec.openv2b:
        site, episode, not_modelled = openv2b_run_inputs(spec, site)
        futures = None
    else:
        episode = episode_for(site, spec.episode, spec.replay, spec.days, spec.skip_invalid)
        futures = site_scenarios(site, spec.skip_invalid).future_sampler()
    result = simulate(
        site,
        episode,
        policy,
        seed=spec.seed,
        futures=futures,
        chooser=chooser_for(site, spec.options),
        policy_options=spec.options,
        progress=progress,
    )
    if spec.openv2b:
        result.summary["openv2b_not_modelled"] = list(not_modelled)
    return result


def scaled_site(site: Site, scale: float | None) -> Site:
    """``site`` with ``scale`` times its arrivals per weekday and (rounded up) chargers,
    for timing the controllers against arrival intensity (the paper's Figure 2); the
    building is unchanged. ``None`` or 1 returns the site itself."""
    if scale is None or scale == 1.0:
        return site
    if not (isinstance(scale, int | float) and 0.01 <= scale <= 100):
        raise RunError(f"option arrival_scale={scale!r} must be a number in 0.01..100")
    data = site.model_dump()  # a new Site, not a copy: a copy would keep cached charger lists
    for group in data["chargers"]:
        group["count"] = max(1, math.ceil(group["count"] * scale))
    data["sessions"]["arrivals_per_day"] *= scale
    return Site.model_validate(data)


def chooser_for(site: Site, options: dict[str, Any]) -> LogitChooser:
    """The site's drivers, with ``choice_temperature_usd`` and ``user_profile`` from the
    run's options where given (``--temperature``, ``--profile``)."""
    temperature = options.get("choice_temperature_usd")
    if temperature is not None and not (isinstance(temperature, int | float) and 0 <= temperature <= 1000):
        raise RunError(f"--temperature {temperature!r} must be a number of dollars in 0..1000")
    profile = options.get("user_profile")
    if profile is not None and profile not in PROFILES:
        raise RunError(f"--profile {profile!r} is not one of {', '.join(PROFILES)}")
    return site_chooser(site, temperature, profile)


def _summary_of(spec: RunSpec) -> dict[str, Any]:
    return run(spec).summary


def run_many(
    specs: list[RunSpec],
    workers: int | None = None,
    on_done: Callable[[RunSpec, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Summaries of ``specs`` in input order; ``workers`` > 1 uses a process pool."""
    workers = workers or 1
    results: list[dict[str, Any] | None] = [None] * len(specs)
    if workers <= 1:
        for i, spec in enumerate(specs):
            results[i] = _summary_of(spec)
            if on_done:
                on_done(spec, results[i])
    else:
        for i, summary in _pool_map(specs, workers):
            results[i] = summary
            if on_done:
                on_done(specs[i], summary)
    return [r for r in results if r is not None]


def _pool_map(specs: list[RunSpec], workers: int) -> Iterator[tuple[int, dict[str, Any]]]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_summary_of, spec): i for i, spec in enumerate(specs)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def site_label(site_arg: str) -> str:
    """The name shown for ``--site`` (a file path shows as its stem)."""
    return Path(site_arg).stem if site_arg.endswith((".toml", ".json")) else site_arg
