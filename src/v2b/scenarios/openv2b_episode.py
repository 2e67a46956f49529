"""An openv2b scenario as a v2b episode, so both simulators can run the same input.

openv2b slots carry no calendar: slot 0 is placed at midnight of ``start``
(a Monday by default) and the days follow consecutively, weekends included,
because the scenario defines every slot it bills. Other slot lengths are moved
onto 15-minute slots: arrivals round down, departures round up, load is
resampled as any load file (``v2b.data.load``). Sessions that run past midnight
are cut at the end of their arrival day (v2b's day-ahead horizon assumes all
EVs leave by then; SPEC section 3).
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
from v2b.timegrid import SLOT_MINUTES, SLOTS_PER_DAY


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
    departure = np.minimum(departure, (day + 1) * SLOTS_PER_DAY)
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
    episode = arrays.to_episode(site_name, "replay", index)
    limits = _vehicle_limits(v)
    sessions = tuple(dataclasses.replace(s, **lim) for s, lim in zip(episode.sessions, limits, strict=True))
    return dataclasses.replace(episode, sessions=sessions)


def _vehicle_limits(vehicles) -> list[dict]:
    """Each vehicle's own charge and discharge limits (``max_charge_kw``, ``max_discharge_kw``;
    a discharge limit of 0 is a car without V2B)."""
    n = len(vehicles)
    def column(name: str) -> np.ndarray:
        return vehicles[name].to_numpy(dtype=float) if name in vehicles else np.full(n, np.nan)

    up, down = column("max_charge_kw"), column("max_discharge_kw")
    return [
        {"max_charge_kw": None if np.isnan(u) else float(u),
         "max_discharge_kw": None if np.isnan(d) else float(d),
         "v2b_allowed": bool(np.isnan(d) or d > 0)}
        for u, d in zip(up.tolist(), down.tolist(), strict=True)
    ]


def _daily_periods(price_per_slot: np.ndarray, source: str) -> list[dict]:
    """TOU periods of a price series that repeats every day (15-minute slots)."""
    days = price_per_slot.reshape(-1, SLOTS_PER_DAY)
    if not np.allclose(days, days[0], rtol=0, atol=1e-12):
        raise DataError(
            f"{source}: grid prices differ from one day to the next; v2b tariffs repeat daily "
            "(time-of-use periods), so this scenario's prices cannot be represented"
        )
    day = days[0]
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    ends = np.r_[starts[1:], SLOTS_PER_DAY]

    def clock(slot: int) -> str:
        return f"{slot * SLOT_MINUTES // 60:02d}:{slot * SLOT_MINUTES % 60:02d}"

    return [
        {"name": f"p{k}", "start": clock(a), "end": clock(b % SLOTS_PER_DAY), "price_per_kwh": float(day[a])}
        for k, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]


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
    length = int(day.sum())

    def clock(slot: int) -> str:
        slot %= SLOTS_PER_DAY
        return f"{slot * SLOT_MINUTES // 60:02d}:{slot * SLOT_MINUTES % 60:02d}"

    return {"name": "tou-peak", "start": clock(first), "end": clock(first + length) if length < SLOTS_PER_DAY
            else clock(first), "usd_per_kw": float(m["demand_charge_peak_usd_per_kw"])}


def openv2b_site(scenario: OpenV2BScenario, defaults: Site) -> Site:
    """A v2b site with the scenario's chargers, efficiencies, prices and demand charge.

    What openv2b does not specify (missing-SoC penalty, degradation, external price)
    comes from ``defaults``. The charge limit is flat (openv2b has no SoC taper) and
    the discharge floor 0 (openv2b's per-vehicle ``min_soc_kwh`` is not modelled).
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
            "energy": _daily_periods(price, str(scenario.directory / m["prices_file"])),
        },
        "penalties": defaults.penalties.model_dump(),
        "users": defaults.users.model_dump(),
        "battery": {"charge_curve": [[0.0, 1.0], [1.0, 1.0]], "discharge_floor_soc": 0.0},
    }
    if m.get("site_cap_kw") is not None:
        data["connection_limit_kw"] = float(m["site_cap_kw"])
    if m.get("demand_charge_peak_usd_per_kw"):
        data["tariff"]["demand_charges"] = [_peak_class_charge(scenario)]
    return site_from_dict(data, origin=str(scenario.directory / "scenario.json"))
