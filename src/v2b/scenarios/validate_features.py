"""The features ``v2b data validate`` compares, and their comparison rows.

A *sample* is a list of months (generated, held-out or fit half; :mod:`.validate`) turned
into features: per session, per day and per month for the EV sessions, per day and per
month for the building load. Each feature is compared with a two-sample statistic
(:mod:`.validate_stats`): a Kolmogorov-Smirnov distance, except

- requested energy by arrival hour: the KS distance within 3-hour arrival bands, the
  worst band reported (its p-value Bonferroni-corrected for the number of bands);
- the building's mean weekday profile: the RMS gap between the two samples' mean
  profiles [kW], with a permutation p-value (days relabelled at random).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from v2b.data.load import LoadData
from v2b.scenarios.episodes import EpisodeArrays
from v2b.scenarios.validate_stats import (
    BAND_HOURS,
    banded_ks,
    busy_share,
    common_bands,
    ks_test,
    lag1_autocorrelation,
    permutation_p,
    profile_rms,
)
from v2b.timegrid import SLOT_H, SLOT_MINUTES, SLOTS_PER_DAY

DEFAULT_CHARGERS = 15
Month = tuple[int, int]


def recorded_weekdays(load: LoadData, months: Sequence[Month]) -> list[np.ndarray]:
    """Per month, its complete weekdays as recorded: a (days, 96) array [kW] (holidays kept)."""
    out = []
    for year, month in months:
        start = pd.Timestamp(year, month, 1)
        grid = pd.date_range(start, start + pd.offsets.MonthBegin(1), freq=f"{SLOT_MINUTES}min",
                             inclusive="left")
        values = load.series.reindex(grid).to_numpy(dtype=float).reshape(-1, SLOTS_PER_DAY)
        weekday = grid[::SLOTS_PER_DAY].day_of_week < 5
        out.append(values[np.isfinite(values).all(axis=1) & weekday])
    return out


@dataclass(frozen=True)
class SessionFeatures:
    """Session features of a list of months.

    Per session: ``arrival_h`` (hour of day of the arrival slot's start), ``stay_h`` [h],
    ``requested_kwh`` (``(soc_requested - soc_arrival) x battery_kwh``). Per day:
    ``daily_count`` and ``daily_relative`` (the count over its month's mean: the
    within-month spread without the month's level, which a site sets). Per month:
    ``month_mean`` (arrivals per weekday), ``month_autocorr`` (lag-1 autocorrelation of
    its daily counts, weekdays in date order), ``month_busy`` (share of its slots with at
    least ``chargers`` EVs connected).
    """

    arrival_h: np.ndarray
    stay_h: np.ndarray
    requested_kwh: np.ndarray
    daily_count: np.ndarray
    daily_relative: np.ndarray
    month_mean: np.ndarray
    month_autocorr: np.ndarray
    month_busy: np.ndarray

    @classmethod
    def of(cls, episodes: Sequence[EpisodeArrays], chargers: int) -> SessionFeatures:
        episodes = [ep for ep in episodes if ep.dates]
        counts = [np.bincount(ep.day, minlength=len(ep.dates)) for ep in episodes]

        def cat(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts).astype(float) if parts else np.zeros(0)

        return cls(
            arrival_h=cat([(ep.arrival_slot % SLOTS_PER_DAY) * SLOT_H for ep in episodes]),
            stay_h=cat([(ep.departure_slot - ep.arrival_slot) * SLOT_H for ep in episodes]),
            requested_kwh=cat([
                np.maximum((ep.soc_requested - ep.soc_arrival) * ep.battery_kwh, 0.0) for ep in episodes
            ]),
            daily_count=cat(counts),
            daily_relative=cat([c / c.mean() if c.mean() > 0 else c.astype(float) for c in counts]),
            month_mean=np.array([c.mean() for c in counts]),
            month_autocorr=np.array([lag1_autocorrelation(c) for c in counts]),
            month_busy=np.array([
                busy_share(ep.arrival_slot, ep.departure_slot, len(ep.dates) * SLOTS_PER_DAY, chargers)
                for ep in episodes
            ]),
        )


@dataclass(frozen=True)
class LoadFeatures:
    """Building-load features of a list of months of weekdays.

    Per day: ``daily_kwh`` and ``daily_relative`` (its energy over its month's mean daily
    energy: the day-to-day variation without the season); ``days_kw`` the (days, 96) loads
    [kW]. Per month: ``month_peak_kw`` (its highest 15-minute load).
    """

    daily_kwh: np.ndarray
    daily_relative: np.ndarray
    days_kw: np.ndarray
    month_peak_kw: np.ndarray

    @classmethod
    def of(cls, months: Sequence[np.ndarray]) -> LoadFeatures:
        months = [m for m in months if m.shape[0] > 0]
        daily = [m.sum(axis=1) * SLOT_H for m in months]
        return cls(
            daily_kwh=np.concatenate(daily),
            daily_relative=np.concatenate([d / d.mean() if d.mean() > 0 else d for d in daily]),
            days_kw=np.concatenate(months),
            month_peak_kw=np.array([m.max() for m in months]),
        )


@dataclass(frozen=True)
class Sample:
    """One side of a comparison: its session and load features."""

    sessions: SessionFeatures
    load: LoadFeatures


@dataclass(frozen=True)
class Comparison:
    """One feature: generated against held-out, and the two-halves reference.

    ``statistic`` names what ``value`` and ``reference`` are: ``KS`` (Kolmogorov-Smirnov
    distance, 0..1) or ``RMS kW`` (gap between mean daily profiles). ``passes`` is
    ``value <= reference``. Sample sizes count units of ``per`` (session, day, month).
    """

    slug: str
    name: str
    unit: str
    per: str
    statistic: str
    value: float
    p_value: float
    reference: float
    reference_p: float
    n_generated: int
    n_held_out: int
    n_fit_half: int
    passes: bool
    note: str


#: (slug, name, unit, per, sample side, attribute) of the features compared with a KS distance.
KS_FEATURES = (
    ("arrivals_per_day", "arrivals per day", "", "day", "sessions", "daily_count"),
    ("arrivals_relative", "arrivals per day / month mean", "", "day", "sessions", "daily_relative"),
    ("arrivals_autocorrelation", "arrivals lag-1 autocorrelation", "", "month", "sessions",
     "month_autocorr"),
    ("month_arrivals", "monthly mean arrivals per day", "", "month", "sessions", "month_mean"),
    ("arrival_time", "arrival time of day", "h", "session", "sessions", "arrival_h"),
    ("stay", "stay", "h", "session", "sessions", "stay_h"),
    ("requested_energy", "requested energy", "kWh", "session", "sessions", "requested_kwh"),
    ("busy_share", "share of slots with >= {chargers} EVs", "", "month", "sessions", "month_busy"),
    ("daily_energy", "building daily energy", "kWh", "day", "load", "daily_kwh"),
    ("daily_variation", "building daily energy / month mean", "", "day", "load", "daily_relative"),
    ("monthly_peak", "building monthly peak", "kW", "month", "load", "month_peak_kw"),
)
ENERGY_BY_HOUR = ("energy_by_hour", "requested energy by arrival hour", "kWh", "session")
LOAD_PROFILE = ("load_profile", "building mean weekday profile", "kW", "day")
#: Every feature's slug, in report order.
FEATURE_SLUGS = (
    "arrivals_per_day", "arrivals_relative", "arrivals_autocorrelation", "month_arrivals", "arrival_time",
    "stay", "requested_energy", "energy_by_hour", "busy_share", "daily_energy", "daily_variation",
    "load_profile", "monthly_peak",
)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _spread(x: np.ndarray) -> str:
    """``mean ± sd`` of the finite values."""
    x = x[np.isfinite(x)]
    return f"{_num(x.mean())} ± {_num(x.std())}" if x.size else "none"


def _ks_row(spec: tuple, gen: Sample, held: Sample, fit: Sample, chargers: int) -> Comparison:
    slug, name, unit, per, side, attr = spec
    name = name.format(chargers=chargers)
    g, h, f = (getattr(getattr(s, side), attr) for s in (gen, held, fit))
    value, p = ks_test(g, h)
    reference, ref_p = ks_test(f, h)
    shown = f" {unit}" if unit else ""
    note = f"generated {_spread(g)} vs held-out {_spread(h)}{shown} (fit half {_spread(f)})"
    sizes = [int(np.isfinite(x).sum()) for x in (g, h, f)]
    return Comparison(slug, name, unit, per, "KS", value, p, reference, ref_p, *sizes,
                      bool(value <= reference), note)


def _band_row(gen: Sample, held: Sample, fit: Sample) -> Comparison:
    slug, name, unit, per = ENERGY_BY_HOUR
    g, h, f = gen.sessions, held.sessions, fit.sessions
    bands = common_bands([g.arrival_h, h.arrival_h, f.arrival_h])
    worst = banded_ks(g.arrival_h, g.requested_kwh, h.arrival_h, h.requested_kwh, bands)
    ref = banded_ks(f.arrival_h, f.requested_kwh, h.arrival_h, h.requested_kwh, bands)
    if worst.band >= 0:
        b = worst.band

        def band(s: SessionFeatures) -> np.ndarray:
            return s.requested_kwh[(s.arrival_h >= b) & (s.arrival_h < b + BAND_HOURS)]

        note = (f"worst of {len(bands)} bands {b:02d}-{b + BAND_HOURS:02d} h: generated "
                f"{_spread(band(g))} vs held-out {_spread(band(h))} kWh (fit half {_spread(band(f))})")
    else:
        note = "no arrival-hour band with enough sessions in every sample"
    sizes = [x.arrival_h.size for x in (g, h, f)]
    return Comparison(slug, name, unit, per, "KS worst band", worst.statistic, worst.p_value, ref.statistic,
                      ref.p_value, *sizes, bool(worst.statistic <= ref.statistic), note)


def _profile_row(gen: Sample, held: Sample, fit: Sample, rng: np.random.Generator) -> Comparison:
    slug, name, unit, per = LOAD_PROFILE
    g, h, f = gen.load.days_kw, held.load.days_kw, fit.load.days_kw
    value, reference = profile_rms(g, h), profile_rms(f, h)
    gap = g.mean(axis=0) - h.mean(axis=0)
    k = int(np.argmax(np.abs(gap)))
    at = dt.time(k * SLOT_MINUTES // 60, k * SLOT_MINUTES % 60)
    note = (f"largest gap at {at:%H:%M}: generated {g.mean(axis=0)[k]:.0f} vs held-out "
            f"{h.mean(axis=0)[k]:.0f} kW (fit half {f.mean(axis=0)[k]:.0f})")
    return Comparison(slug, name, unit, per, "RMS kW", value, permutation_p(g, h, rng), reference,
                      permutation_p(f, h, rng), g.shape[0], h.shape[0], f.shape[0],
                      bool(value <= reference), note)


def compare(gen: Sample, held: Sample, fit: Sample, rng: np.random.Generator,
            chargers: int = DEFAULT_CHARGERS) -> list[Comparison]:
    """Every feature's comparison, in :data:`FEATURE_SLUGS` order."""
    rows = {spec[0]: _ks_row(spec, gen, held, fit, chargers) for spec in KS_FEATURES}
    rows[ENERGY_BY_HOUR[0]] = _band_row(gen, held, fit)
    rows[LOAD_PROFILE[0]] = _profile_row(gen, held, fit, rng)
    return [rows[slug] for slug in FEATURE_SLUGS]
