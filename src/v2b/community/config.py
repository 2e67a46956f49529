"""A community study from a TOML file: which CSV files to read and what to synthesise.

Every part the file does not give comes from the paper's synthetic scenario
(:mod:`v2b.community.synthetic`). Example (all keys optional)::

    slot_minutes = 60          # slot length of the CSV files [min]
    seed = 1                   # cloud factors and EV draws of synthetic parts

    [files]                    # paths relative to this TOML file
    buildings = "buildings.csv"  # slot, building, load_kw, pv_kw
    evs = "evs.csv"              # ev_id, building, arrival_h, departure_h, charge_h, discharge_h
    tariffs = "tariffs.csv"      # slot, import_eur_per_mwh, charging_eur_per_h

    [scenario]                 # the paper's values are the defaults
    export_eur_per_mwh = -35.8
    grid_use_eur_per_mwh = 50.0

    [solver]
    exclusivity = "auto"       # "auto" | "lp" | "milp"
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from v2b.community.csvfiles import read_buildings, read_evs, read_tariffs
from v2b.community.inputs import CommunityInputError, CommunityInputs, Tariffs
from v2b.community.synthetic import (
    MWH,
    ScenarioSpec,
    synthetic_buildings,
    synthetic_evs,
    synthetic_tariffs,
)

DEFAULT_SLOT_MINUTES = 60
_SPEC = ScenarioSpec()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioConfig(_Model):
    """Synthetic scenario and flat tariffs; see :class:`ScenarioSpec` for meanings."""

    dates: tuple[dt.date, ...] = Field(default=_SPEC.dates, min_length=1, max_length=1000)
    annual_load_mwh: float = Field(default=_SPEC.annual_load_mwh, gt=0, le=1e6)
    pv_share: float = Field(default=_SPEC.pv_share, ge=0, le=10)
    cloud_concentration: float = Field(default=_SPEC.cloud_concentration, gt=0, le=1000)
    import_mean_eur_per_mwh: float = Field(default=_SPEC.import_mean_eur_per_mwh, ge=-1e4, le=1e4)
    export_eur_per_mwh: float = Field(default=_SPEC.export_eur_per_mwh, ge=-1e4, le=1e4)
    grid_use_eur_per_mwh: float = Field(default=_SPEC.grid_use_eur_per_mwh, ge=0, le=1e4)
    parking_eur_per_h: float = Field(default=_SPEC.parking_eur_per_h, ge=-1e3, le=1e3)
    flexibility_eur_per_h: float = Field(default=_SPEC.flexibility_eur_per_h, ge=-1e3, le=1e3)
    discharging_eur_per_h: float = Field(default=_SPEC.discharging_eur_per_h, ge=-1e3, le=1e3)
    charging_mean_eur_per_h: float = Field(default=_SPEC.charging_mean_eur_per_h, ge=-1e3, le=1e3)
    ev_profiles: int = Field(default=_SPEC.ev_profiles, ge=1, le=100_000)
    evs_per_building: int = Field(default=_SPEC.evs_per_building, ge=0, le=100_000)
    window_start_h: float = Field(default=_SPEC.window_start_h, ge=0, lt=24)
    window_end_h: float = Field(default=_SPEC.window_end_h, gt=0, le=24)
    parking_mean_h: float = Field(default=_SPEC.parking_mean_h, gt=0, le=24)
    parking_sd_h: float = Field(default=_SPEC.parking_sd_h, ge=0, le=24)
    charge_mean_h: float = Field(default=_SPEC.charge_mean_h, gt=0, le=24)
    charge_sd_h: float = Field(default=_SPEC.charge_sd_h, ge=0, le=24)
    discharge_mean_h: float = Field(default=_SPEC.discharge_mean_h, ge=0, le=24)
    discharge_sd_h: float = Field(default=_SPEC.discharge_sd_h, ge=0, le=24)
    charger_kw: float = Field(default=_SPEC.charger_kw, gt=0, le=1e4)
    efficiency: float = Field(default=_SPEC.efficiency, gt=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioConfig:
        if self.evs_per_building > self.ev_profiles:
            raise ValueError(
                f"evs_per_building={self.evs_per_building} exceeds ev_profiles="
                f"{self.ev_profiles}: each building draws distinct profiles from the pool"
            )
        if self.window_end_h - self.window_start_h < 1.0:
            raise ValueError(
                f"window {self.window_start_h:g}-{self.window_end_h:g} h: the EV window "
                "must be at least 1 h long"
            )
        years = {day.year for day in self.dates}
        if years != {2023}:
            raise ValueError(
                f"dates must be in 2023, the year the shipped DOE profile is labelled with; "
                f"got years {sorted(years)}"
            )
        return self


class FilesConfig(_Model):
    buildings: str | None = None
    evs: str | None = None
    tariffs: str | None = None


class SolverConfig(_Model):
    exclusivity: Literal["auto", "lp", "milp"] = "auto"
    time_limit_s: float = Field(default=600.0, gt=0, le=86_400)


class CommunityConfig(_Model):
    """The whole TOML file."""

    slot_minutes: int | None = Field(default=None, ge=1, le=1440)
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    files: FilesConfig = FilesConfig()
    scenario: ScenarioConfig = ScenarioConfig()
    solver: SolverConfig = SolverConfig()

    def spec(self) -> ScenarioSpec:
        return ScenarioSpec(**self.scenario.model_dump())


def load_config(path: Path) -> CommunityConfig:
    """Parse and validate a community TOML file.

    Raises
    ------
    CommunityInputError
        Naming the file, the field, the value and the allowed range.
    """
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise CommunityInputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CommunityInputError(f"{path}: is a directory, not a TOML file") from None
    except UnicodeDecodeError as err:
        raise CommunityInputError(f"{path}: not a text (UTF-8) TOML file ({err.reason})") from None
    except tomllib.TOMLDecodeError as err:
        raise CommunityInputError(f"{path}: not valid TOML ({err})") from None
    try:
        return CommunityConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        value = first.get("input")
        raise CommunityInputError(
            f"{path}: field {field}: value {value!r} is not allowed: {first['msg']}"
        ) from None


def inputs_from_config(
    config: CommunityConfig, base: Path | None = None, seed: int | None = None,
    slot_minutes: int | None = None,
) -> CommunityInputs:
    """Build the study's inputs: CSV files where the config names them, synthetic otherwise.

    Parameters
    ----------
    config : CommunityConfig
        Parsed TOML (``CommunityConfig()`` is the paper's synthetic scenario).
    base : Path, optional
        Folder the file paths are relative to.
    seed : int, optional
        Overrides ``config.seed``.
    slot_minutes : int, optional
        Slot length of the study [min]; CSV data are resampled to it when it is a
        whole multiple or divisor of the files' ``slot_minutes``.
    """
    base = base or Path.cwd()
    spec = config.spec()
    seed = config.seed if seed is None else seed
    file_slot = config.slot_minutes or DEFAULT_SLOT_MINUTES
    target = slot_minutes or file_slot
    slot_name = "--slot-minutes" if slot_minutes else "slot_minutes"
    cloud_rng, ev_rng = np.random.default_rng(seed).spawn(2)
    files = config.files

    if files.buildings:
        names, load, pv = read_buildings(base / files.buildings)
        load, pv = resample(load, file_slot, target), resample(pv, file_slot, target)
    else:
        check_synthetic_slot(target, slot_name)
        names, load, pv = synthetic_buildings(spec, target, [[d] for d in spec.dates], cloud_rng)
    n_slots = load.shape[1]
    horizon_h = n_slots * target / 60.0
    days = horizon_h / 24.0

    if files.tariffs:
        columns = read_tariffs(base / files.tariffs, n_slots * target // file_slot)
        tariffs = _file_tariffs(spec, {k: resample(v, file_slot, target) for k, v in columns.items()})
    else:
        check_synthetic_slot(target, slot_name)
        tariffs = synthetic_tariffs(spec, target, _whole_days(days, "tariffs"))
    if files.evs:
        defaults = {"charge_kw": spec.charger_kw, "discharge_kw": spec.charger_kw,
                    "efficiency": spec.efficiency}
        evs = read_evs(base / files.evs, names, horizon_h, defaults)
    else:
        evs = synthetic_evs(spec, len(names), _whole_days(days, "evs"), ev_rng)
    return CommunityInputs(names, load, pv, target, tariffs, evs)


def _file_tariffs(spec: ScenarioSpec, columns: dict[str, np.ndarray]) -> Tariffs:
    ones = np.ones_like(columns["import_eur_per_mwh"])
    return Tariffs(
        import_eur_per_kwh=columns["import_eur_per_mwh"] / MWH,
        export_eur_per_kwh=columns.get("export_eur_per_mwh", ones * spec.export_eur_per_mwh) / MWH,
        grid_use_eur_per_kwh=spec.grid_use_eur_per_mwh / MWH,
        charging_eur_per_h=columns["charging_eur_per_h"],
        discharging_eur_per_h=columns.get(
            "discharging_eur_per_h", ones * spec.discharging_eur_per_h
        ),
        parking_eur_per_h=spec.parking_eur_per_h,
        flexibility_eur_per_h=spec.flexibility_eur_per_h,
    )


def resample(values: np.ndarray, from_minutes: int, to_minutes: int) -> np.ndarray:
    """Per-slot averages from slots of ``from_minutes`` to slots of ``to_minutes``.

    Finer slots repeat their slot's value; coarser slots average whole groups, so
    energy per slot is kept. Other ratios are an error.
    """
    if to_minutes == from_minutes:
        return values
    if from_minutes % to_minutes == 0:
        return np.repeat(values, from_minutes // to_minutes, axis=-1)
    ratio, rest = divmod(to_minutes, from_minutes)
    if rest == 0 and values.shape[-1] % ratio == 0:
        return values.reshape(*values.shape[:-1], -1, ratio).mean(axis=-1)
    raise CommunityInputError(
        f"--slot-minutes {to_minutes} cannot be made from the files' {from_minutes}-minute "
        "slots: use a whole multiple or divisor of it (and a horizon that divides evenly)"
    )


def check_synthetic_slot(slot_minutes: int, name: str = "slot length") -> None:
    """Fail unless the synthetic data can be made at ``slot_minutes`` (``name`` is the option or
    field it came from, for the message)."""
    if not 5 <= slot_minutes <= 1440 or slot_minutes % 5 or 1440 % slot_minutes:
        raise CommunityInputError(
            f"{name} {slot_minutes} min is not allowed for the synthetic data; expected "
            "a multiple of 5 that divides 1440 (e.g. 15, 30, 60)"
        )


def _whole_days(days: float, part: str) -> int:
    if abs(days - round(days)) > 1e-9 or round(days) < 1:
        raise CommunityInputError(
            f"the horizon is {days * 24:g} h; synthetic {part} need whole days: give a "
            f"{part} file in [files] or a buildings file covering whole days"
        )
    return int(round(days))
