"""The rest of the month's peak, as a per-scenario floor for today's plan.

The demand charge is paid once a month on the highest 15-minute power. A plan
for today only should therefore pay for raising *today's* peak only as far as
it would exceed the peak the month is going to have anyway. The paper charges
``K_DC x p_max`` on the day as if today were the last day of the month, which
makes a controller early in the month sacrifice EV energy to protect a low peak
that a later day's building load overrides regardless (measured in
``docs/benchmarks.md``, "Controller: month-aware demand charge").

This module estimates the building's peak over the remaining days of the
billing month from the sampling pool's months. Pool months whose average daily
profile is close to the load seen so far this month (the same season) weigh
more (a Gaussian kernel on the RMS distance, width ``bandwidth`` x the pool's
mean load); each pool month contributes its highest daily peak over as many
days as are left. Each scenario ``f`` gets the floor ``max(peak so far, M_f)``
with ``M_f`` a weighted quantile of those peaks, so the SAA prices today's peak
as ``K_DC x E_f[max(p_today, M_f)]``. On the default site's test months the
10 % / 90 % quantiles bracketed the realised rest-of-month peak 86 % of the
time, median error -0.8 kW (``docs/model.md``, "Controller: month-aware demand
charge").
"""

from __future__ import annotations

import logging

import numpy as np

from v2b.interface import Observation
from v2b.site import Site
from v2b.timegrid import SLOTS_PER_DAY

log = logging.getLogger(__name__)


class LoadHistory:
    """The building load the controller has seen this month, day by day."""

    def __init__(self) -> None:
        self._days: dict[int, np.ndarray] = {}

    def observe(self, obs: Observation) -> None:
        """Keep the longest observed profile of each day (the latest observation)."""
        seen = self._days.get(obs.day)
        if seen is None or seen.size < obs.load_today_kw.size:
            self._days[obs.day] = np.asarray(obs.load_today_kw, dtype=float).copy()

    def days(self) -> list[tuple[int, np.ndarray]]:
        return sorted(self._days.items())


class MonthPeakPrior:
    """Rest-of-month building peaks from the sampling pool's months.

    Parameters
    ----------
    months : list of ndarray
        Each pool month's building load, shape ``(days, 96)`` [kW].
    bandwidth : float
        Kernel width as a fraction of the pool's mean load.
    """

    def __init__(self, months: list[np.ndarray], bandwidth: float = 0.06):
        if not months:
            raise ValueError("no pool months")
        width = max(m.shape[0] for m in months)
        self.n_days = np.array([m.shape[0] for m in months])
        self.peak_kw = np.zeros((len(months), width))
        for i, m in enumerate(months):
            self.peak_kw[i, : m.shape[0]] = m.max(axis=1)
        self.profile_kw = np.stack([m.mean(axis=0) for m in months])
        self.sigma_kw = bandwidth * float(self.profile_kw.mean())

    @classmethod
    def from_site(cls, site: Site) -> MonthPeakPrior | None:
        """The prior from the site's sampling pool, or ``None`` if it has none."""
        try:
            from v2b.scenarios import site_scenarios

            sc = site_scenarios(site)
            months = [
                sc.pool_episode(i).load_kw.reshape(-1, SLOTS_PER_DAY) for i in range(sc.n_pool)
            ]
        except (ValueError, OSError) as err:  # no usable pool (bad data, missing file): month-blind
            log.warning("no sampling pool for site %s (%r): month-blind demand charge", site.name, err)
            return None
        return cls(months)

    def rest_of_month_kw(self, history: LoadHistory, obs: Observation) -> tuple[np.ndarray, np.ndarray]:
        """Each pool month's highest daily peak over the days left, and its weight."""
        months = np.arange(self.n_days.size)
        sq, count = np.zeros(months.size), 0
        for _, load in history.days():
            sq += ((load[None, :] - self.profile_kw[:, : load.size]) ** 2).sum(axis=1)
            count += load.size
        distance = np.sqrt(sq / max(count, 1))
        weight = np.exp(-0.5 * ((distance - distance.min()) / self.sigma_kw) ** 2)
        rest = np.arange(obs.day + 1, obs.episode_days)
        if rest.size == 0:
            return np.zeros(months.size), weight / weight.sum()
        days = rest[None, :] % self.n_days[:, None]
        peak = self.peak_kw[months[:, None], days].max(axis=1)
        return peak, weight / weight.sum()

    def floors(self, history: LoadHistory, obs: Observation, n: int) -> np.ndarray:
        """``n`` scenario floors: weighted quantiles of the rest-of-month peak [kW]."""
        peak, weight = self.rest_of_month_kw(history, obs)
        order = np.argsort(peak)
        cdf = np.cumsum(weight[order])
        q = (np.arange(n) + 0.5) / n
        picked = peak[order][np.minimum(np.searchsorted(cdf, q), peak.size - 1)]
        return np.maximum(picked, obs.peak_so_far_kw)
