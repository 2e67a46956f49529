"""Independent checks of a solved community: re-derive every physical rule from the result.

The checks read only the inputs and the reported flows and EV powers, never the
LP's rows, so a wrong row in the model shows up here as a violation.
"""

from __future__ import annotations

import numpy as np

from v2b.community.inputs import CommunityInputs
from v2b.community.results import ManagementResult


def violations(
    inputs: CommunityInputs, result: ManagementResult, tol: float = 1e-6
) -> list[str]:
    """Every broken rule of a solution, as readable sentences (empty when all hold).

    Checked: energy balance per building and slot; community flows cancel per slot
    (Eq. 12) and are zero under individual management; no simultaneous import and
    export with the grid or the community (Eq. 10); community flow in the direction
    of, and not larger than, the building's net load with EVs (Eq. 11); EV powers
    within the charger and parked time (Eq. 9); battery never below its arrival
    energy (Eq. 7) and at the requested energy at departure (Eq. 6); discharging
    within the allowance (Eq. 7); no EV energy exported.
    """
    found: list[str] = []
    f = result.flows_kw
    dt = inputs.slot_h
    lay = result.model.layout
    ev_net = result.ev_power_by_building(inputs)
    demand = inputs.net_load_kw + ev_net
    supplied = f["grid_import"] - f["grid_export"] + f["comm_import"] - f["comm_export"]
    _flag(found, np.abs(supplied - demand) > tol * (1 + np.abs(demand)), "energy balance")
    comm = result.community_net_kw()
    _flag(found, np.abs(comm.sum(axis=0)) > tol * (1 + np.abs(comm).sum(axis=0)), "Eq. 12")
    if not result.community:
        _flag(found, np.abs(comm) > tol, "community flow under individual management")
    for a, b in (("grid_import", "grid_export"), ("comm_import", "comm_export")):
        _flag(found, np.minimum(f[a], f[b]) > tol, f"Eq. 10 ({a} with {b})")
    grid = result.grid_net_kw()
    _flag(found, (comm * grid < -tol) | (np.abs(comm) > np.abs(demand) + tol), "Eq. 11")

    evs = inputs.evs
    s = lay.ev_session
    used = (
        result.ev_charge_kw / evs.charge_kw[s] + result.ev_discharge_kw / evs.discharge_kw[s]
    )
    _flag(found, used > lay.ev_fraction + tol, "Eq. 9 (charger time)")
    eta = evs.efficiency[s]
    step = (result.ev_charge_kw * eta - result.ev_discharge_kw / eta) * dt
    energy = _cumsum_by_group(step, s)
    _flag(found, energy < -tol, "Eq. 7 (below arrival energy)")
    last = np.flatnonzero(np.r_[s[1:] != s[:-1], True]) if s.size else s
    _flag(found, np.abs(energy[last] - evs.requested_battery_kwh[s[last]]) > 1e-5,
          "Eq. 6 (requested energy at departure)")
    discharged_h = np.bincount(s, result.ev_discharge_kw * dt, minlength=len(evs))
    _flag(found, discharged_h > evs.discharge_kw * evs.discharge_h + tol, "Eq. 7 (allowance)")
    cell = lay.cell_of_ev_slot(evs.building)
    discharging = np.bincount(cell, result.ev_discharge_kw, minlength=lay.n_cells)
    exporting = (f["grid_export"] + f["comm_export"]).ravel()
    _flag(found, (discharging > tol) & (exporting > tol), "EV energy exported")
    return found


def _flag(found: list[str], bad: np.ndarray, rule: str) -> None:
    if np.any(bad):
        found.append(f"{rule}: violated at {int(np.count_nonzero(bad))} place(s)")


def _cumsum_by_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at every new ``group`` (groups are contiguous)."""
    total = np.cumsum(values)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if group.size else group
    offset = np.repeat(total[starts] - values[starts], np.diff(np.r_[starts, group.size]))
    return total - offset
