"""Plain session CSV: ``arrival, departure, energy_kwh[, battery_kwh, soc_arrival, soc_requested]``.

Times are ISO 8601, naive (site local time) or with a UTC offset (converted to
the site's zone). SoC values are fractions in [0, 1]. When battery and both SoC
values are given they define the request and ``energy_kwh`` may be left out; if
it is given it must agree with ``(soc_requested - soc_arrival) x battery_kwh``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from v2b.data.columns import find_column, parse_local_times, parse_numbers
from v2b.data.errors import DataError, RowChecks
from v2b.data.files import read_csv_text
from v2b.data.sessions import (
    ENERGY_TOLERANCE_KWH,
    SessionData,
    finish_sessions,
    require_columns,
)


def check_number(checks: RowChecks, raw: pd.Series, name: str, *, required: bool) -> np.ndarray:
    """Parse a numeric column, registering unparseable (and, if required, empty) cells."""
    values, missing, bad = parse_numbers(raw)
    checks.check(bad, name, raw, "is not a number")
    if required:
        checks.check(missing, name, raw, "is missing")
    return values


def check_times(checks: RowChecks, raw: pd.Series, name: str, timezone: str | pd.Series) -> pd.Series:
    """Parse a required time column, registering unparseable and empty cells."""
    times, bad = parse_local_times(raw, timezone)
    checks.check(bad, name, raw, "is not a time (ISO 8601 expected, e.g. 2023-05-02T08:15:00)")
    checks.check(times.isna().to_numpy() & ~bad, name, raw, "is missing")
    return times


def read_plain_sessions(
    path: str | Path, *, timezone: str = "America/Los_Angeles", skip_invalid: bool = False
) -> SessionData:
    """Read a plain session CSV.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    timezone : str
        IANA zone that times with a UTC offset are converted into.
    skip_invalid : bool
        Drop bad rows (reported in ``SessionData.report``) instead of raising.

    Raises
    ------
    DataError
        Missing column, unparseable time or number, departure not after arrival,
        SoC outside [0, 1], battery missing or not positive, energy that
        contradicts SoC x battery; the message names file, row, field and value.
    """
    path = Path(path)
    source = str(path)
    raw = read_csv_text(path)
    cols = list(raw.columns)
    names = {
        "arrival": find_column(cols, "arrival", "arrival_time"),
        "departure": find_column(cols, "departure", "departure_time"),
        "energy_kwh": find_column(cols, "energy_kwh", "requested_kwh", "energy_requested_kwh"),
        "battery_kwh": find_column(cols, "battery_kwh", "battery_capacity_kwh"),
        "soc_arrival": find_column(cols, "soc_arrival"),
        "soc_requested": find_column(cols, "soc_requested", "soc_target"),
        "session_id": find_column(cols, "session_id", "id"),
        "station_id": find_column(cols, "station_id", "charger_id"),
    }
    has_soc = names["soc_arrival"] is not None and names["soc_requested"] is not None
    require_columns(source, cols, {"arrival": names["arrival"], "departure": names["departure"]})
    if names["energy_kwh"] is None and not (has_soc and names["battery_kwh"]):
        require_columns(source, cols, {"energy_kwh": None})
    if (names["soc_arrival"] or names["soc_requested"]) and names["battery_kwh"] is None:
        raise DataError(f"{source}: SoC columns need a 'battery_kwh' column to mean anything")
    checks = RowChecks(source, len(raw), skip_invalid)
    out: dict[str, object] = {
        "arrival": check_times(checks, raw[names["arrival"]], names["arrival"], timezone),
        "departure": check_times(checks, raw[names["departure"]], names["departure"], timezone),
    }
    for key in ("battery_kwh", "soc_arrival", "soc_requested"):
        if names[key] is not None:
            out[key] = check_number(checks, raw[names[key]], names[key], required=True)
    if has_soc:
        implied = (out["soc_requested"] - out["soc_arrival"]) * out["battery_kwh"]
        implied = np.maximum(implied, 0.0)
    if names["energy_kwh"] is not None:
        energy = check_number(checks, raw[names["energy_kwh"]], names["energy_kwh"], required=True)
        if has_soc:
            # rows with out-of-range SoC or battery fail their own check in finish_sessions
            in_range = (
                (out["battery_kwh"] > 0)
                & (out["soc_arrival"] >= 0)
                & (out["soc_arrival"] <= 1)
                & (out["soc_requested"] >= 0)
                & (out["soc_requested"] <= 1)
            )
            checks.check(
                in_range & (np.abs(energy - implied) > ENERGY_TOLERANCE_KWH),
                names["energy_kwh"],
                energy,
                "disagrees with (soc_requested - soc_arrival) x battery_kwh "
                f"by more than {ENERGY_TOLERANCE_KWH} kWh",
            )
        out["energy_kwh"] = energy
    else:
        out["energy_kwh"] = implied
    for key in ("session_id", "station_id"):
        if names[key] is not None:
            out[key] = raw[names[key]]
    labels = {k: v for k, v in names.items() if v is not None}
    return finish_sessions(out, checks, labels, source)
