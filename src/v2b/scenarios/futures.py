"""Futures for the MC-MPC: the rest of today, sampled from the sampling pool.

A future is a pool day drawn uniformly (CONSENT Algorithm 1, line 5: "sample a
future trajectory from the generative model"; the pool stands in for the model
so that every policy sees the same finite set of futures): its sessions that
arrive *after* the current slot of day, moved onto today's episode slots, and
its load from the current slot to midnight, rescaled to today's level. The
rescale factor is today's observed load so far over the pool day's load in the
same slots, bounded to ``[RATIO_LOW, RATIO_HIGH]``. The first load entry is the
slot being decided: its measured value where the observation knows it (the
paper's assumption), otherwise a sample of it, the last measured value moved as
the pool day moved over one slot (``docs/model.md``, "Observation: what is known
of the load"); :meth:`PoolFutureSampler.coming_slot_samples_kw` gives the LP many
such samples, from the pool days shaped most like today so far.

Building and EV arrivals are sampled jointly from the same pool day; the
CONSENT authors found them independent at their site, and drawing both from one
day keeps that option open without assuming it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from v2b.episode import Session
from v2b.interface import Future, Observation
from v2b.scenarios.episodes import EpisodeArrays
from v2b.timegrid import SLOTS_PER_DAY

RATIO_LOW = 0.5
RATIO_HIGH = 2.0
#: Pool days the unmeasured current slot is sampled from: those shaped most like today so far
#: (on the default site's test months 0-9, working hours, 100 of its 1,090 pool days cut the
#: headroom a 95 % quantile keeps from 9.5 to 7.7 kW, exceeded 5.6 % of the time against 5.1 %:
#: ``tests/test_scenarios_futures.py``; ``docs/model.md``, "What is known of the load").
COMING_SLOT_DAYS = 100


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
        self.cum_sq_load = np.concatenate([np.zeros((self.n_days, 1)), np.cumsum(self.load_kw**2, axis=1)],
                                          axis=1)
        self.month_days = np.array([len(e.dates) for e in pool])
        #: each pool month's calendar month (1-12), for priors that weigh the season
        self.month_of_year = np.array([e.dates[0].month for e in pool])
        offsets = np.cumsum([0] + [len(e.dates) for e in pool[:-1]])
        g_day = np.concatenate([e.day + o for e, o in zip(pool, offsets, strict=True)])
        self.session_day = g_day
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
        # each pool slot's load and the slot before it (the previous day's last slot at
        # midnight, wrapping for the pool's first day), for the one-slot moves
        self.before_kw = np.roll(self.load_kw.reshape(-1), 1).reshape(self.n_days, SLOTS_PER_DAY)
        measured = self.before_kw > 0
        self.move = np.where(measured, self.load_kw / np.where(measured, self.before_kw, 1.0), 1.0)

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

    def _coming_slot(self, obs: Observation, days: np.ndarray, scaled: np.ndarray) -> np.ndarray:
        """The current slot's load in each future: the measured value where it is known;
        otherwise the last measured value moved as the pool day moved from the slot
        before to this one (so the futures spread like real 15-minute steps)."""
        if obs.current_load_known:
            return np.full(days.size, obs.last_load_kw)
        if not np.isfinite(obs.last_load_kw):
            return scaled
        # Not bounded like the day's level: the building's start-up is a real 2-3x step.
        return obs.last_load_kw * np.clip(self.move[days, obs.slot_of_day], 0.1, 10.0)

    def similar_days(self, obs: Observation, n: int = COMING_SLOT_DAYS) -> np.ndarray:
        """The ``n`` pool days whose load so far today is shaped most like today's: each
        profile over its own root mean square, squared distance over the slots measured today
        (every pool day before the first measurement of the day, or where the pool is smaller)."""
        today = np.asarray(obs.load_today_kw, dtype=float)
        seen = today.size
        scale = float(np.sqrt(np.mean(today**2))) if seen else 0.0
        if seen == 0 or scale <= 0 or self.n_days <= n:
            return np.arange(self.n_days)
        # |p/|p|_rms - t/|t|_rms|^2 expanded, so that the pool enters through one
        # matrix-vector product and its running sums of squares
        pool_sq = self.cum_sq_load[:, seen]
        pool_scale = np.sqrt(pool_sq / seen)
        has = pool_scale > 0
        cross = (self.load_kw[:, :seen] @ today) / (np.where(has, pool_scale, 1.0) * scale)
        distance = np.where(has, seen, 0.0) - 2.0 * cross + seen
        return np.sort(np.argpartition(distance, n - 1)[:n])

    def coming_slot_samples_kw(self, obs: Observation) -> np.ndarray | None:
        """The slot being decided, sampled: the last measurement moved as each of the
        :meth:`similar_days` moved over that slot [kW] (``None`` before any measurement)."""
        if not np.isfinite(obs.last_load_kw):
            return None
        days = self.similar_days(obs)
        return self._coming_slot(dataclasses.replace(obs, current_load_known=False), days, days * 0.0)

    def later_margins_kw(self, obs: Observation, quantile: float) -> np.ndarray:
        """For every slot of the day, how far the ``quantile`` of the :meth:`similar_days`'
        one-slot moves there lies above their mean, in kW at the level those days had in
        the slot before, rescaled to today's level so far (bounded like the futures') [kW],
        shape (96,). When the controller gets to a later slot it will not have measured it
        either, and will keep about this much headroom (``docs/model.md``, "What is known of
        the load")."""
        days = self.similar_days(obs)
        move = self.move[days]
        spread = np.quantile(move, quantile, axis=0) - move.mean(axis=0)
        level = self._ratio(obs, self.cum_load[days, len(obs.load_today_kw)]).mean()
        return np.maximum(spread * self.before_kw[days].mean(axis=0) * level, 0.0)

    def coming_slot_quantile_kw(self, obs: Observation, quantile: float) -> float:
        """A quantile of :meth:`coming_slot_samples_kw` [kW] (NaN before any measurement)."""
        moved = self.coming_slot_samples_kw(obs)
        return float("nan") if moved is None else float(np.quantile(moved, quantile))

    def pool_months(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Each pool month's load (days x 96) [kW] and its sessions: day within the month,
        arrival and departure slot of day (departure clipped to the day's end), energy
        asked for [kWh]."""
        bounds = np.cumsum(np.concatenate([[0], self.month_days]))
        departure = np.minimum(self.arrival_sod + self.stay, SLOTS_PER_DAY)
        out = []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            mine = (self.session_day >= a) & (self.session_day < b)
            out.append((self.load_kw[a:b], self.session_day[mine] - a, self.arrival_sod[mine],
                        departure[mine], self.requested_kwh[mine]))
        return out

    def sample(self, obs: Observation, n: int, rng: np.random.Generator,
               among: int | None = None) -> list[Future]:
        """``n`` futures of the rest of today (module docstring); with ``among``, their days
        are drawn from the ``among`` :meth:`similar_days` only instead of the whole pool."""
        k = obs.slot_of_day
        seen = len(obs.load_today_kw)
        if among:
            near = self.similar_days(obs, among)
            days = near[rng.integers(near.size, size=n)]
        else:
            days = rng.integers(self.n_days, size=n)
        ratio = self._ratio(obs, self.cum_load[days, seen])
        loads = self.load_kw[days, k:] * ratio[:, None]
        loads[:, 0] = self._coming_slot(obs, days, loads[:, 0])
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
        if obs.current_load_known or np.isfinite(obs.last_load_kw):
            load[0] = obs.last_load_kw  # known, or the last measurement held for one slot
        g = self.expected_day(k)
        return Future(load, self._arrivals(g, k, obs.day * SLOTS_PER_DAY, "fe"))
