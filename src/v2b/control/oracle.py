"""The perfect-foresight bound: the whole month solved once, then played back.

Only this policy may see the episode (``sees_future = True``); it exists to
measure how far a causal controller is from the best possible bill.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from v2b.control.heuristics import deadline_key, sorted_within_threshold
from v2b.interface import Observation, Policy, PolicyContext
from v2b.opt.charging import solve_plan, unit_power_kw
from v2b.opt.highs import HighsSolver
from v2b.opt.integer import with_integers
from v2b.opt.month import month_problem

log = logging.getLogger(__name__)


class Oracle(Policy):
    """Solves the billing month with perfect knowledge of load and sessions."""

    name = "oracle"
    description = (
        "Perfect foresight: the whole month's LP with the real load and sessions, played back "
        "(a lower bound on any causal controller's bill)."
    )
    sees_future = True

    def reset(self, ctx: PolicyContext) -> None:
        super().reset(ctx)
        if ctx.oracle_episode is None:
            raise ValueError("the oracle needs ctx.oracle_episode (the simulator sets it)")
        problem, _ = month_problem(ctx.site, ctx.oracle_episode)
        minimum = ctx.site.charger_arrays.min_charge_kw[problem.units.charger]
        if (minimum > 0).any():
            # Hardware that cannot charge below a minimum: an LP plan would be rounded
            # down by the engine and stop being a bound; solve the MILP to optimality.
            solver = HighsSolver({"mip_rel_gap": 1e-9, "mip_abs_gap": 1e-6})
            plan = with_integers(problem, solver, minimum)
        else:
            plan = solve_plan(problem, HighsSolver())
        self._stats: dict[str, Any] = {
            "oracle_mode": "milp" if (minimum > 0).any() else "lp",
            "oracle_status": plan.result.status,
            "oracle_objective_usd": plan.objective_usd,
            "oracle_solve_seconds": plan.result.seconds + plan.build_seconds,
            "oracle_columns": plan.lp.n_cols,
            "oracle_rows": plan.lp.n_rows,
        }
        n_slots, n_chargers = ctx.oracle_episode.n_slots, len(ctx.site.charger_arrays)
        self._schedule_kw = np.zeros((n_slots, n_chargers))
        if not plan.optimal:
            log.warning("oracle: month LP not solved (%s); EDF fallback", plan.result.status)
            self._schedule_kw = None
            return
        power = unit_power_kw(problem, plan.layout, plan.result.x)
        units = problem.units
        slots = np.arange(n_slots)
        present = (units.start_slot[:, None] <= slots) & (slots < units.end_slot[:, None])
        u, t = np.nonzero(present)
        self._schedule_kw[t, units.charger[u]] = power[u, t]

    def decide(self, obs: Observation) -> np.ndarray:
        if self._schedule_kw is None:
            return sorted_within_threshold(obs, self.ctx.site, deadline_key)
        return np.where(obs.occupied, self._schedule_kw[obs.slot], 0.0)

    def stats(self) -> dict[str, Any]:
        return dict(self._stats)
