"""What a simulation leaves behind: per-slot power, per-session outcomes.

The trace is the single source of every reported number: billing reads it, and
its CSV files (``slots.csv``, ``power.csv``, ``sessions.csv``, ``chargers.csv``)
are enough for anyone to re-derive the bill.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from v2b.site import Charger
from v2b.timegrid import SLOT_MINUTES

#: Energy short of a target that still counts as met [kWh] (rounding, not a miss).
TARGET_TOLERANCE_KWH = 0.01


@dataclass
class SessionRecord:
    """One session's outcome. ``departure_slot`` is the negotiated (exclusive) one,
    ``requested_departure_slot`` the driver's.

    ``price_usd`` is the agreed price of the option's promised energy
    ``promised_kwh``; ``payment_usd`` what the driver paid at departure (on the
    energy delivered, ``docs/model.md``, "Settlement"). ``acceptance_usd`` is the
    driver's value Y of what they took (0 for reject, NaN if nobody valued it).
    ``energy_cost_usd`` and ``marginal_utility_usd`` are the option's Eq. 3 terms
    where it was priced by marginal utility. ``offered_options`` counts the menu's
    options (reject not counted) and ``offered_price_usd`` is the price of its
    first one, the request as is, whatever the driver chose.
    """

    session_id: str
    arrival_slot: int
    departure_slot: int
    charger_id: str
    battery_kwh: float
    soc_arrival: float
    soc_requested: float
    soc_target: float
    soc_departure: float
    payment_usd: float
    option: str
    rejected: bool
    reject_reason: str = ""
    requested_departure_slot: int = -1
    level: int = -1
    driver_type: str = ""
    acceptance_usd: float = float("nan")
    price_usd: float = 0.0
    promised_kwh: float = 0.0
    energy_cost_usd: float = float("nan")
    marginal_utility_usd: float = float("nan")
    offered_options: int = 0
    offered_price_usd: float = float("nan")
    #: the car, where it comes back within the episode (its SoC carries over between visits)
    vehicle_id: str | None = None

    @property
    def delivered_kwh(self) -> float:
        """Net energy added to the battery [kWh]."""
        return (self.soc_departure - self.soc_arrival) * self.battery_kwh

    @property
    def unmet_kwh(self) -> float:
        """Energy short of the negotiated target at departure [kWh]."""
        if self.rejected:
            return 0.0
        return max(0.0, (self.soc_target - self.soc_departure) * self.battery_kwh)

    @property
    def target_met(self) -> bool:
        """Served and left with the negotiated target (within :data:`TARGET_TOLERANCE_KWH`)."""
        return not self.rejected and self.unmet_kwh <= TARGET_TOLERANCE_KWH


@dataclass
class Trace:
    """Per-slot series and per-session records of one episode."""

    dates: tuple[dt.date, ...]
    chargers: tuple[Charger, ...]
    building_kw: np.ndarray
    price_per_kwh: np.ndarray
    power_kw: np.ndarray
    session_index: np.ndarray
    sessions: list[SessionRecord] = field(default_factory=list)

    @property
    def ev_kw(self) -> np.ndarray:
        """Net EV power at the meter per slot [kW], charging > 0."""
        return self.power_kw.sum(axis=1)

    @property
    def total_kw(self) -> np.ndarray:
        return self.building_kw + self.ev_kw

    def slot_starts(self) -> pd.DatetimeIndex:
        starts = [
            pd.date_range(pd.Timestamp(d), periods=24 * 60 // SLOT_MINUTES, freq=f"{SLOT_MINUTES}min")
            for d in self.dates
        ]
        return starts[0].append(starts[1:]) if len(starts) > 1 else starts[0]

    def slots_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "slot": np.arange(len(self.building_kw)),
                "start": self.slot_starts().strftime("%Y-%m-%dT%H:%M:%S"),
                "building_kw": self.building_kw,
                "ev_kw": self.ev_kw,
                "total_kw": self.total_kw,
                "price_per_kwh": self.price_per_kwh,
            }
        )

    def power_frame(self) -> pd.DataFrame:
        slots, chargers = np.nonzero(self.power_kw)
        ids = np.array([s.session_id for s in self.sessions] + [""], dtype=object)
        return pd.DataFrame(
            {
                "slot": slots,
                "session_id": ids[self.session_index[slots, chargers]],
                "charger_id": np.array([c.charger_id for c in self.chargers], dtype=object)[chargers],
                "power_kw": self.power_kw[slots, chargers],
            }
        )

    def sessions_frame(self) -> pd.DataFrame:
        columns = list(SessionRecord.__dataclass_fields__)
        return pd.DataFrame([asdict(s) for s in self.sessions], columns=columns)

    def chargers_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "charger_id": [c.charger_id for c in self.chargers],
                "max_kw": [c.max_kw for c in self.chargers],
                "min_kw": [c.min_kw for c in self.chargers],
                "charge_efficiency": [c.charge_efficiency for c in self.chargers],
                "discharge_efficiency": [c.discharge_efficiency for c in self.chargers],
                "controllable": [c.controllable for c in self.chargers],
            }
        )

    def write_csvs(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.slots_frame().to_csv(out_dir / "slots.csv", index=False)
        self.power_frame().to_csv(out_dir / "power.csv", index=False)
        self.sessions_frame().to_csv(out_dir / "sessions.csv", index=False)
        self.chargers_frame().to_csv(out_dir / "chargers.csv", index=False)
