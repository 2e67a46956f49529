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
profile is close to the load seen so far this month weigh more (a Gaussian kernel
on the RMS distance, width ``bandwidth`` x the pool's mean load), and so do pool
months of a calendar month near today's (a Gaussian kernel on the distance in
months around the year, width ``season_months``): on the first morning of a month
a few hours of load cannot tell October from August, the date can. Each pool
month contributes its highest daily peak over as many days as are left. Each
scenario ``f`` gets the floor ``max(peak so far, M_f)`` with ``M_f`` a weighted
quantile of those peaks, so the SAA prices today's peak as
``K_DC x E_f[max(p_today, M_f)]``. On the default site's test months the 10 % /
90 % quantiles bracketed the realised rest-of-month peak 86 % of the time, median
error -0.8 kW, before the calendar kernel (``docs/model.md``, "Controller:
month-aware demand charge").
"""

from __future__ import annotations

import logging
import weakref

import numpy as np

from v2b.interface import Observation
from v2b.opt.daypeak import ev_day_peaks_kw
from v2b.site import Site

log = logging.getLogger(__name__)

#: Day peaks with EVs per sampling pool (an LP per pool month: computed once per process).
_DAY_PEAKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
    day_peaks_kw : list of ndarray, optional
        Each pool month's day peaks [kW] (default: its building's).
    month_of_year : ndarray of int, optional
        Each pool month's calendar month (1-12); without it the season is not weighed.
    season_months : float
        Width of the calendar-month kernel [months]; 0: every calendar month alike.
    """

    def __init__(self, months: list[np.ndarray], bandwidth: float = 0.06,
                 day_peaks_kw: list[np.ndarray] | None = None,
                 month_of_year: np.ndarray | None = None, season_months: float = 0.0):
        if not months:
            raise ValueError("no pool months")
        if month_of_year is not None and len(month_of_year) != len(months):
            raise ValueError(f"{len(month_of_year)} calendar months for {len(months)} pool months")
        if season_months < 0:
            raise ValueError(f"season_months={season_months} must be at least 0")
        self.month_of_year = None if month_of_year is None else np.asarray(month_of_year, dtype=int)
        self.season_months = float(season_months)
        width = max(m.shape[0] for m in months)
        self.n_days = np.array([m.shape[0] for m in months])
        self.peak_kw = np.zeros((len(months), width))
        for i, m in enumerate(months):
            self.peak_kw[i, : m.shape[0]] = m.max(axis=1) if day_peaks_kw is None else day_peaks_kw[i]
        self.profile_kw = np.stack([m.mean(axis=0) for m in months])
        self.sigma_kw = bandwidth * float(self.profile_kw.mean())

    @classmethod
    def from_sampler(cls, sampler: object, site: Site, mode: str = "pool",
                     season_months: float = 0.0) -> MonthPeakPrior | None:
        """The prior from the sampling pool the policy was given (never from anywhere the
        test episodes live); ``None`` when the sampler has no pool months.

        ``mode`` (the controller's ``month_peak``): ``"pool"``, a pool day's peak is the
        building's own; ``"pool-ev"``, the lowest peak at which its EVs could all be charged
        within their stays; ``"pool-tradeoff"``, the day's peak under the month's best trade
        between the demand charge and the unmet-energy penalty
        (:func:`v2b.opt.daypeak.ev_day_peaks_kw`). ``season_months``: the calendar-month
        kernel's width (used where the sampler knows its months' calendar months).
        """
        months = getattr(sampler, "pool_months", None)
        if months is None:
            return None
        data = months()
        loads = [load for load, *_ in data]
        season = {"month_of_year": getattr(sampler, "month_of_year", None), "season_months": season_months}
        if mode == "pool":
            return cls(loads, **season)
        ch = site.charger_arrays
        rating = (float(ch.max_kw.max()), float(np.mean(ch.charge_efficiency)))
        tradeoff = None
        if mode == "pool-tradeoff":
            tradeoff = (site.tariff.demand_charge_usd_per_kw, site.penalties.soc_penalty_usd_per_kwh)
        key = (*rating, tradeoff)
        cached = _DAY_PEAKS.setdefault(sampler, {})
        if key not in cached:
            cached[key] = [ev_day_peaks_kw(load, day, arrive, leave, kwh, *rating, month_tradeoff=tradeoff)
                           for load, day, arrive, leave, kwh in data]
        return cls(loads, day_peaks_kw=cached[key], **season)

    def rest_of_month_kw(self, history: LoadHistory, obs: Observation) -> tuple[np.ndarray, np.ndarray]:
        """Each pool month's highest daily peak over the days left, and its weight."""
        months = np.arange(self.n_days.size)
        sq, count = np.zeros(months.size), 0
        for _, load in history.days():
            sq += ((load[None, :] - self.profile_kw[:, : load.size]) ** 2).sum(axis=1)
            count += load.size
        distance = np.sqrt(sq / max(count, 1))
        log_weight = -0.5 * ((distance - distance.min()) / self.sigma_kw) ** 2
        if self.month_of_year is not None and self.season_months > 0 and 1 <= obs.month_of_year <= 12:
            apart = np.abs(self.month_of_year - obs.month_of_year) % 12
            apart = np.minimum(apart, 12 - apart)
            log_weight = log_weight - 0.5 * (apart / self.season_months) ** 2
        weight = np.exp(log_weight - log_weight.max())
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

