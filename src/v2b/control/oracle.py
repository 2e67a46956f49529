"""The perfect-foresight bound: the whole month solved once, then played back.

Only this policy may see the episode (``sees_future = True``); it exists to
measure how far a causal controller is from the best possible bill.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from v2b.control.heuristics import deadline_key, sorted_within_threshold
from v2b.episode import Episode, Session
from v2b.interface import Observation, Policy, PolicyContext
from v2b.opt.charging import Plan, solve_plan, unit_power_kw
from v2b.opt.highs import HighsSolver
from v2b.opt.integer import with_integers
from v2b.opt.month import month_problem
from v2b.opt.problem import ChargingProblem
from v2b.opt.units import Units
from v2b.sim.assignment import arrival_order
from v2b.site import Site
from v2b.timegrid import SLOT_H

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
        episode = ctx.oracle_episode
        rounds = 0
        while True:
            rounds += 1
            problem, sessions = month_problem(ctx.site, episode)
            plan = self._solve(ctx, problem)
            if not plan.optimal or rounds == MAX_CHAIN_ROUNDS:
                break
            power = unit_power_kw(problem, plan.layout, plan.result.x)
            chained = chained_episode(ctx.site, episode, sessions, problem.units, power)
            if chained is episode:
                break
            episode = chained
        self._stats["oracle_chain_rounds"] = rounds
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

    def _solve(self, ctx: PolicyContext, problem: ChargingProblem) -> Plan:
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
        return plan

    def decide(self, obs: Observation) -> np.ndarray:
        if self._schedule_kw is None:
            return sorted_within_threshold(obs, self.ctx.site, deadline_key)
        return np.where(obs.occupied, self._schedule_kw[obs.slot], 0.0)

    def stats(self) -> dict[str, Any]:
        return dict(self._stats)


#: plans re-solved at most this often until returning cars' arrival SoCs agree with the plan
MAX_CHAIN_ROUNDS = 200


def chained_episode(site: Site, episode: Episode, planned: list[Session], units: Units,
                    power_kw: np.ndarray) -> Episode:
    """``episode`` with each returning car's arrival SoC as the plan ``power_kw`` (per unit of
    ``planned``, per slot) leaves it (``docs/model.md``, "Returning cars"); ``episode`` itself
    when nothing changes (every car's SoC agrees with the plan, or no car returns)."""
    if not any(s.vehicle_id is not None for s in episode.sessions):
        return episode
    gained = np.where(power_kw > 0, power_kw * units.charge_efficiency[:, None],
                      power_kw / units.discharge_efficiency[:, None]).sum(axis=1) * SLOT_H
    leaves = {s.session_id: float(np.clip(units.energy_kwh[k] + gained[k], 0.0, units.battery_kwh[k])
                                  / units.battery_kwh[k]) for k, s in enumerate(planned)}
    last: dict[str, float] = {}
    changed, sessions = False, []
    for s in arrival_order(episode.sessions):
        if s.vehicle_id is not None and s.vehicle_id in last:
            soc = s.returning_soc(last[s.vehicle_id], site.battery.discharge_floor_soc)
            if abs(soc - s.soc_arrival) > CHAIN_TOLERANCE_SOC:
                changed = True
                s = dataclasses.replace(s, soc_arrival=soc)
        if s.vehicle_id is not None:
            last[s.vehicle_id] = leaves.get(s.session_id, s.soc_arrival)
        sessions.append(s)
    return dataclasses.replace(episode, sessions=tuple(sessions)) if changed else episode


#: arrival SoCs this close are the same (the plan is consistent with its returning cars)
CHAIN_TOLERANCE_SOC = 1e-7
