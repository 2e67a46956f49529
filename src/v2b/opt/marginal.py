"""The SAA cost with and without an arriving EV, for pricing its options.

CONSENT Eq. (2): ``U(theta_v) = E_f[J(without v) - J(with v on theta_v)]`` over
sampled futures, where J is the optimal cost of the rest of the day (Eq. 4) and,
by our decision (``docs/model.md``, "Controller: marginal utility"), excludes v's own
energy cost ``sum_t w_t r_t^v`` (v pays it).

:class:`ArrivalPricer` builds one LP in which v is present until the latest
departure any option allows, loads it into one live HiGHS model, and answers
each question by changing bounds and costs only: v's power is bounded to zero
after the option's departure (so its energy there equals its departure energy),
its target row's right-hand side is the option's target, and one extra column
lets the LP lower the target within the option's allowance at a given cost per
kWh (the inconvenience, ``docs/model.md``). Every solve after the first starts from the
previous basis.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from v2b.interface import ArrivalRequest, Future, Observation, vehicle_limits_kw
from v2b.opt.fleet import busy_until_slot
from v2b.opt.highs import HighsSolver, LpResult
from v2b.opt.layout import energy_lower_kwh
from v2b.opt.lp import LinearProgram, assemble
from v2b.opt.problem import problem_from_observation
from v2b.site import Site, curve_fraction
from v2b.timegrid import end_of_day


@dataclass(frozen=True)
class ArrivalCost:
    """One evaluation.

    Attributes
    ----------
    cost_usd : float
        Optimal expected cost J of the rest of the day, v's energy included [$].
    ev_energy_cost_usd : float
        v's expected energy cost ``sum_t w_t r_t^v`` in that plan [$].
    reduction_kwh : float
        Target reduction the LP chose within the allowance [kWh].
    result : LpResult
        Solver status, time and iterations.
    """

    cost_usd: float
    ev_energy_cost_usd: float
    reduction_kwh: float
    result: LpResult

    @property
    def cost_without_ev_energy_usd(self) -> float:
        """J as ``docs/model.md`` defines it for the marginal utility: v's energy excluded [$]."""
        return self.cost_usd - self.ev_energy_cost_usd


def connect(obs: Observation, request: ArrivalRequest, departure_slot: int, floor_soc: float,
            keep_arrival_energy: bool = True) -> Observation:
    """``obs`` with the arriving EV plugged into its assigned charger (the engine's rule:
    V2B floor, and the arrival energy as its departure floor if ``keep_arrival_energy``)."""
    s, i = request.session, request.charger_index
    ids = list(obs.session_ids)
    ids[i] = s.session_id
    ev_up, ev_down = vehicle_limits_kw(obs)
    return dataclasses.replace(
        obs,
        ev_max_kw=_put(ev_up, i, s.charge_limit_kw),
        ev_discharge_max_kw=_put(ev_down, i, s.discharge_limit_kw),
        occupied=_put(obs.occupied, i, True),
        session_ids=tuple(ids),
        energy_kwh=_put(obs.energy_kwh, i, s.soc_arrival * s.battery_kwh),
        battery_kwh=_put(obs.battery_kwh, i, s.battery_kwh),
        target_kwh=_put(obs.target_kwh, i, s.soc_requested * s.battery_kwh),
        floor_kwh=_put(obs.floor_kwh, i, min(s.soc_arrival, floor_soc) * s.battery_kwh),
        arrival_slot=_put(obs.arrival_slot, i, obs.slot),
        departure_slot=_put(obs.departure_slot, i, departure_slot),
        departure_floor_kwh=_put(obs.departure_floor_kwh, i,
                                 s.soc_arrival * s.battery_kwh if keep_arrival_energy else 0.0),
    )


class ArrivalPricer:
    """J with and without one arriving EV over fixed futures, on one live HiGHS model.

    Parameters
    ----------
    site : Site
        The site.
    obs : Observation
        The state at the arrival (without the arriving EV).
    request : ArrivalRequest
        The arriving session and its assigned charger.
    futures : list of Future
        The sampled futures all options are priced on (N_neg, CONSENT Sec. 6).
    latest_departure_slot : int
        The latest departure any option may offer (clipped to the end of the day, or to
        ``request.latest_departure_slot`` where cars stay overnight).
    problem_options : dict
        Passed to :func:`v2b.opt.problem.problem_from_observation` (grid,
        demand weight, peak floors, recourse bundles).
    solver_options : dict, optional
        HiGHS options (checked).
    ev_pays_energy : bool
        Plan as if v's energy were free to the building (v pays it at TOU rates):
        v's energy prices are dropped from the LP's objective, so the schedule
        minimises J without v's energy, not just reports it. Default: the schedule
        minimises the full cost, as the charging controller will.
    charger_free_from_slot : int, optional
        From which slot sampled future sessions may take v's charger. Default: the
        end of the day, in every evaluation, with v and without: v's charger is
        held, so one model serves every outcome (``docs/model.md``, "Negotiation:
        the arriving car's charger").
    """

    def __init__(
        self,
        site: Site,
        obs: Observation,
        request: ArrivalRequest,
        futures: list[Future],
        latest_departure_slot: int,
        problem_options: dict | None = None,
        solver_options: dict | None = None,
        ev_pays_energy: bool = False,
        charger_free_from_slot: int | None = None,
    ):
        start = time.perf_counter()
        self.session = request.session
        self.slot = obs.slot
        latest = int(min(max(latest_departure_slot, obs.slot + 1), request.departure_cap_slot))
        self.latest_departure_slot = latest
        full = connect(obs, request, latest, site.battery.discharge_floor_soc,
                       site.battery.keep_arrival_energy)
        # A positive target guarantees v a shortfall row whatever its request.
        full = dataclasses.replace(full, target_kwh=_put(full.target_kwh, request.charger_index,
                                                         self.session.battery_kwh))
        busy = busy_until_slot(full)
        held = max(end_of_day(obs.slot), latest) if charger_free_from_slot is None else charger_free_from_slot
        busy[request.charger_index] = held
        problem = problem_from_observation(site, full, futures, **(problem_options or {}),
                                           future_busy_until=busy)
        lp, lay = assemble(problem)
        self.problem, self.layout = problem, lay
        units = problem.units
        mine = units.group == request.charger_index
        self._units = np.flatnonzero(mine)
        pairs = np.flatnonzero(mine[lay.pair_unit])
        self._pairs = pairs
        self._stateful = bool(lay.stateful[self._units].all())
        first, b = lay.first[pairs], lay.pair_block[pairs]
        u = lay.pair_unit[pairs]
        cap = units.battery_kwh[u]
        self._curve_first = np.where(
            first, curve_fraction(units.energy_kwh[u] / cap, problem.curve_slopes,
                                   problem.curve_intercepts), 1.0)
        self._block = b
        with_u = lay.shortfall.owners
        rank = np.searchsorted(with_u, self._units)
        self._rows = lp.row_ranges["departure_shortfall"][0] + rank
        self._lp = _with_reduction_column(lp, self._rows)
        self._r = lp.n_cols
        weight = problem.set_weight[units.scenario[u]]
        price = problem.grid.block_mean(problem.price_per_kwh)[b]
        self._energy_weight = weight * price * problem.grid.dt_h[b]
        # v's TOU energy terms of the objective, per column (charging +, V2B -).
        ev_cost = np.zeros(self._lp.n_cols)
        np.add.at(ev_cost, lay.charge.at(pairs), self._energy_weight)
        with_d, cols_d = lay.discharge.pick(pairs)
        np.add.at(ev_cost, cols_d, -self._energy_weight[with_d])
        # v's end-of-block energy: its payback floor depends on the departure priced.
        with_e, self._energy_cols = lay.energy.pick(pairs)
        self._energy_pairs = pairs[with_e]
        self._energy_bounds = (self._lp.col_lower[self._energy_cols], self._lp.col_upper[self._energy_cols])
        self._ev_cols = np.flatnonzero(ev_cost)
        self._ev_cost = ev_cost[self._ev_cols]
        self._base_cost = self._lp.cost[self._ev_cols].copy()
        self.solver = HighsSolver({"presolve": "off", **(solver_options or {})})
        self.ev_pays_energy = ev_pays_energy
        self._factor = 1.0
        self._fixed_row: int | None = None
        self.solver.load(self._lp)
        self.set_ev_energy_factor(0.0 if ev_pays_energy else 1.0)
        self.build_seconds = time.perf_counter() - start

    def set_ev_energy_factor(self, factor: float) -> None:
        """Weigh v's TOU energy cost by ``factor`` in the objective (1: the full cost,
        as the controller plans; 0: v's energy free to the building)."""
        if factor != self._factor:
            cost = self._base_cost + (factor - 1.0) * self._ev_cost
            self.solver.change_costs(self._ev_cols, cost)
            self._factor = float(factor)

    def fix_cost_without_ev(self, value_usd: float | None) -> None:
        """Hold J without v's energy at ``value_usd`` (``None`` releases it).

        One row, added on first use, states the building's expected cost excluding
        v's energy (the objective with v's energy terms removed) as a constraint.
        """
        if self._fixed_row is None:
            if value_usd is None:
                return
            coef = self._lp.cost.copy()
            coef[self._ev_cols] -= self._ev_cost
            cols = np.flatnonzero(coef)
            self._fixed_row = self.solver.add_row(-np.inf, np.inf, cols, coef[cols])
        bound = np.inf if value_usd is None else value_usd - self._lp.offset
        lower = -np.inf if value_usd is None else bound
        self.solver.change_row_bounds([self._fixed_row], [lower], [bound])

    def _set(self, departure_slot: int | None, target_kwh: float, max_reduction_kwh: float,
             reduction_cost_usd_per_kwh: float) -> None:
        lay, units = self.layout, self.problem.units
        u = lay.pair_unit[self._pairs]
        if departure_slot is None:
            present = np.zeros(self._pairs.size)
        else:
            end = np.full(1, departure_slot - self.slot)
            present = self.problem.grid.presence(np.zeros(1, dtype=int), end)[0, self._block]
        c_max = units.max_kw[u] * present * self._curve_first
        cols_c, idx = np.unique(lay.charge.at(self._pairs), return_index=True)
        self.solver.change_col_bounds(cols_c, np.zeros(cols_c.size), c_max[idx])
        with_d, cols_d = lay.discharge.pick(self._pairs)
        if with_d.size:
            cols_d, idx = np.unique(cols_d, return_index=True)
            d_max = (-units.min_kw[u] * present)[with_d][idx]
            self.solver.change_col_bounds(cols_d, np.zeros(cols_d.size), d_max)
        if self._energy_cols.size:
            lower, upper = self._energy_bounds
            if departure_slot is not None:
                e_u, e_b = lay.pair_unit[self._energy_pairs], lay.pair_block[self._energy_pairs]
                end = np.full(e_u.size, departure_slot - self.slot)
                lower = energy_lower_kwh(self.problem, e_u, e_b, end)
            self.solver.change_col_bounds(self._energy_cols, lower, upper)
        offset = 0.0 if self._stateful else self.session.soc_arrival * self.session.battery_kwh
        lower = np.full(self._rows.size, -np.inf if departure_slot is None else target_kwh - offset)
        self.solver.change_row_bounds(self._rows, lower, np.full(self._rows.size, np.inf))
        self.solver.change_col_bounds([self._r], [0.0], [max(max_reduction_kwh, 0.0)])
        self.solver.change_costs([self._r], [reduction_cost_usd_per_kwh])

    def _run(self, time_limit_s: float | None, reduction_cost_usd_per_kwh: float) -> ArrivalCost:
        result = self.solver.run(time_limit_s)
        if not result.optimal:
            return ArrivalCost(np.nan, np.nan, np.nan, result)
        x = result.x
        lay = self.layout
        power = x[lay.charge.at(self._pairs)].copy()
        with_d, cols_d = lay.discharge.pick(self._pairs)
        power[with_d] -= x[cols_d]
        energy = float(self._energy_weight @ power)
        reduction = float(x[self._r])
        # cost_usd is always the plan's full cost: v's energy at weight 1, no reduction charge.
        full = (result.objective - (self._factor - 1.0) * energy
                - reduction_cost_usd_per_kwh * reduction)
        return ArrivalCost(full, energy, reduction, result)

    def without(self, time_limit_s: float | None = None) -> ArrivalCost:
        """J if v is not served (its columns fixed at zero)."""
        self._set(None, 0.0, 0.0, 0.0)
        return self._run(time_limit_s, 0.0)

    def with_ev(
        self,
        departure_slot: int,
        soc_target: float,
        max_soc_reduction: float = 0.0,
        reduction_cost_usd_per_kwh: float = 0.0,
        time_limit_s: float | None = None,
    ) -> ArrivalCost:
        """J with v leaving at ``departure_slot`` (exclusive) asking for ``soc_target``.

        The LP may lower the target by up to ``max_soc_reduction`` (SoC fraction) at
        ``reduction_cost_usd_per_kwh``; the cost J reported excludes that charge.
        The objective weighs v's energy as :meth:`set_ev_energy_factor` last set it.
        """
        if not self.slot < departure_slot <= self.latest_departure_slot:
            raise ValueError(
                f"departure_slot={departure_slot} outside {self.slot + 1}..{self.latest_departure_slot}"
            )
        cap = self.session.battery_kwh
        self._set(int(departure_slot), soc_target * cap, max_soc_reduction * cap,
                  reduction_cost_usd_per_kwh)
        return self._run(time_limit_s, reduction_cost_usd_per_kwh)


def _put(arr: np.ndarray, i: int, value: float | int | bool) -> np.ndarray:
    out = arr.copy()
    out[i] = value
    return out


def _with_reduction_column(lp: LinearProgram, rows: np.ndarray) -> LinearProgram:
    """``lp`` plus one column (bounds [0, 0] until set) with +1 in ``rows``."""
    col = sp.csc_matrix(
        (np.ones(rows.size), (rows, np.zeros(rows.size, dtype=int))), shape=(lp.n_rows, 1)
    )
    return dataclasses.replace(
        lp,
        cost=np.append(lp.cost, 0.0),
        col_lower=np.append(lp.col_lower, 0.0),
        col_upper=np.append(lp.col_upper, 0.0),
        matrix=sp.hstack([lp.matrix, col], format="csc"),
    )
