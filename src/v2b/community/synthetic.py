"""The community paper's scenario built from data we can ship (Section III).

- Buildings: the DOE large-office reference profile shipped in ``v2b/data`` (hourly kW,
  year labelled 2023), scaled to ``annual_load_mwh`` per building; each building is the
  same office on a different weekday, as the paper takes four March days of one building.
- PV: :mod:`v2b.community.solar`, annual PV = ``pv_share`` x annual load.
- Tariffs: a hand-written, synthetic-shaped Iberian March day (``data/``) rescaled to the
  paper's means; flat export, grid-use, parking, flexibility and discharging tariffs.
- EVs: a seeded pool of EV profiles (parking, charging and discharging periods drawn
  around the paper's means); each building draws its EVs from the pool every day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from v2b.community.inputs import CommunityInputs, EvSessions, Tariffs
from v2b.community.solar import CLOUD_CONCENTRATION, daily_cloud_factors, pv_kw_for_days

MWH = 1000.0
DEFAULT_DATES = (
    dt.date(2023, 3, 6), dt.date(2023, 3, 14), dt.date(2023, 3, 22), dt.date(2023, 3, 30)
)


@dataclass(frozen=True)
class ScenarioSpec:
    """Parameters of the synthetic scenario; defaults are the community paper's values.

    Tariffs in EUR/MWh (energy) and EUR/h (EV time), negative = income for the building.
    Periods in hours; ``*_sd_h`` are standard deviations of the EV profile draws.
    """

    dates: tuple[dt.date, ...] = DEFAULT_DATES
    annual_load_mwh: float = 500.0
    pv_share: float = 0.5
    cloud_concentration: float = CLOUD_CONCENTRATION
    import_mean_eur_per_mwh: float = 122.8
    export_eur_per_mwh: float = -35.8
    grid_use_eur_per_mwh: float = 50.0
    parking_eur_per_h: float = 0.5
    flexibility_eur_per_h: float = -0.5
    discharging_eur_per_h: float = -3.0
    charging_mean_eur_per_h: float = 2.0
    ev_profiles: int = 30
    evs_per_building: int = 6
    window_start_h: float = 8.0
    window_end_h: float = 20.0
    parking_mean_h: float = 8.0
    parking_sd_h: float = 1.0
    charge_mean_h: float = 2.0
    charge_sd_h: float = 0.5
    discharge_mean_h: float = 0.75
    discharge_sd_h: float = 0.25
    charger_kw: float = 10.0
    efficiency: float = 0.93


def office_load_kw(dates: list[dt.date], slot_minutes: int, annual_mwh: float) -> np.ndarray:
    """DOE large-office load on ``dates``, scaled to ``annual_mwh`` a year [kW].

    The hourly source is held constant within each hour, then averaged over slots,
    so every slot keeps its energy. Returns shape (len(dates), 1440 // slot_minutes).
    """
    source = resources.files("v2b.data").joinpath("doe_large_office.csv.gz")
    with source.open("rb") as handle:
        frame = pd.read_csv(handle, compression="gzip", parse_dates=["timestamp"])
    kw = frame["kw"].to_numpy() * (annual_mwh * MWH / frame["kw"].sum())
    by_day = pd.Series(kw, index=frame["timestamp"].dt.date)
    hourly = np.stack([by_day.loc[day].to_numpy() for day in dates])
    return hourly_to_slots(hourly, slot_minutes)


def hourly_to_slots(hourly: np.ndarray, slot_minutes: int) -> np.ndarray:
    """Average hourly values (D, 24) onto slots of ``slot_minutes`` (D, 1440 // slot_minutes)."""
    per_minute = np.repeat(hourly, 60, axis=1)
    return per_minute.reshape(hourly.shape[0], -1, slot_minutes).mean(axis=2)


def price_shape() -> np.ndarray:
    """The synthetic-shaped Iberian March day, normalised to mean 1, shape (24,)."""
    source = resources.files("v2b.community").joinpath("data/iberian_march_price_shape.csv")
    with source.open("r") as handle:
        frame = pd.read_csv(handle, comment="#")
    values = frame["price_eur_per_mwh"].to_numpy(dtype=float)
    return values / values.mean()


def synthetic_tariffs(spec: ScenarioSpec, slot_minutes: int, days: int) -> Tariffs:
    """Paper tariffs (Section III.A) on ``days`` days of slots.

    Import and charging tariffs follow :func:`price_shape` with the paper's means
    (122.8 EUR/MWh and 2 EUR/h); the others are flat.
    """
    shape = np.tile(hourly_to_slots(price_shape()[None, :], slot_minutes)[0], days)
    flat = np.ones_like(shape)
    return Tariffs(
        import_eur_per_kwh=shape * spec.import_mean_eur_per_mwh / MWH,
        export_eur_per_kwh=flat * spec.export_eur_per_mwh / MWH,
        grid_use_eur_per_kwh=spec.grid_use_eur_per_mwh / MWH,
        charging_eur_per_h=shape * spec.charging_mean_eur_per_h,
        discharging_eur_per_h=flat * spec.discharging_eur_per_h,
        parking_eur_per_h=spec.parking_eur_per_h,
        flexibility_eur_per_h=spec.flexibility_eur_per_h,
    )


def draw_ev_profiles(spec: ScenarioSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The pool of EV profiles (paper Section III.B): periods within one day [h].

    Parking ~ N(8, 1) h clipped to [1, window]; arrival uniform so that the EV
    leaves by the window's end; charging ~ N(2, 0.5) h clipped to [0.25, parking];
    discharging ~ N(0.75, 0.25) h clipped to [0, parking]. Times are rounded to
    whole minutes.
    """
    n = spec.ev_profiles
    window = spec.window_end_h - spec.window_start_h
    parking = np.clip(rng.normal(spec.parking_mean_h, spec.parking_sd_h, n), 1.0, window)
    arrival = spec.window_start_h + rng.uniform(0.0, 1.0, n) * (window - parking)
    arrival = np.round(arrival * 60) / 60
    departure = np.minimum(np.round((arrival + parking) * 60) / 60, spec.window_end_h)
    parking = departure - arrival
    charge = np.clip(rng.normal(spec.charge_mean_h, spec.charge_sd_h, n), 0.25, parking)
    discharge = np.clip(rng.normal(spec.discharge_mean_h, spec.discharge_sd_h, n), 0.0, parking)
    return {
        "arrival_h": arrival,
        "departure_h": departure,
        "charge_h": np.round(charge * 60) / 60,
        "discharge_h": np.round(discharge * 60) / 60,
    }


def assign_evs(
    spec: ScenarioSpec, profiles: dict[str, np.ndarray], n_buildings: int, days: int,
    rng: np.random.Generator,
) -> EvSessions:
    """Each building picks ``evs_per_building`` distinct profiles from the pool each day."""
    picks = np.stack([
        rng.permutation(spec.ev_profiles)[: spec.evs_per_building]
        for _ in range(n_buildings * days)
    ]).reshape(n_buildings, days, spec.evs_per_building)
    building = np.repeat(np.arange(n_buildings), days * spec.evs_per_building)
    day = np.tile(np.repeat(np.arange(days), spec.evs_per_building), n_buildings)
    profile = picks.ravel()
    offset_h = 24.0 * day
    ones = np.ones(profile.shape[0])
    return EvSessions(
        ev_id=tuple(f"ev{p + 1:02d}" for p in profile),
        building=building,
        arrival_h=profiles["arrival_h"][profile] + offset_h,
        departure_h=profiles["departure_h"][profile] + offset_h,
        charge_h=profiles["charge_h"][profile],
        discharge_h=profiles["discharge_h"][profile],
        charge_kw=ones * spec.charger_kw,
        discharge_kw=ones * spec.charger_kw,
        efficiency=ones * spec.efficiency,
    )


def synthetic_buildings(
    spec: ScenarioSpec, slot_minutes: int, building_dates: list[list[dt.date]],
    rng: np.random.Generator,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Names, load and PV of office buildings on the given dates.

    Parameters
    ----------
    spec : ScenarioSpec
        Annual load per building and PV share.
    slot_minutes : int
        Slot length [min], a multiple of 5 that divides 1440.
    building_dates : list of list of datetime.date
        Each building's consecutive days (same count for all, one calendar year).
    rng : np.random.Generator
        Draws the daily cloud factors.

    Returns
    -------
    names, load_kw, pv_kw
        ``load_kw`` and ``pv_kw`` have shape (B, days * 1440 // slot_minutes).
    """
    flat = [day for row in building_dates for day in row]
    cloud = daily_cloud_factors(flat[0].year, rng, spec.cloud_concentration)
    unique = sorted(set(flat))
    rows = [unique.index(day) for day in flat]
    load = office_load_kw(unique, slot_minutes, spec.annual_load_mwh)[rows]
    pv_kwh = spec.pv_share * spec.annual_load_mwh * MWH
    pv = pv_kw_for_days(unique, slot_minutes, pv_kwh, cloud)[rows]
    n_buildings = len(building_dates)
    names = tuple(f"B{b + 1}" for b in range(n_buildings))
    return names, load.reshape(n_buildings, -1), pv.reshape(n_buildings, -1)


def synthetic_evs(
    spec: ScenarioSpec, n_buildings: int, days: int, rng: np.random.Generator
) -> EvSessions:
    """A seeded pool of EV profiles, then each building's EVs for each day from the pool."""
    return assign_evs(spec, draw_ev_profiles(spec, rng), n_buildings, days, rng)


def synthetic_inputs(
    spec: ScenarioSpec, seed: int, slot_minutes: int = 60,
    building_dates: list[list[dt.date]] | None = None,
) -> CommunityInputs:
    """The paper's scenario: by default one building per date in ``spec.dates``, one day.

    Parameters
    ----------
    spec : ScenarioSpec
        Scenario parameters.
    seed : int
        Seeds the cloud factors and, independently, the EV pool and assignment.
    slot_minutes : int
        Slot length [min], a multiple of 5 that divides 1440.
    building_dates : list of list of datetime.date, optional
        Dates of each building's consecutive days (overrides ``spec.dates``).
    """
    if building_dates is None:
        building_dates = [[day] for day in spec.dates]
    days = len(building_dates[0])
    cloud_rng, ev_rng = np.random.default_rng(seed).spawn(2)
    names, load, pv = synthetic_buildings(spec, slot_minutes, building_dates, cloud_rng)
    return CommunityInputs(
        building_names=names,
        load_kw=load,
        pv_kw=pv,
        slot_minutes=slot_minutes,
        tariffs=synthetic_tariffs(spec, slot_minutes, days),
        evs=synthetic_evs(spec, len(names), days, ev_rng),
    )


def weekdays(year: int) -> list[dt.date]:
    """Monday-to-Friday dates of ``year``."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="B")
    return [day.date() for day in days]


def bench_dates(n_buildings: int, days: int, start: dt.date = dt.date(2023, 3, 1)) -> list[
    list[dt.date]
]:
    """Dates for a B-building, D-day benchmark: each building its own run of weekdays.

    Building ``b`` starts ``b`` weekdays after ``start`` (wrapping within the year),
    so buildings see different days at the same slot, like the paper's four buildings.
    """
    pool = weekdays(start.year)
    first = next(k for k, day in enumerate(pool) if day >= start)
    return [
        [pool[(first + b + d) % len(pool)] for d in range(days)] for b in range(n_buildings)
    ]
