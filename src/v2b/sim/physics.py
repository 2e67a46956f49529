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
    ev_max_kw: np.ndarray | None = None,
    ev_discharge_max_kw: np.ndarray | None = None,
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
    ev_max_kw, ev_discharge_max_kw : ndarray, optional
        The connected cars' own limits (inf: none). The charge curve scales the lower of
        the charger's and the car's rating.

    Returns
    -------
    lo, hi : ndarray
        ``lo <= 0 <= hi``; both 0 at free chargers.
    """
    safe_cap = np.where(occupied, battery_kwh, 1.0)
    soc = np.clip(energy_kwh / safe_cap, 0.0, 1.0)
    curve_kw = rating_kw(chargers, ev_max_kw) * battery.charge_fraction(soc)
    room_kw = np.maximum(safe_cap - energy_kwh, 0.0) / (chargers.charge_efficiency * SLOT_H)
    hi = np.minimum(curve_kw, room_kw)
    spare_kw = np.maximum(energy_kwh - floor_kwh, 0.0) * chargers.discharge_efficiency / SLOT_H
    give_kw = -chargers.min_kw if ev_discharge_max_kw is None else np.minimum(-chargers.min_kw,
                                                                               ev_discharge_max_kw)
    lo = np.where(chargers.bidirectional, -np.minimum(give_kw, spare_kw), 0.0)
    return np.where(occupied, lo, 0.0), np.where(occupied, hi, 0.0)


def rating_kw(chargers: ChargerArrays, ev_max_kw: np.ndarray | None = None) -> np.ndarray:
    """Each charger's rating with the connected car's own limit, where given [kW]."""
    return chargers.max_kw if ev_max_kw is None else np.minimum(chargers.max_kw, ev_max_kw)


def recovery_kwh_per_slot(
    departure_floor_kwh: np.ndarray, battery_kwh: np.ndarray, chargers: ChargerArrays, battery: Battery,
    ev_max_kw: np.ndarray | None = None,
) -> np.ndarray:
    """Energy one slot of full-power charging surely adds below ``departure_floor_kwh`` [kWh].

    The charge curve is concave, so on ``[0, floor SoC]`` its lowest fraction is
    at one of the two ends; a battery below its floor charges at least that fast.
    """
    safe_cap = np.where(battery_kwh > 0, battery_kwh, 1.0)
    floor_soc = np.clip(departure_floor_kwh / safe_cap, 0.0, 1.0)
    lowest = np.minimum(battery.charge_fraction(np.zeros_like(floor_soc)), battery.charge_fraction(floor_soc))
    return rating_kw(chargers, ev_max_kw) * lowest * chargers.charge_efficiency * SLOT_H


def payback_min_kw(
    energy_kwh: np.ndarray,
    departure_floor_kwh: np.ndarray,
    slots_left: np.ndarray,
    battery_kwh: np.ndarray,
    chargers: ChargerArrays,
    battery: Battery,
    ev_max_kw: np.ndarray | None = None,
) -> np.ndarray:
    """The lowest set-point that still lets each EV leave with ``departure_floor_kwh`` [kW].

    After this slot, ``slots_left - 1`` slots of full-power charging add at least
    :func:`recovery_kwh_per_slot` each; the energy after this slot must not fall
    below the floor minus that. Negative values allow that much discharge,
    positive ones force charging (``docs/model.md``, "Driver protections").
    """
    after = np.maximum(slots_left - 1, 0)
    need = departure_floor_kwh - after * recovery_kwh_per_slot(departure_floor_kwh, battery_kwh, chargers,
                                                                battery, ev_max_kw)
    gap = need - energy_kwh
    return np.where(
        gap > 0,
        gap / (chargers.charge_efficiency * SLOT_H),
        gap * chargers.discharge_efficiency / SLOT_H,
    )


def limit_export(power_kw: np.ndarray, building_kw: float) -> np.ndarray:
    """Scale discharging down so the site never exports: ``building + sum(p) >= 0``."""
    total = building_kw + power_kw.sum()
    if total >= 0.0:
        return power_kw
    discharge = np.minimum(power_kw, 0.0)
    out_kw = -discharge.sum()
    keep = max(0.0, 1.0 - (-total) / out_kw) if out_kw > 0 else 1.0
    return np.where(power_kw < 0, power_kw * keep, power_kw)


def limit_import(power_kw: np.ndarray, building_kw: float, limit_kw: float | None,
                 forced: np.ndarray, min_charge_kw: np.ndarray) -> np.ndarray:
    """Scale charging down so the site draws at most ``limit_kw`` (its connection):
    ``building + sum(p) <= limit``, other chargers' charging first, then the charging a
    payback forces (``forced``); a charger left below its ``min_charge_kw`` stops.

    Discharge is never added and the building's own load is never cut: where the building
    alone draws more than the limit, every charger stops charging and no more is possible.
    """
    if limit_kw is None:
        return power_kw
    excess = building_kw + float(power_kw.sum()) - limit_kw
    if excess <= 1e-12:
        return power_kw
    out = power_kw.copy()
    for group in (~forced, forced):
        charging = group & (out > 0)
        drawn = float(out[charging].sum())
        if drawn <= 0.0:
            continue
        keep = max(0.0, 1.0 - excess / drawn)
        out[charging] *= keep
        excess -= drawn * (1.0 - keep)
        if excess <= 1e-12:
            break
    return np.where((out > 0) & (out < min_charge_kw - 1e-9), 0.0, out)


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
    departure_floor_kwh: np.ndarray | None = None,
    slots_left: np.ndarray | None = None,
    site_limit_kw: float | None = None,
    ev_max_kw: np.ndarray | None = None,
    ev_discharge_max_kw: np.ndarray | None = None,
) -> np.ndarray:
    """The set-points the hardware actually delivers for a policy's request [kW].

    Non-finite requests count as 0; uncontrolled chargers draw their full
    feasible power while connected; everything is clipped to
    :func:`power_bounds_kw`, raised where needed to :func:`payback_min_kw` (when
    ``departure_floor_kwh`` and ``slots_left``, the slots until each EV leaves,
    are given); charging below a charger's ``min_charge_kw`` delivers nothing,
    unless the payback forces it (then the minimum is delivered); then
    :func:`limit_import` (the site's connection, ``site_limit_kw``: it only lowers
    charging) and :func:`limit_export` (it only lowers discharge) apply. ``ev_max_kw`` and
    ``ev_discharge_max_kw``: the connected cars' own limits (:func:`power_bounds_kw`).
    """
    lo, hi = power_bounds_kw(energy_kwh, battery_kwh, floor_kwh, occupied, chargers, battery,
                             ev_max_kw, ev_discharge_max_kw)
    forced = np.zeros(lo.shape, dtype=bool)
    if departure_floor_kwh is not None and slots_left is not None:
        need = payback_min_kw(energy_kwh, departure_floor_kwh, slots_left, battery_kwh, chargers, battery,
                              ev_max_kw)
        need = np.where(occupied & (departure_floor_kwh > 0), need, -np.inf)
        lo = np.maximum(lo, np.minimum(need, hi))
        forced = lo > 0
    asked = np.where(np.isfinite(requested_kw), requested_kw, 0.0)
    asked = np.where(chargers.controllable, asked, hi)
    power = np.clip(asked, lo, hi)
    below_min = (power > 0) & (power < chargers.min_charge_kw - 1e-9)
    lift = forced & (hi >= chargers.min_charge_kw)
    power = np.where(below_min, np.where(lift, chargers.min_charge_kw, 0.0), power)
    power = limit_import(power, building_kw, site_limit_kw, forced, chargers.min_charge_kw)
    return limit_export(power, building_kw)
