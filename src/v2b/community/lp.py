"""The community LP (paper Eqs. 1-14) assembled from sparse blocks, one function per family.

Every constraint family returns a :class:`~v2b.opt.rows.RowBlock` of COO triplets
with its own row numbering; :func:`build_lp` stacks them into the shared
:class:`~v2b.opt.lp.LinearProgram` (the one the charging controller solves). The
positive/negative-part operators of Eq. (2) become separate import and export
variables tied by a balance equation per building and slot; the used times of
Eqs. (4)-(5) are linear in the EV powers, ``t_U = P dt / P_max``, and are
substituted rather than kept as variables. Decisions where the paper is ambiguous
are written in ``docs/model.md`` (section "Community").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from v2b.community.costs import electricity_cost_coefficients, ev_revenue_coefficients
from v2b.community.inputs import CommunityInputs, Tariffs, parked_fraction
from v2b.community.layout import Layout
from v2b.opt.lp import LinearProgram, stack
from v2b.opt.rows import RowBlock

Exclusivity = Literal["auto", "lp", "milp"]


@dataclass(frozen=True)
class CommunityLp:
    """The assembled model, ready for :func:`v2b.community.solver.solve`.

    Parameters
    ----------
    lp : LinearProgram
        The model; its ``integrality`` marks the direction binaries (None without any).
    layout : Layout
        Where each variable block lives in ``lp``'s columns.
    community : bool
        Community (True) or individual (False) management.
    """

    lp: LinearProgram
    layout: Layout
    community: bool


def simultaneity_unprofitable(tariffs: Tariffs, community: bool) -> np.ndarray:
    """Per slot: do the tariffs alone make simultaneous import and export a loss?

    Importing and exporting the same power in one slot from the grid costs
    ``C_IG + C_EG`` per kWh; doing it through the community (or passing community
    energy through a building to or from the grid) costs the grid-use tariff ``C_G``.
    Where these are > 0 every LP optimum has the exclusivity of Eq. (10) and the
    same-direction flows of Eq. (11) without binaries: lowering both flows by their
    minimum keeps every constraint and strictly lowers the cost.

    Returns
    -------
    np.ndarray
        True where no binary is needed, shape (H,).
    """
    ok = tariffs.import_eur_per_kwh + tariffs.export_eur_per_kwh > 0
    if community:
        ok &= tariffs.grid_use_eur_per_kwh > 0
    return ok


def direction_cells(inputs: CommunityInputs, community: bool, mode: Exclusivity) -> np.ndarray:
    """Building-slot cells that get an import/export direction binary."""
    n_b, n_h = inputs.n_buildings, inputs.n_slots
    if mode == "lp":
        needed = np.zeros(n_h, dtype=bool)
    elif mode == "milp":
        needed = np.ones(n_h, dtype=bool)
    else:
        needed = ~simultaneity_unprofitable(inputs.tariffs, community)
    slots = np.flatnonzero(needed)
    return (np.arange(n_b)[:, None] * n_h + slots[None, :]).ravel()


def building_balance(lay: Layout, net_kw: np.ndarray, ev_cell: np.ndarray) -> RowBlock:
    """Per building and slot: imports - exports = net load + EV charging - discharging (Eq. 2).

    ``grid_import - grid_export + comm_import - comm_export - sum P^+ + sum P^- = L``.
    """
    cells = np.arange(lay.n_cells)
    m = lay.n_ev_slots
    blocks = ("grid_import", "grid_export", "comm_import", "comm_export")
    signs = (1.0, -1.0, 1.0, -1.0)
    row = np.concatenate([cells] * 4 + [ev_cell, ev_cell])
    col = np.concatenate(
        [lay.cols(b) for b in blocks] + [lay.cols("ev_charge"), lay.cols("ev_discharge")]
    )
    value = np.concatenate([np.full(lay.n_cells, s) for s in signs] + [-np.ones(m), np.ones(m)])
    rhs = net_kw.ravel()
    return RowBlock("building_balance", row, col, value, rhs, rhs.copy())


def community_balance(lay: Layout) -> RowBlock:
    """Per slot, flows to and from the community cancel (Eq. 12)."""
    slot = np.tile(np.arange(lay.n_slots), lay.n_buildings)
    row = np.concatenate([slot, slot])
    col = np.concatenate([lay.cols("comm_import"), lay.cols("comm_export")])
    value = np.concatenate([np.ones(lay.n_cells), -np.ones(lay.n_cells)])
    zero = np.zeros(lay.n_slots)
    return RowBlock("community_balance", row, col, value, zero, zero.copy())


def charger_time(lay: Layout, charge_kw: np.ndarray, discharge_kw: np.ndarray) -> RowBlock:
    """Per EV-slot, charging plus discharging time fits in the parked time (Eq. 9).

    ``P^+ / P^+_max + P^- / P^-_max <= parked share``: the charger can split a slot
    between charging and discharging but cannot do both at once, which makes any
    LP solution realisable without a binary per EV and slot.
    """
    k = np.arange(lay.n_ev_slots)
    row = np.concatenate([k, k])
    col = np.concatenate([lay.cols("ev_charge"), lay.cols("ev_discharge")])
    session = lay.ev_session
    value = np.concatenate([1.0 / charge_kw[session], 1.0 / discharge_kw[session]])
    return RowBlock("charger_time", row, col, value, np.full(k.shape[0], -np.inf), lay.ev_fraction)


def battery_energy(lay: Layout, slot_h: float, efficiency: np.ndarray) -> RowBlock:
    """Battery energy above arrival, slot by slot (Eqs. 6-7 stated in energy).

    ``e_k - e_(k-1) - eta dt P^+_k + dt / eta P^-_k = 0`` with ``e_(-1) = 0``;
    ``e >= 0`` (column bound) is Eq. (7)'s "never below the arrival energy" and the
    last ``e`` of a session is fixed to ``eta P^+ t_R^+`` (Eq. 6), see docs/model.md.
    """
    m = lay.n_ev_slots
    k = np.arange(m)
    eta = efficiency[lay.ev_session]
    has_previous = np.zeros(m, dtype=bool)
    has_previous[1:] = lay.ev_session[1:] == lay.ev_session[:-1]
    prev = k[has_previous]
    row = np.concatenate([k, prev, k, k])
    col = np.concatenate([
        lay.cols("ev_energy"), lay.cols("ev_energy", prev - 1),
        lay.cols("ev_charge"), lay.cols("ev_discharge"),
    ])
    value = np.concatenate([
        np.ones(m), -np.ones(prev.shape[0]), -eta * slot_h, slot_h / eta,
    ])
    zero = np.zeros(m)
    return RowBlock("battery_energy", row, col, value, zero, zero.copy())


def discharge_allowance(lay: Layout, slot_h: float, inputs: CommunityInputs) -> RowBlock:
    """Per session, discharged energy within the allowed time, ``t_T^- <= t_R^-`` (Eq. 7)."""
    evs = inputs.evs
    value = np.full(lay.n_ev_slots, slot_h)
    upper = evs.discharge_kw * evs.discharge_h
    return RowBlock(
        "discharge_allowance", lay.ev_session.copy(), lay.cols("ev_discharge"), value,
        np.full(len(evs), -np.inf), upper,
    )


def no_discharge_export(
    lay: Layout, net_kw: np.ndarray, ev_cell: np.ndarray, may_discharge: np.ndarray
) -> RowBlock:
    """EV energy is never exported (paper Section I.C).

    In slots with net load >= 0 the EVs discharge at most what the building and its
    charging EVs consume, ``L + sum P^+ - sum P^- >= 0``; in PV-surplus slots they do
    not discharge at all (a column bound set in :func:`build_lp`). One row per cell
    where some parked EV may discharge.
    """
    keep = np.isin(ev_cell, ev_cell[may_discharge])
    cells, row = np.unique(ev_cell[keep], return_inverse=True)
    k = np.flatnonzero(keep)
    row = np.concatenate([row, row])
    col = np.concatenate([lay.cols("ev_charge", k), lay.cols("ev_discharge", k)])
    value = np.concatenate([np.ones(k.shape[0]), -np.ones(k.shape[0])])
    lower = -net_kw.ravel()[cells]
    return RowBlock("no_discharge_export", row, col, value, lower, np.full(cells.shape[0], np.inf))


def direction(lay: Layout, import_cap_kw: np.ndarray, export_cap_kw: np.ndarray) -> RowBlock:
    """Eqs. (10)-(11) with one binary per cell that needs it (import z = 1, export z = 0).

    ``grid_import + comm_import <= M_in z`` and ``grid_export + comm_export <= M_out (1 - z)``:
    one direction per slot for both the grid and the community, so the community flow
    never exceeds the building's net load (Eq. 11).
    """
    cells = lay.direction_cells
    k = cells.shape[0]
    z = lay.cols("direction")
    local = np.arange(k)
    row = np.concatenate([local, local, local, k + local, k + local, k + local])
    col = np.concatenate([
        lay.cols("grid_import", cells), lay.cols("comm_import", cells), z,
        lay.cols("grid_export", cells), lay.cols("comm_export", cells), z,
    ])
    cap_in, cap_out = import_cap_kw[cells], export_cap_kw[cells]
    value = np.concatenate([np.ones(k), np.ones(k), -cap_in, np.ones(k), np.ones(k), cap_out])
    lower = np.full(2 * k, -np.inf)
    upper = np.concatenate([np.zeros(k), cap_out])
    return RowBlock("direction", row, col, value, lower, upper)


def build_lp(
    inputs: CommunityInputs, community: bool, exclusivity: Exclusivity = "auto"
) -> CommunityLp:
    """Assemble the community model (Eqs. 1-14) over all buildings and slots.

    Parameters
    ----------
    inputs : CommunityInputs
        Buildings, tariffs and EV sessions.
    community : bool
        True: community management (buildings may trade through the community).
        False: individual management, the same model with community flows fixed to 0.
    exclusivity : {"auto", "lp", "milp"}
        Where to add import/export direction binaries (Eqs. 10-11): "auto" only in
        slots where :func:`simultaneity_unprofitable` is False, "lp" nowhere,
        "milp" everywhere.

    Returns
    -------
    CommunityLp
        Minimising ``lp.cost @ x + lp.offset`` is Eq. (1): total electricity cost minus EV revenue.
    """
    evs, dt = inputs.evs, inputs.slot_h
    session, slot, fraction = parked_fraction(
        evs.arrival_h, evs.departure_h, dt, inputs.n_slots
    )
    lay = Layout(
        inputs.n_buildings, inputs.n_slots, session, slot, fraction,
        direction_cells(inputs, community, exclusivity),
    )
    net = inputs.net_load_kw
    ev_cell = lay.cell_of_ev_slot(evs.building)

    cost = np.zeros(lay.n_cols)
    for block, per_slot in electricity_cost_coefficients(inputs.tariffs, dt).items():
        cost[lay.cols(block)] = np.tile(per_slot, inputs.n_buildings)
    per_charge, per_discharge, constant = ev_revenue_coefficients(inputs, lay)
    cost[lay.cols("ev_charge")] = -per_charge
    cost[lay.cols("ev_discharge")] = -per_discharge

    lower = np.zeros(lay.n_cols)
    upper = np.full(lay.n_cols, np.inf)
    if not community:
        upper[lay.cols("comm_import")] = 0.0
        upper[lay.cols("comm_export")] = 0.0
    upper[lay.cols("ev_charge")] = evs.charge_kw[session] * fraction
    may_discharge = (net.ravel()[ev_cell] >= 0.0) & (evs.discharge_h[session] > 0.0)
    upper[lay.cols("ev_discharge")] = np.where(
        may_discharge, evs.discharge_kw[session] * fraction, 0.0
    )
    last = np.flatnonzero(np.r_[session[1:] != session[:-1], True]) if session.size else session
    requested = evs.requested_battery_kwh[session[last]]
    lower[lay.cols("ev_energy", last)] = requested
    upper[lay.cols("ev_energy", last)] = requested
    upper[lay.cols("direction")] = 1.0

    families = [building_balance(lay, net, ev_cell)]
    if community:
        families.append(community_balance(lay))
    families += [
        charger_time(lay, evs.charge_kw, evs.discharge_kw),
        battery_energy(lay, dt, evs.efficiency),
        discharge_allowance(lay, dt, inputs),
        no_discharge_export(lay, net, ev_cell, may_discharge),
    ]
    if lay.direction_cells.size:
        ev_in = np.bincount(ev_cell, upper[lay.cols("ev_charge")], minlength=lay.n_cells)
        ev_out = np.bincount(ev_cell, upper[lay.cols("ev_discharge")], minlength=lay.n_cells)
        cap_in = np.maximum(net.ravel(), 0.0) + ev_in
        cap_out = np.maximum(-net.ravel(), 0.0) + ev_out
        families.append(direction(lay, cap_in, cap_out))
    integrality = None
    if lay.direction_cells.size:
        integrality = np.zeros(lay.n_cols, dtype=np.int32)
        integrality[lay.cols("direction")] = 1
    lp = stack(families, cost, -float(constant.sum()), lower, upper, integrality)
    return CommunityLp(lp=lp, layout=lay, community=community)

