"""Futures for the MC-MPC: the rest of today, sampled from the sampling pool.

A future is a pool day drawn uniformly (CONSENT Algorithm 1, line 5: "sample a
future trajectory from the generative model"; the pool stands in for the model
so that every policy sees the same finite set of futures): its sessions that
arrive *after* the current slot of day, moved onto today's episode slots, and
its load from the current slot to midnight, rescaled to today's level. The
rescale factor is today's observed load so far over the pool day's load in the
same slots, bounded to ``[RATIO_LOW, RATIO_HIGH]``; the first load entry is
replaced by the observed current value (known at decision time).

Building and EV arrivals are sampled jointly from the same pool day; the
CONSENT authors found them independent at their site, and drawing both from one
day keeps that option open without assuming it.
"""

from __future__ import annotations

import numpy as np

from v2b.episode import Session
from v2b.interface import Future, Observation
from v2b.scenarios.episodes import EpisodeArrays
from v2b.timegrid import SLOTS_PER_DAY

RATIO_LOW = 0.5
RATIO_HIGH = 2.0


class PoolFutureSampler:
    """Samples futures from pool episodes (implements :class:`v2b.interface.FutureSampler`).

    Parameters
    ----------
    pool : list of EpisodeArrays
        The sampling-pool episodes; every one of their days is a candidate.
    """

    def __init__(self, pool: list[EpisodeArrays]) -> None:
        if not pool:
            raise ValueError("the sampling pool is empty")
        self.load_kw = np.concatenate([e.load_kw.reshape(-1, SLOTS_PER_DAY) for e in pool])
        self.n_days = self.load_kw.shape[0]
        self.cum_load = np.concatenate([np.zeros((self.n_days, 1)), np.cumsum(self.load_kw, axis=1)], axis=1)
        offsets = np.cumsum([0] + [len(e.dates) for e in pool[:-1]])
        g_day = np.concatenate([e.day + o for e, o in zip(pool, offsets, strict=True)])
        self.arrival_sod = np.concatenate([e.arrival_slot % SLOTS_PER_DAY for e in pool])
        departure = np.concatenate([e.departure_slot for e in pool])
        self.stay = departure - np.concatenate([e.arrival_slot for e in pool])
        self.battery_kwh = np.concatenate([e.battery_kwh for e in pool])
        self.soc_arrival = np.concatenate([e.soc_arrival for e in pool])
        self.soc_requested = np.concatenate([e.soc_requested for e in pool])
        self.requested_kwh = np.maximum(self.soc_requested - self.soc_arrival, 0) * self.battery_kwh
        self.ids = [f"p{e_i:02d}-{sid}" for e_i, e in enumerate(pool) for sid in e.session_ids]
        day_start = np.searchsorted(g_day, np.arange(self.n_days + 1), side="left")
        self.day_end = day_start[1:]
        # first session of day g arriving strictly after slot k: sessions are sorted
        # by (day, arrival), so it is day start + count arriving at or before k
        at_or_before = np.zeros((self.n_days, SLOTS_PER_DAY), dtype=np.int64)
        np.add.at(at_or_before, (g_day, self.arrival_sod), 1)
        self.first_after = day_start[:-1, None] + np.cumsum(at_or_before, axis=1)
        self._expected_day: dict[int, int] = {}

    def _ratio(self, obs: Observation, pool_past_kw: np.ndarray) -> np.ndarray:
        observed = float(np.sum(obs.load_today_kw))
        safe = np.where(pool_past_kw > 0, pool_past_kw, 1.0)
        ratio = np.where(pool_past_kw > 0, observed / safe, 1.0)
        return np.clip(ratio, RATIO_LOW, RATIO_HIGH)

    def _arrivals(self, g: int, k: int, base: int, tag: str) -> tuple[Session, ...]:
        lo, hi = int(self.first_after[g, k]), int(self.day_end[g])
        if lo >= hi:
            return ()
        arr = (base + self.arrival_sod[lo:hi]).tolist()
        dep = (base + self.arrival_sod[lo:hi] + self.stay[lo:hi]).tolist()
        bat = self.battery_kwh[lo:hi].tolist()
        sa = self.soc_arrival[lo:hi].tolist()
        sr = self.soc_requested[lo:hi].tolist()
        ids = self.ids[lo:hi]
        return tuple(Session(f"{tag}-{ids[j]}", arr[j], dep[j], bat[j], sa[j], sr[j]) for j in range(hi - lo))

    def sample(self, obs: Observation, n: int, rng: np.random.Generator) -> list[Future]:
        """``n`` futures of the rest of today (module docstring)."""
        k = obs.slot_of_day
        seen = len(obs.load_today_kw)
        days = rng.integers(self.n_days, size=n)
        ratio = self._ratio(obs, self.cum_load[days, seen])
        loads = self.load_kw[days, k:] * ratio[:, None]
        if seen:
            loads[:, 0] = obs.load_today_kw[-1]
        base = obs.day * SLOTS_PER_DAY
        return [
            Future(loads[j], self._arrivals(int(g), k, base, f"f{j:02d}"))
            for j, g in enumerate(days.tolist())
        ]

    def expected_day(self, slot_of_day: int) -> int:
        """The pool day whose arrivals after ``slot_of_day`` are closest to the pool's
        mean: standardised distance in (number of arrivals, requested kWh)."""
        if slot_of_day not in self._expected_day:
            lo = self.first_after[:, slot_of_day]
            counts = (self.day_end - lo).astype(float)
            cum_kwh = np.concatenate([[0.0], np.cumsum(self.requested_kwh)])
            energy = cum_kwh[self.day_end] - cum_kwh[lo]
            z = [(x - x.mean()) / (x.std() or 1.0) for x in (counts, energy)]
            self._expected_day[slot_of_day] = int(np.argmin(z[0] ** 2 + z[1] ** 2))
        return self._expected_day[slot_of_day]

    def expected(self, obs: Observation) -> Future:
        """One deterministic "expected" future (for ``mpc-expected``).

        Load: the pool's mean profile from the current slot on, rescaled to today's
        level like a sample; arrivals: those of :meth:`expected_day`.
        """
        k = obs.slot_of_day
        seen = len(obs.load_today_kw)
        mean_profile = self.load_kw.mean(axis=0)
        ratio = self._ratio(obs, np.array([mean_profile[:seen].sum()]))[0]
        load = mean_profile[k:] * ratio
        if seen:
            load[0] = obs.load_today_kw[-1]
        g = self.expected_day(k)
        return Future(load, self._arrivals(g, k, obs.day * SLOTS_PER_DAY, "fe"))
