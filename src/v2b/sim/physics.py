"""Battery and charger physics the engine enforces, whatever a policy asks.

Pure, vectorised over chargers. The same rules are the optimiser's constraints
(``docs/model.md``, "Physics"), so a plan the LP finds feasible is played back
unchanged.
"""

from __future__ import annotations

import numpy as np

from v2b.site import Battery, ChargerArrays
from v2b.timegrid import SLOT_H


def power_bounds_kw(
    energy_kwh: np.ndarray,
    battery_kwh: np.ndarray,
    floor_kwh: np.ndarray,
    occupied: np.ndarray,
    chargers: ChargerArrays,
    battery: Battery,
) -> tuple[np.ndarray, np.ndarray]:
    """Feasible set-point range ``[lo, hi]`` per charger for one slot [kW].

    Parameters
    ----------
    energy_kwh : ndarray
        Battery energy at the start of the slot [kWh] (ignored where not occupied).
    battery_kwh : ndarray
        Battery capacity [kWh]; must be positive where occupied.
    floor_kwh : ndarray
        Lowest energy V2B may leave in the battery [kWh].
    occupied : ndarray of bool
        Whether an EV is plugged in.
    chargers : ChargerArrays
        Charger limits and efficiencies.
    battery : Battery
        Charge curve (power fraction as a concave function of SoC).

    Returns
    -------
    lo, hi : ndarray
        ``lo <= 0 <= hi``; both 0 at free chargers.
    """
    safe_cap = np.where(occupied, battery_kwh, 1.0)
    soc = np.clip(energy_kwh / safe_cap, 0.0, 1.0)
    curve_kw = chargers.max_kw * battery.charge_fraction(soc)
    room_kw = np.maximum(safe_cap - energy_kwh, 0.0) / (chargers.charge_efficiency * SLOT_H)
    hi = np.minimum(curve_kw, room_kw)
    spare_kw = np.maximum(energy_kwh - floor_kwh, 0.0) * chargers.discharge_efficiency / SLOT_H
    lo = np.where(chargers.bidirectional, -np.minimum(-chargers.min_kw, spare_kw), 0.0)
    return np.where(occupied, lo, 0.0), np.where(occupied, hi, 0.0)


def limit_export(power_kw: np.ndarray, building_kw: float) -> np.ndarray:
    """Scale discharging down so the site never exports: ``building + sum(p) >= 0``."""
    total = building_kw + power_kw.sum()
    if total >= 0.0:
        return power_kw
    discharge = np.minimum(power_kw, 0.0)
    out_kw = -discharge.sum()
    keep = max(0.0, 1.0 - (-total) / out_kw) if out_kw > 0 else 1.0
    return np.where(power_kw < 0, power_kw * keep, power_kw)


def energy_step_kwh(power_kw: np.ndarray, chargers: ChargerArrays) -> np.ndarray:
    """Change in battery energy over one slot for set-points at the charger [kWh].

    Charging stores ``p * eta_c`` of what the charger draws; discharging takes
    ``|p| / eta_d`` out of the battery for ``|p|`` delivered.
    """
    return np.where(
        power_kw >= 0,
        power_kw * chargers.charge_efficiency,
        power_kw / chargers.discharge_efficiency,
    ) * SLOT_H


def enforce(
    requested_kw: np.ndarray,
    energy_kwh: np.ndarray,
    battery_kwh: np.ndarray,
    floor_kwh: np.ndarray,
    occupied: np.ndarray,
    building_kw: float,
    chargers: ChargerArrays,
    battery: Battery,
) -> np.ndarray:
    """The set-points the hardware actually delivers for a policy's request [kW].

    Non-finite requests count as 0; uncontrolled chargers draw their full
    feasible power while connected; everything is clipped to
    :func:`power_bounds_kw`; charging below a charger's ``min_charge_kw``
    delivers nothing; then :func:`limit_export` applies.
    """
    lo, hi = power_bounds_kw(energy_kwh, battery_kwh, floor_kwh, occupied, chargers, battery)
    asked = np.where(np.isfinite(requested_kw), requested_kw, 0.0)
    asked = np.where(chargers.controllable, asked, hi)
    power = np.clip(asked, lo, hi)
    power = np.where((power > 0) & (power < chargers.min_charge_kw - 1e-9), 0.0, power)
    return limit_export(power, building_kw)
