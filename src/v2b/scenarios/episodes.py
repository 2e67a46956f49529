"""Generate one episode (a billing month of weekdays) from a fitted model and a generator.

Draw order (fixed, so a seed pins the episode): month, load days, then per day a
recorded day, its count and its sessions; battery and SoC. An episode is built from its own
generator, so any one of them can be generated alone.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np

from v2b.episode import Episode, Session
from v2b.scenarios.model import GenerativeModel
from v2b.timegrid import SLOTS_PER_DAY

#: Calendar year of generated dates (real weekdays; the shipped load is labelled 2023).
EPISODE_YEAR = 2023


def weekdays_of_month(year: int, month: int) -> tuple[dt.date, ...]:
    """Every Monday-Friday date of a month."""
    days = calendar.monthrange(year, month)[1]
    dates = (dt.date(year, month, d) for d in range(1, days + 1))
    return tuple(d for d in dates if d.weekday() < 5)


@dataclass(frozen=True)
class EpisodeArrays:
    """An episode as arrays (the form the future sampler stacks).

    Session arrays are sorted by (day, arrival, departure); slots are episode
    slots, ``departure_slot`` exclusive and never past the end of its day (except in an
    overnight episode, :attr:`v2b.episode.Episode.overnight`).
    """

    dates: tuple[dt.date, ...]
    load_kw: np.ndarray
    day: np.ndarray
    arrival_slot: np.ndarray
    departure_slot: np.ndarray
    battery_kwh: np.ndarray
    soc_arrival: np.ndarray
    soc_requested: np.ndarray

    @property
    def session_ids(self) -> list[str]:
        """``d03-s012``: day 3, twelfth arrival of that day (0-based)."""
        first = np.searchsorted(self.day, self.day, side="left")
        within = np.arange(self.day.size) - first
        return [f"d{d:02d}-s{k:03d}" for d, k in zip(self.day.tolist(), within.tolist(), strict=True)]

    def to_episode(self, site_name: str, kind: str, index: int) -> Episode:
        sessions = tuple(
            Session(sid, a, d, b, sa, sr)
            for sid, a, d, b, sa, sr in zip(
                self.session_ids,
                self.arrival_slot.tolist(),
                self.departure_slot.tolist(),
                self.battery_kwh.tolist(),
                self.soc_arrival.tolist(),
                self.soc_requested.tolist(),
                strict=True,
            )
        )
        return Episode(site_name, kind, index, self.dates, self.load_kw, sessions)


def assemble(
    dates: tuple[dt.date, ...],
    load_kw: np.ndarray,
    day: np.ndarray,
    slot_of_day: np.ndarray,
    departure_of_day: np.ndarray,
    requests: dict[str, np.ndarray],
) -> EpisodeArrays:
    """Sort sessions by (day, arrival, departure) and turn day slots into episode slots."""
    order = np.lexsort((departure_of_day, slot_of_day, day))
    day = day[order]
    return EpisodeArrays(
        dates=dates,
        load_kw=np.ascontiguousarray(load_kw, dtype=float),
        day=day.astype(np.int64),
        arrival_slot=(day * SLOTS_PER_DAY + slot_of_day[order]).astype(np.int64),
        departure_slot=(day * SLOTS_PER_DAY + departure_of_day[order]).astype(np.int64),
        battery_kwh=requests["battery_kwh"][order],
        soc_arrival=requests["soc_arrival"][order],
        soc_requested=requests["soc_requested"][order],
    )


def generate_episode(
    model: GenerativeModel,
    rng: np.random.Generator,
    *,
    arrivals_per_day: float,
    load_scale: float,
    year: int = EPISODE_YEAR,
) -> EpisodeArrays:
    """One synthetic billing month.

    Parameters
    ----------
    model : GenerativeModel
        The fitted model.
    rng : numpy.random.Generator
        The episode's own generator.
    arrivals_per_day : float
        Mean EV arrivals per weekday at the site.
    load_scale : float
        Multiplier on the fitted building load (the site's ``load.scale``).
    year : int
        Calendar year of the dates.
    """
    month = int(rng.integers(1, 13))
    dates = weekdays_of_month(year, month)
    load = model.building.sample_days(month, len(dates), rng) * load_scale
    weekdays = np.array([d.weekday() for d in dates])
    day, stays = model.arrivals.sample_days(weekdays, arrivals_per_day, rng)
    requests = model.complete_requests(stays, rng)
    return assemble(dates, load.ravel(), day, stays["arrival_slot"], stays["departure_slot"], requests)
