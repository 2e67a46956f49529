"""Monte-Carlo MPC charging (CONSENT pi_ch) and its one-future variant.

Every slot the controller samples futures of the rest of today from the
sampling pool, solves the sample-average LP (CONSENT Eq. 4, built in
:mod:`v2b.opt`) with the current slot's set-points shared by all scenarios,
and applies those set-points. A solve that fails or runs over its budget falls
back to earliest-deadline-first within the current peak; the run never stops.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np

from v2b.control.heuristics import coming_margin_kw, deadline_key, sorted_within_threshold
from v2b.control.mpc_history import SeenDays
from v2b.control.mpc_options import MpcOptions, break_even_quantile
from v2b.control.mpc_peak import LoadHistory, MonthPeakPrior, SeenDayUnmet, charger_rating
from v2b.interface import ArrivalRequest, Future, Menu, Observation, Policy, PolicyContext
from v2b.opt.charging import Plan, solve_plan
from v2b.opt.highs import HighsSolver
from v2b.opt.integer import with_integers
from v2b.opt.problem import ChargingProblem, problem_from_observation
from v2b.opt.warm import WarmState, save_state
from v2b.site import Site
from v2b.timegrid import SLOTS_PER_DAY

log = logging.getLogger(__name__)

#: Presolve costs more than it saves on these LPs (measured: ``docs/benchmarks.md``).
SOLVER_OPTIONS = {"presolve": "off"}


def persistence_future(obs: Observation) -> Future:
    """The latest known load held to the end of the day, no arrivals (used without a pool)."""
    level = obs.last_load_kw if np.isfinite(obs.last_load_kw) else 0.0
    return Future(np.full(SLOTS_PER_DAY - obs.slot_of_day, level), ())


def guard_coming_slot(futures: list[Future], obs: Observation, sampler: object,
                      quantile: float | None) -> list[Future]:
    """Raise every future's unmeasured current-slot load to at least a high quantile of
    what the pool says it can be (the ``coming_slot = "guard"`` mode; ``docs/model.md``,
    "Observation: what is known of the load"): one slot decided on a low sample can lift the
    month's peak for good, and 30 samples cannot see a 1 % tail. The default prices that
    slot's peak as an expected excess instead (:meth:`SmartCharging.coming_load_kw`)."""
    estimate = getattr(sampler, "coming_slot_quantile_kw", None)
    if obs.current_load_known or quantile is None or estimate is None:
        return futures
    floor = estimate(obs, quantile)
    if not np.isfinite(floor):
        return futures
    out = []
    for f in futures:
        load = f.load_kw.copy()
        load[0] = max(load[0], floor)
        out.append(Future(load, f.arrivals))
    return out


def site_integer_needs(options: MpcOptions, site: Site) -> MpcOptions:
    """Switch to the MILP mode when the site's chargers have a minimum charging power.

    Chargers may differ; the MILP then uses the largest minimum, which is
    conservative: any power it plans clears every charger's minimum.
    """
    site_min = float(site.charger_arrays.min_charge_kw.max(initial=0.0))
    if site_min <= options.min_charge_kw:
        return options
    return replace(options, milp=True, min_charge_kw=site_min)


class SmartCharging(Policy):
    """MC-MPC over sampled futures (paper policy 3; every negotiating policy charges with it)."""

    name = "smart-free"
    description = (
        "Monte-Carlo MPC: every slot an LP over sampled futures of the day (default 30), "
        "current set-points shared by all; free for users (paper policy 3; alias: smart)."
    )
    default_scenarios = 30

    def reset(self, ctx: PolicyContext) -> None:
        super().reset(ctx)
        self.options = site_integer_needs(
            MpcOptions.from_dict(ctx.options, self.default_scenarios), ctx.site
        )
        self._solver = HighsSolver(SOLVER_OPTIONS)
        self._counts = {"solver_fallbacks": 0, "solver_failures": 0, "lp_solves": 0,
                        "history_futures": 0, "degenerate_futures": 0}
        self._seen = SeenDays()
        self._lp_seconds: list[float] = []
        self._history = LoadHistory()
        self._warm: WarmState | None = None
        self.peak_prior: MonthPeakPrior | None = None
        self._seen_unmet: SeenDayUnmet | None = None
        if ctx.futures is None:
            log.info("%s: no sampling pool; futures from the days it watches", self.name)
        elif self.options.month_peak != "none":
            keep = self.options.billing_history
            self.peak_prior = MonthPeakPrior.from_sampler(
                ctx.futures, ctx.site, self.options.month_peak, self.options.season_months,
                ctx.peak_history_kw if keep else (), ctx.hindsight_history_kw if keep else ())
            if self.peak_prior is not None and self.peak_prior.unmet_kwh is not None:
                self._seen_unmet = SeenDayUnmet(*charger_rating(ctx.site))

    def note_arrival(self, obs: Observation, request: ArrivalRequest) -> None:
        """What every policy built on this one records at an arrival (the load seen, the
        EV's request: the futures of a site without a pool are made of them)."""
        self._history.observe(obs)
        self._seen.observe(obs)
        self._seen.record_arrival(obs, request.session)

    def offer(self, obs: Observation, request: ArrivalRequest) -> Menu:
        self.note_arrival(obs, request)
        return super().offer(obs, request)

    def sample_futures(self, obs: Observation, n: int) -> list[Future]:
        """``n`` futures of today: from the sampling pool, else from the days this
        controller has watched (:mod:`v2b.control.mpc_history`), else (before the first
        whole day without a pool) the latest load held, counted as degenerate."""
        if self.ctx.futures is not None:
            among = self.options.future_days
            if among and hasattr(self.ctx.futures, "similar_days"):
                futures = self.ctx.futures.sample(obs, n, self.ctx.rng, among=among)
            else:
                futures = self.ctx.futures.sample(obs, n, self.ctx.rng)
            return guard_coming_slot(futures, obs, self.ctx.futures, self.guard_quantile)
        seen = self._seen.sample(obs, n, self.ctx.rng)
        if seen is not None:
            self._counts["history_futures"] += 1
            return seen
        self._counts["degenerate_futures"] += 1
        return [persistence_future(obs)]

    @property
    def guard_quantile(self) -> float | None:
        """The current-slot guard's quantile (``None`` unless ``coming_slot = "guard"``)."""
        return self.options.current_load_quantile if self.options.coming_slot == "guard" else None

    def coming_load_kw(self, obs: Observation) -> np.ndarray | None:
        """Samples of the unmeasured current slot's load for the LP's expected-excess term
        (``None``: measured, another ``coming_slot`` mode, or no pool to sample from)."""
        if obs.current_load_known or self.options.coming_slot != "excess":
            return None
        samples = getattr(self.ctx.futures, "coming_slot_samples_kw", None)
        return None if samples is None else samples(obs)

    def later_margin_kw(self, obs: Observation) -> np.ndarray | None:
        """Headroom to keep in each later slot of the day, which will not be measured when
        it is decided either (:attr:`v2b.opt.problem.ChargingProblem.later_margin_kw`); ``None``
        with the margin off or a sampler without it."""
        q = self.options.later_margin_quantile
        if q is None:
            site = self.ctx.site
            q = break_even_quantile(site.penalties.soc_penalty_usd_per_kwh,
                                    site.tariff.demand_charge_usd_per_kw * self.options.demand_weight)
        margins = getattr(self.ctx.futures, "later_margins_kw", None)
        return None if q <= 0 or margins is None else margins(obs, q)

    def futures(self, obs: Observation) -> list[Future]:
        """The futures this decision plans over."""
        self._seen.observe(obs)
        return self.sample_futures(obs, self.options.scenarios)

    def problem_options(self, obs: Observation, n_futures: int) -> dict[str, Any]:
        """Keyword arguments of :func:`v2b.opt.problem.problem_from_observation` for this
        decision (grid, demand weight, month-aware peak floors, bundles, future model).

        The negotiation uses the same ones to price an arrival
        (:class:`v2b.opt.marginal.ArrivalPricer`), so both plan alike.
        """
        o = self.options
        self._history.observe(obs)
        floor, cuts = None, None
        if self.peak_prior is not None:
            if self._seen_unmet is not None:
                self._seen_unmet.update(self._seen, obs)
            floor, cuts = self.peak_prior.unmet_cuts(self._history, obs, n_futures, self._seen_unmet)
        coming = self.coming_load_kw(obs)
        return {
            "fine_slots": o.fine_slots,
            "coarse_slots": o.coarse_slots,
            "demand_weight": o.demand_weight,
            "peak_floor_kw": floor,
            "recourse_bundles": o.recourse_bundles or None,
            "future_model": o.future_model,
            "coming_load_kw": coming,
            "later_margin_kw": self.later_margin_kw(obs) if coming is not None else None,
            "rest_unmet_cuts": cuts,
        }

    def problem(self, obs: Observation, futures: list[Future]) -> ChargingProblem:
        """This decision's LP data."""
        return problem_from_observation(
            self.ctx.site, obs, futures, **self.problem_options(obs, len(futures))
        )

    def plan(self, obs: Observation) -> Plan:
        """Solve this slot's LP (no fallback); raises on bad input."""
        start = time.perf_counter()
        problem = self.problem(obs, self.futures(obs))
        budget = self.options.solve_budget_s
        left = None if budget is None else budget - (time.perf_counter() - start)
        if left is not None and left <= 0:
            raise TimeoutError("decision budget spent before the solve")
        if self.options.milp:
            return with_integers(problem, self._solver, self.options.min_charge_kw, left)
        warm = self._warm if self.options.warm_start else None
        plan = solve_plan(problem, self._solver, left, warm)
        if self.options.warm_start and plan.optimal:
            self._warm = save_state(problem, plan.layout, plan.result.x)
        return plan

    def decide(self, obs: Observation) -> np.ndarray:
        controllable = self.ctx.site.charger_arrays.controllable
        if not (obs.occupied & controllable).any():
            return np.zeros(obs.occupied.shape)
        try:
            plan = self.plan(obs)
        except TimeoutError:
            self._counts["solver_fallbacks"] += 1
            return self.fallback(obs, "budget spent before the solve")
        # Anything else raised here is a bug in the LP code and must surface, not
        # turn smart into EDF; HiGHS's own failures come back as a status below.
        self._counts["lp_solves"] += 1
        self._lp_seconds.append(plan.result.seconds + plan.build_seconds)
        if not plan.optimal:
            over = plan.result.status.lower().startswith("time limit")
            self._counts["solver_fallbacks" if over else "solver_failures"] += 1
            log.warning("%s: slot %d not solved (%s); EDF fallback", self.name, obs.slot, plan.result.status)
            return self.fallback(obs, plan.result.status)
        return plan.setpoints_kw

    def fallback(self, obs: Observation, reason: str) -> np.ndarray:
        """Earliest deadline first within the current peak (``docs/model.md``, "Heuristic policies")."""
        log.info("%s: slot %d falls back to EDF (%s)", self.name, obs.slot, reason)
        margin = coming_margin_kw(self.ctx.futures, obs)
        return sorted_within_threshold(obs, self.ctx.site, deadline_key, margin)

    def stats(self) -> dict[str, Any]:
        lp = np.asarray(self._lp_seconds)
        return {
            **self._counts,
            "lp_seconds_median": float(np.median(lp)) if lp.size else 0.0,
            "solver_mode": "milp" if self.options.milp else "lp",
        }


class ExpectedMpc(SmartCharging):
    """The same LP over one expected future (a cheaper, deterministic baseline)."""

    name = "mpc-expected"
    description = "MPC over one expected future of the day (the pool's typical day); free for users."
    default_scenarios = 1

    def futures(self, obs: Observation) -> list[Future]:
        expected = getattr(self.ctx.futures, "expected", None)
        if expected is None:
            return super().futures(obs)[:1]
        return guard_coming_slot([expected(obs)], obs, self.ctx.futures, self.guard_quantile)
