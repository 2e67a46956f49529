"""openv2b scenario directories (github.com/rishavsen1/openv2b, ``docs/INPUT_FORMAT.md``).

A directory holds ``scenario.json`` (``slot_minutes``, ``horizon_slots``,
efficiencies, demand charges, file names) and CSVs:

- ``vehicles.csv``: ``vehicle_id, arrival_slot`` (inclusive), ``departure_slot``
  (exclusive), ``battery_kwh, soc_arrival_kwh, soc_target_kwh, max_charge_kw``
  [, ``max_discharge_kw, min_soc_kwh, depletion_kwh``];
- ``chargers.csv``: ``charger_id, max_kw, bidirectional``;
- ``building_load.csv`` / ``grid_prices.csv``: sparse ``slot,value[,tou]`` rows,
  step-and-hold, 0 before the first row.

- ``dr_events.csv`` (``dr_events_file``): ``start_slot, end_slot`` (the window is the slots
  ``start < s <= end``), ``fsl_kw, penalty_usd_per_kwh[, incentive_usd_per_kw, baseline_kw]``.

Each vehicle's ``max_charge_kw`` / ``max_discharge_kw`` become its session's own limits,
``min_soc_kwh`` its own discharge floor, and with ``persistence`` (openv2b's default) its later
sessions arrive with what it left with minus ``depletion_kwh``; ``site_cap_kw`` is the site's
connection limit, ``demand_charge_peak_usd_per_kw`` a windowed demand charge on the daily
``peak`` TOU slots, and each demand-response event a limit with a penalty and an incentive
(``docs/model.md``). What v2b does not model is reported in :attr:`OpenV2BScenario.ignored`
(printed by ``v2b simulate --openv2b``, recorded in its ``summary.json``); what it cannot
represent is refused, naming the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from v2b.data.errors import DataError, RowChecks, SkipReport
from v2b.data.files import read_csv_text, read_json
from v2b.data.load import LoadData
from v2b.data.plain import check_number
from v2b.data.sessions import SessionData, require_named

#: Monday; openv2b slots carry no dates, so slot 0 is placed here by default.
DEFAULT_START = dt.datetime(2023, 1, 2)

_MANIFEST_DEFAULTS = {
    "charge_efficiency": 1.0,
    "discharge_efficiency": 1.0,
    "demand_charge_usd_per_kw": 0.0,
    "demand_charge_peak_usd_per_kw": 0.0,
    "persistence": True,
    "vehicles_file": "vehicles.csv",
    "chargers_file": "chargers.csv",
    "building_file": "building_load.csv",
    "prices_file": "grid_prices.csv",
}


@dataclass(frozen=True)
class OpenV2BScenario:
    """A parsed openv2b scenario; arrays are per openv2b slot (``slot_minutes`` long)."""

    directory: Path
    manifest: dict
    vehicles: pd.DataFrame
    chargers: pd.DataFrame
    load_kw: np.ndarray
    price_per_kwh: np.ndarray
    tou: tuple[str, ...]
    report: SkipReport | None = None
    ignored: tuple[str, ...] = field(default=())
    #: demand-response events: start_slot, end_slot, fsl_kw, penalty_usd_per_kwh,
    #: incentive_usd_per_kw, baseline_kw (empty without a ``dr_events_file``)
    dr_events: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def slot_minutes(self) -> float:
        return float(self.manifest["slot_minutes"])

    def _times(self, slots: np.ndarray, start: dt.datetime) -> pd.Series:
        return pd.Series(pd.Timestamp(start) + pd.to_timedelta(slots * self.slot_minutes, "min"))

    def session_data(self, start: dt.datetime = DEFAULT_START) -> SessionData:
        """Sessions with absolute times, slot 0 placed at ``start``."""
        v = self.vehicles
        battery = v["battery_kwh"].to_numpy(dtype=float)
        soc_arrival = v["soc_arrival_kwh"].to_numpy(dtype=float) / battery
        soc_target = v["soc_target_kwh"].to_numpy(dtype=float) / battery
        frame = pd.DataFrame(
            {
                "session_id": [f"v{i}-{k}" for k, i in enumerate(v["vehicle_id"])],
                "arrival": self._times(v["arrival_slot"].to_numpy(), start),
                "departure": self._times(v["departure_slot"].to_numpy(), start),
                "energy_kwh": np.maximum(soc_target - soc_arrival, 0.0) * battery,
                "delivered_kwh": np.nan,
                "battery_kwh": battery,
                "soc_arrival": soc_arrival,
                "soc_requested": soc_target,
                "station_id": "",
            }
        )
        return SessionData(frame, str(self.directory), self.report)

    def load_data(self, start: dt.datetime = DEFAULT_START) -> LoadData:
        """Building load at 15-minute slots (step-and-hold from the scenario's slots)."""
        from v2b.data.load import resample_to_slots

        slots = np.arange(self.load_kw.size)
        times = pd.DatetimeIndex(self._times(slots, start))
        series, native = resample_to_slots(times, self.load_kw, str(self.directory))
        return LoadData(series, str(self.directory / self.manifest["building_file"]), native)


def _read_json(path: Path) -> dict:
    data = read_json(path, " (an openv2b scenario needs scenario.json)")
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def _manifest(path: Path) -> dict:
    data = {**_MANIFEST_DEFAULTS, **_read_json(path)}
    for key in ("slot_minutes", "horizon_slots"):
        if key not in data:
            raise DataError(f"{path}: field '{key}' is required")
    checks = {
        "slot_minutes": (0, 1440, "in (0, 1440]"),
        "horizon_slots": (0, 10_000_000, "a positive integer"),
        "charge_efficiency": (0, 1, "in (0, 1]"),
        "discharge_efficiency": (0, 1, "in (0, 1]"),
    }
    for key, (low, high, rule) in checks.items():
        value = data[key]
        if not isinstance(value, int | float) or isinstance(value, bool) or not low < value <= high:
            raise DataError(f"{path}: field '{key}' = {value!r}: must be {rule}")
    if int(data["horizon_slots"]) != data["horizon_slots"]:
        raise DataError(f"{path}: field 'horizon_slots' = {data['horizon_slots']!r}: must be an integer")
    return data


def _step_series(path: Path, horizon: int, skip_invalid: bool) -> tuple[np.ndarray, list[str]]:
    """Read ``slot,value[,tou]`` rows into a dense step-and-hold series of ``horizon`` slots."""
    raw = read_csv_text(path)
    require_named(str(path), list(raw.columns), ("slot", "value"))
    checks = RowChecks(str(path), len(raw), skip_invalid)
    slot = check_number(checks, raw["slot"], "slot", required=True)
    value = check_number(checks, raw["value"], "value", required=True)
    checks.check((slot < 0) | (slot != np.round(slot)), "slot", raw["slot"], "must be an integer >= 0")
    dup = pd.Series(slot).duplicated(keep="first").to_numpy() & np.isfinite(slot)
    checks.check(dup, "slot", raw["slot"], "appears twice (ambiguous step)")
    keep = checks.finish()
    order = np.argsort(slot[keep], kind="stable")
    starts = slot[keep][order].astype(int)
    values = value[keep][order]
    dense = np.zeros(horizon)
    idx = np.searchsorted(starts, np.arange(horizon), side="right") - 1
    dense[idx >= 0] = values[idx[idx >= 0]]
    tou = ["off-peak"] * horizon
    if "tou" in raw.columns:
        classes = raw["tou"].to_numpy()[keep][order]
        held = pd.Series(np.where(classes == "", None, classes)).ffill().fillna("off-peak")
        tou = [held.iloc[i] if i >= 0 else "off-peak" for i in idx]
    return dense, tou


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _chargers(path: Path) -> pd.DataFrame:
    """``charger_id, max_kw[, bidirectional]`` with numbers and booleans checked."""
    raw = read_csv_text(path)
    require_named(str(path), list(raw.columns), ("charger_id", "max_kw"))
    checks = RowChecks(str(path), len(raw), skip_invalid=False)
    max_kw = check_number(checks, raw["max_kw"], "max_kw", required=True)
    checks.check(max_kw <= 0, "max_kw", raw["max_kw"], "must be > 0 kW")
    flags = raw.get("bidirectional", pd.Series([""] * len(raw))).astype(str).str.strip().str.lower()
    checks.check(~flags.isin(_TRUE | _FALSE), "bidirectional", flags, "must be true or false")
    checks.finish()
    return pd.DataFrame(
        {"charger_id": raw["charger_id"], "max_kw": max_kw, "bidirectional": flags.isin(_TRUE).to_numpy()}
    )


def read_openv2b(directory: str | Path, *, skip_invalid: bool = False) -> OpenV2BScenario:
    """Read and validate an openv2b scenario directory.

    Raises
    ------
    DataError
        Bad manifest field, missing column, unparseable number, departure not
        after arrival or beyond the horizon, battery not positive, SoC energy
        outside [0, battery_kwh]; names file, row, field and value.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory (an openv2b scenario is a directory)")
    manifest = _manifest(directory / "scenario.json")
    horizon = int(manifest["horizon_slots"])
    vpath = directory / manifest["vehicles_file"]
    raw = read_csv_text(vpath)
    needed = (
        "vehicle_id",
        "arrival_slot",
        "departure_slot",
        "battery_kwh",
        "soc_arrival_kwh",
        "soc_target_kwh",
    )
    require_named(str(vpath), list(raw.columns), needed)
    checks = RowChecks(str(vpath), len(raw), skip_invalid)
    num = {c: check_number(checks, raw[c], c, required=True) for c in needed}
    for c in ("arrival_slot", "departure_slot"):
        checks.check((num[c] < 0) | (num[c] != np.round(num[c])), c, raw[c], "must be an integer >= 0")
    checks.check(
        num["departure_slot"] > horizon,
        "departure_slot",
        raw["departure_slot"],
        f"must be <= horizon_slots ({horizon})",
    )
    checks.check(
        num["departure_slot"] <= num["arrival_slot"],
        "departure_slot",
        raw["departure_slot"],
        "must be after arrival_slot",
    )
    battery = num["battery_kwh"]
    checks.check(battery <= 0, "battery_kwh", battery, "must be > 0 kWh")
    for c in ("soc_arrival_kwh", "soc_target_kwh"):
        checks.check((num[c] < 0) | (num[c] > battery), c, raw[c], "must be in [0, battery_kwh]")
    limits = {}
    for c, lowest in (("max_charge_kw", "> 0"), ("max_discharge_kw", ">= 0")):
        if c in raw:
            limits[c] = check_number(checks, raw[c], c, required=False)
            bad = limits[c] <= 0 if lowest == "> 0" else limits[c] < 0
            checks.check(bad, c, raw[c], f"must be a power {lowest} kW (or empty: the charger's)")
    for c in ("min_soc_kwh", "depletion_kwh"):
        if c in raw:
            limits[c] = np.nan_to_num(check_number(checks, raw[c], c, required=False), nan=0.0)
            checks.check(limits[c] < 0, c, raw[c], "must be >= 0 kWh")
    if "min_soc_kwh" in limits:
        floor = limits["min_soc_kwh"]
        checks.check(floor > battery, "min_soc_kwh", raw["min_soc_kwh"], "must be <= battery_kwh")
        checks.check(num["soc_arrival_kwh"] < floor, "soc_arrival_kwh", raw["soc_arrival_kwh"],
                     "is below the vehicle's min_soc_kwh")
    if "max_soc_kwh" in raw:
        ceiling = check_number(checks, raw["max_soc_kwh"], "max_soc_kwh", required=False)
        checks.check(np.isfinite(ceiling) & (ceiling != battery), "max_soc_kwh", raw["max_soc_kwh"],
                     "is a charging ceiling below battery_kwh, which v2b does not model (leave it "
                     "empty or equal to battery_kwh)")
    keep = checks.finish()
    vehicles = raw[keep].reset_index(drop=True)
    for c in (*needed, *limits):
        vehicles[c] = (num | limits)[c][keep]
    cpath = directory / manifest["chargers_file"]
    chargers = _chargers(cpath)
    load_kw, _ = _step_series(directory / manifest["building_file"], horizon, skip_invalid)
    prices, tou = _step_series(directory / manifest["prices_file"], horizon, skip_invalid)
    ignored = []
    if manifest.get("heuristic_threshold_kw") is not None:
        ignored.append("heuristic_threshold_kw (openv2b's heuristics' threshold; v2b's EDF and LLF "
                       "use the month's peak so far)")
    dr_file = manifest.get("dr_events_file")
    dr_events = _dr_events(directory / dr_file, horizon) if dr_file else pd.DataFrame()
    return OpenV2BScenario(
        directory=directory,
        manifest=manifest,
        vehicles=vehicles,
        chargers=chargers,
        load_kw=load_kw,
        price_per_kwh=prices,
        tou=tuple(tou),
        report=checks.report if skip_invalid else None,
        ignored=tuple(ignored),
        dr_events=dr_events,
    )


def _dr_events(path: Path, horizon: int) -> pd.DataFrame:
    """``dr_events.csv``, every row checked (a bad event is never skipped: it is money)."""
    raw = read_csv_text(path)
    needed = ("start_slot", "end_slot", "fsl_kw", "penalty_usd_per_kwh")
    require_named(str(path), list(raw.columns), needed)
    checks = RowChecks(str(path), len(raw), skip_invalid=False)
    num = {c: check_number(checks, raw[c], c, required=True) for c in needed}
    for c in ("incentive_usd_per_kw", "baseline_kw"):
        num[c] = (check_number(checks, raw[c], c, required=False) if c in raw
                  else np.full(len(raw), np.nan))
    for c in ("start_slot", "end_slot"):
        checks.check((num[c] < 0) | (num[c] != np.round(num[c])), c, raw[c], "must be an integer >= 0")
    checks.check(num["end_slot"] <= num["start_slot"], "end_slot", raw["end_slot"],
                 "must be after start_slot")
    checks.check(num["end_slot"] >= horizon, "end_slot", raw["end_slot"],
                 f"must be < horizon_slots ({horizon}): the window (start, end] lies inside the horizon")
    for c in ("fsl_kw", "penalty_usd_per_kwh", "incentive_usd_per_kw", "baseline_kw"):
        checks.check(num[c] < 0, c, num[c], "must be >= 0")
    checks.finish()
    frame = pd.DataFrame(num).sort_values("start_slot", kind="stable").reset_index(drop=True)
    overlap = frame["start_slot"].to_numpy()[1:] < frame["end_slot"].to_numpy()[:-1]
    if overlap.any():
        k = int(np.flatnonzero(overlap)[0])
        raise DataError(f"{path}: events starting at slots {int(frame['start_slot'][k])} and "
                        f"{int(frame['start_slot'][k + 1])} overlap")
    return frame
