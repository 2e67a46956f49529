"""Building load CSV (``timestamp, kW``) at any regular interval, resampled to 15 minutes.

Decisions (``docs/data.md``):

- A timestamp labels the *start* of its interval and the value is the interval's
  average power [kW].
- Finer than 15 min (the interval divides 15): each slot is the mean of its
  intervals, which keeps the energy of every slot exact.
- Coarser (a multiple of 15): step-and-hold, every slot inside an interval gets
  the interval's average. This keeps the energy and the recorded peak; linear
  interpolation would invent ramps and lower the recorded peak, which is what the
  demand charge bills.
- Any other interval, or timestamps that are not evenly spaced, is an error.
- Load must be >= 0: the site has no export tariff and net export is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from v2b.data.columns import find_column, parse_local_times
from v2b.data.errors import DataError, RowChecks, SkipReport
from v2b.data.files import read_csv_text
from v2b.data.plain import check_number
from v2b.timegrid import SLOT_MINUTES

TIME_NAMES = ("timestamp", "time", "datetime", "date_time", "start")
VALUE_NAMES = ("kw", "load_kw", "power_kw", "building_kw", "value", "load")


@dataclass(frozen=True)
class LoadData:
    """Building load at 15-minute slots.

    ``series`` is indexed by naive local slot-start times, evenly spaced 15 min
    apart, values in kW (>= 0). ``native_minutes`` is the source's interval.
    """

    series: pd.Series
    source: str
    native_minutes: float
    report: SkipReport | None = None

    def describe(self) -> dict[str, object]:
        s = self.series
        return {
            "source": self.source,
            "native_interval_minutes": self.native_minutes,
            "first": str(s.index[0]),
            "last": str(s.index[-1]),
            "slots": int(s.size),
            "mean_kw": float(s.mean()),
            "max_kw": float(s.max()),
            "min_kw": float(s.min()),
        }


def resample_to_slots(times: pd.DatetimeIndex, kw: np.ndarray, source: str) -> tuple[pd.Series, float]:
    """Resample a regular series to 15-minute slots (see module docstring).

    Parameters
    ----------
    times : pandas.DatetimeIndex
        Interval starts, strictly increasing and evenly spaced.
    kw : numpy.ndarray
        Average power per interval [kW].
    source : str
        File name for messages.

    Returns
    -------
    series : pandas.Series
        kW per 15-minute slot, indexed by slot start.
    native_minutes : float
        The input's interval [min].
    """
    if len(times) < 2:
        raise DataError(f"{source}: need at least two rows to tell the interval")
    times = pd.DatetimeIndex(times).as_unit("ns")
    steps = np.diff(times.asi8) / 60e9
    native = float(np.median(steps))
    uneven = np.flatnonzero(np.abs(steps - native) > 1e-6)
    if uneven.size:
        i = int(uneven[0])
        raise DataError(
            f"{source}: irregular interval: row {i + 2} ({times[i + 1]}) comes "
            f"{steps[i]:g} min after the previous row, the file's interval is {native:g} min"
        )
    if native <= 0:
        raise DataError(f"{source}: timestamps must increase (found repeated times)")
    if native < SLOT_MINUTES:
        if SLOT_MINUTES % native > 1e-9:
            raise DataError(
                f"{source}: interval {native:g} min does not divide 15 min; resample the data "
                "to 1, 3, 5, 15, 30 or 60 min first"
            )
        s = pd.Series(kw, index=times).resample(f"{SLOT_MINUTES}min").mean()
    elif native > SLOT_MINUTES:
        if native % SLOT_MINUTES > 1e-9:
            raise DataError(f"{source}: interval {native:g} min is not a multiple of 15 min")
        repeat = int(round(native / SLOT_MINUTES))
        start = times[0].floor(f"{SLOT_MINUTES}min")
        index = pd.date_range(start, periods=len(times) * repeat, freq=f"{SLOT_MINUTES}min")
        s = pd.Series(np.repeat(kw, repeat), index=index)
    else:
        s = pd.Series(kw, index=times)
    return s.astype(float), native


def _tz_aware_to_local(text: pd.Series, timezone: str) -> pd.DatetimeIndex | None:
    """UTC instants for offset-carrying timestamps (None when times are naive)."""
    if not text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True, na=False).any():
        return None
    return pd.DatetimeIndex(pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601"))


def read_load_csv(
    path: str | Path,
    *,
    timezone: str = "America/Los_Angeles",
    skip_invalid: bool = False,
) -> LoadData:
    """Read a building load CSV and resample it to 15-minute slots.

    Parameters
    ----------
    path : str or Path
        CSV with a time column (``timestamp``/``time``/``datetime``) and a power
        column in kW (``kw``/``load_kw``/``power_kw``/``value``); a two-column
        file without those names is read as (time, kW).
    timezone : str
        Zone that times with a UTC offset are converted into.
    skip_invalid : bool
        Rows with a bad value are dropped and their slots filled by linear
        interpolation between neighbours (reported); rows with an unparseable
        time are dropped. Without it, the first bad row raises.
    """
    path = Path(path)
    source = str(path)
    raw = read_csv_text(path)
    cols = list(raw.columns)
    t_col = find_column(cols, *TIME_NAMES)
    v_col = find_column(cols, *VALUE_NAMES)
    if (t_col is None or v_col is None) and len(cols) == 2:
        t_col, v_col = cols
    if t_col is None or v_col is None:
        raise DataError(
            f"{source}: need a time column ({'/'.join(TIME_NAMES)}) and a kW column "
            f"({'/'.join(VALUE_NAMES)}); found {', '.join(cols)}"
        )
    checks = RowChecks(source, len(raw), skip_invalid)
    times, bad_time = parse_local_times(raw[t_col], timezone)
    checks.check(bad_time | times.isna().to_numpy(), t_col, raw[t_col], "is not a time")
    kw = check_number(checks, raw[v_col], v_col, required=True)
    checks.check(kw < 0, v_col, kw, "must be >= 0 kW (net export is not modelled)")
    time_ok = ~(bad_time | times.isna().to_numpy())
    keep = checks.finish()
    if checks.skip_invalid:
        kw = np.where(keep, kw, np.nan)
    utc = _tz_aware_to_local(raw[t_col].astype(str).str.strip()[time_ok], timezone)
    values = kw[time_ok]
    if np.isnan(values).any():
        # dropped values are filled at the file's own resolution, before resampling
        values = pd.Series(values).interpolate(limit_direction="both").to_numpy()
    if utc is not None:
        series, native = resample_to_slots(utc, values, source)
        local = series.index.tz_convert(timezone).tz_localize(None)
        series = pd.Series(series.to_numpy(), index=local).groupby(level=0).mean()
        full = pd.date_range(local.min(), local.max(), freq=f"{SLOT_MINUTES}min")
        series = series.reindex(full).ffill()
    else:
        series, native = resample_to_slots(pd.DatetimeIndex(times[time_ok]), values, source)
    if series.isna().all():
        raise DataError(f"{source}: no valid load values")
    return LoadData(series, source, native, checks.report if skip_invalid else None)
