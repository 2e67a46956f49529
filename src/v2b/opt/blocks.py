"""The LP's constraint families and cost terms, one function each.

Every constraint function returns a :class:`RowBlock` (COO triplets with local
row numbers and row bounds); every cost function returns a cost vector over the
columns of a :class:`~v2b.opt.layout.Layout` (and a constant where there is one).
Notation follows CONSENT Eq. (4): per scenario ``f`` the energy cost ``g``, the
peak ``p_max,f``, the unmet energy ``z`` and the discharged energy ``q``.
"""

from __future__ import annotations

import numpy as np

from v2b.opt.aggregate import AggregateLayout
from v2b.opt.layout import Layout
from v2b.opt.problem import ChargingProblem
from v2b.opt.rows import RowBlock, Term
from v2b.opt.rows import block as _block
from v2b.timegrid import SLOT_H

INF = np.inf


def _pair_weight(problem: ChargingProblem, lay: Layout) -> np.ndarray:
    return problem.set_weight[problem.units.scenario[lay.pair_unit]]


def pair_scenarios(problem: ChargingProblem, lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Every (pair, scenario) membership: a bundled unit counts in all its scenarios."""
    if problem.scenario_sets is None:
        return np.arange(lay.pair_unit.size), problem.units.scenario[lay.pair_unit]
    return np.nonzero(problem.membership[problem.units.scenario[lay.pair_unit]])


def energy_balance(problem: ChargingProblem, lay: Layout) -> RowBlock:
    """Battery energy of stateful units block to block (SoC dynamics, losses both ways).

    ``e_k - e_{k-1} - eta_c dt c_k + dt / eta_d d_k = [e_arrival if first]``.
    """
    units, dt = problem.units, problem.grid.dt_h[lay.pair_block]
    pairs, cols_e = lay.energy.owners, lay.energy.cols
    r = np.arange(pairs.size)
    u = lay.pair_unit[pairs]
    later = np.flatnonzero(~lay.first[pairs])  # the unit's previous block is a stateful pair too
    rhs = np.where(lay.first[pairs], units.energy_kwh[u], 0.0)
    with_d, cols_d = lay.discharge.pick(pairs)
    parts = [
        (r, cols_e, np.ones(r.size)),
        (later, lay.energy.at(pairs[later] - 1), -np.ones(later.size)),
        (r, lay.charge.at(pairs), -units.charge_efficiency[u] * dt[pairs]),
        (with_d, cols_d, dt[pairs[with_d]] / units.discharge_efficiency[u[with_d]]),
    ]
    return _block("energy_balance", parts, rhs, rhs)


def charge_curve(problem: ChargingProblem, lay: Layout) -> RowBlock:
    """SoC-dependent charge limit as concave pieces (CONSENT Sec. 4.1; ``docs/model.md``, "Site and physics").

    ``c_k <= max_kw * presence * (a_s * e_start / capacity + b_s)`` for each segment
    ``s`` that can bind; ``e_start`` is the previous block's end energy.
    """
    units = problem.units
    pair, seg = np.nonzero(lay.curve_rows)
    r = np.arange(pair.size)
    u = lay.pair_unit[pair]
    scale = units.max_kw[u] * lay.present[pair]
    slope = problem.curve_slopes[seg] / np.maximum(units.battery_kwh[u], 1e-9)
    parts = [
        (r, lay.charge.at(pair), np.ones(r.size)),
        (r, lay.energy.at(pair - 1), -scale * slope),
    ]
    return _block("charge_curve", parts, np.full(r.size, -INF), scale * problem.curve_intercepts[seg])


def departure_shortfall(problem: ChargingProblem, lay: Layout) -> RowBlock:
    """Unmet energy at departure: ``e_departure + z >= target`` (z = K_SOC's kWh).

    Stateless units (charge only, no binding curve) use their summed charge:
    ``sum_k eta_c dt_k c_k + z >= target - e_arrival``.
    """
    units = problem.units
    with_u = lay.shortfall.owners
    row_of_unit = np.full(units.n, -1)
    row_of_unit[with_u] = np.arange(with_u.size)
    stateful_u = with_u[lay.stateful[with_u]]
    last_pair = np.flatnonzero(lay.last)
    last_of_unit = np.full(units.n, -1)
    last_of_unit[lay.pair_unit[last_pair]] = last_pair
    sl_pairs = np.flatnonzero(~lay.stateful[lay.pair_unit] & (row_of_unit[lay.pair_unit] >= 0))
    su = lay.pair_unit[sl_pairs]
    dt = problem.grid.dt_h[lay.pair_block[sl_pairs]]
    parts = [
        (row_of_unit[with_u], lay.shortfall.cols, np.ones(with_u.size)),
        (row_of_unit[stateful_u], lay.energy.at(last_of_unit[stateful_u]), np.ones(stateful_u.size)),
        (row_of_unit[su], lay.charge.at(sl_pairs), units.charge_efficiency[su] * dt),
    ]
    rhs = units.target_kwh[with_u] - np.where(lay.stateful[with_u], 0.0, units.energy_kwh[with_u])
    return _block("departure_shortfall", parts, rhs, np.full(with_u.size, INF))


def _scenario_block_sums(problem: ChargingProblem, lay: Layout, per_pair: np.ndarray) -> np.ndarray:
    pair, scen = pair_scenarios(problem, lay)
    out = np.zeros((problem.n_scenarios, problem.grid.n_blocks))
    np.add.at(out, (scen, lay.pair_block[pair]), per_pair[pair])
    return out


def _ev_rows(
    problem: ChargingProblem, lay: Layout, need: np.ndarray, sign: float
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Row numbers for the needed (scenario, block) cells and the EV power entries."""
    row_id = np.full(need.shape, -1)
    row_id[need] = np.arange(int(need.sum()))
    pair, scen = pair_scenarios(problem, lay)
    pair_row = row_id[scen, lay.pair_block[pair]]
    ok = pair_row >= 0
    pair, pair_row = pair[ok], pair_row[ok]
    with_d, cols_d = lay.discharge.pick(pair)
    parts = [
        (pair_row, lay.charge.at(pair), np.full(pair.size, sign)),
        (pair_row[with_d], cols_d, np.full(with_d.size, -sign)),
    ]
    return row_id, parts


def _aggregate_entries(
    row_id: np.ndarray, need: np.ndarray, alay: AggregateLayout | None, sign: float
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Entries of the summed future sessions' charge (``sign``) and discharge (``-sign``)."""
    if alay is None:
        return []
    out = []
    needed = np.flatnonzero(need.ravel())
    for family, coef in ((alay.y, sign), (alay.q, -sign)):
        ok, cols = family.pick(needed)
        out.append((row_id.ravel()[needed[ok]], cols, np.full(ok.size, coef)))
    return out


def _ev_block_max(problem: ChargingProblem, lay: Layout) -> np.ndarray:
    """Every EV at full power, per (scenario, block), summed futures included [kW]."""
    ev_max = _scenario_block_sums(problem, lay, lay.c_upper)
    if problem.future_aggregate is not None:
        ev_max = ev_max + problem.future_aggregate.power_kw
    return ev_max


def _later_margin(problem: ChargingProblem, load_max: np.ndarray, floor_kw: np.ndarray) -> np.ndarray:
    """Per-block highest load with the headroom the controller will keep in the later
    blocks, which it will not have measured either (:attr:`ChargingProblem.later_margin_kw`),
    at most up to the peak already paid (``floor_kw`` per scenario): the margin takes headroom
    from the EVs, it never lifts the peak on its own (a plan without EVs keeps its peak, so
    an arrival's marginal cost is not paid for by a margin's phantom peak)."""
    if problem.later_margin_kw is None:
        return load_max
    margin = problem.grid.block_max(problem.later_margin_kw)[1:]
    room = np.maximum(np.asarray(floor_kw, dtype=float)[:, None] - load_max[:, 1:], 0.0)
    out = load_max.copy()
    out[:, 1:] += np.minimum(margin[None, :], room)
    return out


def peak_power(
    problem: ChargingProblem, lay: Layout, alay: AggregateLayout | None = None
) -> RowBlock:
    """Each scenario's peak covers metered power: ``P_f >= load + sum(c - d)``.

    Rows are kept only where the load plus every EV at full power could exceed
    the peak already paid (``P_f >= floor`` is a bound), which drops most rows. Where the
    current slot's load is not measured, its row is :func:`coming_slot_excess` instead, and
    the later blocks' load is raised by :attr:`ChargingProblem.later_margin_kw`.
    ``alay``: columns of the summed future sessions (:mod:`v2b.opt.aggregate`).
    """
    load_max = _later_margin(problem, problem.grid.block_max(problem.load_kw), problem.peak_floor_by_scenario)
    ev_max = _ev_block_max(problem, lay)
    need = load_max + ev_max > problem.peak_floor_by_scenario[:, None] + 1e-9
    if problem.coming_load_kw is not None:
        need[:, 0] = False  # the unmeasured slot: :func:`coming_slot_excess`
    row_id, parts = _ev_rows(problem, lay, need, -1.0)
    s, _ = np.nonzero(need)
    parts.append((row_id[need], lay.peak.at(s), np.ones(s.size)))
    parts += _aggregate_entries(row_id, need, alay, -1.0)
    return _block("peak_power", parts, load_max[need], np.full(s.size, INF))


#: Where the expected excess over the coming slot's load samples is cut (sample quantiles):
#: dense in the upper tail, where a plan that fills up to the peak sits.
EXCESS_CUT_QUANTILES = np.array([0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999])


def excess_cuts(samples_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tangents ``g(z) >= a_k + b_k z`` of ``g(z) = mean((L + z)^+)`` over the samples ``L``
    (a convex, piecewise-linear function; ``g >= 0`` is the column's bound): the line of
    slope 1 through ``mean(L)``, then one tangent at each of :data:`EXCESS_CUT_QUANTILES`
    with the fraction of samples above that point as its slope. Exact at the cut points."""
    load = np.sort(np.asarray(samples_kw, dtype=float))
    at = np.unique(np.quantile(load, EXCESS_CUT_QUANTILES, method="lower"))
    z = -at
    g = np.maximum(load[None, :] + z[:, None], 0.0).mean(axis=1)
    slope = (load[None, :] > at[:, None]).mean(axis=1)
    return np.concatenate([[load.mean()], g - slope * z]), np.concatenate([[1.0], slope])


def coming_slot_excess(problem: ChargingProblem, lay: Layout, alay: AggregateLayout | None,
                       first_col: int) -> Term:
    """The unmeasured current slot's peak as an expected excess (``docs/model.md``,
    "Observation: what is known of the load"): per scenario one column
    ``x_f >= E[(L + r_f - P_f)^+]`` over the load samples ``L``
    (:attr:`ChargingProblem.coming_load_kw`), cost ``K_DC x weight_f``, where ``r_f`` is the
    EVs' net power in the slot, a column of its own (``r_f = sum(c - d)``, one row) so that
    the tangents (:func:`excess_cuts`) hold three entries each, not one per EV. What a plan
    overshoots by in a sampled slot lifts the month's peak by as much; a plan pays for that in
    proportion to how likely it is, which 30 futures cannot resolve at 1 %. Columns from
    ``first_col``: ``x`` per scenario, then ``r`` per scenario; rows: the ``r`` definitions,
    then the tangents cut-major."""
    a, b = excess_cuts(problem.coming_load_kw)
    n = problem.n_scenarios
    need = np.zeros((n, problem.grid.n_blocks), dtype=bool)
    need[:, 0] = True
    row_id, ev_parts = _ev_rows(problem, lay, need, -1.0)
    ev_parts += _aggregate_entries(row_id, need, alay, -1.0)
    s = np.arange(n)
    x_cols, r_cols = first_col + s, first_col + n + s
    parts = [*ev_parts, (s, r_cols, np.ones(n))]  # r_f - sum(c - d) = 0
    for k, slope in enumerate(b.tolist()):
        row = n + k * n + s  # x_f - b_k r_f + b_k P_f >= a_k
        parts += [(row, x_cols, np.ones(n)), (row, r_cols, np.full(n, -slope)),
                  (row, lay.peak.at(s), np.full(n, slope))]
    lower = np.concatenate([np.zeros(n), np.repeat(a, n)])
    upper = np.concatenate([np.zeros(n), np.full(a.size * n, INF)])
    rows = _block("coming_slot_excess", parts, lower, upper)
    cost = np.concatenate([problem.demand_charge_usd_per_kw * problem.scenario_weight, np.zeros(n)])
    return Term("coming_slot_excess", rows, cost, np.concatenate([np.zeros(n), np.full(n, -INF)]),
                np.full(2 * n, INF))


def rest_of_month_unmet(problem: ChargingProblem, lay: Layout, alay: AggregateLayout | None,
                        first_col: int) -> Term:
    """The later days' EVs in the month's peak (``docs/model.md``, "Controller: month-aware
    demand charge"): per scenario one column ``u_f >= a_fk + b_fk x P_f`` for every cut of
    :attr:`ChargingProblem.rest_unmet_cuts` (``b <= 0``: a higher month's peak leaves less of
    the later days' EV energy unmet), ``u_f >= 0``, cost ``K_SOC x weight_f``. A kW of peak
    raised today then costs ``K_DC`` less what it spares the later days, not ``K_DC``.
    Columns from ``first_col``: ``u`` per scenario; rows: the cuts, scenario-major."""
    a, b = (np.asarray(x, dtype=float) for x in problem.rest_unmet_cuts)
    n, k = a.shape
    s = np.repeat(np.arange(n), k)
    row = np.arange(n * k)
    parts = [(row, first_col + s, np.ones(n * k)), (row, lay.peak.at(s), -b.reshape(-1))]
    rows = _block("rest_of_month_unmet", parts, a.reshape(-1), np.full(n * k, INF))
    cost = problem.soc_penalty_usd_per_kwh * problem.scenario_weight
    return Term("rest_of_month_unmet", rows, cost, np.zeros(n), np.full(n, INF))


def site_limit(problem: ChargingProblem, lay: Layout, alay: AggregateLayout | None = None) -> RowBlock:
    """The site's connection: ``sum(c - d) <= max(limit - load, 0)`` per scenario and block,
    with the block's highest load (every slot of a block within the limit). Rows only where the
    EVs at full power could pass it; none without a limit."""
    limit = problem.site_limit_kw
    if limit is None:
        none = np.zeros(0, dtype=int)
        return RowBlock("site_limit", none, none, np.zeros(0), np.zeros(0), np.zeros(0))
    load_max = problem.grid.block_max(problem.load_kw)
    ev_max = _ev_block_max(problem, lay)
    room = np.maximum(limit - load_max, 0.0)
    need = ev_max > room + 1e-9
    row_id, parts = _ev_rows(problem, lay, need, 1.0)
    parts += _aggregate_entries(row_id, need, alay, 1.0)
    return _block("site_limit", parts, np.full(int(need.sum()), -INF), room[need])


def window_peaks(problem: ChargingProblem, lay: Layout, alay: AggregateLayout | None, first_col: int) -> Term:
    """The windowed demand charges: one peak ``P_kf`` per charge and scenario (columns from
    ``first_col``, charge-major), ``P_kf >= load + sum(c - d)`` in every block the window
    covers (the load at its highest in-window slot), ``P_kf >= floor_k``, cost
    ``rate_k x weight_f``."""
    k, n = problem.window_usd_per_kw.size, problem.n_scenarios
    cols = first_col + np.arange(k * n).reshape(k, n)
    ev_max = _ev_block_max(problem, lay)
    all_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lower_rows: list[np.ndarray] = []
    offset = 0
    for w in range(k):
        in_window = np.where(problem.window_slots[w][None, :], problem.load_kw, -INF)
        load_max = _later_margin(problem, problem.grid.block_max(in_window),
                                 np.full(problem.n_scenarios, problem.window_floor_kw[w]))
        need = np.isfinite(load_max) & (load_max + ev_max > problem.window_floor_kw[w] + 1e-9)
        row_id, parts = _ev_rows(problem, lay, need, -1.0)
        s, _ = np.nonzero(need)
        parts.append((row_id[need], cols[w, s], np.ones(s.size)))
        parts += _aggregate_entries(row_id, need, alay, -1.0)
        all_parts += [(r + offset, c, v) for r, c, v in parts]
        lower_rows.append(load_max[need])
        offset += int(need.sum())
    lower = np.concatenate(lower_rows)  # called with at least one charge (lp.assemble)
    rows = _block("window_peak", all_parts, lower, np.full(lower.size, INF))
    cost = (problem.window_usd_per_kw[:, None] * problem.scenario_weight[None, :]).reshape(-1)
    return Term("window_peaks", rows, cost, np.repeat(problem.window_floor_kw, n), np.full(k * n, INF))


def dr_overflow(problem: ChargingProblem, lay: Layout, alay: AggregateLayout | None, first_col: int) -> Term:
    """Demand-response events: power above an event's limit ``o_fb >= load + sum(c - d) - limit``
    per scenario and block the events cover (the block's highest in-event load, its lowest
    limit), cost ``penalty x in-event hours x weight_f`` per kW (columns from ``first_col``,
    scenario-major). Rows only where the EVs at full power could pass the limit; exact where a
    block is one slot."""
    penalty = problem.dr_penalty_per_kwh
    inside = penalty > 0
    grid = problem.grid
    load_max = grid.block_max(np.where(inside[None, :], problem.load_kw, -INF))
    limit = grid.block_min(np.where(inside, problem.dr_limit_kw, INF))
    hours = grid.block_mean(inside.astype(float)) * grid.dt_h
    rate = grid.block_max(np.where(inside, penalty, 0.0))
    need = np.isfinite(load_max) & (load_max + _ev_block_max(problem, lay) > limit[None, :] + 1e-9)
    row_id, parts = _ev_rows(problem, lay, need, -1.0)
    s, b = np.nonzero(need)
    cols = first_col + np.arange(s.size)
    parts.append((row_id[need], cols, np.ones(s.size)))
    parts += _aggregate_entries(row_id, need, alay, -1.0)
    rows = _block("dr_overflow", parts, (load_max - limit[None, :])[need], np.full(s.size, INF))
    cost = rate[b] * hours[b] * problem.scenario_weight[s]
    return Term("dr_overflow", rows, cost, np.zeros(s.size), np.full(s.size, INF))


def surplus_energy(problem: ChargingProblem, lay: Layout, alay: AggregateLayout | None, first_col: int
                   ) -> Term:
    """Where the building's own surplus (a negative load, e.g. PV) is exported, what the energy
    costs: ``w max(P, 0) - x max(-P, 0) = x P + (w - x) m`` with ``m >= P = load + sum(c - d)``,
    ``m >= 0``, per scenario and block whose mean load is negative (``x`` the export price, 0
    without one). :func:`tou_energy_cost` priced those blocks at ``w P``; this term corrects
    the EV columns by ``(x - w)`` and the load's constant to ``x load``, and adds ``m`` at
    ``w - x`` (columns from ``first_col``). Exact where a block is one slot."""
    grid, weight = problem.grid, problem.scenario_weight
    export = problem.export_price_per_kwh or 0.0
    load = grid.block_mean(problem.load_kw)
    price = grid.block_mean(problem.price_per_kwh)
    need = load < 0
    row_id, ev_parts = _ev_rows(problem, lay, need, -1.0)
    ev_parts += _aggregate_entries(row_id, need, alay, -1.0)
    s, b = np.nonzero(need)
    m_cols = (row_id[need], first_col + np.arange(s.size), np.ones(s.size))
    rows = _block("surplus_energy", [*ev_parts, m_cols], load[need], np.full(s.size, INF))
    # (x - w) per kW of EV power in each surplus cell, on the EV columns its row holds (their
    # entries are -1 for charge, +1 for discharge)
    per_row = (export - price[b]) * grid.dt_h[b] * weight[s]
    correction = np.zeros(first_col)
    for r, c, v in ev_parts:
        np.add.at(correction, c, -v * per_row[r])
    m_cost = (price[b] - export) * grid.dt_h[b] * weight[s]
    constant = float(np.sum((export - price[b]) * load[need] * grid.dt_h[b] * weight[s]))
    return Term("surplus_energy", rows, m_cost, np.zeros(s.size), np.full(s.size, INF), correction, constant)


def no_export(problem: ChargingProblem, lay: Layout, alay: AggregateLayout | None = None) -> RowBlock:
    """The site never exports: ``load + sum(c - d) >= 0``, where discharge could reach it."""
    load_min = problem.grid.block_min(problem.load_kw)
    d_max = _scenario_block_sums(problem, lay, lay.d_upper)
    if problem.future_aggregate is not None:
        d_max = d_max + problem.future_aggregate.discharge_kw
    need = (d_max > 0) & (d_max > load_min - 1e-9)
    row_id, parts = _ev_rows(problem, lay, need, 1.0)
    parts += _aggregate_entries(row_id, need, alay, 1.0)
    lower = -np.maximum(load_min[need], 0.0)
    return _block("no_export", parts, lower, np.full(lower.size, INF))


def tou_energy_cost(problem: ChargingProblem, lay: Layout) -> tuple[np.ndarray, float]:
    """Energy cost ``sum_t w_t (p_b + sum r_t)``: EV columns and the load's constant [$]."""
    cost = np.zeros(lay.n_cols)
    price = problem.grid.block_mean(problem.price_per_kwh)[lay.pair_block]
    weight = _pair_weight(problem, lay) * price * problem.grid.dt_h[lay.pair_block]
    np.add.at(cost, lay.charge.cols, weight[lay.charge.owners])
    np.add.at(cost, lay.discharge.cols, -weight[lay.discharge.owners])
    load_cost = problem.load_kw @ problem.price_per_kwh * SLOT_H
    return cost, float(problem.scenario_weight @ load_cost)


def degradation_cost(problem: ChargingProblem, lay: Layout) -> np.ndarray:
    """``K_batt x`` energy discharged at the charger [$]."""
    cost = np.zeros(lay.n_cols)
    weight = _pair_weight(problem, lay) * problem.grid.dt_h[lay.pair_block]
    np.add.at(cost, lay.discharge.cols, problem.degradation_usd_per_kwh * weight[lay.discharge.owners])
    return cost


def shortfall_cost(problem: ChargingProblem, lay: Layout) -> np.ndarray:
    """``K_SOC x`` unmet kWh at departure [$]."""
    cost = np.zeros(lay.n_cols)
    w = problem.set_weight[problem.units.scenario[lay.shortfall.owners]]
    cost[lay.shortfall.cols] = problem.soc_penalty_usd_per_kwh * w
    return cost


def demand_charge_cost(problem: ChargingProblem, lay: Layout) -> np.ndarray:
    """``K_DC x p_max,f`` per scenario, averaged [$] (its floor is the peak paid)."""
    cost = np.zeros(lay.n_cols)
    cost[lay.peak.cols] = problem.demand_charge_usd_per_kw * problem.scenario_weight
    return cost
