"""The whole billing month as one LP, with perfect knowledge (the oracle's problem).

Sessions are placed on the chargers the simulator will give them (first come,
first served, :mod:`v2b.sim.assignment`, departures clipped to the end of the
day); sessions that find no free charger are rejected as in the simulation.
One scenario, the month's real load, one peak for the month.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from v2b.episode import Episode, Session
from v2b.opt.fleet import session_units
from v2b.opt.grid import TimeGrid
from v2b.opt.problem import ChargingProblem, split_uncontrolled
from v2b.opt.units import Units
from v2b.sim.assignment import arrival_order, pick_charger, preference_order
from v2b.site import Site
from v2b.tariff import dr_arrays, episode_demand_windows, episode_prices_per_kwh
from v2b.timegrid import clip_departure_slot


def fcfs_assignment(site: Site, sessions: tuple[Session, ...],
                    episode: Episode | None = None) -> list[tuple[Session, int]]:
    """``(session, charger)`` for every admitted session, in service order.

    Mirrors the engine: departures (clipped to the end of the arrival's day, or of
    ``episode`` where its cars stay overnight) free a charger at their slot, then arrivals
    take the most preferred free one.
    """
    chargers = site.charger_arrays
    order = preference_order(chargers)
    busy_until = np.zeros(len(chargers), dtype=int)
    out = []
    for s in arrival_order(sessions):
        charger = pick_charger(busy_until <= s.arrival_slot, order)
        if charger is None:
            continue
        busy_until[charger] = clipped_departure(s, episode)
        out.append((s, charger))
    return out


def clipped_departure(s: Session, episode: Episode | None = None) -> int:
    """Departure slot as the engine applies it (:func:`v2b.timegrid.clip_departure_slot`)."""
    latest = None if episode is None else episode.latest_departure_slot(s.arrival_slot)
    return clip_departure_slot(s.arrival_slot, s.departure_slot, latest)


def peak_lower_bound_kw(units: Units, load_kw: np.ndarray) -> float:
    """A peak no schedule can beat: the load minus all V2B discharge available [kW].

    Used as the peak's lower bound so that only slots that could set the peak
    get a peak row (V2B can shave the building's own peak, so the load's maximum
    itself is not a valid bound).
    """
    step = np.zeros(load_kw.size + 1)
    np.add.at(step, units.start_slot, -units.min_kw)
    np.add.at(step, units.end_slot, units.min_kw)
    discharge_kw = np.cumsum(step)[:-1]
    return float(np.max(load_kw - discharge_kw, initial=0.0))


def month_problem(site: Site, episode: Episode) -> tuple[ChargingProblem, list[Session]]:
    """The month LP (every slot its own block) and the admitted sessions, unit order."""
    assigned = fcfs_assignment(site, episode.sessions, episode)
    chargers = site.charger_arrays
    sessions = [s for s, _ in assigned]
    n = len(sessions)
    units = session_units(
        sessions,
        np.array([c for _, c in assigned], dtype=int),
        chargers,
        site.battery.discharge_floor_soc,
        np.zeros(n, dtype=int),
        np.array([s.arrival_slot for s in sessions], dtype=int),
        np.array([clipped_departure(s, episode) for s in sessions], dtype=int),
        site.battery.keep_arrival_energy,
    )
    load = episode.load_kw.astype(float)[None, :]
    controllable = chargers.controllable
    keep = controllable[units.charger]
    units, load = split_uncontrolled(units, load, controllable, site)
    sessions = [s for s, k in zip(sessions, keep.tolist(), strict=True) if k]
    slopes, intercepts = site.battery.segments()
    problem = ChargingProblem(
        grid=TimeGrid(np.ones(episode.n_slots, dtype=int)),
        units=units,
        load_kw=load,
        price_per_kwh=episode_prices_per_kwh(site, episode.dates),
        scenario_weight=np.ones(1),
        peak_floor_kw=peak_lower_bound_kw(units, load[0]),
        demand_charge_usd_per_kw=site.tariff.demand_charge_usd_per_kw,
        soc_penalty_usd_per_kwh=site.penalties.soc_penalty_usd_per_kwh,
        degradation_usd_per_kwh=site.penalties.degradation_usd_per_kwh,
        curve_slopes=slopes,
        curve_intercepts=intercepts,
        n_chargers=len(chargers),
        site_limit_kw=site.connection_limit_kw,
        export_price_per_kwh=site.tariff.export_price_per_kwh,
    )
    windows = episode_demand_windows(site, episode.dates)
    if windows:
        problem = dataclasses.replace(
            problem, window_usd_per_kw=np.array([w.usd_per_kw for w in windows]),
            window_slots=np.stack([w.mask for w in windows]), window_floor_kw=np.zeros(len(windows)))
    dr_limit_kw, dr_penalty_per_kwh = dr_arrays(site, episode.dates)
    if dr_limit_kw is not None:
        problem = dataclasses.replace(problem, dr_limit_kw=dr_limit_kw, dr_penalty_per_kwh=dr_penalty_per_kwh)
    return problem, sessions
