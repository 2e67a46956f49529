"""The common form of EV session data every loader returns: :class:`SessionData`.

Sessions carry absolute *local* timestamps (naive, the site's wall clock) and the
requested energy; battery size and SoC are optional (ACN-Data has neither). The
generative model (:mod:`v2b.scenarios`) fits on this form whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from v2b.data.errors import DataError, RowChecks, SkipReport

SESSION_COLUMNS = (
    "session_id",
    "arrival",
    "departure",
    "energy_kwh",
    "delivered_kwh",
    "battery_kwh",
    "soc_arrival",
    "soc_requested",
    "station_id",
)

#: Requests above this are treated as app defaults, not plans (ACN-Data's app
#: pre-fills large values; no car in the fleet table holds more than ~100 kWh).
PLAUSIBLE_MAX_REQUEST_KWH = 100.0

#: Tolerance when a file gives both energy_kwh and SoC x battery [kWh].
ENERGY_TOLERANCE_KWH = 0.5


@dataclass(frozen=True)
class SessionData:
    """Validated EV sessions.

    ``frame`` has the columns :data:`SESSION_COLUMNS`: ``arrival``/``departure``
    (datetime64, naive local time, departure > arrival), ``energy_kwh`` (the
    energy the driver asked for [kWh], >= 0), ``delivered_kwh`` (NaN when the
    source has none), ``battery_kwh`` (> 0 or NaN), ``soc_arrival`` and
    ``soc_requested`` (in [0, 1] or NaN), ``session_id`` and ``station_id`` (str).
    ``report`` says what ``skip_invalid`` dropped (``None`` when not asked).
    """

    frame: pd.DataFrame
    source: str
    report: SkipReport | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def has_battery(self) -> bool:
        return bool(self.frame["battery_kwh"].notna().any())

    def describe(self) -> dict[str, object]:
        """Summary numbers for ``v2b data show``."""
        f = self.frame
        days = f["arrival"].dt.normalize()
        per_day = days.value_counts()
        stay_h = (f["departure"] - f["arrival"]).dt.total_seconds() / 3600.0
        return {
            "source": self.source,
            "sessions": len(f),
            "first_arrival": str(f["arrival"].min()) if len(f) else "",
            "last_departure": str(f["departure"].max()) if len(f) else "",
            "days_with_sessions": int(per_day.size),
            "sessions_per_day_mean": float(per_day.mean()) if len(f) else 0.0,
            "stay_hours_mean": float(stay_h.mean()) if len(f) else 0.0,
            "energy_kwh_mean": float(f["energy_kwh"].mean()) if len(f) else 0.0,
            "with_battery": int(f["battery_kwh"].notna().sum()),
            "with_soc": int(f["soc_arrival"].notna().sum()),
        }


def choose_requested_energy(
    requested_kwh: np.ndarray, delivered_kwh: np.ndarray, claimed: np.ndarray
) -> np.ndarray:
    """The energy a driver wanted [kWh], from ACN-Data's fields.

    The driver's request is used when the session was claimed in the app and the
    request is plausible (``0 < requested <= PLAUSIBLE_MAX_REQUEST_KWH``);
    otherwise the delivered energy stands in for it (unclaimed sessions have no
    request, and implausible ones are app defaults). See ``docs/data.md``.
    """
    plausible = claimed & (requested_kwh > 0) & (requested_kwh <= PLAUSIBLE_MAX_REQUEST_KWH)
    return np.where(plausible, requested_kwh, delivered_kwh)


def finish_sessions(
    columns: dict[str, object],
    checks: RowChecks,
    names: dict[str, str],
    source: str,
) -> SessionData:
    """Apply the checks every source shares, then raise or drop bad rows.

    Parameters
    ----------
    columns : dict
        Parsed columns by canonical name (arrays or Series of one length);
        missing optional ones are filled with NaN / "".
    checks : RowChecks
        The loader's checks so far (parse errors); the shared checks are added.
    names : dict
        Canonical name -> the field name in the file, for messages.
    source : str
        File name for messages and the result.
    """
    n = checks.n_rows
    cols: dict[str, object] = {}
    for name in SESSION_COLUMNS:
        value = columns.get(name)
        if value is None:
            value = np.full(n, "" if name in ("session_id", "station_id") else np.nan)
        cols[name] = value
    arrival = pd.Series(cols["arrival"]).reset_index(drop=True)
    departure = pd.Series(cols["departure"]).reset_index(drop=True)
    field = names.get
    checks.check(
        (departure <= arrival).to_numpy(dtype=bool),
        field("departure", "departure"),
        departure.astype(str),
        f"must be after {field('arrival', 'arrival')}",
    )
    energy = np.asarray(cols["energy_kwh"], dtype=float)
    checks.check(energy < 0, field("energy_kwh", "energy_kwh"), energy, "must be >= 0 kWh")
    battery = np.asarray(cols["battery_kwh"], dtype=float)
    checks.check(battery <= 0, field("battery_kwh", "battery_kwh"), battery, "must be > 0 kWh")
    for soc_name in ("soc_arrival", "soc_requested"):
        soc = np.asarray(cols[soc_name], dtype=float)
        checks.check(
            (soc < 0) | (soc > 1),
            field(soc_name, soc_name),
            soc,
            "must be in [0, 1] (a fraction of the battery, not percent)",
        )
    keep = checks.finish()
    ids = pd.Series(cols["session_id"]).astype(str).to_numpy()
    blank = (ids == "") | (ids == "nan") | (ids == "<NA>")
    ids = np.where(blank, [f"row{i + 1}" for i in range(n)], ids)
    frame = pd.DataFrame(
        {
            "session_id": ids,
            "arrival": arrival.astype("datetime64[ns]"),
            "departure": departure.astype("datetime64[ns]"),
            "energy_kwh": energy,
            "delivered_kwh": np.asarray(cols["delivered_kwh"], dtype=float),
            "battery_kwh": battery,
            "soc_arrival": np.asarray(cols["soc_arrival"], dtype=float),
            "soc_requested": np.asarray(cols["soc_requested"], dtype=float),
            "station_id": pd.Series(cols["station_id"]).fillna("").astype(str).to_numpy(),
        }
    )
    frame = frame[keep].sort_values(["arrival", "departure"], kind="stable").reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{source}: no valid sessions")
    return SessionData(frame, source, checks.report if checks.skip_invalid else None)


def require_named(source: str, found: list[str], names: tuple[str, ...]) -> None:
    """Raise unless every column of ``names`` is in ``found`` (exact names)."""
    require_columns(source, found, {c: c if c in found else None for c in names})


def require_columns(source: str, found: list[str], required: dict[str, str | None]) -> None:
    """Raise naming the first required column that the file lacks."""
    for name, column in required.items():
        if column is None:
            raise DataError(f"{source}: missing column '{name}' (columns found: {', '.join(found)})")
