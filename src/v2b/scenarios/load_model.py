"""Building-load days: bootstrapped weekday profiles with fitted day-to-day variation.

Fit (from a 15-minute load series):

- complete weekdays of the data, grouped by calendar month; days whose mean is
  below ``HOLIDAY_FRACTION`` of their month's median are holidays (the DOE
  profile keeps the building closed then) and are left out;
- for each day ``x_d`` and its month's mean profile ``m``: a day scale
  ``s_d = mean(x_d) / mean(m)`` and a slot residual ``r_d = log(x_d / (s_d m))``;
  ``sigma_day = std(log s_d)``; the residual is an AR(1) process in slots fitted
  at the data's own interval (lag-one correlation ``phi``, std ``sigma_slot``),
  with ``phi`` converted to 15-minute steps (``phi ** (15 / interval)``).

Sample a day of month ``M``: a recorded weekday of ``M`` drawn uniformly, times a
lognormal day scale (``sigma_day``, mean 1) and ``exp`` of an AR(1) slot noise
(``phi``, ``sigma_slot``, mean 1). The recorded day already carries its own
weather; the fitted noise is added on top so that no two episodes replay the
same few days, and because a simulated reference building is smoother than a
metered one. A month absent from the data borrows the nearest recorded month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from v2b.data.errors import DataError
from v2b.data.load import LoadData
from v2b.timegrid import SLOT_MINUTES, SLOTS_PER_DAY

HOLIDAY_FRACTION = 0.6


@dataclass(frozen=True)
class LoadModel:
    """Recorded weekday profiles [kW] with their month and date, plus noise parameters."""

    profiles_kw: np.ndarray
    months: np.ndarray
    dates: np.ndarray
    sigma_day: float
    phi_slot: float
    sigma_slot: float
    holidays_dropped: int = 0

    @classmethod
    def fit(cls, load: LoadData) -> LoadModel:
        days, dates = _whole_days(load.series)
        weekday = pd.DatetimeIndex(dates).day_of_week < 5
        days, dates = days[weekday], dates[weekday]
        if days.shape[0] == 0:
            raise DataError(f"{load.source}: no complete weekday (96 slots of 15 min) in the data")
        months = pd.DatetimeIndex(dates).month.to_numpy()
        daily = days.mean(axis=1)
        keep = np.ones(days.shape[0], dtype=bool)
        for m in np.unique(months):
            same = months == m
            keep[same] = daily[same] >= HOLIDAY_FRACTION * np.median(daily[same])
        days, dates, months = days[keep], dates[keep], months[keep]
        sigma_day, phi, sigma_slot = _fit_variation(days, months, load.native_minutes)
        return cls(
            profiles_kw=days,
            months=months.astype(np.int64),
            dates=dates.astype("datetime64[D]"),
            sigma_day=sigma_day,
            phi_slot=phi,
            sigma_slot=sigma_slot,
            holidays_dropped=int((~keep).sum()),
        )

    def month_rows(self, month: int) -> np.ndarray:
        """Rows of ``profiles_kw`` recorded in ``month`` (or the nearest recorded month)."""
        recorded = np.unique(self.months)
        gap = np.abs(recorded - month)
        nearest = recorded[np.argmin(np.minimum(gap, 12 - gap))]
        return np.flatnonzero(self.months == nearest)

    def sample_days(
        self, month: int, n_days: int, rng: np.random.Generator, noise: bool = True
    ) -> np.ndarray:
        """``n_days`` load profiles of ``month`` [kW], shape (n_days, 96), unscaled."""
        rows = self.month_rows(month)
        picked = self.profiles_kw[rows[rng.integers(rows.size, size=n_days)]]
        if not noise:
            return picked.copy()
        z_day = rng.standard_normal(n_days)
        eps = rng.standard_normal((n_days, SLOTS_PER_DAY))
        day_scale = np.exp(self.sigma_day * z_day - 0.5 * self.sigma_day**2)
        innovations = eps * self.sigma_slot
        innovations[:, 1:] *= np.sqrt(1.0 - self.phi_slot**2)
        # The AR(1) recursion runs along the day, vectorised over days (96 steps);
        # scipy.signal.lfilter would do the same but costs ~1.5 s to import.
        ar = innovations.copy()
        for k in range(1, SLOTS_PER_DAY):
            ar[:, k] += self.phi_slot * ar[:, k - 1]
        return picked * day_scale[:, None] * np.exp(ar - 0.5 * self.sigma_slot**2)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "load_profiles_kw": self.profiles_kw,
            "load_months": self.months,
            "load_dates": self.dates.astype("datetime64[D]").astype(np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict) -> LoadModel:
        return cls(
            profiles_kw=arrays["load_profiles_kw"],
            months=arrays["load_months"],
            dates=arrays["load_dates"].astype("datetime64[D]"),
            sigma_day=float(params["sigma_day"]),
            phi_slot=float(params["phi_slot"]),
            sigma_slot=float(params["sigma_slot"]),
            holidays_dropped=int(params.get("holidays_dropped", 0)),
        )

    def params(self) -> dict[str, float]:
        return {
            "sigma_day": self.sigma_day,
            "phi_slot": self.phi_slot,
            "sigma_slot": self.sigma_slot,
            "holidays_dropped": self.holidays_dropped,
        }


def _whole_days(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Complete days as a (days, 96) matrix and their dates (days with a gap dropped)."""
    start = series.index.min().normalize()
    end = series.index.max().normalize() + pd.Timedelta(days=1)
    grid = pd.date_range(start, end, freq=f"{SLOT_MINUTES}min", inclusive="left")
    values = series.reindex(grid).to_numpy(dtype=float).reshape(-1, SLOTS_PER_DAY)
    dates = grid[::SLOTS_PER_DAY].to_numpy()
    full = np.isfinite(values).all(axis=1)
    return values[full], dates[full]


def _fit_variation(days: np.ndarray, months: np.ndarray, native_minutes: float) -> tuple[float, float, float]:
    """Day-scale sigma, 15-min AR(1) phi and slot sigma from residuals (module docstring)."""
    tiny = 1e-6 * max(float(days.max()), 1e-9)
    log_scales, residuals = [], []
    for m in np.unique(months):
        x = np.maximum(days[months == m], tiny)
        mean_profile = x.mean(axis=0)
        scale = x.mean(axis=1) / mean_profile.mean()
        log_scales.append(np.log(scale))
        residuals.append(np.log(x / (scale[:, None] * mean_profile)))
    log_scale = np.concatenate(log_scales)
    sigma_day = float(np.std(log_scale, ddof=1)) if log_scale.size > 1 else 0.0
    step = max(int(round(native_minutes / SLOT_MINUTES)), 1)
    r = np.concatenate(residuals)[:, ::step]
    sigma_slot = float(np.std(r))
    if r.shape[1] < 2 or sigma_slot == 0.0:
        return sigma_day, 0.0, sigma_slot
    a, b = r[:, :-1].ravel(), r[:, 1:].ravel()
    phi_native = float(np.clip(np.corrcoef(a, b)[0, 1], 0.0, 0.999))
    phi = phi_native ** (1.0 / step)
    return sigma_day, float(phi), sigma_slot
