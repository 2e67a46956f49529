"""The charging problem the LP solves, independent of how it was built.

A :class:`ChargingProblem` is a sample-average problem over scenarios (CONSENT
Eq. 4): units (EV trajectories) on a planning grid, each scenario's
uncontrollable load, TOU prices, a peak already paid, and the cost weights. The
MPC builds one per decision from an observation and sampled futures
(:func:`problem_from_observation`); the oracle builds one for a whole month.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from v2b.interface import Future, Observation
from v2b.opt.aggregate import AggregateFutures, aggregate_futures
from v2b.opt.fleet import connected_units, future_units
from v2b.opt.grid import TimeGrid, planning_grid
from v2b.opt.units import Units, full_power_kw
from v2b.site import Site
from v2b.timegrid import SLOTS_PER_DAY

FUTURE_MODELS = ("sessions", "aggregate", "mixed")


@dataclass(frozen=True)
class ChargingProblem:
    """Everything the LP needs.

    Attributes
    ----------
    grid : TimeGrid
        Planning blocks from the current slot.
    units : Units
        Controllable EV trajectories (uncontrolled ones are folded into ``load_kw``).
    load_kw : ndarray, shape (n_scenarios, horizon_slots)
        Building load plus uncontrolled EV power per slot [kW].
    price_per_kwh : ndarray, shape (horizon_slots,)
        Energy price per slot [$/kWh].
    scenario_weight : ndarray, shape (n_scenarios,)
        Probability of each scenario (sums to 1).
    peak_floor_kw : float or ndarray of shape (n_scenarios,)
        Peak already paid (or certain to be paid) this billing period, per
        scenario or for all [kW]; a plan never pays for it again.
    demand_charge_usd_per_kw : float
        Weight of the planned peak in the objective [$/kW].
    soc_penalty_usd_per_kwh, degradation_usd_per_kwh : float
        K_SOC and K_batt.
    curve_slopes, curve_intercepts : ndarray
        Charge curve segments: limit fraction ``min_s a_s * soc + b_s``.
    n_chargers : int
        Chargers at the site (length of the returned set-points).
    first_slot : int
        Episode slot of the first block (keys a basis carried between decisions).
    future_aggregate : AggregateFutures, optional
        Sampled future sessions summed per scenario (instead of being units).
    site_limit_kw : float, optional
        The site's connection: metered power never above it where the load alone is
        below it; the EVs add nothing where the load alone is above it [kW].
    window_usd_per_kw, window_slots, window_floor_kw : ndarray
        The tariff's windowed demand charges: each one's rate [$/kW], the horizon slots it
        covers (shape (k, horizon_slots)) and the peak already paid inside it [kW].
    export_price_per_kwh : float, optional
        What an exported kWh of the building's own surplus earns (``None``: nothing); where a
        scenario's load is negative the energy term prices imports and exports apart.
    dr_limit_kw, dr_penalty_per_kwh : ndarray, shape (horizon_slots,)
        Demand-response events: the power limit of each slot (inf outside events) and the
        penalty per kWh above it (0 outside); empty: no event in the horizon.
    coming_load_kw : ndarray, optional
        Where the slot being decided has not been measured: samples of its building load [kW].
        Its peak is then priced as ``K_DC x E[(load + sum(c - d) - P_f)^+]`` over these
        samples (:func:`v2b.opt.blocks.coming_slot_excess`) instead of a peak row per
        scenario; the first block must be that one slot.
    scenario_sets : ndarray of bool, shape (n_sets, n_scenarios), optional
        ``units.scenario`` indexes these sets: a unit belongs to every scenario of
        its set. Default: one set per scenario (the identity). A connected EV
        planned once for a *bundle* of scenarios lives in a larger set.
    """

    grid: TimeGrid
    units: Units
    load_kw: np.ndarray
    price_per_kwh: np.ndarray
    scenario_weight: np.ndarray
    peak_floor_kw: float | np.ndarray
    demand_charge_usd_per_kw: float
    soc_penalty_usd_per_kwh: float
    degradation_usd_per_kwh: float
    curve_slopes: np.ndarray
    curve_intercepts: np.ndarray
    n_chargers: int
    first_slot: int = 0
    scenario_sets: np.ndarray | None = None
    future_aggregate: AggregateFutures | None = None
    site_limit_kw: float | None = None
    window_usd_per_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    window_slots: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    window_floor_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dr_limit_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dr_penalty_per_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    export_price_per_kwh: float | None = None
    coming_load_kw: np.ndarray | None = None
    later_margin_kw: np.ndarray | None = None
    rest_unmet_cuts: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_scenarios(self) -> int:
        return int(self.load_kw.shape[0])

    @property
    def membership(self) -> np.ndarray:
        """Boolean (n_sets, n_scenarios): which scenarios each unit set belongs to."""
        if self.scenario_sets is None:
            return np.eye(self.n_scenarios, dtype=bool)
        return self.scenario_sets

    @property
    def set_weight(self) -> np.ndarray:
        """Probability of each scenario set (the weight of its units' costs)."""
        return self.membership @ self.scenario_weight

    @property
    def peak_floor_by_scenario(self) -> np.ndarray:
        """The peak floor of each scenario [kW], shape (n_scenarios,)."""
        return np.broadcast_to(np.asarray(self.peak_floor_kw, dtype=float), (self.n_scenarios,))


def split_uncontrolled(
    units: Units, load_kw: np.ndarray, controllable: np.ndarray, site: Site
) -> tuple[Units, np.ndarray]:
    """Fold units on uncontrolled chargers into their scenario's load at full power.

    Returns the controllable units and the load with the uncontrolled power added.
    """
    fixed = ~controllable[units.charger]
    if not fixed.any():
        return units, load_kw
    slopes, intercepts = site.battery.segments()
    fixed_units = units.select(fixed)
    power = full_power_kw(fixed_units, load_kw.shape[1], slopes, intercepts)
    load = load_kw.copy()
    np.add.at(load, fixed_units.scenario, power)
    return units.select(~fixed), load


def problem_from_observation(
    site: Site,
    obs: Observation,
    futures: list[Future],
    fine_slots: int | None = None,
    coarse_slots: int = 4,
    demand_weight: float = 1.0,
    peak_floor_kw: float | np.ndarray | None = None,
    recourse_bundles: int | None = None,
    future_model: str = "sessions",
    future_busy_until: np.ndarray | None = None,
    coming_load_kw: np.ndarray | None = None,
    later_margin_kw: np.ndarray | None = None,
    rest_unmet_cuts: tuple[np.ndarray, np.ndarray] | None = None,
) -> ChargingProblem:
    """The MC-MPC problem at one decision (CONSENT Eq. 4), horizon to the end of day (where cars
    stay overnight: to the last connected car's departure tomorrow, :func:`overnight_slots`).

    Parameters
    ----------
    site : Site
        Chargers, tariff, penalties and battery curve.
    obs : Observation
        The controller's knowledge now (connected EVs, peak so far, load so far).
    futures : list of Future
        Sampled continuations of today (equal weights); each future's
        ``load_kw[0]`` is the current slot, replaced by the measured value where
        the observation knows it.
    fine_slots, coarse_slots : int
        Planning grid (see :func:`v2b.opt.grid.planning_grid`).
    demand_weight : float
        Multiplier on the demand charge within the day's horizon (1 = paper).
    peak_floor_kw : float or ndarray, optional
        Peak treated as paid, for all scenarios or per scenario; defaults to
        ``obs.peak_so_far_kw``.
    recourse_bundles : int, optional
        Plan the connected EVs' later slots once per bundle of similar scenarios
        instead of once per scenario (:func:`scenario_bundles`); ``None`` keeps
        full per-scenario recourse.
    future_model : str
        ``"sessions"``: every sampled session is a unit on its FCFS charger;
        ``"aggregate"``: they are summed per scenario (:mod:`v2b.opt.aggregate`);
        ``"mixed"``: sessions on bidirectional chargers stay units (their V2B
        counts), the others are summed.
    future_busy_until : ndarray, optional
        When each charger is free for sampled sessions, if not when its connected
        EV leaves (pricing an arrival: its charger is free at the option's departure).
    coming_load_kw : ndarray, optional
        Samples of the current slot's load where the observation does not know it
        (:attr:`ChargingProblem.coming_load_kw`); ignored where it does.
    later_margin_kw : ndarray, shape (96,), optional
        With ``coming_load_kw``: the headroom to keep in each later slot of the day [kW]
        (:attr:`ChargingProblem.later_margin_kw`; overnight slots take tomorrow's values).
    rest_unmet_cuts : (ndarray, ndarray), optional
        The later days' unmet EV energy against the month's peak, per scenario
        (:attr:`ChargingProblem.rest_unmet_cuts`).
    """
    if future_model not in FUTURE_MODELS:
        raise ValueError(f"future_model={future_model!r} must be one of {', '.join(FUTURE_MODELS)}")
    if not futures:
        raise ValueError("at least one future is needed")
    day_left = SLOTS_PER_DAY - obs.slot_of_day
    loads = np.stack([np.asarray(f.load_kw, dtype=float)[:day_left] for f in futures])
    if loads.shape[1] < day_left:
        raise ValueError(f"futures cover {loads.shape[1]} slots, the day has {day_left} left")
    if obs.current_load_known:
        loads[:, 0] = obs.last_load_kw
    extra = overnight_slots(obs)
    if extra:
        loads = np.concatenate([loads, tomorrow_load_kw(obs, loads, extra)], axis=1)
    horizon = day_left + extra
    coming = None if obs.current_load_known or coming_load_kw is None else np.asarray(coming_load_kw, float)
    margin = None
    if coming is not None and later_margin_kw is not None:
        of_day = (obs.slot_of_day + np.arange(horizon)) % SLOTS_PER_DAY
        margin = np.asarray(later_margin_kw, dtype=float)[of_day]
    chargers = site.charger_arrays
    n = len(futures)
    floor = np.broadcast_to(
        np.maximum(obs.peak_so_far_kw, obs.peak_so_far_kw if peak_floor_kw is None else peak_floor_kw),
        (n,),
    ).astype(float)
    future = future_units(futures, obs, chargers, site.battery.discharge_floor_soc,
                          site.battery.keep_arrival_energy, future_busy_until)
    sets = None
    copies = np.arange(n)
    if recourse_bundles is not None and recourse_bundles < n:
        sets = scenario_bundles(loads, floor, future, recourse_bundles)
        copies = np.arange(n, sets.shape[0])
    slopes, intercepts = site.battery.segments()
    grid = planning_grid(horizon, fine_slots, coarse_slots, obs.slot_of_day)
    aggregate = None
    if future_model != "sessions":
        future, loads = split_uncontrolled(future, loads, chargers.controllable, site)
        summed = np.ones(future.n, dtype=bool)
        if future_model == "mixed":
            summed = ~future.bidirectional
        aggregate = aggregate_futures(future.select(summed), grid, slopes, intercepts, n)
        future = future.select(~summed)
    units = Units.concat([connected_units(obs, chargers, copies, horizon), future])
    units, loads = split_uncontrolled(units, loads, chargers.controllable, site)
    known = obs.price_today_per_kwh.size == SLOTS_PER_DAY
    price_day = obs.price_today_per_kwh if known else site.tariff.price_per_kwh_by_slot()
    if extra:
        ahead = obs.price_tomorrow_per_kwh if obs.price_tomorrow_per_kwh.size else price_day
        price_day = np.concatenate([price_day, ahead[:extra]])
    return ChargingProblem(
        grid=grid,
        units=units,
        load_kw=loads,
        price_per_kwh=price_day[obs.slot_of_day :],
        scenario_weight=np.full(n, 1.0 / n),
        peak_floor_kw=floor,
        demand_charge_usd_per_kw=site.tariff.demand_charge_usd_per_kw * demand_weight,
        soc_penalty_usd_per_kwh=site.penalties.soc_penalty_usd_per_kwh,
        degradation_usd_per_kwh=site.penalties.degradation_usd_per_kwh,
        curve_slopes=slopes,
        curve_intercepts=intercepts,
        n_chargers=len(chargers),
        first_slot=obs.slot,
        scenario_sets=sets,
        future_aggregate=aggregate,
        site_limit_kw=site.connection_limit_kw,
        export_price_per_kwh=site.tariff.export_price_per_kwh,
        coming_load_kw=coming,
        later_margin_kw=margin,
        rest_unmet_cuts=rest_unmet_cuts,
        **window_charges(site, obs, horizon),
        **dr_terms(obs, horizon),
    )


def dr_terms(obs: Observation, horizon: int) -> dict[str, np.ndarray]:
    """Today's demand-response limits and penalties from ``obs`` over a plan of ``horizon``
    slots (none: an observation without events)."""
    days = [(obs.dr_limit_today_kw, obs.dr_penalty_today_per_kwh)]
    if obs.slot_of_day + horizon > SLOTS_PER_DAY:
        days.append((obs.dr_limit_tomorrow_kw, obs.dr_penalty_tomorrow_per_kwh))
    if not any(penalty.size for _, penalty in days):
        return {}
    limit = np.concatenate([lim if lim.size else np.full(SLOTS_PER_DAY, np.inf) for lim, _ in days])
    penalty = np.concatenate([pen if pen.size else np.zeros(SLOTS_PER_DAY) for _, pen in days])
    window = slice(obs.slot_of_day, obs.slot_of_day + horizon)
    if not penalty[window].any():
        return {}
    return {"dr_limit_kw": limit[window].astype(float), "dr_penalty_per_kwh": penalty[window].astype(float)}


def overnight_slots(obs: Observation) -> int:
    """Slots past today's end the plan must cover: up to the last connected car's departure
    tomorrow where cars stay overnight (``docs/model.md``, "Overnight sessions"); else 0."""
    if not obs.overnight or not obs.occupied.any():
        return 0
    day_end = obs.slot - obs.slot_of_day + SLOTS_PER_DAY
    latest = int(obs.departure_slot[obs.occupied].max())
    return int(min(max(latest - day_end, 0), SLOTS_PER_DAY))


def tomorrow_load_kw(obs: Observation, loads: np.ndarray, extra: int) -> np.ndarray:
    """The building load of tomorrow's first ``extra`` slots in each scenario: today's load at
    the same time of day where it is measured already, else the scenario's own (a same-time-
    yesterday forecast, what a site without a model of tomorrow has)."""
    seen = np.asarray(obs.load_today_kw, dtype=float)
    out = np.empty((loads.shape[0], extra))
    known = min(extra, seen.size)
    out[:, :known] = seen[:known]
    later = np.arange(known, extra) - obs.slot_of_day  # slots of day not yet measured: in the futures
    out[:, known:] = loads[:, np.clip(later, 0, loads.shape[1] - 1)]
    return out


def window_charges(site: Site, obs: Observation, horizon: int) -> dict[str, np.ndarray]:
    """The windowed demand charges for a plan from ``obs`` to the end of its day (or into
    tomorrow where a car stays overnight)."""
    charges = site.tariff.demand_charges
    if not charges:
        return {}
    today = obs.windows_today
    if today.shape != (len(charges), SLOTS_PER_DAY):  # an observation that does not say: none are open
        today = np.zeros((len(charges), SLOTS_PER_DAY), dtype=bool)
    if obs.slot_of_day + horizon > SLOTS_PER_DAY:
        tomorrow = obs.windows_tomorrow if obs.windows_tomorrow.shape == today.shape else today
        today = np.concatenate([today, tomorrow], axis=1)
    floors = obs.window_peaks_so_far_kw if obs.window_peaks_so_far_kw.size == len(charges) else np.zeros(
        len(charges))
    return {"window_usd_per_kw": np.array([c.usd_per_kw for c in charges]),
            "window_slots": today[:, obs.slot_of_day : obs.slot_of_day + horizon],
            "window_floor_kw": np.asarray(floors, dtype=float)}


def scenario_bundles(
    load_kw: np.ndarray, floor_kw: np.ndarray, future: Units, n_bundles: int
) -> np.ndarray:
    """Scenario sets: one per scenario, then ``n_bundles`` bundles of similar ones.

    Scenarios are ranked by the sum of three standardised features (peak floor,
    highest load, energy the future sessions ask for) and cut into contiguous
    bundles of near-equal size, so a bundle groups futures that call for similar
    charging of the EVs already connected.
    """
    n = load_kw.shape[0]
    need_kwh = np.zeros(n)
    np.add.at(need_kwh, future.scenario, np.maximum(future.target_kwh - future.energy_kwh, 0.0))
    features = np.stack([floor_kw, load_kw.max(axis=1), need_kwh])
    spread = features.std(axis=1, keepdims=True)
    z = (features - features.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)
    order = np.argsort(z.sum(axis=0), kind="stable")
    sets = np.zeros((n + n_bundles, n), dtype=bool)
    sets[np.arange(n), np.arange(n)] = True
    for k, members in enumerate(np.array_split(order, n_bundles)):
        sets[n + k, members] = True
    return sets
