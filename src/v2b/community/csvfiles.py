"""Read a user's buildings, EV sessions and tariffs from CSV files, validated at the edge.

Every error names the file, the line (1 = header), the column, the value and what
is allowed. Formats (one row per slot and building, or per EV session):

- buildings: ``slot, building, load_kw, pv_kw`` -- every building has every slot
  0..H-1 exactly once; load and PV >= 0 [kW], averages over the slot.
- evs: ``ev_id, building, arrival_h, departure_h, charge_h, discharge_h`` and
  optionally ``charge_kw, discharge_kw, efficiency`` -- hours from the start of the
  horizon (day 2 at 08:30 is 32.5).
- tariffs: ``slot, import_eur_per_mwh, charging_eur_per_h`` and optionally
  ``export_eur_per_mwh, discharging_eur_per_h`` -- one row per slot 0..H-1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from v2b.community.inputs import CommunityInputError, EvSessions, check_sessions

BUILDING_COLUMNS = {"slot": None, "building": None, "load_kw": (0.0, 1e6), "pv_kw": (0.0, 1e6)}
EV_COLUMNS = {
    "ev_id": None, "building": None, "arrival_h": (0.0, 1e5), "departure_h": (0.0, 1e5),
    "charge_h": (0.0, 1e5), "discharge_h": (0.0, 1e5),
}
EV_OPTIONAL = {"charge_kw": (1e-9, 1e4), "discharge_kw": (1e-9, 1e4), "efficiency": (1e-9, 1.0)}
TARIFF_COLUMNS = {
    "slot": None, "import_eur_per_mwh": (-1e4, 1e4), "charging_eur_per_h": (-1e3, 1e3),
}
TARIFF_OPTIONAL = {"export_eur_per_mwh": (-1e4, 1e4), "discharging_eur_per_h": (-1e3, 1e3)}


def _read(path: Path, required: dict, optional: dict | None = None) -> pd.DataFrame:
    optional = optional or {}
    try:
        frame = pd.read_csv(path, dtype=str, comment="#", skipinitialspace=True)
    except FileNotFoundError:
        raise CommunityInputError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CommunityInputError(f"{path}: not a readable CSV file ({err})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CommunityInputError(
            f"{path}: missing column(s) {', '.join(missing)}; expected columns "
            f"{', '.join(required)} (optional: {', '.join(optional) or 'none'})"
        )
    unknown = [c for c in frame.columns if c not in required and c not in optional]
    if unknown:
        raise CommunityInputError(
            f"{path}: unknown column(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(list(required) + list(optional))}"
        )
    if frame.empty:
        raise CommunityInputError(f"{path}: no data rows")
    for column, bounds in {**required, **optional}.items():
        if column in frame.columns:
            frame[column] = _column(path, frame, column, bounds)
    return frame


def _column(path: Path, frame: pd.DataFrame, column: str, bounds: tuple | None) -> pd.Series:
    raw = frame[column].fillna("").str.strip()
    empty = raw == ""
    if empty.any():
        raise CommunityInputError(_where(path, frame, empty, column, "", "a value"))
    if bounds is None and column != "slot":
        return raw
    values = pd.to_numeric(raw, errors="coerce")
    if values.isna().any():
        what = "a whole number >= 0" if column == "slot" else "a number"
        raise CommunityInputError(_where(path, frame, values.isna(), column, None, what))
    if column == "slot":
        bad = (values < 0) | (values != np.floor(values))
        if bad.any():
            raise CommunityInputError(_where(path, frame, bad, column, None, "a whole number >= 0"))
        return values.astype(int)
    low, high = bounds
    bad = (values < low) | (values > high)
    if bad.any():
        raise CommunityInputError(_where(path, frame, bad, column, None, f"[{low:g}, {high:g}]"))
    return values.astype(float)


def _where(
    path: Path, frame: pd.DataFrame, bad: pd.Series, column: str, value: object, allowed: str
) -> str:
    row = int(np.flatnonzero(bad.to_numpy())[0])
    shown = frame[column].iloc[row] if value is None else value
    return f"{path}: line {row + 2}, column {column}: value {shown!r} is not allowed; expected {allowed}"


def _check_slots(path: Path, slots: np.ndarray, n_slots: int, who: str) -> None:
    counts = np.bincount(slots, minlength=n_slots)
    if counts.shape[0] > n_slots or (counts != 1).any():
        bad = int(np.flatnonzero(counts != 1)[0])
        raise CommunityInputError(
            f"{path}: {who} has slot {bad} {counts[bad]} time(s); every slot 0..{n_slots - 1} "
            "must appear exactly once"
        )


def read_buildings(path: Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Building names (in order of first appearance), load and PV [kW], each (B, H)."""
    frame = _read(path, BUILDING_COLUMNS)
    names = tuple(dict.fromkeys(frame["building"]))
    n_slots = int(frame["slot"].max()) + 1
    load = np.zeros((len(names), n_slots))
    pv = np.zeros((len(names), n_slots))
    for b, name in enumerate(names):
        rows = frame[frame["building"] == name]
        slots = rows["slot"].to_numpy()
        _check_slots(path, slots, n_slots, f"building {name!r}")
        load[b, slots] = rows["load_kw"].to_numpy()
        pv[b, slots] = rows["pv_kw"].to_numpy()
    return names, load, pv


def read_tariffs(path: Path, n_slots: int) -> dict[str, np.ndarray]:
    """Per-slot tariff columns of the file, keyed by column name, each (H,)."""
    frame = _read(path, TARIFF_COLUMNS, TARIFF_OPTIONAL)
    slots = frame["slot"].to_numpy()
    if slots.max() >= n_slots:
        raise CommunityInputError(
            f"{path}: slot {int(slots.max())} is beyond the horizon of {n_slots} slots"
        )
    _check_slots(path, slots, n_slots, "the tariff")
    columns = [c for c in frame.columns if c != "slot"]
    order = np.argsort(slots)
    return {c: frame[c].to_numpy(dtype=float)[order] for c in columns}


def read_evs(
    path: Path, building_names: tuple[str, ...], horizon_h: float, defaults: dict[str, float]
) -> EvSessions:
    """EV sessions; ``defaults`` gives charge_kw, discharge_kw, efficiency when absent."""
    frame = _read(path, EV_COLUMNS, EV_OPTIONAL)
    known = {name: b for b, name in enumerate(building_names)}
    unknown = ~frame["building"].isin(list(known))
    if unknown.any():
        raise CommunityInputError(
            _where(path, frame, unknown, "building", None,
                   f"one of the buildings {', '.join(building_names)}")
        )
    ones = np.ones(len(frame))

    def col(name: str) -> np.ndarray:
        if name in frame.columns:
            return frame[name].to_numpy(dtype=float)
        return ones * defaults[name]

    evs = EvSessions(
        ev_id=tuple(frame["ev_id"]),
        building=frame["building"].map(known).to_numpy(dtype=int),
        arrival_h=col("arrival_h"),
        departure_h=col("departure_h"),
        charge_h=col("charge_h"),
        discharge_h=col("discharge_h"),
        charge_kw=col("charge_kw"),
        discharge_kw=col("discharge_kw"),
        efficiency=col("efficiency"),
    )
    check_sessions(evs, len(building_names), horizon_h, source=str(path), first_line=2)
    return evs
