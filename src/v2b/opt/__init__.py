"""LP/MILP assembly for charging over HiGHS (CONSENT Eq. 4).

The public API::

    from v2b.opt import problem_from_observation, solve_plan, HighsSolver
    problem = problem_from_observation(site, obs, futures, fine_slots=8, recourse_bundles=5)
    plan = solve_plan(problem, HighsSolver({"presolve": "off"}))
    plan.setpoints_kw          # current-slot power per charger [kW]
    plan.objective_usd         # J: expected cost of the rest of the day [$]

    pricer = ArrivalPricer(site, obs, request, futures, latest_departure_slot)
    pricer.without().cost_usd, pricer.with_ev(departure_slot, soc_target, ...).cost_usd

    problem, sessions = month_problem(site, episode)   # the oracle's month LP

Modules: ``grid`` (planning blocks), ``units`` / ``fleet`` (EV trajectories from
observations and futures), ``problem`` (the data), ``layout`` (columns),
``blocks`` (one function per constraint family and cost term), ``lp`` (stacking),
``highs`` (a checked, live HiGHS), ``charging`` (solve and read back),
``integer`` (MILP mode), ``warm`` (bases carried between decisions),
``marginal`` (pricing an arrival), ``month`` (the oracle).
"""

from v2b.opt.charging import Plan, solve_plan
from v2b.opt.grid import TimeGrid, planning_grid
from v2b.opt.highs import HighsSolver, LpResult, SolverSetupError
from v2b.opt.integer import with_integers
from v2b.opt.marginal import ArrivalCost, ArrivalPricer
from v2b.opt.month import month_problem
from v2b.opt.problem import ChargingProblem, problem_from_observation

__all__ = [
    "ArrivalCost",
    "ArrivalPricer",
    "ChargingProblem",
    "HighsSolver",
    "LpResult",
    "Plan",
    "SolverSetupError",
    "TimeGrid",
    "month_problem",
    "planning_grid",
    "problem_from_observation",
    "solve_plan",
    "with_integers",
]
