"""Futures from what a controller has seen this month, for sites without a sampling pool.

Where no generative model and pool exist (an openv2b scenario, a site file with
history but no fitted model), a controller still knows the days it has watched:
their load and the EVs that arrived. Each future is one of those days from the
current slot on (same weekday three times as likely), its load rescaled to today's
level, its later arrivals moved to today: the spread of what was seen, never a
flat line. Before the first whole day there is nothing to draw from; the
controller then holds the latest load (``docs/model.md``, "Controller: futures
without a pool") and counts such decisions in its summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2b.episode import Session
from v2b.interface import Future, Observation
from v2b.timegrid import SLOTS_PER_DAY

#: How much a same-weekday day outweighs another in the draw.
SAME_WEEKDAY_WEIGHT = 3.0
RATIO_LOW, RATIO_HIGH = 0.5, 2.0


@dataclass(frozen=True)
class SeenSession:
    """An arrival the controller saw (slots of day)."""

    day: int
    arrival_sod: int
    departure_sod: int
    battery_kwh: float
    soc_arrival: float
    soc_requested: float


class SeenDays:
    """The load and arrivals of the days a controller has watched."""

    def __init__(self) -> None:
        self._load: dict[int, np.ndarray] = {}
        self._weekday: dict[int, int] = {}
        self._sessions: list[SeenSession] = []

    def observe(self, obs: Observation) -> None:
        seen = self._load.get(obs.day)
        if seen is None or seen.size < obs.load_today_kw.size:
            self._load[obs.day] = np.asarray(obs.load_today_kw, dtype=float).copy()
        self._weekday[obs.day] = obs.weekday

    def record_arrival(self, obs: Observation, session: Session) -> None:
        base = obs.day * SLOTS_PER_DAY
        self._sessions.append(SeenSession(
            obs.day, session.arrival_slot - base, min(session.departure_slot - base, SLOTS_PER_DAY),
            session.battery_kwh, session.soc_arrival, session.soc_requested,
        ))

    def catch_up(self, obs: Observation) -> None:
        """Take the earlier days' metered load from the observation (days on which the
        controller was never asked anything, because no EV was connected, included)."""
        whole = obs.load_past_kw.reshape(-1, SLOTS_PER_DAY) if obs.load_past_kw.size else np.zeros((0, 96))
        for d in range(whole.shape[0]):
            if self._load.get(d, np.zeros(0)).size < SLOTS_PER_DAY:
                self._load[d] = whole[d].copy()
                # Episodes are weekdays in a row: count back from today's weekday.
                self._weekday.setdefault(d, (obs.weekday - (obs.day - d)) % 5 if obs.weekday >= 0 else -1)

    def day_load_kw(self, day: int) -> np.ndarray:
        """A watched day's load over all 96 slots [kW] (see :func:`_full_day`)."""
        return _full_day(self._load[day])

    def day_sessions(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A watched day's arrivals: arrival and departure slot of day, energy asked [kWh]."""
        mine = [x for x in self._sessions if x.day == day]
        arrive = np.array([x.arrival_sod for x in mine], dtype=np.int64)
        leave = np.array([max(x.departure_sod, x.arrival_sod + 1) for x in mine], dtype=np.int64)
        kwh = np.array([max(x.soc_requested - x.soc_arrival, 0.0) * x.battery_kwh for x in mine])
        return arrive, np.minimum(leave, SLOTS_PER_DAY), kwh

    def whole_days(self, before_day: int) -> list[int]:
        return sorted(d for d in self._load if d < before_day and self._load[d].size)

    def sample(self, obs: Observation, n: int, rng: np.random.Generator) -> list[Future] | None:
        """``n`` futures of the rest of today drawn from the days seen (``None`` before
        the first whole day)."""
        self.catch_up(obs)
        days = self.whole_days(obs.day)
        if not days:
            return None
        same = np.array([self._weekday.get(d) == obs.weekday and obs.weekday >= 0 for d in days])
        weight = np.where(same, SAME_WEEKDAY_WEIGHT, 1.0)
        drawn = rng.choice(len(days), size=n, p=weight / weight.sum())
        k = obs.slot_of_day
        base = obs.day * SLOTS_PER_DAY
        out = []
        for j, i in enumerate(drawn.tolist()):
            d = days[i]
            load = self._anchored(_full_day(self._load[d]), obs)
            arrivals = tuple(
                Session(f"h{j:02d}-d{d}-{m}", base + x.arrival_sod,
                        base + max(x.departure_sod, x.arrival_sod + 1),
                        x.battery_kwh, x.soc_arrival, x.soc_requested)
                for m, x in enumerate(self._sessions) if x.day == d and x.arrival_sod > k
            )
            out.append(Future(load[k:], arrivals))
        return out

    @staticmethod
    def _anchored(day_kw: np.ndarray, obs: Observation) -> np.ndarray:
        """A seen day moved onto today: shifted by how far today's latest measurement is
        from that day's value at the same slot (flat stretches then continue exactly,
        changes follow the seen day); a day's level ratio where nothing is measured yet."""
        if np.isfinite(obs.last_load_kw):
            latest = obs.slot_of_day if obs.current_load_known else obs.slot_of_day - 1
            if latest >= 0:
                return np.maximum(day_kw + (obs.last_load_kw - day_kw[latest]), 0.0)
        seen = obs.load_today_kw.size
        past = day_kw[:seen].sum()
        ratio = float(np.clip(obs.load_today_kw.sum() / past, RATIO_LOW, RATIO_HIGH)) if past > 0 else 1.0
        return day_kw * ratio


def _full_day(load: np.ndarray) -> np.ndarray:
    """A watched day's load over all 96 slots, its unwatched end held at the last value."""
    if load.size >= SLOTS_PER_DAY:
        return load[:SLOTS_PER_DAY]
    return np.concatenate([load, np.full(SLOTS_PER_DAY - load.size, load[-1])])
