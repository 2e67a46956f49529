"""Units from what the controller knows: connected EVs and sampled futures.

Future sessions are placed on the chargers they would get under the
simulator's first-come-first-served rule (:mod:`v2b.sim.assignment`), given
when the connected EVs leave; a session that finds every charger busy is
rejected in that scenario, as it would be in reality.
"""

from __future__ import annotations

import numpy as np

from v2b.episode import Session
from v2b.interface import Future, Observation, vehicle_limits_kw
from v2b.opt.units import Units, session_idents
from v2b.sim.assignment import preference_order
from v2b.site import ChargerArrays
from v2b.timegrid import end_of_day


def connected_units(
    obs: Observation, chargers: ChargerArrays, copies: np.ndarray, horizon_slots: int
) -> Units:
    """One unit per occupied charger and copy, grouped by charger.

    Parameters
    ----------
    obs : Observation
        Connected EVs' energy, targets, floors and (negotiated) departures.
    chargers : ChargerArrays
        Site chargers.
    copies : ndarray of int
        Scenario-set index of each copy of every EV (one per scenario, or one
        per bundle of scenarios).
    horizon_slots : int
        Slots to the end of the horizon; departures beyond it are clipped.
    """
    idx = np.flatnonzero(obs.occupied)
    k = idx.size
    n_scenarios = copies.size
    scen = np.repeat(np.asarray(copies, dtype=int), k)
    ch = np.tile(idx, n_scenarios)
    end = np.clip(obs.departure_slot[ch] - obs.slot, 1, horizon_slots)
    energy = np.clip(obs.energy_kwh[ch], 0.0, obs.battery_kwh[ch])
    ev_up, ev_down = vehicle_limits_kw(obs)
    return Units(
        scenario=scen,
        group=ch.copy(),
        charger=ch,
        start_slot=np.zeros(ch.size, dtype=int),
        end_slot=end.astype(int),
        energy_kwh=energy,
        battery_kwh=obs.battery_kwh[ch].astype(float),
        target_kwh=np.minimum(obs.target_kwh[ch], obs.battery_kwh[ch]).astype(float),
        floor_kwh=np.minimum(obs.floor_kwh[ch], energy),
        departure_floor_kwh=np.minimum(obs.departure_floor_kwh[ch], obs.battery_kwh[ch]).astype(float),
        max_kw=np.minimum(chargers.max_kw[ch], ev_up[ch]).astype(float),
        min_kw=-np.minimum(-chargers.min_kw[ch], ev_down[ch]).astype(float),
        charge_efficiency=chargers.charge_efficiency[ch].astype(float),
        discharge_efficiency=chargers.discharge_efficiency[ch].astype(float),
        ident=np.tile(session_idents([obs.session_ids[i] for i in idx]), n_scenarios),
    )


def _padded_sessions(
    futures: list[Future],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[Session]]]:
    """Arrivals and departures per scenario in service order, padded with -1."""
    ordered = [
        sorted(f.arrivals, key=lambda s: (s.arrival_slot, s.departure_slot, s.session_id))
        for f in futures
    ]
    width = max((len(o) for o in ordered), default=0)
    arrival = np.full((len(futures), width), -1, dtype=int)
    departure = np.full((len(futures), width), -1, dtype=int)
    for s, sessions in enumerate(ordered):
        if sessions:
            arrival[s, : len(sessions)] = [x.arrival_slot for x in sessions]
            departure[s, : len(sessions)] = [x.departure_slot for x in sessions]
    return arrival, departure, arrival >= 0, ordered


def assign_chargers(
    arrival: np.ndarray, departure: np.ndarray, valid: np.ndarray, busy_until: np.ndarray,
    chargers: ChargerArrays,
) -> np.ndarray:
    """First-come-first-served charger of each sampled session, all scenarios at once.

    Parameters
    ----------
    arrival, departure : ndarray of int, shape (n_scenarios, width)
        Sessions in service order per scenario [episode slots].
    valid : ndarray of bool
        Which entries are real sessions.
    busy_until : ndarray of int, shape (n_chargers,)
        First slot each charger is free (its EV's departure, or now).
    chargers : ChargerArrays
        Preference order comes from :func:`v2b.sim.assignment.preference_order`.

    Returns
    -------
    ndarray of int
        Charger index per session, -1 where no charger is free (rejected).
    """
    order = preference_order(chargers)
    free_at = np.tile(busy_until, (arrival.shape[0], 1))
    out = np.full(arrival.shape, -1, dtype=int)
    rows = np.arange(arrival.shape[0])
    for k in range(arrival.shape[1]):
        avail = (free_at[:, order] <= arrival[:, k, None]) & valid[:, k, None]
        has = avail.any(axis=1)
        pick = order[np.argmax(avail, axis=1)]
        out[:, k] = np.where(has, pick, -1)
        free_at[rows[has], pick[has]] = departure[has, k]
    return out


def busy_until_slot(obs: Observation) -> np.ndarray:
    """First slot each charger is free: its EV's departure, or now."""
    return np.where(obs.occupied, obs.departure_slot, obs.slot)


def future_assignment(
    futures: list[Future], obs: Observation, chargers: ChargerArrays, busy_until: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[Session]]]:
    """Charger of every sampled session (-1: rejected), with its arrival and clipped departure.

    ``busy_until`` overrides when each charger is free (default :func:`busy_until_slot`).
    Returns ``(charger, arrival, departure, ordered sessions)``, arrays of shape
    (n_scenarios, most sessions in a scenario).
    """
    arrival, departure, valid, ordered = _padded_sessions(futures)
    day_end = end_of_day(obs.slot)
    departure = np.where(valid, np.minimum(np.maximum(departure, arrival + 1), day_end), -1)
    busy = busy_until_slot(obs) if busy_until is None else busy_until
    return assign_chargers(arrival, departure, valid, busy, chargers), arrival, departure, ordered


def future_units(
    futures: list[Future], obs: Observation, chargers: ChargerArrays, floor_soc: float,
    keep_arrival_energy: bool = True, busy_until: np.ndarray | None = None,
) -> Units:
    """Units for every sampled session that gets a charger, per scenario.

    Departures are clipped to the end of the arrival's day, as the simulator does;
    ``keep_arrival_energy`` as in :func:`session_units`; ``busy_until`` as in
    :func:`future_assignment`.
    """
    if not futures:
        return Units.empty()
    charger, arrival, departure, ordered = future_assignment(futures, obs, chargers, busy_until)
    scen, pos = np.nonzero(charger >= 0)
    if scen.size == 0:
        return Units.empty()
    chosen = [ordered[s][p] for s, p in zip(scen.tolist(), pos.tolist(), strict=True)]
    return session_units(
        chosen, charger[scen, pos], chargers, floor_soc, scen,
        arrival[scen, pos] - obs.slot, departure[scen, pos] - obs.slot, keep_arrival_energy,
    )


def session_units(
    sessions: list[Session],
    charger: np.ndarray,
    chargers: ChargerArrays,
    floor_soc: float,
    scenario: np.ndarray,
    start_slot: np.ndarray,
    end_slot: np.ndarray,
    keep_arrival_energy: bool = True,
) -> Units:
    """Units of sessions placed on chargers, targets as requested.

    Parameters
    ----------
    sessions : list of Session
        The sessions, one unit each.
    charger : ndarray of int
        Charger index of each session.
    chargers : ChargerArrays
        Site chargers.
    floor_soc : float
        V2B floor SoC (lowered to the arrival SoC where that is below; a session's own
        ``min_soc`` replaces it).
    scenario, start_slot, end_slot : ndarray of int
        Scenario set and connection window of each unit [slots from the plan's start].
    keep_arrival_energy : bool
        Each session must leave with its arrival energy (the site's
        ``battery.keep_arrival_energy``).
    """
    if not sessions:
        return Units.empty()
    battery = np.array([x.battery_kwh for x in sessions], dtype=float)
    soc0 = np.array([x.soc_arrival for x in sessions], dtype=float)
    soc_req = np.array([x.soc_requested for x in sessions], dtype=float)
    own_floor = np.array([x.floor_soc(floor_soc) for x in sessions], dtype=float)
    ch = np.asarray(charger, dtype=int)
    return Units(
        scenario=np.asarray(scenario, dtype=int),
        group=np.full(ch.size, -1),
        charger=ch,
        start_slot=np.asarray(start_slot, dtype=int),
        end_slot=np.asarray(end_slot, dtype=int),
        energy_kwh=soc0 * battery,
        battery_kwh=battery,
        target_kwh=np.clip(soc_req, 0.0, 1.0) * battery,
        floor_kwh=np.minimum(soc0, own_floor) * battery,
        departure_floor_kwh=soc0 * battery if keep_arrival_energy else np.zeros(battery.size),
        max_kw=np.minimum(chargers.max_kw[ch], [x.charge_limit_kw for x in sessions]).astype(float),
        min_kw=-np.minimum(-chargers.min_kw[ch], [x.discharge_limit_kw for x in sessions]).astype(float),
        charge_efficiency=chargers.charge_efficiency[ch].astype(float),
        discharge_efficiency=chargers.discharge_efficiency[ch].astype(float),
        ident=session_idents([x.session_id for x in sessions]),
    )
