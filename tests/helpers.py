"""Small sites and episodes built by hand for tests."""

from __future__ import annotations

import datetime as dt

import numpy as np

from v2b.episode import Episode, Session
from v2b.site import Site, site_from_dict
from v2b.timegrid import SLOTS_PER_DAY


def tiny_site(efficiency: float = 0.9, flat_curve: bool = True, **overrides) -> Site:
    """One bidirectional and one unidirectional 10 kW charger, 0.1/0.2 $/kWh, 10 $/kW."""
    data = {
        "name": "tiny",
        "chargers": [
            {
                "count": 1,
                "kind": "bidirectional",
                "max_kw": 10.0,
                "min_kw": -10.0,
                "charge_efficiency": efficiency,
                "discharge_efficiency": efficiency,
            },
            {
                "count": 1,
                "kind": "unidirectional",
                "max_kw": 10.0,
                "charge_efficiency": efficiency,
                "discharge_efficiency": efficiency,
            },
        ],
        "tariff": {
            "demand_charge_usd_per_kw": 10.0,
            "energy": [
                {"name": "morning", "start": "00:00", "end": "12:00", "price_per_kwh": 0.1},
                {"name": "afternoon", "start": "12:00", "end": "24:00", "price_per_kwh": 0.2},
            ],
        },
        "penalties": {"soc_penalty_usd_per_kwh": 0.5, "degradation_usd_per_kwh": 0.05},
    }
    if flat_curve:
        data["battery"] = {"charge_curve": [[0.0, 1.0], [1.0, 1.0]], "discharge_floor_soc": 0.2}
    data.update(overrides)
    return site_from_dict(data)


def episode(sessions: list[Session], load_kw: float | np.ndarray = 20.0, days: int = 1) -> Episode:
    dates = tuple(dt.date(2023, 3, 6) + dt.timedelta(days=i) for i in range(days))
    load = np.broadcast_to(np.asarray(load_kw, dtype=float), (days * SLOTS_PER_DAY,)).copy()
    return Episode("tiny", "test", 0, dates, load, tuple(sessions))


def random_episode(rng: np.random.Generator, days: int = 3, per_day: int = 6) -> Episode:
    """Random sessions and a wavy load, for invariant tests."""
    sessions = []
    for d in range(days):
        for k in range(per_day):
            arrival = d * SLOTS_PER_DAY + int(rng.integers(20, 60))
            departure = min(arrival + int(rng.integers(1, 40)), (d + 1) * SLOTS_PER_DAY)
            soc_arrival = float(rng.uniform(0.0, 0.9))
            sessions.append(
                Session(
                    f"d{d}-s{k}",
                    arrival,
                    departure,
                    float(rng.choice([20.0, 40.0, 62.0])),
                    soc_arrival,
                    float(rng.uniform(soc_arrival, 1.0)),
                )
            )
    load = 15 + 10 * rng.random(days * SLOTS_PER_DAY)
    return episode(sessions, load, days)
