"""An openv2b scenario as a v2b episode, so both simulators can run the same input.

openv2b slots carry no calendar: slot 0 is placed at midnight of ``start``
(a Monday by default) and the days follow consecutively, weekends included,
because the scenario defines every slot it bills. Other slot lengths are moved
onto 15-minute slots: arrivals round down, departures round up, load is
resampled as any load file (``v2b.data.load``). Sessions that run past midnight
stay (an ``overnight`` episode: ``docs/model.md``, "Overnight sessions"), up to the
scenario's end.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from v2b.data.errors import DataError
from v2b.data.openv2b import DEFAULT_START, OpenV2BScenario
from v2b.episode import Episode
from v2b.scenarios.episodes import assemble
from v2b.site import Site, site_from_dict
from v2b.timegrid import SLOT_MINUTES, SLOTS_PER_DAY, slot_to_clock


def openv2b_episode(
    scenario: OpenV2BScenario,
    site_name: str,
    start: dt.date | None = None,
    index: int = 0,
) -> Episode:
    """The scenario's whole horizon as one ``replay`` episode (module docstring);
    ``start`` defaults to :data:`v2b.data.openv2b.DEFAULT_START`."""
    start = start or DEFAULT_START.date()
    load = scenario.load_data(dt.datetime.combine(start, dt.time())).series.to_numpy()
    if load.size % SLOTS_PER_DAY:
        raise DataError(
            f"{scenario.directory}: horizon of {load.size} 15-minute slots is not a whole number "
            "of days; v2b episodes are whole days"
        )
    n_days = load.size // SLOTS_PER_DAY
    v = scenario.vehicles
    minutes = scenario.slot_minutes
    arrival = np.floor(v["arrival_slot"].to_numpy() * minutes / SLOT_MINUTES).astype(np.int64)
    departure = np.ceil(v["departure_slot"].to_numpy() * minutes / SLOT_MINUTES).astype(np.int64)
    day = arrival // SLOTS_PER_DAY
    departure = np.minimum(departure, load.size)
    # in the order assemble() keeps (it sorts stably by the same keys), so that each session
    # gets its own vehicle's limits below
    order = np.lexsort((departure - day * SLOTS_PER_DAY, arrival % SLOTS_PER_DAY, day))
    v = v.iloc[order].reset_index(drop=True)
    arrival, departure, day = arrival[order], departure[order], day[order]
    battery = v["battery_kwh"].to_numpy(dtype=float)
    requests = {
        "battery_kwh": battery,
        "soc_arrival": v["soc_arrival_kwh"].to_numpy(dtype=float) / battery,
        "soc_requested": v["soc_target_kwh"].to_numpy(dtype=float) / battery,
    }
    dates = tuple(start + dt.timedelta(days=d) for d in range(n_days))
    arrays = assemble(
        dates,
        load,
        day,
        arrival % SLOTS_PER_DAY,
        departure - day * SLOTS_PER_DAY,
        requests,
    )
    episode = dataclasses.replace(arrays.to_episode(site_name, "replay", index), overnight=True)
    limits = _vehicle_limits(v, bool(scenario.manifest["persistence"]))
    sessions = tuple(dataclasses.replace(s, **lim) for s, lim in zip(episode.sessions, limits, strict=True))
    return dataclasses.replace(episode, sessions=sessions)


def _vehicle_limits(vehicles, persistence: bool) -> list[dict]:
    """Each vehicle's own charge and discharge limits (``max_charge_kw``, ``max_discharge_kw``;
    a discharge limit of 0 is a car without V2B), its floor (``min_soc_kwh``) and, with
    ``persistence``, its identity and the energy it used since its last visit, so that a
    returning car arrives with what it left with (``docs/model.md``, "Returning cars")."""
    n = len(vehicles)
    def column(name: str, empty: float = np.nan) -> np.ndarray:
        return vehicles[name].to_numpy(dtype=float) if name in vehicles else np.full(n, empty)

    up, down = column("max_charge_kw"), column("max_discharge_kw")
    battery = vehicles["battery_kwh"].to_numpy(dtype=float)
    floor = column("min_soc_kwh", 0.0) / battery
    depletion = column("depletion_kwh", 0.0)
    ids = [_vehicle_name(x) for x in vehicles["vehicle_id"].tolist()]
    return [
        {"max_charge_kw": None if np.isnan(u) else float(u),
         "max_discharge_kw": None if np.isnan(d) else float(d),
         "v2b_allowed": bool(np.isnan(d) or d > 0),
         "min_soc": float(f),
         "vehicle_id": f"car-{i}" if persistence else None,
         "depletion_kwh": float(e) if persistence else 0.0}
        for u, d, f, i, e in zip(up.tolist(), down.tolist(), floor.tolist(), ids, depletion.tolist(),
                                 strict=True)
    ]


def _vehicle_name(value: object) -> str:
    """``7`` for a vehicle id read as 7 or 7.0; any other id as written."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dr_events(scenario: OpenV2BScenario, start: dt.datetime) -> list[dict]:
    """openv2b's demand-response events as the site's: the window of slots ``(start, end]``
    becomes the clock times from the end of slot ``start`` to the end of slot ``end``."""
    minutes = scenario.slot_minutes
    out = []
    for k, e in enumerate(scenario.dr_events.itertuples()):
        begin = start + dt.timedelta(minutes=(e.start_slot + 1) * minutes)
        end = start + dt.timedelta(minutes=(e.end_slot + 1) * minutes)
        event = {"name": f"dr{k}-slot{int(e.start_slot)}", "start": begin.isoformat(), "end": end.isoformat(),
                 "limit_kw": float(e.fsl_kw), "penalty_per_kwh": float(e.penalty_usd_per_kwh)}
        if np.isfinite(e.baseline_kw) and np.isfinite(e.incentive_usd_per_kw) and e.incentive_usd_per_kw > 0:
            event |= {"incentive_usd_per_kw": float(e.incentive_usd_per_kw),
                      "baseline_kw": float(e.baseline_kw)}
        out.append(event)
    return out


def _energy_prices(price_per_slot: np.ndarray, start: dt.datetime) -> dict:
    """The scenario's grid prices as the tariff's: time-of-use periods where they repeat every day,
    else price points at each change (slot 0 at ``start``; a last point closes the horizon)."""
    days = price_per_slot.reshape(-1, SLOTS_PER_DAY)
    if np.allclose(days, days[0], rtol=0, atol=1e-12):
        return {"energy": _daily_periods(days[0])}
    changes = _changes(price_per_slot)
    changes = np.r_[changes, price_per_slot.size - 1] if changes[-1] != price_per_slot.size - 1 else changes
    return {"price_points": [
        {"time": (start + dt.timedelta(minutes=int(k) * SLOT_MINUTES)).isoformat(),
         "price_per_kwh": float(price_per_slot[k])} for k in changes]}


def _daily_periods(day: np.ndarray) -> list[dict]:
    """TOU periods of one day's prices (15-minute slots)."""
    starts = _changes(day)
    ends = np.r_[starts[1:], SLOTS_PER_DAY]
    return [
        {"name": f"p{k}", "start": slot_to_clock(a), "end": slot_to_clock(b), "price_per_kwh": float(day[a])}
        for k, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]


def _changes(values: np.ndarray) -> np.ndarray:
    """The positions where ``values`` takes a new value (the first included)."""
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]])


def _peak_class_charge(scenario: OpenV2BScenario) -> dict:
    """openv2b's ``demand_charge_peak_usd_per_kw`` (on the peak of the slots whose TOU class is
    ``peak``) as a windowed demand charge: the peak slots must be one window repeated every day."""
    m = scenario.manifest
    repeat = int(round(scenario.slot_minutes / SLOT_MINUTES))
    peak = np.repeat(np.array([c == "peak" for c in scenario.tou]), repeat)
    where = f"{scenario.directory / m['prices_file']}: demand_charge_peak_usd_per_kw"
    if peak.size % SLOTS_PER_DAY:
        raise DataError(f"{where}: the horizon is not a whole number of days")
    days = peak.reshape(-1, SLOTS_PER_DAY)
    if not (days == days[0]).all() or not days[0].any():
        raise DataError(f"{where}: the 'peak' TOU slots differ from one day to the next (or there are none); "
                        "v2b's demand charge windows repeat daily")
    day = days[0]
    starts = np.flatnonzero(day & ~np.roll(day, 1))
    if starts.size > 1:
        raise DataError(f"{where}: the 'peak' TOU slots form {starts.size} windows a day; v2b's demand "
                        "charge window is one interval")
    first = int(starts[0]) if starts.size else 0
    end = first + int(day.sum())  # a window of the whole day ends where it starts
    return {"name": "tou-peak", "start": slot_to_clock(first), "end": slot_to_clock(end),
            "usd_per_kw": float(m["demand_charge_peak_usd_per_kw"])}


#: openv2b's controllers meet every target they physically can (its MPC prices a shortfall at
#: 1e6 $/kWh) and charge 0.05 $/kWh of battery wear on discharge; v2b's largest K_SOC (100 $/kWh)
#: dominates any energy or demand cost per kWh the same way (``docs/model.md``, "openv2b scenarios")
OPENV2B_PENALTIES = {"soc_penalty_usd_per_kwh": 100.0, "degradation_usd_per_kwh": 0.05}


def openv2b_site(scenario: OpenV2BScenario, defaults: Site, start: dt.datetime = DEFAULT_START) -> Site:
    """A v2b site with the scenario's chargers, efficiencies, prices, demand charges, connection
    limit and demand-response events (slot 0 at ``start``).

    The missing-SoC penalty and battery wear are openv2b's (:data:`OPENV2B_PENALTIES`); what
    openv2b does not specify (the drivers, the external price) comes from ``defaults``. The
    charge limit is flat (openv2b has no SoC taper) and the site's discharge floor 0 (each
    car's ``min_soc_kwh`` is its own floor).
    """
    m = scenario.manifest
    price = np.repeat(scenario.price_per_kwh, int(round(scenario.slot_minutes / SLOT_MINUTES)))
    if price.size % SLOTS_PER_DAY:
        raise DataError(f"{scenario.directory}: the horizon is not a whole number of days")
    chargers = [
        {
            "count": 1,
            "kind": "bidirectional" if row.bidirectional else "unidirectional",
            "max_kw": float(row.max_kw),
            "min_kw": -float(row.max_kw) if row.bidirectional else 0.0,
            "charge_efficiency": float(m["charge_efficiency"]),
            "discharge_efficiency": float(m["discharge_efficiency"]),
            "id_prefix": "C",
        }
        for row in scenario.chargers.itertuples()
    ]
    data = {
        "name": scenario.directory.name,
        "description": f"openv2b scenario {scenario.directory}",
        "chargers": chargers,
        "tariff": {
            "demand_charge_usd_per_kw": float(m["demand_charge_usd_per_kw"]),
            **_energy_prices(price, start),
        },
        "penalties": OPENV2B_PENALTIES,
        "users": defaults.users.model_dump(),
        "battery": {"charge_curve": [[0.0, 1.0], [1.0, 1.0]], "discharge_floor_soc": 0.0},
    }
    if m.get("site_cap_kw") is not None:
        data["connection_limit_kw"] = float(m["site_cap_kw"])
    if m.get("demand_charge_peak_usd_per_kw"):
        data["tariff"]["demand_charges"] = [_peak_class_charge(scenario)]
    if not scenario.dr_events.empty:
        if (scenario.slot_minutes % SLOT_MINUTES) or (1440 % scenario.slot_minutes):
            raise DataError(f"{scenario.directory / m['dr_events_file']}: events on "
                            f"{scenario.slot_minutes:g}-minute slots do not fall on v2b's "
                            f"{SLOT_MINUTES}-minute grid")
        data["tariff"]["demand_response"] = _dr_events(scenario, start)
    return site_from_dict(data, origin=str(scenario.directory / "scenario.json"))
