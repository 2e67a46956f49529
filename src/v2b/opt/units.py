"""Battery trajectories the LP plans: one *unit* per EV per scenario.

A connected EV appears once per scenario (its later slots may differ between
scenarios) with a ``group`` id that makes its current-slot set-point one shared
column (non-anticipativity, CONSENT Eq. 4). A sampled future session is a unit
of its scenario only. Slots are relative to the current slot.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields

import numpy as np

from v2b.opt.grid import TimeGrid
from v2b.site import curve_fraction
from v2b.timegrid import SLOT_H


@dataclass(frozen=True)
class Units:
    """Per-unit arrays (all of one length).

    Attributes
    ----------
    scenario : ndarray of int
        Scenario the unit belongs to.
    group : ndarray of int
        Units with the same ``group >= 0`` share their first-block set-point
        (connected EVs); -1 for future sessions.
    charger : ndarray of int
        Charger index at the site.
    start_slot, end_slot : ndarray of int
        Connected during ``[start_slot, end_slot)`` [slots from now].
    energy_kwh : ndarray
        Battery energy at ``start_slot`` [kWh].
    battery_kwh, target_kwh, floor_kwh : ndarray
        Capacity, departure target and V2B floor [kWh].
    departure_floor_kwh : ndarray
        Least energy the EV must leave with, a hard limit (its arrival energy
        where the site pays V2B energy back, else 0) [kWh].
    max_kw, min_kw : ndarray
        Charger limits [kW]; ``min_kw < 0`` for a bidirectional charger.
    charge_efficiency, discharge_efficiency : ndarray
        Efficiencies (energy change ``p * eta_c * h`` / ``p / eta_d * h``).
    ident : ndarray of int64
        A stable id of the EV (CRC32 of its session id), used to carry a basis
        from one decision to the next.
    """

    scenario: np.ndarray
    group: np.ndarray
    charger: np.ndarray
    start_slot: np.ndarray
    end_slot: np.ndarray
    energy_kwh: np.ndarray
    battery_kwh: np.ndarray
    target_kwh: np.ndarray
    floor_kwh: np.ndarray
    departure_floor_kwh: np.ndarray
    max_kw: np.ndarray
    min_kw: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    ident: np.ndarray

    @property
    def n(self) -> int:
        return int(self.scenario.size)

    @property
    def bidirectional(self) -> np.ndarray:
        return self.min_kw < 0

    def select(self, mask: np.ndarray) -> Units:
        """The units where ``mask`` holds (boolean mask or index array)."""
        return Units(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Units]) -> Units:
        """All units of ``parts`` in order."""
        return Units(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Units)}
        )

    @staticmethod
    def empty() -> Units:
        ints = {"scenario", "group", "charger", "start_slot", "end_slot", "ident"}
        return Units(
            **{f.name: np.zeros(0, dtype=int if f.name in ints else float) for f in fields(Units)}
        )


def session_idents(session_ids: list[str]) -> np.ndarray:
    """Stable integer ids of sessions (CRC32 of the id), shape (n,)."""
    return np.array([zlib.crc32(s.encode()) for s in session_ids], dtype=np.int64)


def recovery_kwh_per_slot(units: Units, slopes: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """Energy one slot at full power surely adds below the departure floor [kWh]
    (the engine's rule, :func:`v2b.sim.physics.recovery_kwh_per_slot`)."""
    cap = np.maximum(units.battery_kwh, 1e-9)
    floor_soc = np.clip(units.departure_floor_kwh / cap, 0.0, 1.0)
    lowest = np.minimum(curve_fraction(np.zeros_like(floor_soc), slopes, intercepts),
                        curve_fraction(floor_soc, slopes, intercepts))
    return units.max_kw * lowest * units.charge_efficiency * SLOT_H


def reachable_energy_kwh(
    units: Units, grid: TimeGrid, slopes: np.ndarray, intercepts: np.ndarray
) -> np.ndarray:
    """Highest energy each unit can hold at each block start, charging flat out [kWh].

    Uses the charge-curve limit at the block's start energy for the whole block,
    which over-estimates what is reachable: safe for deciding which curve rows
    can never bind. Shape ``(n_units, n_blocks + 1)``.
    """
    present = grid.presence(units.start_slot, units.end_slot)
    out = np.empty((units.n, grid.n_blocks + 1))
    energy = units.energy_kwh.copy()
    out[:, 0] = energy
    cap = np.maximum(units.battery_kwh, 1e-9)
    for b in range(grid.n_blocks):
        frac = curve_fraction(energy / cap, slopes, intercepts)
        step = units.charge_efficiency * grid.dt_h[b] * units.max_kw * present[:, b] * frac
        energy = np.minimum(energy + step, np.maximum(units.battery_kwh, energy))
        out[:, b + 1] = energy
    return out


def full_power_kw(
    units: Units, horizon_slots: int, slopes: np.ndarray, intercepts: np.ndarray
) -> np.ndarray:
    """Power drawn by each unit charging at its largest feasible rate every slot [kW].

    This is what an uncontrolled charger does (the engine's rule: the curve limit,
    never past a full battery). Shape ``(n_units, horizon_slots)``.
    """
    out = np.zeros((units.n, horizon_slots))
    energy = units.energy_kwh.copy()
    cap = np.maximum(units.battery_kwh, 1e-9)
    for t in range(horizon_slots):
        present = (units.start_slot <= t) & (t < units.end_slot)
        curve_kw = units.max_kw * curve_fraction(energy / cap, slopes, intercepts)
        room_kw = np.maximum(units.battery_kwh - energy, 0.0) / (units.charge_efficiency * SLOT_H)
        p = np.where(present, np.minimum(curve_kw, room_kw), 0.0)
        out[:, t] = p
        energy = energy + p * units.charge_efficiency * SLOT_H
    return out
