"""Solve one management mode and account its result: costs per building, flows, clearing tariffs.

:func:`manage` runs the model for one mode (individual or community) and returns a
:class:`ManagementResult` with every quantity the paper's Table I and Figs. 3-4 need.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from v2b.community.costs import (
    electricity_cost_eur,
    ev_revenue_eur,
    reference_community_tariffs,
)
from v2b.community.inputs import CommunityInputs
from v2b.community.layout import BUILDING_BLOCKS
from v2b.community.lp import CommunityLp, Exclusivity, build_lp
from v2b.community.solver import Solution, solve

TRADE_TOL_KW = 1e-6


@dataclass(frozen=True)
class ManagementResult:
    """Optimal operation of the community under one management mode.

    Parameters
    ----------
    community : bool
        Community (True) or individual (False) management.
    flows_kw : dict of np.ndarray
        ``grid_import``, ``grid_export``, ``comm_import``, ``comm_export`` [kW], each (B, H).
    ev_charge_kw, ev_discharge_kw, ev_energy_kwh : np.ndarray
        Per parked EV-slot (see ``model.layout``).
    clearing_import_eur_per_kwh, clearing_export_eur_per_kwh : np.ndarray
        Community tariffs C_IC(h), C_EC(h) from the market clearing, NaN in slots
        without trade [EUR/kWh], shape (H,).
    electricity_cost_eur : np.ndarray
        C_E per building (Eq. 2) with the clearing tariffs [EUR], shape (B,).
    ev_revenue_eur : np.ndarray
        C_EV per session (Eq. 3) [EUR], shape (N,).
    objective_eur : float
        Eq. (1) as HiGHS reports it [EUR].
    build_s, solve_s : float
        Wall time to assemble the model and inside HiGHS [s].
    """

    community: bool
    model: CommunityLp
    flows_kw: dict[str, np.ndarray]
    ev_charge_kw: np.ndarray
    ev_discharge_kw: np.ndarray
    ev_energy_kwh: np.ndarray
    clearing_import_eur_per_kwh: np.ndarray
    clearing_export_eur_per_kwh: np.ndarray
    electricity_cost_eur: np.ndarray
    ev_revenue_eur: np.ndarray
    objective_eur: float
    build_s: float
    solve_s: float

    def ev_revenue_by_building(self, inputs: CommunityInputs) -> np.ndarray:
        """Sum of C_EV over each building's sessions [EUR], shape (B,)."""
        return np.bincount(
            inputs.evs.building, self.ev_revenue_eur, minlength=inputs.n_buildings
        )

    def ev_power_by_building(self, inputs: CommunityInputs) -> np.ndarray:
        """Net EV power (charging - discharging) per building and slot [kW], shape (B, H)."""
        lay = self.model.layout
        cell = lay.cell_of_ev_slot(inputs.evs.building)
        net = np.bincount(
            cell, self.ev_charge_kw - self.ev_discharge_kw, minlength=lay.n_cells
        )
        return net.reshape(lay.n_buildings, lay.n_slots)

    def grid_net_kw(self) -> np.ndarray:
        """Net load seen by the grid, import - export [kW], shape (B, H) (paper Fig. 3)."""
        return self.flows_kw["grid_import"] - self.flows_kw["grid_export"]

    def community_net_kw(self) -> np.ndarray:
        """Net import from the community [kW], shape (B, H) (paper Fig. 4)."""
        return self.flows_kw["comm_import"] - self.flows_kw["comm_export"]


def clearing_tariffs(
    inputs: CommunityInputs, model: CommunityLp, solution: Solution,
    flows: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Community import and export tariffs that clear the market in each slot [EUR/kWh].

    The dual ``y(h)`` of the community balance (Eq. 12) is the value of one more
    kWh in the community. Priced at ``C_IC = C_IC^ref - y/dt`` and
    ``C_EC = C_EC^ref + y/dt`` (still ``C_IC = |C_EC| + C_G`` when C_EC <= 0, Eq. 14),
    every building's own optimum given these prices is its part of the community
    optimum: a uniform-price market clearing. When the community has surplus left
    for the grid, sellers are marginal and get the grid export tariff (the paper's
    -35.8 / 85.8 EUR/MWh); when buyers still import from the grid, buyers pay the
    grid import tariff. Slots without trade get NaN.
    """
    reference_import, reference_export = reference_community_tariffs(inputs.tariffs)
    n = inputs.n_slots
    if not model.community:
        return np.full(n, np.nan), np.full(n, np.nan)
    first, last = model.lp.row_ranges["community_balance"]
    value = solution.row_dual[first:last] / inputs.slot_h
    traded = flows["comm_import"].sum(axis=0) > TRADE_TOL_KW
    clearing_import = np.where(traded, reference_import - value, np.nan)
    clearing_export = np.where(traded, reference_export + value, np.nan)
    return clearing_import, clearing_export


def manage(
    inputs: CommunityInputs, community: bool, exclusivity: Exclusivity = "auto",
    time_limit_s: float = 600.0,
) -> ManagementResult:
    """Optimise the buildings and EVs under individual or community management.

    Parameters
    ----------
    inputs : CommunityInputs
        Buildings, tariffs, EVs (``inputs.without_evs()`` gives the paper's baseline).
    community : bool
        Community management (True) or each building alone (False).
    exclusivity : {"auto", "lp", "milp"}
        See :func:`v2b.community.lp.build_lp`.
    time_limit_s : float
        HiGHS time limit [s].
    """
    start = time.perf_counter()
    model = build_lp(inputs, community, exclusivity)
    build_s = time.perf_counter() - start
    solution = solve(model, time_limit_s=time_limit_s)
    lay = model.layout
    flows = {block: np.maximum(lay.unpack(solution.x, block), 0.0) for block in BUILDING_BLOCKS}
    charge = np.maximum(lay.unpack(solution.x, "ev_charge"), 0.0)
    discharge = np.maximum(lay.unpack(solution.x, "ev_discharge"), 0.0)
    clearing_import, clearing_export = clearing_tariffs(inputs, model, solution, flows)
    return ManagementResult(
        community=community,
        model=model,
        flows_kw=flows,
        ev_charge_kw=charge,
        ev_discharge_kw=discharge,
        ev_energy_kwh=lay.unpack(solution.x, "ev_energy"),
        clearing_import_eur_per_kwh=clearing_import,
        clearing_export_eur_per_kwh=clearing_export,
        electricity_cost_eur=electricity_cost_eur(
            inputs.tariffs, inputs.slot_h, flows, clearing_import, clearing_export
        ),
        ev_revenue_eur=ev_revenue_eur(inputs, lay, charge, discharge),
        objective_eur=solution.objective_eur,
        build_s=build_s,
        solve_s=solution.solve_s,
    )
