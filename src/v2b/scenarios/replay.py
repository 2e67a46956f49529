"""Replay mode: a recorded month of real sessions and load as a test episode.

Each calendar month with weekday sessions in the data is one replay episode:
its dates are the month's weekdays inside the recorded range; sessions keep
their recorded arrival slot, stay (cut at midnight) and request, thinned with a
seeded coin per session to the site's arrival rate (kept as recorded where the
month had fewer arrivals than that); battery and SoC follow the generative
model's rules when the data has none. The load is the same calendar month of
the load data, recorded weekdays in date order (cycled if the month needs more),
without added noise, times the site's scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from v2b.data.sessions import SessionData
from v2b.scenarios.episodes import EpisodeArrays, assemble
from v2b.scenarios.model import GenerativeModel
from v2b.timegrid import SLOT_MINUTES, SLOTS_PER_DAY


def replay_months(sessions: SessionData) -> list[tuple[int, int]]:
    """(year, month) of every month with weekday sessions, in time order."""
    arrival = sessions.frame["arrival"]
    weekday = arrival[arrival.dt.day_of_week < 5]
    months = sorted(set(zip(weekday.dt.year.tolist(), weekday.dt.month.tolist(), strict=True)))
    return months


def replay_days(sessions: SessionData, year: int, month: int) -> pd.DatetimeIndex:
    """The weekdays of ``year-month`` inside the recorded range."""
    arrival = sessions.frame["arrival"]
    first, last = arrival.min().normalize(), arrival.max().normalize()
    month_start = pd.Timestamp(year, month, 1)
    all_days = pd.date_range(month_start, month_start + pd.offsets.MonthEnd(0), freq="D")
    return all_days[(all_days.day_of_week < 5) & (all_days >= first) & (all_days <= last)]


def replay_load_kw(model: GenerativeModel, sessions: SessionData, year: int, month: int,
                   load_scale: float) -> np.ndarray:
    """The recorded month's building load, shape (days, 96) [kW] (module docstring)."""
    n_days = len(replay_days(sessions, year, month))
    load_rows = model.building.month_rows(month)
    picked = load_rows[np.arange(n_days) % load_rows.size]
    return model.building.profiles_kw[picked] * load_scale


def replay_episode(
    model: GenerativeModel,
    sessions: SessionData,
    year: int,
    month: int,
    rng: np.random.Generator,
    *,
    arrivals_per_day: float,
    load_scale: float,
) -> EpisodeArrays:
    """The recorded month ``year-month`` as an episode (module docstring)."""
    f = sessions.frame
    days = replay_days(sessions, year, month)
    day_of = {d: i for i, d in enumerate(days)}
    arrival_day = f["arrival"].dt.normalize()
    rows = f[arrival_day.isin(days)]
    rate = len(rows) / max(len(days), 1)
    keep = rng.random(len(rows)) < min(1.0, arrivals_per_day / rate) if rate > 0 else []
    rows = rows[keep]
    day = rows["arrival"].dt.normalize().map(day_of).to_numpy(dtype=np.int64)
    midnight = rows["arrival"].dt.normalize() + pd.Timedelta(days=1)
    departure = rows["departure"].where(rows["departure"] < midnight, midnight)
    minutes = rows["arrival"].dt.hour.to_numpy() * 60 + rows["arrival"].dt.minute.to_numpy()
    slot = minutes // SLOT_MINUTES
    stay_min = (departure - rows["arrival"]).dt.total_seconds().to_numpy() / 60.0
    stay = np.maximum(np.rint(stay_min / SLOT_MINUTES).astype(int), 1)
    drawn = {
        k: rows[k].to_numpy(dtype=float)
        for k in ("energy_kwh", "battery_kwh", "soc_arrival", "soc_requested")
    }
    requests = model.complete_requests(drawn, rng)
    load = replay_load_kw(model, sessions, year, month, load_scale)
    dates = tuple(d.date() for d in days)
    return assemble(dates, load.ravel(), day, slot, np.minimum(slot + stay, SLOTS_PER_DAY), requests)
