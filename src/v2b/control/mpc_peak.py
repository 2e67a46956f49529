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
from v2b.timegrid import SLOT_H, SLOTS_PER_DAY

log = logging.getLogger(__name__)


def ev_fill_level_kw(
    load_kw: np.ndarray,
    energy_kwh: np.ndarray,
    first_slot: np.ndarray,
    last_slot: np.ndarray,
    capacity_kw: float,
    efficiency: float,
) -> np.ndarray:
    """The lowest metered peak at which each day's EV energy fits under it [kW].

    Valley filling between the day's first arrival and last departure: the level
    ``P`` such that ``sum_t min(max(P - load_t, 0), capacity) x 0.25 h = energy /
    efficiency``, found by bisection for all days at once. Individual sessions'
    windows are ignored (an estimate from below of what charging the day needs);
    days without EVs get 0.

    Parameters
    ----------
    load_kw : ndarray, shape (days, 96)
        Building load [kW].
    energy_kwh : ndarray, shape (days,)
        EV energy asked for [kWh].
    first_slot, last_slot : ndarray of int
        Window of the day's sessions [slot of day, last exclusive]; -1 without sessions.
    capacity_kw : float
        All controllable chargers at full power [kW].
    efficiency : float
        Charging efficiency.
    """
    slots = np.arange(SLOTS_PER_DAY)
    inside = (slots[None, :] >= first_slot[:, None]) & (slots[None, :] < last_slot[:, None])
    need = energy_kwh / efficiency
    lo = np.where(inside, load_kw, np.inf).min(axis=1, initial=np.inf)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = load_kw.max(axis=1) + capacity_kw
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        room = np.clip(mid[:, None] - load_kw, 0.0, capacity_kw) * SLOT_H
        enough = np.where(inside, room, 0.0).sum(axis=1) >= need
        hi = np.where(enough, mid, hi)
        lo = np.where(enough, lo, mid)
    has = (last_slot > first_slot) & (need > 0)
    return np.where(has, hi, 0.0)


class LoadHistory:
    """The building load the controller has seen this month, day by day."""

    def __init__(self) -> None:
        self._days: dict[int, np.ndarray] = {}
        self._ev_kwh: dict[int, float] = {}

    def observe(self, obs: Observation) -> None:
        """Keep the longest observed profile of each day (the latest observation)."""
        seen = self._days.get(obs.day)
        if seen is None or seen.size < obs.load_today_kw.size:
            self._days[obs.day] = np.asarray(obs.load_today_kw, dtype=float).copy()

    def record_arrival(self, day: int, requested_kwh: float) -> None:
        """An EV that plugged in on ``day`` asking for ``requested_kwh``."""
        self._ev_kwh[day] = self._ev_kwh.get(day, 0.0) + requested_kwh

    def ev_kwh_per_day(self, before_day: int) -> float | None:
        """Mean EV energy asked for per day over the days before ``before_day`` seen so far
        (``None`` before the first whole day)."""
        days = [d for d in self._days if d < before_day]
        if not days:
            return None
        return float(np.mean([self._ev_kwh.get(d, 0.0) for d in days]))

    def days(self) -> list[tuple[int, np.ndarray]]:
        return sorted(self._days.items())


class EvDemand:
    """The pool months' daily EV energy and session windows, for :func:`ev_fill_level_kw`."""

    def __init__(self, months: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                 capacity_kw: float, efficiency: float):
        width = max(load.shape[0] for load, *_ in months)
        self.load_kw = np.zeros((len(months), width, SLOTS_PER_DAY))
        self.energy_kwh = np.zeros((len(months), width))
        self.first = np.full((len(months), width), -1)
        self.last = np.full((len(months), width), -1)
        for i, (load, energy, first, last) in enumerate(months):
            n = load.shape[0]
            self.load_kw[i, :n], self.energy_kwh[i, :n] = load, energy
            self.first[i, :n], self.last[i, :n] = first, last
        self.mean_kwh_per_day = float(np.mean(np.concatenate([e for _, e, _, _ in months])))
        self.capacity_kw, self.efficiency = capacity_kw, efficiency

    def fill_levels(self, scale: float) -> np.ndarray:
        """Per (month, day), the peak the day's EV energy x ``scale`` needs [kW]."""
        shape = self.energy_kwh.shape
        level = ev_fill_level_kw(self.load_kw.reshape(-1, SLOTS_PER_DAY), scale * self.energy_kwh.ravel(),
                                 self.first.ravel(), self.last.ravel(), self.capacity_kw, self.efficiency)
        return level.reshape(shape)


class MonthPeakPrior:
    """Rest-of-month building peaks from the sampling pool's months.

    Parameters
    ----------
    months : list of ndarray
        Each pool month's building load, shape ``(days, 96)`` [kW].
    bandwidth : float
        Kernel width as a fraction of the pool's mean load.
    """

    def __init__(self, months: list[np.ndarray], bandwidth: float = 0.06,
                 ev: EvDemand | None = None):
        if not months:
            raise ValueError("no pool months")
        width = max(m.shape[0] for m in months)
        self.n_days = np.array([m.shape[0] for m in months])
        self.building_peak_kw = np.zeros((len(months), width))
        for i, m in enumerate(months):
            self.building_peak_kw[i, : m.shape[0]] = m.max(axis=1)
        self.profile_kw = np.stack([m.mean(axis=0) for m in months])
        self.sigma_kw = bandwidth * float(self.profile_kw.mean())
        self.ev = ev
        self._scaled: dict[float, np.ndarray] = {}

    def peak_kw(self, scale: float) -> np.ndarray:
        """Each pool day's peak, shape (months, days): the building's, or, with EV demand,
        at least the level its EVs' energy (times ``scale``) needs [kW]."""
        if self.ev is None:
            return self.building_peak_kw
        key = round(scale, 2)
        if key not in self._scaled:
            self._scaled[key] = np.maximum(self.building_peak_kw, self.ev.fill_levels(key))
        return self._scaled[key]

    @classmethod
    def from_sampler(cls, sampler: object, site: Site, ev_demand: bool = True) -> MonthPeakPrior | None:
        """The prior from the sampling pool the policy was given (never from anywhere the
        test episodes live); ``None`` when the sampler has no pool months.

        ``ev_demand``: each pool day's peak is at least the level its EVs' energy
        needs (:func:`ev_fill_level_kw`), scaled to the EV demand seen so far this month.
        """
        months = getattr(sampler, "pool_months", None)
        if months is None:
            return None
        data = months()
        loads = [load for load, *_ in data]
        if not ev_demand:
            return cls(loads)
        ch = site.charger_arrays
        return cls(loads, ev=EvDemand(data, float(ch.max_kw[ch.controllable].sum()),
                                      float(np.mean(ch.charge_efficiency))))

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
        scale = 1.0
        seen = history.ev_kwh_per_day(obs.day)
        if self.ev is not None and seen is not None and self.ev.mean_kwh_per_day > 0:
            scale = seen / self.ev.mean_kwh_per_day
        days = rest[None, :] % self.n_days[:, None]
        peak = self.peak_kw(scale)[months[:, None], days].max(axis=1)
        return peak, weight / weight.sum()

    def floors(self, history: LoadHistory, obs: Observation, n: int) -> np.ndarray:
        """``n`` scenario floors: weighted quantiles of the rest-of-month peak [kW]."""
        peak, weight = self.rest_of_month_kw(history, obs)
        order = np.argsort(peak)
        cdf = np.cumsum(weight[order])
        q = (np.arange(n) + 0.5) / n
        picked = peak[order][np.minimum(np.searchsorted(cdf, q), peak.size - 1)]
        return np.maximum(picked, obs.peak_so_far_kw)
