"""The two money terms of the objective: building electricity cost (Eq. 2), EV revenue (Eq. 3).

Both are linear in the LP's variables. The same functions give the LP its cost
vector and evaluate a solution afterwards, so the reported table is the objective
the solver minimised, term by term.
"""

from __future__ import annotations

import numpy as np

from v2b.community.inputs import CommunityInputs, Tariffs
from v2b.community.layout import Layout


def reference_community_tariffs(tariffs: Tariffs) -> tuple[np.ndarray, np.ndarray]:
    """Community import and export tariffs the LP is built with [EUR/kWh], each (H,).

    Export C_EC = C_EG (a seller gets what the grid would pay) and import
    C_IC = |C_EC| + C_G (Eq. 14). Only their sum C_G changes the community's total
    cost, because every kWh sold to the community is bought by another building; the
    split between sellers and buyers is set afterwards by the market clearing
    (:func:`v2b.community.results.clearing_tariffs`).
    """
    export = tariffs.export_eur_per_kwh
    return np.abs(export) + tariffs.grid_use_eur_per_kwh, export.copy()


def electricity_cost_coefficients(tariffs: Tariffs, slot_h: float) -> dict[str, np.ndarray]:
    """Cost per kW held for one slot of each flow, by variable block [EUR/kW], each (H,).

    Eq. (2): ``C_E^b(h) = dt (C_IC P_c^- + C_EC P_c^+ + C_IG P_G^+ + C_EG P_G^-)``
    with the paper's operators P[.]_+ / P[.]_- replaced by import/export variables.
    """
    comm_import, comm_export = reference_community_tariffs(tariffs)
    return {
        "grid_import": slot_h * tariffs.import_eur_per_kwh,
        "grid_export": slot_h * tariffs.export_eur_per_kwh,
        "comm_import": slot_h * comm_import,
        "comm_export": slot_h * comm_export,
    }


def ev_revenue_coefficients(
    inputs: CommunityInputs, lay: Layout
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EV revenue per kW of charging / discharging per EV-slot, and its constant per session.

    Eq. (3) with Eqs. (4)-(5): ``C_EV(n) = t_P C_P + (t_P - t_T^+ - t_T^-) C_F
    + sum_h t_U^+(h) C_C(h) + sum_h t_U^-(h) C_D(h)`` and ``t_U = P dt / P_max``.

    Returns
    -------
    charge, discharge : np.ndarray
        Revenue per kW over one slot [EUR/kW], shape (M,).
    constant : np.ndarray
        ``t_P (C_P + C_F)`` per session [EUR], shape (N,).
    """
    t, evs, dt = inputs.tariffs, inputs.evs, inputs.slot_h
    session, slot = lay.ev_session, lay.ev_slot
    charge = dt / evs.charge_kw[session] * (t.charging_eur_per_h[slot] - t.flexibility_eur_per_h)
    discharge = (
        dt / evs.discharge_kw[session]
        * (t.discharging_eur_per_h[slot] - t.flexibility_eur_per_h)
    )
    constant = evs.parking_h * (t.parking_eur_per_h + t.flexibility_eur_per_h)
    return charge, discharge, constant


def ev_revenue_eur(
    inputs: CommunityInputs, lay: Layout, charge_kw: np.ndarray, discharge_kw: np.ndarray
) -> np.ndarray:
    """Revenue C_EV(n) of each session for the building (Eq. 3) [EUR], shape (N,)."""
    per_charge, per_discharge, constant = ev_revenue_coefficients(inputs, lay)
    variable = np.bincount(
        lay.ev_session, per_charge * charge_kw + per_discharge * discharge_kw,
        minlength=len(inputs.evs),
    )
    return constant + variable


def electricity_cost_eur(
    tariffs: Tariffs, slot_h: float, flows: dict[str, np.ndarray],
    comm_import_eur_per_kwh: np.ndarray, comm_export_eur_per_kwh: np.ndarray,
) -> np.ndarray:
    """Electricity cost C_E^b of each building over the horizon (Eq. 2) [EUR], shape (B,).

    Parameters
    ----------
    tariffs : Tariffs
        Grid tariffs per slot.
    slot_h : float
        Slot length [h].
    flows : dict of np.ndarray
        ``grid_import``, ``grid_export``, ``comm_import``, ``comm_export`` [kW], each (B, H).
    comm_import_eur_per_kwh, comm_export_eur_per_kwh : np.ndarray
        Community tariffs per slot [EUR/kWh], shape (H,); only slots with community
        flows contribute.
    """
    prices = {
        "grid_import": tariffs.import_eur_per_kwh,
        "grid_export": tariffs.export_eur_per_kwh,
        "comm_import": comm_import_eur_per_kwh,
        "comm_export": comm_export_eur_per_kwh,
    }
    total = np.zeros(flows["grid_import"].shape[0])
    for block, price in prices.items():
        energy = flows[block] * slot_h
        total += np.where(energy != 0.0, energy * np.nan_to_num(price)[None, :], 0.0).sum(axis=1)
    return total
