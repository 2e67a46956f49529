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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from v2b.data.errors import DataError
from v2b.data.files import read_csv_text
from v2b.site import Site, Tariff
from v2b.timegrid import SLOT_MINUTES, SLOTS_PER_DAY

#: The prices a series may give [$/kWh], as a tariff period's.
PRICE_RANGE_PER_KWH = (-10.0, 10.0)


def episode_prices_per_kwh(site: Site, dates: Sequence[dt.date]) -> np.ndarray:
    """Energy price of every slot of ``dates``, day after day [$/kWh], shape (days x 96,)."""
    tariff = site.tariff
    if tariff.price_series is not None:
        series = _series(site.resolve(tariff.price_series))
        days = [_series_day(series, d, tariff.price_series) for d in dates]
    else:
        days = [tariff.day_price_per_kwh(d.weekday(), d.month) for d in dates]
    return np.concatenate(days) if days else np.zeros(0)


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
    prices = [p.price_per_kwh for p in tariff.energy]
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
