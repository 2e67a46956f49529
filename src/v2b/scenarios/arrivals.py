"""EV arrival model fitted from session data (CONSENT Section 6, "data-driven generative
models"; ``docs/data.md``).

Per weekday of an episode:

1. the number of arrivals is ``stochastic_round(arrivals_per_day x r)`` with ``r``
   drawn from the data's *relative* daily counts on the same weekday (a day's
   count divided by the mean count of its calendar month, so the level shift of
   e.g. the 2020 lockdown does not leak into the spread);
2. each arrival's 15-minute slot comes from the arrival time-of-day histogram,
   smoothed with a Gaussian kernel (sigma = 1 slot);
3. its stay and requested energy come *jointly* from a recorded session that
   arrived in the same hour (bins with fewer than ``MIN_BIN`` sessions borrow the
   neighbouring hours), so energy is conditioned on the stay and the stay on the
   arrival hour, with the data's own joint law; recorded battery/SoC travel along
   when the data has them.

Stays are cut at midnight: every EV leaves by the end of its day (CONSENT
Section 3 assumes it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from v2b.data.errors import DataError
from v2b.data.sessions import SessionData
from v2b.timegrid import SLOT_MINUTES, SLOTS_PER_DAY

MIN_BIN = 30
SMOOTH_SLOTS = 1.0
#: recorded-session fields that travel with a drawn stay
POOL_FIELDS = ("slot", "duration_min", "energy_kwh", "battery_kwh", "soc_arrival", "soc_requested")


def smooth_pmf(counts: np.ndarray, sigma_slots: float = SMOOTH_SLOTS) -> np.ndarray:
    """Gaussian-smoothed, normalised histogram; edges reflect (no wrap past midnight)."""
    radius = int(np.ceil(3 * sigma_slots))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma_slots) ** 2)
    padded = np.pad(counts.astype(float), radius, mode="reflect")
    smooth = np.convolve(padded, kernel / kernel.sum(), mode="valid")
    return smooth / smooth.sum()


def stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Round to an integer with expectation ``x`` (floor, plus 1 with the fraction)."""
    low = np.floor(x)
    return (low + (rng.random(x.shape) < x - low)).astype(int)


@dataclass(frozen=True)
class ArrivalModel:
    """Fitted arrival, stay and request distributions (see module docstring).

    Attributes
    ----------
    count_ratio, count_weekday : numpy.ndarray
        Per recorded day: its count over its month's mean count, and its weekday (0=Mon).
    data_arrivals_per_day : float
        Mean recorded arrivals per weekday with sessions.
    tod_pmf : numpy.ndarray
        Probability of arriving in each of the 96 slots of a day.
    pool : dict of numpy.ndarray
        Per recorded session: ``POOL_FIELDS`` (NaN where the data has none).
    hour_index, hour_offsets : numpy.ndarray
        ``hour_index[hour_offsets[h]:hour_offsets[h+1]]`` are the sessions a stay
        arriving in hour ``h`` is drawn from.
    day_offsets : numpy.ndarray
        The pool is in day order: sessions ``day_offsets[d]:day_offsets[d+1]`` arrived
        on recorded day ``d`` (the day of ``count_ratio[d]``).
    """

    count_ratio: np.ndarray
    count_weekday: np.ndarray
    data_arrivals_per_day: float
    tod_pmf: np.ndarray
    pool: dict[str, np.ndarray]
    hour_index: np.ndarray
    hour_offsets: np.ndarray
    day_offsets: np.ndarray

    @classmethod
    def fit(cls, sessions: SessionData) -> ArrivalModel:
        f = sessions.frame
        f = f[f["arrival"].dt.day_of_week < 5]
        if f.empty:
            raise DataError(f"{sessions.source}: no sessions arrive on a weekday")
        f = f.iloc[np.argsort(f["arrival"].to_numpy(), kind="stable")]
        arrival = f["arrival"]
        day = arrival.dt.normalize()
        midnight = day + pd.Timedelta(days=1)
        departure = f["departure"].where(f["departure"] < midnight, midnight)
        minutes = arrival.dt.hour.to_numpy() * 60 + arrival.dt.minute.to_numpy()
        slot = minutes // SLOT_MINUTES
        counts = day.value_counts().sort_index()
        month = counts.index.to_period("M")
        ratio = counts / counts.groupby(month).transform("mean")
        pool = {
            "slot": slot.astype(np.int64),
            "duration_min": np.maximum((departure - arrival).dt.total_seconds().to_numpy() / 60.0, 1.0),
            "energy_kwh": f["energy_kwh"].to_numpy(dtype=float),
            "battery_kwh": f["battery_kwh"].to_numpy(dtype=float),
            "soc_arrival": f["soc_arrival"].to_numpy(dtype=float),
            "soc_requested": f["soc_requested"].to_numpy(dtype=float),
        }
        hour = minutes // 60
        index, offsets = _hour_bins(hour)
        per_day = counts.to_numpy(dtype=np.int64)
        return cls(
            count_ratio=ratio.to_numpy(dtype=float),
            count_weekday=counts.index.day_of_week.to_numpy().astype(np.int64),
            data_arrivals_per_day=float(counts.mean()),
            tod_pmf=smooth_pmf(np.bincount(slot, minlength=SLOTS_PER_DAY)),
            pool=pool,
            hour_index=index,
            hour_offsets=offsets,
            day_offsets=np.concatenate([[0], np.cumsum(per_day)]).astype(np.int64),
        )

    def sample_days(
        self, weekdays: np.ndarray, arrivals_per_day: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Whole recorded days, thinned to the site's rate: the arrivals of each day.

        For each day (``weekdays``: 0=Mon..4=Fri) a recorded day of the same weekday is
        drawn, with probability proportional to its month's mean count (so that each
        recorded session weighs as much as in the pooled data: a quiet lockdown day is
        drawn less often), and each of its sessions kept with probability ``arrivals_per_day x r / m``
        (``r`` the day's count over its month's mean, ``m`` its count): on average
        ``arrivals_per_day x r`` arrivals, with the binomial spread a smaller site's
        share of the same drivers has. Arrival times, stays and requests keep the day's
        own clustering: real days are lumpier than independent draws from the pooled
        distributions (``docs/model.md``, "Arrivals: whole recorded days").

        Returns the day index of each arrival and its fields as :meth:`sample_stays`.
        """
        picks, days = [], []
        u = rng.random(weekdays.size)
        counts = np.diff(self.day_offsets)
        level = counts / self.count_ratio  # each recorded day's month mean
        for i, wd in enumerate(weekdays.tolist()):
            same = np.flatnonzero(self.count_weekday == wd)
            if same.size == 0:
                same = np.arange(self.count_ratio.size)
            cdf = np.cumsum(level[same])
            d = int(same[min(int(np.searchsorted(cdf, u[i] * cdf[-1], side="right")), same.size - 1)])
            lo, hi = int(self.day_offsets[d]), int(self.day_offsets[d + 1])
            # Each recorded session is kept with the probability that brings the day's
            # month to the site's rate (a coin per session, as replay months are thinned);
            # a site busier than the data repeats sessions of the day.
            keep = arrivals_per_day * self.count_ratio[d] / (hi - lo)
            coins = rng.random(hi - lo)
            take = np.flatnonzero(coins < min(keep, 1.0))
            if keep > 1.0:
                extra = int(stochastic_round(np.array([(keep - 1.0) * (hi - lo)]), rng)[0])
                take = np.concatenate([take, rng.integers(hi - lo, size=extra)])
            picks.append(lo + take)
            days.append(np.full(take.size, i))
        pick = np.concatenate(picks).astype(np.int64) if picks else np.zeros(0, dtype=np.int64)
        day = np.concatenate(days).astype(np.int64) if days else np.zeros(0, dtype=np.int64)
        out = {name: values[pick] for name, values in self.pool.items() if name != "slot"}
        stay = np.maximum(np.rint(out.pop("duration_min") / SLOT_MINUTES).astype(int), 1)
        slot = self.pool["slot"][pick]
        out["arrival_slot"] = slot
        out["departure_slot"] = np.minimum(slot + stay, SLOTS_PER_DAY)
        return day, out

    def sample_counts(
        self, weekdays: np.ndarray, arrivals_per_day: float, rng: np.random.Generator
    ) -> np.ndarray:
        """Arrivals on each day (``weekdays``: 0=Mon..4=Fri) at mean ``arrivals_per_day``."""
        u = rng.random(weekdays.size)
        ratios = np.empty(weekdays.size)
        for wd in np.unique(weekdays):
            same = self.count_ratio[self.count_weekday == wd]
            if same.size == 0:
                same = self.count_ratio
            days = weekdays == wd
            ratios[days] = np.sort(same)[(u[days] * same.size).astype(int)]
        return stochastic_round(arrivals_per_day * ratios, rng)

    def sample_stays(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` arrivals: slot of day, exclusive departure slot (<= 96) and the drawn
        session's requested energy [kWh] and recorded battery/SoC (NaN if none)."""
        slot = rng.choice(SLOTS_PER_DAY, size=n, p=self.tod_pmf)
        hour = slot * SLOT_MINUTES // 60
        start, stop = self.hour_offsets[hour], self.hour_offsets[hour + 1]
        pick = self.hour_index[start + (rng.random(n) * (stop - start)).astype(int)]
        out = {name: values[pick] for name, values in self.pool.items() if name != "slot"}
        stay = np.maximum(np.rint(out.pop("duration_min") / SLOT_MINUTES).astype(int), 1)
        out["arrival_slot"] = slot
        out["departure_slot"] = np.minimum(slot + stay, SLOTS_PER_DAY)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """Arrays for saving (:meth:`from_arrays` inverts it)."""
        out = {
            "count_ratio": self.count_ratio,
            "count_weekday": self.count_weekday,
            "tod_pmf": self.tod_pmf,
            "hour_index": self.hour_index,
            "hour_offsets": self.hour_offsets,
            "day_offsets": self.day_offsets,
        }
        out.update({f"pool_{k}": v for k, v in self.pool.items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], data_arrivals_per_day: float) -> ArrivalModel:
        return cls(
            count_ratio=arrays["count_ratio"],
            count_weekday=arrays["count_weekday"],
            data_arrivals_per_day=data_arrivals_per_day,
            tod_pmf=arrays["tod_pmf"],
            pool={k: arrays[f"pool_{k}"] for k in POOL_FIELDS},
            hour_index=arrays["hour_index"],
            hour_offsets=arrays["hour_offsets"],
            day_offsets=arrays["day_offsets"],
        )


def _hour_bins(hour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Session indices per arrival hour, each bin widened symmetrically (hours
    h-w..h+w) until it holds ``MIN_BIN`` sessions or all of them."""
    need = min(MIN_BIN, hour.size)
    per_hour = np.bincount(hour, minlength=24)
    chunks = []
    for h in range(24):
        w = 0
        while per_hour[max(0, h - w) : h + w + 1].sum() < need:
            w += 1
        chunks.append(np.flatnonzero((hour >= h - w) & (hour <= h + w)))
    offsets = np.concatenate([[0], np.cumsum([c.size for c in chunks])]).astype(np.int64)
    return np.concatenate(chunks).astype(np.int64), offsets
