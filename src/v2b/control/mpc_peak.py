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
on the RMS distance, width ``bandwidth`` x the pool's mean load, tempered by the share of
a day seen while less than a day is), and so do pool
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

With ``month_peak = "pool-value"`` the floor also carries the later days' EVs: the energy
they would leave unmet under each month's peak, from the pool month of each scenario's floor
and the days seen this month (:meth:`MonthPeakPrior.unmet_cuts`), and the pool's peaks are
levelled by the site's billing history (:func:`history_level`).

With ``month_peak = "calibrated"`` and a site that has past months on record, every scenario
gets one floor: the pool months' hindsight peaks (demand charge traded against unmet EV
energy, :func:`hindsight_peak_kw`) over the days left, their kernel-weighted median, times how
the site's own past months' hindsight peaks compared with the pool's (:func:`history_level`
with :data:`CALIBRATION_PSEUDO_MONTHS`), the pool months weighed by calendar month only, as
the level is. A plan prices today's peak against the peak the month
will want anyway, EVs included; one point instead of a spread, because a spread of floors
lets a one-day plan stop at their low end (``docs/model.md``, "Controller: month-aware demand
charge"). Without past months it is the ``"pool"`` prior.
"""

from __future__ import annotations

import logging
import weakref

import numpy as np

from v2b.control.mpc_history import SeenDays
from v2b.interface import Observation
from v2b.opt.daypeak import UNMET_HEADROOM_KW, ev_day_peaks_kw, ev_unmet_curves_kwh
from v2b.site import Site

log = logging.getLogger(__name__)

#: Per sampling pool, its months' day peaks with EVs or unmet-energy curves (LPs per pool
#: month: computed once per process).
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


def charger_rating(site: Site) -> tuple[float, float]:
    """The rating [kW] and mean charging efficiency the pool and seen-day LPs charge at."""
    ch = site.charger_arrays
    return float(ch.max_kw.max()), float(np.mean(ch.charge_efficiency))


def interpolate(x: np.ndarray, grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Piecewise-linear curves at ``x``, flat beyond the grid's ends: ``values`` holds each
    curve on ``grid`` in its last axis and broadcasts against ``x`` in the others."""
    values = values.reshape((1,) * (x.ndim + 1 - values.ndim) + values.shape)
    k = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    frac = np.clip((x - grid[k]) / (grid[k + 1] - grid[k]), 0.0, 1.0)
    lo = np.take_along_axis(values, k[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(values, (k + 1)[..., None], axis=-1)[..., 0]
    return lo + frac * (hi - lo)


#: Slots of load the profile kernel needs before it counts in full: before a whole day is seen
#: its log-weight is scaled by the share seen (on a month's first morning the night load of
#: every season looks alike; ``docs/results.md``, item j).
PROFILE_EVIDENCE_SLOTS = 96

#: Pseudo-months at the pool's own level that the billing history's level is shrunk towards
#: (with one month of history, a third of its deviation is believed).
HISTORY_PSEUDO_MONTHS = 2.0
#: Pseudo-months of the ``"calibrated"`` prior: the site's past hindsight peaks are believed
#: more readily (after one month, four fifths of its deviation counts) because they are the
#: quantity the floor estimates, not a proxy for it; 0.25 measured better than 0.5 and 1 on
#: the recorded months (``docs/results.md``, "Load information", item j).
CALIBRATION_PSEUDO_MONTHS = 0.25


def months_apart(month_of_year: np.ndarray, month: int) -> np.ndarray:
    """Distance in calendar months around the year (December and January are 1 apart)."""
    apart = np.abs(month_of_year - month) % 12
    return np.minimum(apart, 12 - apart)


def history_level(month_peak_kw: np.ndarray, month_of_year: np.ndarray | None,
                  history: tuple[tuple[int, float], ...], season_months: float,
                  pseudo_months: float = HISTORY_PSEUDO_MONTHS) -> float:
    """How high this site's months peak against the pool's months (1: as the pool says).

    Each billed month's peak over the pool months' typical peak for its calendar month
    (their geometric mean weighed by the calendar kernel of width ``season_months``; every
    pool month alike without calendar months), geometric mean over the history shrunk
    towards 1 with ``pseudo_months``. ``month_peak_kw``: each pool month's peak of the same
    kind as the history's (the building's highest load, or the hindsight peak of
    :func:`hindsight_peak_kw`) [kW]."""
    if not history:
        return 1.0
    log_peak = np.log(np.maximum(month_peak_kw, 1e-9))
    log_ratio = []
    for month, peak_kw in history:
        weight = np.ones(log_peak.size)
        if month_of_year is not None and season_months > 0:
            weight = np.exp(-0.5 * (months_apart(month_of_year, month) / season_months) ** 2)
        log_ratio.append(np.log(peak_kw) - float(weight @ log_peak / weight.sum()))
    return float(np.exp(np.sum(log_ratio) / (len(log_ratio) + pseudo_months)))


def month_tradeoff(site: Site) -> tuple[float, float]:
    """The month's trade-off between peak and unmet energy: (K_DC [$/kW], K_SOC [$/kWh])."""
    return site.tariff.demand_charge_usd_per_kw, site.penalties.soc_penalty_usd_per_kwh


def hindsight_peak_kw(site: Site, load_kw: np.ndarray, session_day: np.ndarray, arrival_sod: np.ndarray,
                      departure_sod: np.ndarray, energy_kwh: np.ndarray) -> float:
    """A past month's hindsight peak [kW]: the lowest month peak at the best trade between the
    demand charge and the EV energy left unmet, knowing the month's load and sessions (no V2B,
    no energy price; :func:`v2b.opt.daypeak.ev_day_peaks_kw`). What a site can work out from
    a month's meter and session records once it is over. Arguments as one month of
    :meth:`v2b.scenarios.futures.PoolFutureSampler.pool_months`."""
    peaks = ev_day_peaks_kw(load_kw, session_day, arrival_sod, departure_sod, energy_kwh,
                            *charger_rating(site), month_tradeoff=month_tradeoff(site))
    return float(peaks.max())


#: Days at the pool months' curves that the curve of the days seen this month is shrunk
#: towards: after one day seen its curve counts a third, after ten days five sixths.
SEEN_PSEUDO_DAYS = 2.0
#: Caps around a seen day's own building peak at which its EVs' unmet energy is measured [kW]:
#: below its peak too, since the month's peak may stay under a day already seen.
SEEN_HEADROOM_KW = np.array([-40.0, -20.0, -10.0, -5.0, 0.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0])


class SeenDayUnmet:
    """What the EVs of each whole day seen this month would leave unmet under a cap on
    metered power: that day's building load and the arrivals the controller was told of,
    through :func:`v2b.opt.daypeak.ev_unmet_curves_kwh` (once per day)."""

    def __init__(self, rate_kw: float, efficiency: float) -> None:
        self.rate_kw, self.efficiency = rate_kw, efficiency
        self._peak_kw = np.zeros(0)
        self._unmet_kwh = np.zeros((0, SEEN_HEADROOM_KW.size))
        self._before_day = 0  # every day before this one has its curve

    def update(self, seen: SeenDays, obs: Observation) -> None:
        """Add the curve of each day completed since the last call (nothing within a day)."""
        if obs.day <= self._before_day:
            return
        seen.catch_up(obs)
        new = [d for d in seen.whole_days(obs.day) if d >= self._before_day]
        peaks, curves = [], []
        for d in new:  # one small LP set per day, once
            load = seen.day_load_kw(d)
            arrive, leave, kwh = seen.day_sessions(d)
            peaks.append(float(load.max()))
            curves.append(ev_unmet_curves_kwh(
                load[None, :], np.zeros(arrive.size, dtype=np.int64), arrive, leave, kwh,
                self.rate_kw, self.efficiency, SEEN_HEADROOM_KW)[:, 0])
        if new:
            self._peak_kw = np.concatenate([self._peak_kw, peaks])
            self._unmet_kwh = np.vstack([self._unmet_kwh, curves])
        self._before_day = obs.day

    @property
    def n_days(self) -> int:
        return int(self._peak_kw.size)

    def mean_unmet_kwh(self, cap_kw: np.ndarray) -> np.ndarray:
        """The seen days' mean unmet energy at each cap [kWh] (each day's curve linear between
        its points, flat beyond them)."""
        cap = np.asarray(cap_kw, dtype=float)
        out = np.zeros(cap.shape)
        for peak_kw, unmet_kwh in zip(self._peak_kw, self._unmet_kwh, strict=True):  # a month's days at most
            out += np.interp(cap - peak_kw, SEEN_HEADROOM_KW, unmet_kwh)
        return out / max(self.n_days, 1)


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
    unmet_kwh : list of ndarray, optional
        Each pool month's EV energy left unmet per day under a cap of its day's building
        peak plus each of ``headroom_kw``, shape ``(caps, days)``
        (:func:`v2b.opt.daypeak.ev_unmet_curves_kwh`); with it, :meth:`unmet_cuts` prices the
        later days' EVs.
    headroom_kw : ndarray
        The headrooms of ``unmet_kwh`` [kW], increasing from 0.
    level : float
        Every pool day's peak is taken at this multiple (:func:`history_level`; the
        unmet-energy curves keep their headroom over the day's peak).
    point : bool
        Every scenario gets the same floor, the weighted median of the rest-of-month peak
        (the ``"calibrated"`` prior) instead of one weighted quantile each.
    """

    def __init__(self, months: list[np.ndarray], bandwidth: float = 0.06,
                 day_peaks_kw: list[np.ndarray] | None = None,
                 month_of_year: np.ndarray | None = None, season_months: float = 0.0,
                 unmet_kwh: list[np.ndarray] | None = None, headroom_kw: np.ndarray = UNMET_HEADROOM_KW,
                 level: float = 1.0, point: bool = False):
        if not months:
            raise ValueError("no pool months")
        if month_of_year is not None and len(month_of_year) != len(months):
            raise ValueError(f"{len(month_of_year)} calendar months for {len(months)} pool months")
        if season_months < 0:
            raise ValueError(f"season_months={season_months} must be at least 0")
        if not level > 0:
            raise ValueError(f"level={level} must be positive")
        self.level = float(level)
        self.point = point
        self.month_of_year = None if month_of_year is None else np.asarray(month_of_year, dtype=int)
        self.season_months = float(season_months)
        width = max(m.shape[0] for m in months)
        self.n_days = np.array([m.shape[0] for m in months])
        self.peak_kw = np.zeros((len(months), width))
        for i, m in enumerate(months):
            own = m.max(axis=1) if day_peaks_kw is None else day_peaks_kw[i]
            self.peak_kw[i, : m.shape[0]] = level * own
        self.profile_kw = np.stack([m.mean(axis=0) for m in months])
        self.sigma_kw = bandwidth * float(self.profile_kw.mean())
        self.headroom_kw = np.asarray(headroom_kw, dtype=float)
        self.unmet_kwh: np.ndarray | None = None  # (months, caps, days), each day's own curve
        if unmet_kwh is not None:
            if len(unmet_kwh) != len(months):
                raise ValueError(f"{len(unmet_kwh)} unmet-energy curves for {len(months)} pool months")
            self.unmet_kwh = np.zeros((len(months), self.headroom_kw.size, width))
            for i, u in enumerate(unmet_kwh):
                self.unmet_kwh[i, :, : u.shape[1]] = u

    @classmethod
    def from_sampler(cls, sampler: object, site: Site, mode: str = "pool",
                     season_months: float = 0.0,
                     peak_history_kw: tuple[tuple[int, float], ...] = (),
                     hindsight_history_kw: tuple[tuple[int, float], ...] = ()) -> MonthPeakPrior | None:
        """The prior from the sampling pool the policy was given (never from anywhere the
        test episodes live); ``None`` when the sampler has no pool months.

        ``mode`` (the controller's ``month_peak``): ``"pool"``, a pool day's peak is the
        building's own; ``"pool-ev"``, the lowest peak at which its EVs could all be charged
        within their stays; ``"pool-tradeoff"``, the day's peak under the month's best trade
        between the demand charge and the unmet-energy penalty
        (:func:`v2b.opt.daypeak.ev_day_peaks_kw`); ``"pool-value"``, the building's own peak
        as in ``"pool"``, and the later days' EVs priced by :meth:`unmet_cuts`;
        ``"calibrated"``, one floor per decision from the trade-off peaks levelled by
        ``hindsight_history_kw`` (``"pool"`` where that is empty).
        ``season_months``: the calendar-month kernel's width (used where the sampler knows its
        months' calendar months). ``peak_history_kw``: the site's billing history, which sets
        the prior's :func:`history_level` in ``"pool-value"`` mode. ``hindsight_history_kw``:
        the site's past months' :func:`hindsight_peak_kw` (calendar month, kW).
        """
        months = getattr(sampler, "pool_months", None)
        if months is None:
            return None
        data = months()
        loads = [load for load, *_ in data]
        moy = getattr(sampler, "month_of_year", None)
        level = 1.0
        if mode == "pool-value":  # alone, a lower level starves the later days (docs/results.md)
            peaks = np.array([load.max() for load in loads])
            level = history_level(peaks, moy, peak_history_kw, season_months)
        season = {"month_of_year": moy, "season_months": season_months, "level": level}
        if mode == "pool" or (mode == "calibrated" and not hindsight_history_kw):
            return cls(loads, **season)
        rating = charger_rating(site)
        cached = _DAY_PEAKS.setdefault(sampler, {})
        if mode == "pool-value":
            key = ("unmet", *rating)
            if key not in cached:
                cached[key] = [ev_unmet_curves_kwh(load, day, arrive, leave, kwh, *rating)
                               for load, day, arrive, leave, kwh in data]
            return cls(loads, unmet_kwh=cached[key], **season)
        tradeoff = month_tradeoff(site) if mode in ("pool-tradeoff", "calibrated") else None
        key = (*rating, tradeoff)
        if key not in cached:
            cached[key] = [ev_day_peaks_kw(load, day, arrive, leave, kwh, *rating, month_tradeoff=tradeoff)
                           for load, day, arrive, leave, kwh in data]
        if mode == "calibrated":
            hindsight = np.array([peaks.max() for peaks in cached[key]])
            season["level"] = history_level(hindsight, moy, hindsight_history_kw, season_months,
                                            CALIBRATION_PSEUDO_MONTHS)
            return cls(loads, day_peaks_kw=cached[key], point=True, **season)
        return cls(loads, day_peaks_kw=cached[key], **season)

    def rest_of_month_kw(self, history: LoadHistory, obs: Observation) -> tuple[np.ndarray, np.ndarray]:
        """Each pool month's highest daily peak over the days left, and its weight.

        With ``point`` (the ``"calibrated"`` prior) only the calendar kernel weighs: its level
        compares the site's past months with the pool months of their calendar month, so the
        estimate it levels must weigh the pool months the same way (the profile kernel would
        count the site's difference twice: recorded October 2019 looks like the pool's
        Septembers, ``docs/results.md``, item j)."""
        months = np.arange(self.n_days.size)
        sq, count = np.zeros(months.size), 0
        for _, load in [] if self.point else history.days():
            sq += ((load[None, :] - self.profile_kw[:, : load.size]) ** 2).sum(axis=1)
            count += load.size
        distance = np.sqrt(sq / max(count, 1))
        evidence = min(1.0, count / PROFILE_EVIDENCE_SLOTS)  # a few hours say less than a day
        log_weight = -0.5 * evidence * ((distance - distance.min()) / self.sigma_kw) ** 2
        if self.month_of_year is not None and self.season_months > 0 and 1 <= obs.month_of_year <= 12:
            apart = months_apart(self.month_of_year, obs.month_of_year)
            log_weight = log_weight - 0.5 * (apart / self.season_months) ** 2
        weight = np.exp(log_weight - log_weight.max())
        rest = np.arange(obs.day + 1, obs.episode_days)
        if rest.size == 0:
            return np.zeros(months.size), weight / weight.sum()
        days = rest[None, :] % self.n_days[:, None]
        peak = self.peak_kw[months[:, None], days].max(axis=1)
        return peak, weight / weight.sum()

    def _quantile_months(self, history: LoadHistory, obs: Observation, q: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """The pool month at each weighted quantile ``q`` of the rest-of-month peak, and that
        peak [kW]."""
        peak, weight = self.rest_of_month_kw(history, obs)
        order = np.argsort(peak)
        month = order[np.minimum(np.searchsorted(np.cumsum(weight[order]), q), peak.size - 1)]
        return month, peak[month]

    def picked_months(self, history: LoadHistory, obs: Observation, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The pool month at each of ``n`` evenly spread weighted quantiles of the
        rest-of-month peak, and that peak [kW]."""
        return self._quantile_months(history, obs, (np.arange(n) + 0.5) / n)

    def median_rest_kw(self, history: LoadHistory, obs: Observation) -> float:
        """The weighted median of the rest-of-month peak [kW]."""
        return float(self._quantile_months(history, obs, np.array([0.5]))[1][0])

    def floors(self, history: LoadHistory, obs: Observation, n: int) -> np.ndarray:
        """``n`` scenario floors: weighted quantiles of the rest-of-month peak, or its median
        for each with ``point`` [kW]."""
        if self.point:
            return np.full(n, max(self.median_rest_kw(history, obs), obs.peak_so_far_kw))
        return np.maximum(self.picked_months(history, obs, n)[1], obs.peak_so_far_kw)

    def unmet_cuts(self, history: LoadHistory, obs: Observation, n: int, seen: SeenDayUnmet | None = None
                   ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """The ``n`` scenario floors and, per scenario, the later days' unmet EV energy as a
        function of the month's peak ``P`` (``None`` without curves or days left).

        Scenario ``j`` takes the pool month ``m`` of its floor ``F_j``; at a month's peak
        ``F_j + h`` for each headroom ``h`` of the grid, every remaining day ``d`` of ``m``
        leaves ``U_md(F_j + h - peak_md)`` unmet (its own curve, linear between grid points,
        flat past the last), and their sum is convex in ``P``. Returns the floors and the
        cuts ``(a, b)`` [kWh, kWh/kW], shape (n, caps): the sum is the largest of ``a + b P``
        for ``P >= F_j`` (:attr:`v2b.opt.problem.ChargingProblem.rest_unmet_cuts`). With
        ``seen``, each later day's curve is a blend of the pool day's and the mean of this
        month's seen days, the latter weighing ``seen days / (seen days + SEEN_PSEUDO_DAYS)``
        (below a seen day's own peak its curve need not be convex; the cuts then over-state the
        blend between grid points, never under-state it)."""
        rest = np.arange(obs.day + 1, obs.episode_days)
        if self.unmet_kwh is None or rest.size == 0:
            return self.floors(history, obs, n), None
        month, peak = self.picked_months(history, obs, n)
        floor = np.maximum(peak, obs.peak_so_far_kw)
        h = self.headroom_kw
        days = rest[None, :] % self.n_days[month][:, None]  # (n, rest)
        gap = floor[:, None] - self.peak_kw[month[:, None], days]  # >= 0: floor over each day's peak
        x = h[None, :, None] + gap[:, None, :]  # (n, caps, rest): headroom over each day's peak
        curve = self.unmet_kwh[month[:, None, None], :, days[:, None, :]]  # (n, 1, rest, grid)
        unmet = interpolate(x, h, curve).sum(axis=2)  # (n, caps) at P = floor + h
        cap = floor[:, None] + h[None, :]
        if seen is not None and seen.n_days:
            w = seen.n_days / (seen.n_days + SEEN_PSEUDO_DAYS)
            unmet = (1.0 - w) * unmet + w * rest.size * seen.mean_unmet_kwh(cap)
        slope = np.zeros_like(unmet)
        slope[:, :-1] = np.diff(unmet, axis=1) / np.diff(h)[None, :]
        return floor, (unmet - slope * cap, slope)

