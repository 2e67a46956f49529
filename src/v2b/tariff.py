"""A site's energy prices on the days of an episode: the one place the engine, the bill and
every controller get them from (``docs/model.md``, "Tariff").

Time-of-use periods give each date the prices of its day type (weekday or weekend) and
month; a price series (``tariff.price_series``: a CSV of local times and prices, e.g. a
day-ahead market) gives each 15-minute slot the last price at or before its start. A
controller knows today's prices when it plans (``Observation.price_today_per_kwh``), as it
would from a TOU schedule or a day-ahead market.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from v2b.data.errors import DataError
from v2b.data.files import read_csv_text
from v2b.site import Site, Tariff
from v2b.timegrid import SLOT_H, SLOT_MINUTES, SLOTS_PER_DAY

#: The prices a series may give [$/kWh], as a tariff period's.
PRICE_RANGE_PER_KWH = (-10.0, 10.0)


def episode_prices_per_kwh(site: Site, dates: Sequence[dt.date]) -> np.ndarray:
    """Energy price of every slot of ``dates``, day after day [$/kWh], shape (days x 96,);
    a demand-response event's price adder is part of the price inside its window."""
    tariff = site.tariff
    if tariff.price_series is not None:
        series = _series(site.resolve(tariff.price_series))
        days = [_series_day(series, d, tariff.price_series) for d in dates]
    elif tariff.price_points:
        series = pd.Series([p.price_per_kwh for p in tariff.price_points],
                           index=pd.DatetimeIndex([p.time for p in tariff.price_points]))
        days = [_series_day(series, d, "tariff.price_points") for d in dates]
    else:
        days = [tariff.day_price_per_kwh(d.weekday(), d.month) for d in dates]
    prices = np.concatenate(days) if days else np.zeros(0)
    for event in episode_dr_events(site, dates):
        prices = prices + np.where(event.mask, event.price_adder_per_kwh, 0.0)
    export = tariff.export_price_per_kwh
    if export is not None and prices.size and prices.min() < export:
        k = int(np.argmin(prices))
        day, slot = dates[k // SLOTS_PER_DAY].isoformat(), k % SLOTS_PER_DAY
        raise DataError(f"the energy price on {day} at slot {slot} ({prices[k]:g} $/kWh) is below "
                        f"export_price_per_kwh={export}; v2b needs export <= import")
    return prices


@dataclass(frozen=True)
class DrWindow:
    """One demand-response event on an episode: the slots it covers (``mask``) and its terms
    (:class:`v2b.site.DemandResponseEvent`; ``limit_kw`` inf: a price adder only)."""

    name: str
    mask: np.ndarray
    limit_kw: float
    penalty_per_kwh: float
    incentive_usd: float
    price_adder_per_kwh: float


def episode_dr_events(site: Site, dates: Sequence[dt.date]) -> list[DrWindow]:
    """The tariff's demand-response events that fall on ``dates`` (an event partly outside
    them covers only its slots inside)."""
    if not site.tariff.demand_response:
        return []
    starts = np.array([np.datetime64(dt.datetime.combine(d, dt.time()), "m") for d in dates])
    offsets = np.arange(SLOTS_PER_DAY) * np.timedelta64(SLOT_MINUTES, "m")
    slot_start = (starts[:, None] + offsets[None, :]).reshape(-1)
    out = []
    for e in site.tariff.demand_response:
        mask = (slot_start >= np.datetime64(e.start, "m")) & (slot_start < np.datetime64(e.end, "m"))
        if not mask.any():
            continue
        limit = math.inf if e.limit_kw is None else e.limit_kw
        has_baseline = e.baseline_kw is not None and e.limit_kw is not None
        reduction_kw = max(e.baseline_kw - e.limit_kw, 0.0) if has_baseline else 0.0
        out.append(DrWindow(e.name, mask, limit, e.penalty_per_kwh, e.incentive_usd_per_kw * reduction_kw,
                            e.price_adder_per_kwh))
    return out


def episode_dr_limits(site: Site, dates: Sequence[dt.date]) -> list[DrWindow]:
    """The demand-response events on ``dates`` that set a power limit (those a bill settles)."""
    return [e for e in episode_dr_events(site, dates) if math.isfinite(e.limit_kw)]


def dr_arrays(site: Site, dates: Sequence[dt.date]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Every slot's demand-response limit [kW] (inf outside events) and penalty per kWh above
    it [$/kWh] on ``dates``, as the controllers price them; ``(None, None)`` without a limit."""
    events = episode_dr_limits(site, dates)
    if not events:
        return None, None
    n = len(dates) * SLOTS_PER_DAY
    limit, penalty = np.full(n, np.inf), np.zeros(n)
    for e in events:
        limit[e.mask] = e.limit_kw
        penalty[e.mask] = e.penalty_per_kwh
    return limit, penalty


def dr_settlements(total_kw: np.ndarray, events: Sequence[DrWindow]) -> list[dict]:
    """Each event's energy above its limit [kWh], penalty and incentive [$] on metered power
    ``total_kw`` (the whole episode); the incentive is paid only with no energy above the limit."""
    out = []
    for e in events:
        over_kwh = float(np.sum(np.maximum(total_kw[e.mask] - e.limit_kw, 0.0)) * SLOT_H)
        kept = over_kwh <= 1e-9
        out.append({"name": e.name, "slots": int(e.mask.sum()), "overflow_kwh": over_kwh,
                    "penalty_usd": e.penalty_per_kwh * over_kwh,
                    "incentive_usd": e.incentive_usd if kept else 0.0})
    return out


def episode_demand_windows(site: Site, dates: Sequence[dt.date]) -> list[DemandWindow]:
    """The tariff's windowed demand charges on ``dates``: each with the slots it covers."""
    out = []
    for charge in site.tariff.demand_charges:
        mask = np.zeros((len(dates), SLOTS_PER_DAY), dtype=bool)
        for k, d in enumerate(dates):
            if charge.applies(d.weekday(), d.month):
                mask[k, charge.slots()] = True
        out.append(DemandWindow(charge.name, charge.usd_per_kw, mask.reshape(-1)))
    return out


@dataclass(frozen=True)
class DemandWindow:
    """One windowed demand charge on an episode: ``usd_per_kw`` x the highest metered power
    over the slots where ``mask`` is set."""

    name: str
    usd_per_kw: float
    mask: np.ndarray


def window_peaks_kw(total_kw: np.ndarray, windows: Sequence[DemandWindow]) -> np.ndarray:
    """The highest power of ``total_kw`` (the first slots of the episode) inside each window [kW]."""
    n = total_kw.size
    return np.array([float(np.max(total_kw[w.mask[:n]], initial=0.0)) for w in windows])


def price_bounds_per_kwh(tariff: Tariff) -> tuple[float, float]:
    """The lowest and highest price the tariff can charge [$/kWh] (a series: the range a
    series price may take)."""
    if tariff.price_series is not None:
        return PRICE_RANGE_PER_KWH
    prices = [p.price_per_kwh for p in (*tariff.energy, *tariff.price_points)]
    return min(prices), max(prices)


def _series_day(series: pd.Series, day: dt.date, name: str) -> np.ndarray:
    starts = pd.date_range(pd.Timestamp(day), periods=SLOTS_PER_DAY, freq=f"{SLOT_MINUTES}min")
    # a price holds until the next one: hourly prices cover a day from 00:00 to 23:00
    if series.index[0] > starts[0] or series.index[-1] < starts[-1] - pd.Timedelta(hours=1):
        raise DataError(f"price series {name} does not cover {day.isoformat()} "
                        f"(it runs {series.index[0]} .. {series.index[-1]})")
    pos = series.index.searchsorted(starts, side="right") - 1
    return series.to_numpy()[pos]


@lru_cache(maxsize=8)
def _read_series(path: Path, mtime_ns: int) -> pd.Series:
    raw = read_csv_text(path)
    for column in ("time", "price_per_kwh"):
        if column not in raw.columns:
            raise DataError(f"{path}: column {column!r} is missing (columns: {', '.join(raw.columns)})")
    times = pd.to_datetime(raw["time"], errors="coerce", format="ISO8601")
    prices = pd.to_numeric(raw["price_per_kwh"], errors="coerce")
    for k in range(len(raw)):
        if pd.isna(times.iloc[k]):
            raise DataError(f"{path}: row {k + 1}: time {raw['time'].iloc[k]!r} is not a local time "
                            "(ISO 8601, e.g. 2023-05-02T08:15:00)")
        low, high = PRICE_RANGE_PER_KWH
        if pd.isna(prices.iloc[k]) or not low <= prices.iloc[k] <= high:
            raise DataError(f"{path}: row {k + 1}: price_per_kwh {raw['price_per_kwh'].iloc[k]!r} is not "
                            "a price in -10..10 $/kWh")
    if getattr(times.dt, "tz", None) is not None:
        raise DataError(f"{path}: times must be the site's local clock times, without a UTC offset")
    series = pd.Series(prices.to_numpy(dtype=float), index=pd.DatetimeIndex(times)).sort_index()
    if series.index.has_duplicates:
        first = series.index[series.index.duplicated()][0]
        raise DataError(f"{path}: time {first} appears twice")
    if series.empty:
        raise DataError(f"{path}: no prices")
    return series


def _series(path: Path) -> pd.Series:
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (the site's tariff.price_series)") from None
    return _read_series(path, mtime)
