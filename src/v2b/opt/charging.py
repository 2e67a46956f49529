"""Solve a charging problem and read the plan back.

The set-points applied are the shared current-slot columns of the connected
EVs (CONSENT Eq. 4's non-anticipative first stage); everything else is the
per-scenario recourse the plan assumed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from v2b.opt.highs import HighsSolver, LpResult
from v2b.opt.layout import Layout
from v2b.opt.lp import LinearProgram, assemble
from v2b.opt.problem import ChargingProblem
from v2b.opt.warm import WarmState, basis_from_values, guess_solution


@dataclass(frozen=True)
class Plan:
    """A solved plan.

    Attributes
    ----------
    setpoints_kw : ndarray or None
        Current-slot power per charger [kW], charging > 0 (``None`` if not optimal).
    objective_usd : float
        Optimal expected cost of the rest of the horizon, J [$]: energy of load
        and EVs, the scenarios' peaks x demand charge, unmet and degradation.
    result : LpResult
        Solver status, time and iterations.
    build_seconds : float
        Time to assemble the LP [s].
    """

    setpoints_kw: np.ndarray | None
    objective_usd: float
    result: LpResult
    build_seconds: float
    lp: LinearProgram
    layout: Layout

    @property
    def optimal(self) -> bool:
        return self.result.optimal


def first_slot_setpoints(problem: ChargingProblem, lay: Layout, x: np.ndarray) -> np.ndarray:
    """Net current-slot power of each charger from the shared columns [kW]."""
    out = np.zeros(problem.n_chargers)
    if lay.shared_group.size == 0:
        return out
    power = x[lay.shared_charge.cols].copy()
    power[lay.shared_discharge.owners] -= x[lay.shared_discharge.cols]
    out[lay.shared_group] = power
    return out


def unit_power_kw(problem: ChargingProblem, lay: Layout, x: np.ndarray) -> np.ndarray:
    """Planned net power of every unit in every block [kW], shape (n_units, n_blocks)."""
    out = np.zeros((problem.units.n, problem.grid.n_blocks))
    power = x[lay.charge.cols].copy()
    power[lay.discharge.owners] -= x[lay.discharge.cols]
    out[lay.pair_unit, lay.pair_block] = power
    return out


def unit_energy_kwh(problem: ChargingProblem, lay: Layout, x: np.ndarray) -> np.ndarray:
    """Planned energy at the end of every block, carried through absent blocks [kWh].

    Shape (n_units, n_blocks + 1); column 0 is the energy at the unit's arrival.
    Computed from the power plan, so it works for stateless units too.
    """
    units = problem.units
    dt = problem.grid.dt_h
    p = unit_power_kw(problem, lay, x)
    step = np.where(
        p >= 0,
        p * units.charge_efficiency[:, None],
        p / units.discharge_efficiency[:, None],
    ) * dt[None, :]
    return units.energy_kwh[:, None] + np.concatenate(
        [np.zeros((units.n, 1)), np.cumsum(step, axis=1)], axis=1
    )


def solve_plan(
    problem: ChargingProblem,
    solver: HighsSolver,
    time_limit_s: float | None = None,
    warm: WarmState | None = None,
) -> Plan:
    """Assemble and solve ``problem`` on ``solver``.

    ``warm``: the previous decision's solution by name (:mod:`v2b.opt.warm`),
    turned into a starting basis; ``None`` solves cold.
    """
    start = time.perf_counter()
    lp, lay = assemble(problem)
    solver.load(lp)
    if warm is not None:
        x, _ = guess_solution(problem, lay, lp, warm)
        solver.set_basis(basis_from_values(lp, x))
    build = time.perf_counter() - start
    result = solver.run(time_limit_s)
    setpoints = first_slot_setpoints(problem, lay, result.x) if result.optimal else None
    return Plan(setpoints, result.objective, result, build, lp, lay)
