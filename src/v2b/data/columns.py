"""Column parsing shared by the CSV/JSON loaders: times to local wall clock, numbers.

Every loader turns times into *naive local* timestamps (the site's wall clock),
because slots and tariffs are defined in local time. Times with a UTC offset or
a ``GMT`` suffix are converted to the given time zone; naive times are taken as
already local.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_OFFSET = r"(?:[+-]\d{2}:?\d{2}|Z|\s*(?:GMT|UTC))$"


def _missing(raw: pd.Series) -> np.ndarray:
    text = raw.astype("string").str.strip()
    return (raw.isna() | (text == "")).to_numpy(dtype=bool)


def parse_local_times(raw: pd.Series, timezone: str | pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse a column of times into naive local timestamps.

    Parameters
    ----------
    raw : pandas.Series
        Time strings: ISO 8601 (with or without offset) or RFC 1123
        (``"Wed, 25 Apr 2018 11:08:04 GMT"``, the ACN-Data API form).
    timezone : str or pandas.Series
        IANA zone to convert offset-carrying times into; a Series gives one zone
        per row (ACN-Data's ``timezone`` field).

    Returns
    -------
    times : pandas.Series of datetime64[ns]
        Naive local times; ``NaT`` where unparseable.
    bad : numpy.ndarray of bool
        Rows that are present but could not be parsed.
    """
    text = raw.astype("string").str.strip()
    missing = _missing(raw)
    has_offset = text.str.contains(_OFFSET, regex=True, na=False).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    rfc = text.str.match(r"^[A-Za-z]{3},", na=False).to_numpy(dtype=bool)
    if has_offset.any():
        aware = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
        iso = has_offset & ~rfc
        if iso.any():
            aware[iso] = pd.to_datetime(text[iso], utc=True, errors="coerce", format="ISO8601")
        both = has_offset & rfc
        if both.any():
            aware[both] = pd.to_datetime(
                text[both].str.replace(r"\s*(GMT|UTC)$", "", regex=True),
                utc=True,
                errors="coerce",
                format="%a, %d %b %Y %H:%M:%S",
            )
        zones = timezone if isinstance(timezone, pd.Series) else pd.Series(timezone, raw.index)
        zones = zones.fillna("UTC").astype(str)
        for zone in zones[has_offset].unique():
            rows = has_offset & (zones == zone).to_numpy()
            try:
                local = aware[rows].dt.tz_convert(zone)
            except (LookupError, ValueError, TypeError):  # unknown zone names become per-row errors
                continue
            out[rows] = local.dt.tz_localize(None).astype("datetime64[ns]")
    naive = ~has_offset & ~missing
    if naive.any():
        parsed = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        out[naive] = parsed.astype("datetime64[ns]")
    bad = out.isna().to_numpy() & ~missing
    return out, bad


def parse_numbers(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a column of numbers.

    Returns
    -------
    values : numpy.ndarray of float
        NaN where missing or unparseable.
    missing : numpy.ndarray of bool
        Empty cells.
    bad : numpy.ndarray of bool
        Present but not a finite number.
    """
    missing = _missing(raw)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) & ~missing
    values = np.where(np.isfinite(values), values, np.nan)
    return values, missing, bad


def parse_bools(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse true/false, 1/0, yes/no (any case). Returns ``(values, bad)``."""
    text = raw.astype("string").str.strip().str.lower()
    truthy = text.isin(["true", "1", "yes", "t", "y", "1.0"]).to_numpy(dtype=bool)
    falsy = text.isin(["false", "0", "no", "f", "n", "0.0"]).to_numpy(dtype=bool)
    return truthy, ~(truthy | falsy)


def find_column(columns: list[str], *names: str) -> str | None:
    """The first of ``columns`` matching one of ``names`` case-insensitively."""
    lowered = {c.strip().lower(): c for c in columns}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None
