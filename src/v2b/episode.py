"""Episodes: one billing month of weekdays, its building load and its EV sessions."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

import numpy as np

from v2b.timegrid import SLOTS_PER_DAY, end_of_day


@dataclass(frozen=True)
class Session:
    """One EV visit as the driver requests it.

    Slots are episode slots; ``departure_slot`` is exclusive (the EV is connected
    during ``arrival_slot .. departure_slot - 1``). The car's own limits (its on-board
    charger, whether it allows V2B) apply on top of the charger's (``docs/model.md``,
    "Vehicle limits"); ``None`` leaves the charger's.
    """

    session_id: str
    arrival_slot: int
    departure_slot: int
    battery_kwh: float
    soc_arrival: float
    soc_requested: float
    max_charge_kw: float | None = None
    max_discharge_kw: float | None = None
    v2b_allowed: bool = True
    #: the car's own lowest SoC for discharging (``None``: the site's ``discharge_floor_soc``)
    min_soc: float | None = None
    #: a car that comes back: its SoC on arrival is what it left with last time minus
    #: ``depletion_kwh`` (``docs/model.md``, "Returning cars"); ``None``: ``soc_arrival`` as given
    vehicle_id: str | None = None
    depletion_kwh: float = 0.0

    def floor_soc(self, site_floor_soc: float) -> float:
        """The lowest SoC this car discharges to: its own ``min_soc``, else the site's."""
        return site_floor_soc if self.min_soc is None else self.min_soc

    def returning_soc(self, left_soc: float, site_floor_soc: float) -> float:
        """The SoC this visit starts with when the car left its last one with ``left_soc``: less
        the energy used since, kept within [its floor, full] (``docs/model.md``, "Returning cars")."""
        soc = left_soc - self.depletion_kwh / self.battery_kwh
        return float(min(max(soc, self.floor_soc(site_floor_soc)), 1.0))

    @property
    def charge_limit_kw(self) -> float:
        """The most the car takes [kW] (inf: the charger decides)."""
        return math.inf if self.max_charge_kw is None else float(self.max_charge_kw)

    @property
    def discharge_limit_kw(self) -> float:
        """The most the car gives back [kW] (0 without V2B; inf: the charger decides)."""
        if not self.v2b_allowed:
            return 0.0
        return math.inf if self.max_discharge_kw is None else float(self.max_discharge_kw)

    @property
    def requested_kwh(self) -> float:
        """Energy the driver asks to add to the battery [kWh]."""
        return max(0.0, (self.soc_requested - self.soc_arrival) * self.battery_kwh)


@dataclass(frozen=True)
class Episode:
    """A billing month: ``dates`` (weekdays), building load per slot and sessions.

    ``kind`` is ``"test"``, ``"pool"`` or ``"replay"``; ``index`` counts within it.
    ``overnight``: sessions may stay past midnight, up to the episode's end (its dates must
    then be consecutive days; ``docs/model.md``, "Overnight sessions"); otherwise every
    car leaves by the end of its arrival's day.
    ``peak_history_kw``: the site's billing history before this month, oldest first, as
    (calendar month 1-12, the building's own highest 15-minute load that month [kW]); what a
    site knows from its past bills and meter (``docs/model.md``, "Controller: month-aware
    demand charge"). Empty where the site has none. ``hindsight_history_kw``: the same months'
    hindsight peaks (calendar month, kW; :func:`v2b.control.mpc_peak.hindsight_peak_kw`), what
    the site works out from each past month's meter and session records.
    """

    site_name: str
    kind: str
    index: int
    dates: tuple[dt.date, ...]
    load_kw: np.ndarray
    sessions: tuple[Session, ...] = field(default=())
    overnight: bool = False
    peak_history_kw: tuple[tuple[int, float], ...] = ()
    hindsight_history_kw: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        for name in ("peak_history_kw", "hindsight_history_kw"):
            for month, peak_kw in getattr(self, name):
                good = isinstance(month, int) and 1 <= month <= 12 and math.isfinite(peak_kw) and peak_kw > 0
                if not good:
                    raise ValueError(f"{name} entry ({month!r}, {peak_kw!r}) needs a calendar month "
                                     "1-12 and a positive peak [kW]")
        if self.load_kw.shape != (len(self.dates) * SLOTS_PER_DAY,):
            raise ValueError(
                f"load_kw has shape {self.load_kw.shape}, expected ({len(self.dates) * SLOTS_PER_DAY},)"
            )
        if self.overnight:
            gaps = [b for a, b in zip(self.dates, self.dates[1:], strict=False) if (b - a).days != 1]
            if gaps:
                raise ValueError(f"an overnight episode needs consecutive dates; {gaps[0]} does not follow "
                                 "the day before it")

    def latest_departure_slot(self, arrival_slot: int) -> int:
        """The latest a car arriving at ``arrival_slot`` can stay (exclusive): its day's end, or
        the episode's end where cars stay overnight."""
        return self.n_slots if self.overnight else end_of_day(arrival_slot)

    @property
    def days(self) -> int:
        return len(self.dates)

    @property
    def n_slots(self) -> int:
        return self.days * SLOTS_PER_DAY

    def truncated(self, days: int) -> Episode:
        """The first ``days`` days of this episode (for short runs)."""
        if days >= self.days:
            return self
        end = days * SLOTS_PER_DAY
        return Episode(
            site_name=self.site_name,
            kind=self.kind,
            index=self.index,
            dates=self.dates[:days],
            load_kw=self.load_kw[:end].copy(),
            sessions=tuple(s if s.departure_slot <= end else replace(s, departure_slot=end)
                           for s in self.sessions if s.arrival_slot < end),
            overnight=self.overnight,
            peak_history_kw=self.peak_history_kw,
            hindsight_history_kw=self.hindsight_history_kw,
        )
