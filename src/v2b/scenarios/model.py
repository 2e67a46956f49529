"""The fitted generative model: arrivals, load days, fleet and SoC rules; saved as JSON + NPZ.

Battery and SoC (``docs/data.md``): when the data gives them they are used; else
the battery is drawn from the fleet table by share, the requested SoC is
``U[SOC_REQUESTED_LOW, SOC_REQUESTED_HIGH]``, the requested energy is clipped so
the arrival SoC ``soc_requested - energy / battery`` is at least
``SOC_ARRIVAL_MIN`` (drivers rarely arrive nearly empty, and a request larger
than the battery is impossible), and that arrival SoC follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2b.data.errors import DataError
from v2b.data.files import read_json
from v2b.data.fleet import Fleet
from v2b.data.load import LoadData
from v2b.data.sessions import SessionData
from v2b.scenarios.arrivals import ArrivalModel
from v2b.scenarios.load_model import LoadModel

FORMAT_VERSION = 2
SOC_REQUESTED_LOW = 0.8
SOC_REQUESTED_HIGH = 1.0
SOC_ARRIVAL_MIN = 0.1


@dataclass(frozen=True)
class GenerativeModel:
    """Everything needed to generate episodes and futures, independent of any site.

    Site quantities (arrivals per day, load scale) are arguments of the
    generators, so one fit serves every site that uses the same data.
    """

    arrivals: ArrivalModel
    building: LoadModel
    fleet: Fleet
    soc_requested_low: float = SOC_REQUESTED_LOW
    soc_requested_high: float = SOC_REQUESTED_HIGH
    soc_arrival_min: float = SOC_ARRIVAL_MIN
    meta: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, sessions: SessionData, load: LoadData, fleet: Fleet) -> GenerativeModel:
        """Fit from validated sessions and a 15-minute load series."""
        return cls(
            arrivals=ArrivalModel.fit(sessions),
            building=LoadModel.fit(load),
            fleet=fleet,
            meta={
                "sessions_source": sessions.source,
                "load_source": load.source,
                "sessions": len(sessions),
                "load_native_minutes": load.native_minutes,
            },
        )

    def complete_requests(
        self, drawn: dict[str, np.ndarray], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Battery [kWh], arrival and requested SoC for drawn stays (module docstring).

        ``drawn`` holds ``energy_kwh`` and the recorded ``battery_kwh``,
        ``soc_arrival``, ``soc_requested`` (NaN where unknown). The same number of
        random draws is made whatever the data holds, so streams stay aligned.
        """
        n = drawn["energy_kwh"].size
        fleet_battery = self.fleet.draw_battery_kwh(rng, n)
        target = rng.uniform(self.soc_requested_low, self.soc_requested_high, n)
        battery = np.where(np.isfinite(drawn["battery_kwh"]), drawn["battery_kwh"], fleet_battery)
        soc_req = np.where(np.isfinite(drawn["soc_requested"]), drawn["soc_requested"], target)
        room = np.maximum(soc_req - self.soc_arrival_min, 0.0) * battery
        energy = np.clip(drawn["energy_kwh"], 0.0, room)
        soc_arr = np.where(
            np.isfinite(drawn["soc_arrival"]), drawn["soc_arrival"], soc_req - energy / battery
        )
        return {
            "battery_kwh": battery,
            "soc_arrival": np.clip(soc_arr, 0.0, 1.0),
            "soc_requested": np.clip(soc_req, 0.0, 1.0),
        }

    # --- persistence: JSON for parameters, NPZ for arrays; never pickle -------------
    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``path`` (JSON) and its arrays next to it (same stem, ``.npz``)."""
        path = Path(path)
        npz = path.with_suffix(".npz")
        arrays = {**self.arrivals.arrays(), **self.building.arrays()}
        arrays["fleet_battery_kwh"] = self.fleet.battery_kwh
        arrays["fleet_share"] = self.fleet.share
        np.savez_compressed(npz, **arrays)
        doc = {
            "format": "v2b-generative-model",
            "version": FORMAT_VERSION,
            "arrays": npz.name,
            "data_arrivals_per_day": self.arrivals.data_arrivals_per_day,
            "load": self.building.params(),
            "fleet_models": list(self.fleet.models),
            "soc_requested_low": self.soc_requested_low,
            "soc_requested_high": self.soc_requested_high,
            "soc_arrival_min": self.soc_arrival_min,
            "meta": self.meta,
        }
        path.write_text(json.dumps(doc, indent=2, sort_keys=True))
        return path, npz

    @classmethod
    def load(cls, path: str | Path) -> GenerativeModel:
        """Read a model written by :meth:`save`."""
        path = Path(path)
        doc = read_json(path)
        if not isinstance(doc, dict) or doc.get("format") != "v2b-generative-model":
            raise DataError(f"{path}: not a v2b generative model (field 'format')")
        if doc.get("version") != FORMAT_VERSION:
            raise DataError(
                f"{path}: field 'version' = {doc.get('version')!r}: this v2b reads {FORMAT_VERSION}"
            )
        npz = path.parent / doc["arrays"]
        try:
            with np.load(npz, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise DataError(f"{npz}: arrays of {path.name} missing") from None
        fleet = Fleet(tuple(doc["fleet_models"]), arrays["fleet_battery_kwh"], arrays["fleet_share"])
        return cls(
            arrivals=ArrivalModel.from_arrays(arrays, doc["data_arrivals_per_day"]),
            building=LoadModel.from_arrays(arrays, doc["load"]),
            fleet=fleet,
            soc_requested_low=doc["soc_requested_low"],
            soc_requested_high=doc["soc_requested_high"],
            soc_arrival_min=doc["soc_arrival_min"],
            meta=doc.get("meta", {}),
        )

    def describe(self) -> dict[str, object]:
        """Summary numbers for ``v2b data show``."""
        return {
            **self.meta,
            "data_arrivals_per_day": self.arrivals.data_arrivals_per_day,
            "recorded_sessions": int(self.arrivals.pool["energy_kwh"].size),
            "load_weekdays": int(self.building.profiles_kw.shape[0]),
            "load_months": sorted({int(m) for m in self.building.months}),
            **{f"load_{k}": v for k, v in self.building.params().items()},
            "fleet_mean_battery_kwh": self.fleet.mean_battery_kwh(),
        }
