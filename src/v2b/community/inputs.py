"""What a community study needs: building loads and PV, tariffs, EV parking sessions.

These are plain validated arrays; :mod:`v2b.community.files` and
:mod:`v2b.community.synthetic` build them, :mod:`v2b.community.lp` consumes them.
Time is a grid of ``n_slots`` slots of ``slot_minutes`` each, starting at hour 0
of the first day. Money is EUR, energy kWh, power kW, time h.

References
----------
Moura, Yu, Mohammadi, "Management of Electric Vehicles as Flexibility Resource
for Optimized Integration of Renewable Energy with Large Buildings" (the
*community paper*), Nomenclature and Section II.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2b.errors import UserError


class CommunityInputError(UserError):
    """Community input that cannot be used; the message names file, row, field and value."""


@dataclass(frozen=True)
class Tariffs:
    """Energy and EV tariffs per slot; negative values are income for the building.

    Parameters
    ----------
    import_eur_per_kwh : np.ndarray
        Grid import tariff C_IG(h) per slot [EUR/kWh], shape (H,).
    export_eur_per_kwh : np.ndarray
        Grid export tariff C_EG(h) per slot [EUR/kWh], negative = income, shape (H,).
    grid_use_eur_per_kwh : float
        Grid-use tariff C_G for energy exchanged inside the community [EUR/kWh].
    charging_eur_per_h : np.ndarray
        Charging tariff C_C(h) per slot, paid by the EV user per hour of used
        charging time [EUR/h], shape (H,).
    discharging_eur_per_h : np.ndarray
        Discharging tariff C_D(h) per slot [EUR/h], negative = paid to the user, shape (H,).
    parking_eur_per_h : float
        Parking tariff C_P [EUR/h].
    flexibility_eur_per_h : float
        Flexibility reward C_F per hour parked but neither charging nor discharging
        [EUR/h], negative = paid to the user.
    """

    import_eur_per_kwh: np.ndarray
    export_eur_per_kwh: np.ndarray
    grid_use_eur_per_kwh: float
    charging_eur_per_h: np.ndarray
    discharging_eur_per_h: np.ndarray
    parking_eur_per_h: float
    flexibility_eur_per_h: float

    @property
    def n_slots(self) -> int:
        return int(self.import_eur_per_kwh.shape[0])


@dataclass(frozen=True)
class EvSessions:
    """EV parking sessions as their users request them (time, not SoC).

    Parameters
    ----------
    ev_id : tuple of str
        Name of each session's EV profile.
    building : np.ndarray
        Index of the building each session parks at, shape (N,).
    arrival_h, departure_h : np.ndarray
        Parking period [h from the start of the horizon]; t_P = departure - arrival.
    charge_h : np.ndarray
        Requested charging time t_R^+ at full charger power [h] (Eq. 8: > 0).
    discharge_h : np.ndarray
        Allowed discharging time t_R^- at full discharger power [h] (Eq. 8: >= 0).
    charge_kw, discharge_kw : np.ndarray
        Charger limits P^+ and P^- [kW] (Eq. 9).
    efficiency : np.ndarray
        One-way efficiency of the charger, the same for charging and discharging [-].
    """

    ev_id: tuple[str, ...]
    building: np.ndarray
    arrival_h: np.ndarray
    departure_h: np.ndarray
    charge_h: np.ndarray
    discharge_h: np.ndarray
    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    efficiency: np.ndarray

    def __len__(self) -> int:
        return int(self.building.shape[0])

    @property
    def parking_h(self) -> np.ndarray:
        """Parking period t_P of each session [h]."""
        return self.departure_h - self.arrival_h

    @property
    def requested_battery_kwh(self) -> np.ndarray:
        """Energy the requested charging time puts into the battery, eta P^+ t_R^+ [kWh]."""
        return self.efficiency * self.charge_kw * self.charge_h

    @classmethod
    def empty(cls) -> EvSessions:
        """No EVs: the paper's baseline."""
        none = np.zeros(0)
        return cls((), np.zeros(0, dtype=int), none, none, none, none, none, none, none)


@dataclass(frozen=True)
class CommunityInputs:
    """Everything one community study needs.

    Parameters
    ----------
    building_names : tuple of str
        One name per building, in row order of the arrays.
    load_kw, pv_kw : np.ndarray
        Average building load and PV generation per slot [kW], shape (B, H).
    slot_minutes : int
        Slot length [min]; the paper uses 60.
    tariffs : Tariffs
        Tariffs per slot, length H.
    evs : EvSessions
        EV sessions of all buildings.
    """

    building_names: tuple[str, ...]
    load_kw: np.ndarray
    pv_kw: np.ndarray
    slot_minutes: int
    tariffs: Tariffs
    evs: EvSessions

    def __post_init__(self) -> None:
        shape = (len(self.building_names), self.tariffs.n_slots)
        if self.load_kw.shape != shape or self.pv_kw.shape != shape:
            raise CommunityInputError(
                f"load {self.load_kw.shape} and PV {self.pv_kw.shape} must both have shape "
                f"(buildings, slots) = {shape}"
            )
        check_sessions(self.evs, len(self.building_names), self.horizon_h, source="EV sessions")

    @property
    def n_buildings(self) -> int:
        return len(self.building_names)

    @property
    def n_slots(self) -> int:
        return self.tariffs.n_slots

    @property
    def slot_h(self) -> float:
        """Slot length Delta h [h]."""
        return self.slot_minutes / 60.0

    @property
    def horizon_h(self) -> float:
        return self.n_slots * self.slot_h

    @property
    def net_load_kw(self) -> np.ndarray:
        """Net load L^b(h) = load - PV, negative = PV surplus [kW], shape (B, H)."""
        return self.load_kw - self.pv_kw

    def without_evs(self) -> CommunityInputs:
        """The same buildings and tariffs with no EVs (the paper's baseline)."""
        return CommunityInputs(
            self.building_names, self.load_kw, self.pv_kw, self.slot_minutes, self.tariffs,
            EvSessions.empty(),
        )


def check_sessions(
    evs: EvSessions, n_buildings: int, horizon_h: float, source: str,
    first_line: int | None = None,
) -> None:
    """Reject sessions that break the paper's Eq. (8) or cannot fit their parking period.

    Parameters
    ----------
    first_line : int, optional
        Line of the first session in ``source`` (a CSV file: 2); errors then name
        the line instead of the session number.

    Raises
    ------
    CommunityInputError
        Naming ``source``, the session or line, the field, its value and the allowed range.
    """
    checks = (
        ("building", evs.building, 0, n_buildings - 1, "a building of the community"),
        ("arrival_h", evs.arrival_h, 0.0, horizon_h, f"[0, {horizon_h:g}] h"),
        ("departure_h", evs.departure_h, 0.0, horizon_h, f"[0, {horizon_h:g}] h"),
        ("charge_kw", evs.charge_kw, 1e-9, 1e4, "(0, 10000] kW"),
        ("discharge_kw", evs.discharge_kw, 1e-9, 1e4, "(0, 10000] kW"),
        ("efficiency", evs.efficiency, 1e-9, 1.0, "(0, 1]"),
        ("charge_h", evs.charge_h, 1e-9, np.inf, "> 0 h (paper Eq. 8)"),
        ("discharge_h", evs.discharge_h, 0.0, np.inf, ">= 0 h (paper Eq. 8)"),
    )
    for field, values, low, high, allowed in checks:
        bad = ~((values >= low) & (values <= high))
        _raise_first(bad, source, first_line, evs, field, values, allowed)
    _raise_first(
        evs.departure_h <= evs.arrival_h, source, first_line, evs, "departure_h",
        evs.departure_h, "later than arrival_h (parking period > 0, paper Eq. 8)",
    )
    _raise_first(
        evs.charge_h > evs.parking_h + 1e-9, source, first_line, evs, "charge_h", evs.charge_h,
        "at most the parking period departure_h - arrival_h",
    )


def _raise_first(
    bad: np.ndarray, source: str, first_line: int | None, evs: EvSessions, field: str,
    values: np.ndarray, allowed: str,
) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        name = evs.ev_id[row] if row < len(evs.ev_id) else str(row + 1)
        where = f"session {row + 1}" if first_line is None else f"line {row + first_line}"
        raise CommunityInputError(
            f"{source}: {where} (ev {name}), field {field}: value {values[row]:g} is not "
            f"allowed; expected {allowed}"
        )


def parked_fraction(
    arrival_h: np.ndarray, departure_h: np.ndarray, slot_h: float, n_slots: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The slots each session is parked in and the parked share of each.

    Parameters
    ----------
    arrival_h, departure_h : np.ndarray
        Parking period of each session [h], shape (N,).
    slot_h : float
        Slot length [h].
    n_slots : int
        Horizon length [slots].

    Returns
    -------
    session, slot, fraction : np.ndarray
        One entry per (session, slot) with fraction > 0, ordered by session then
        slot; ``fraction`` is the share of the slot the EV is parked [-].
    """
    first = np.floor(arrival_h / slot_h + 1e-9).astype(int)
    last = np.ceil(departure_h / slot_h - 1e-9).astype(int)
    last = np.minimum(np.maximum(last, first + 1), n_slots)
    counts = last - first
    session = np.repeat(np.arange(first.shape[0]), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    slot = np.repeat(first, counts) + np.arange(session.shape[0]) - starts
    begin = np.maximum(slot * slot_h, arrival_h[session])
    end = np.minimum((slot + 1) * slot_h, departure_h[session])
    fraction = np.clip((end - begin) / slot_h, 0.0, 1.0)
    keep = fraction > 1e-9
    return session[keep], slot[keep], fraction[keep]
