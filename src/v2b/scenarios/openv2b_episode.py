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

import datetime as dt

import numpy as np

from v2b.data.errors import DataError
from v2b.data.openv2b import DEFAULT_START, OpenV2BScenario
from v2b.episode import Episode
from v2b.scenarios.episodes import assemble
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
    return arrays.to_episode(site_name, "replay", index)
