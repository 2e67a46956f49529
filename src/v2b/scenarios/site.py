"""A site's episodes: fitted once per data source, generated lazily, seeded per episode.

Episode ``i`` of a site (0-based over ``site.scenarios.episodes``) comes from
``numpy.random.default_rng([seed, i])``: indices ``0 .. pool-1`` form the
sampling pool, the rest are the test episodes. Replay episode ``j`` draws its
thinning and SoC from ``default_rng([seed, REPLAY_STREAM, j])``. Nothing depends
on which episodes were generated before, so any one is identical in any process.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np

from v2b.control.mpc_peak import hindsight_peak_kw
from v2b.data.fleet import read_fleet
from v2b.data.load import LoadData
from v2b.data.sessions import SessionData
from v2b.data.sources import read_load, read_sessions
from v2b.episode import Episode
from v2b.scenarios.episodes import EpisodeArrays, generate_episode
from v2b.scenarios.futures import PoolFutureSampler
from v2b.scenarios.model import GenerativeModel
from v2b.scenarios.replay import replay_episode, replay_load_kw, replay_months
from v2b.site import Site

REPLAY_STREAM = 7_000_001
_FITS: dict[tuple, tuple[GenerativeModel, SessionData, LoadData]] = {}
_SITES: dict[tuple, SiteScenarios] = {}
_LOCK = threading.Lock()


def _fingerprint(site: Site, source: str) -> tuple:
    if source.startswith("builtin:"):
        return (source,)
    path = site.resolve(source).resolve()
    try:
        stat = path.stat()
    except OSError:
        return (str(path),)
    return (str(path), stat.st_mtime_ns, stat.st_size)


def _fit_key(site: Site) -> tuple:
    return (
        _fingerprint(site, site.sessions.source),
        site.sessions.format,
        _fingerprint(site, site.load.source),
        site.timezone,
    )


def _source(site: Site, source: str) -> str | Path:
    return source if source.startswith("builtin:") else site.resolve(source)


def fit_site_model(
    site: Site, skip_invalid: bool = False
) -> tuple[GenerativeModel, SessionData, LoadData]:
    """Read the site's sessions and load and fit the model (cached per data source).

    ``skip_invalid`` drops malformed rows of user files (their reports are on the
    returned data's ``report``) instead of raising on the first one.
    """
    model_path = site.resolve(site.scenarios.model) if site.scenarios.model else None
    key = (*_fit_key(site), skip_invalid, _fingerprint(site, str(model_path)) if model_path else None)
    with _LOCK:
        if key not in _FITS:
            sessions = read_sessions(
                _source(site, site.sessions.source),
                site.sessions.format,
                timezone=site.timezone,
                skip_invalid=skip_invalid,
            )
            load = read_load(
                _source(site, site.load.source), timezone=site.timezone, skip_invalid=skip_invalid
            )
            if model_path is not None:
                model = GenerativeModel.load(model_path)
            else:
                model = GenerativeModel.fit(sessions, load, read_fleet())
            _FITS[key] = (model, sessions, load)
        return _FITS[key]


class SiteScenarios:
    """The episodes of one site (see module docstring). Use :func:`site_scenarios`."""

    def __init__(
        self, site: Site, model: GenerativeModel, sessions: SessionData, load: LoadData | None = None
    ) -> None:
        self.site = site
        self.model = model
        self.sessions = sessions
        self.load = load
        self.seed = site.scenarios.seed
        self.n_pool = site.scenarios.pool
        self.n_test = site.scenarios.episodes - site.scenarios.pool
        self._arrays: dict[int, EpisodeArrays] = {}
        self._replay_peaks: dict[int, float] = {}
        self._replay_hindsight: dict[int, float] = {}

    @cached_property
    def _replay_months(self) -> list[tuple[int, int]]:
        return replay_months(self.sessions)

    @property
    def n_replay(self) -> int:
        return len(self._replay_months)

    def episode_arrays(self, i: int) -> EpisodeArrays:
        """Generated episode ``i`` over all indices (pool first, then test)."""
        if not 0 <= i < self.site.scenarios.episodes:
            raise IndexError(f"episode {i} outside 0..{self.site.scenarios.episodes - 1}")
        if i not in self._arrays:
            self._arrays[i] = generate_episode(
                self.model,
                np.random.default_rng([self.seed, i]),
                arrivals_per_day=self.site.sessions.arrivals_per_day,
                load_scale=self.site.load.scale,
            )
        return self._arrays[i]

    def _check(self, i: int, n: int, kind: str) -> None:
        if not 0 <= i < n:
            raise IndexError(f"{kind} episode {i} outside 0..{n - 1} for site {self.site.name}")

    def pool_episode(self, i: int) -> Episode:
        self._check(i, self.n_pool, "pool")
        return self.episode_arrays(i).to_episode(self.site.name, "pool", i)

    def test_episode(self, i: int) -> Episode:
        self._check(i, self.n_test, "test")
        return self.episode_arrays(self.n_pool + i).to_episode(self.site.name, "test", i)

    def replay_episode(self, i: int) -> Episode:
        """Recorded month ``i`` (in time order) of the session data; see :mod:`.replay`."""
        self._check(i, self.n_replay, "replay")
        episode = self._replay_arrays(i).to_episode(self.site.name, "replay", i)
        return replace(episode, peak_history_kw=self.replay_history_kw(i),
                       hindsight_history_kw=self.replay_hindsight_kw(i))

    def replay_history_kw(self, i: int) -> tuple[tuple[int, float], ...]:
        """The billing history a recorded month's controller has: each earlier recorded
        month's calendar month and building peak [kW] (:attr:`v2b.episode.Episode.peak_history_kw`)."""
        self._check(i, self.n_replay, "replay")
        return tuple((self._replay_months[j][1], self._replay_peak_kw(j)) for j in range(i))

    def replay_hindsight_kw(self, i: int) -> tuple[tuple[int, float], ...]:
        """Each earlier recorded month's calendar month and hindsight peak [kW]
        (:func:`v2b.control.mpc_peak.hindsight_peak_kw`, from its own load and sessions)."""
        self._check(i, self.n_replay, "replay")
        return tuple((self._replay_months[j][1], self._replay_hindsight_kw(j)) for j in range(i))

    def _replay_arrays(self, j: int) -> EpisodeArrays:
        year, month = self._replay_months[j]
        return replay_episode(self.model, self.sessions, year, month,
                              np.random.default_rng([self.seed, REPLAY_STREAM, j]),
                              arrivals_per_day=self.site.sessions.arrivals_per_day,
                              load_scale=self.site.load.scale)

    def _replay_hindsight_kw(self, j: int) -> float:
        if j not in self._replay_hindsight:
            (month,) = PoolFutureSampler([self._replay_arrays(j)]).pool_months()
            self._replay_hindsight[j] = hindsight_peak_kw(self.site, *month)
        return self._replay_hindsight[j]

    def _replay_peak_kw(self, j: int) -> float:
        if j not in self._replay_peaks:
            year, month = self._replay_months[j]
            self._replay_peaks[j] = float(replay_load_kw(self.model, self.sessions, year, month,
                                                         self.site.load.scale).max())
        return self._replay_peaks[j]

    def replay_month(self, i: int) -> tuple[int, int]:
        """(year, month) of replay episode ``i``."""
        self._check(i, self.n_replay, "replay")
        return self._replay_months[i]

    @cached_property
    def _sampler(self) -> PoolFutureSampler:
        return PoolFutureSampler([self.episode_arrays(i) for i in range(self.n_pool)])

    def future_sampler(self) -> PoolFutureSampler:
        """Futures from the sampling pool (built on first use, then shared)."""
        return self._sampler


def site_scenarios(site: Site, skip_invalid: bool = False) -> SiteScenarios:
    """The scenarios of ``site``, cached per (site name, site content, data files)."""
    key = (site.name, site.model_dump_json(), _fit_key(site), skip_invalid)
    with _LOCK:
        cached = _SITES.get(key)
    if cached is not None:
        return cached
    model, sessions, load = fit_site_model(site, skip_invalid)
    made = SiteScenarios(site, model, sessions, load)
    with _LOCK:
        return _SITES.setdefault(key, made)


def site_model_summary(site: Site) -> str:
    """JSON summary of the fitted model of a site (for ``v2b site show``)."""
    return json.dumps(site_scenarios(site).model.describe(), indent=2, default=str)
