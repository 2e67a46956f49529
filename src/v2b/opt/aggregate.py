"""Sampled future sessions summed per scenario: a cheaper model of the rest of the day.

Instead of one trajectory per sampled session, each scenario gets one
aggregate battery for all its future sessions: charging ``y_{f,b}`` up to the
sum of their ratings present in the block, V2B discharge ``q_{f,b}`` up to the
sum of the bidirectional ones, net stored energy ``E_{f,b}`` (cumulative since
now) at most what they could have taken by then, at least minus what V2B may
take from the arrived ones (down to their floors), and at least what the
sessions gone by then asked for, short by ``Z_f`` at ``K_SOC``. This is a
relaxation of the per-session model (energy can move between present
sessions; the charge curve acts only through the cumulative cap), exact for
one session on a flat curve (both tested). Its size per scenario does not
grow with the number of sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2b.opt.grid import TimeGrid
from v2b.opt.rows import Columns, RowBlock, block
from v2b.opt.units import Units, reachable_energy_kwh

INF = np.inf


@dataclass(frozen=True)
class AggregateFutures:
    """Per (scenario, block) totals of the future sessions.

    Attributes
    ----------
    power_kw : ndarray, shape (n_scenarios, n_blocks)
        Charger power available to them (rating x presence, summed) [kW].
    energy_cap_kwh : ndarray, shape (n_scenarios, n_blocks)
        Most energy they can have stored by the end of each block [kWh].
    required_kwh : ndarray, shape (n_scenarios, n_blocks)
        Energy requested by the sessions gone by the end of each block [kWh].
    efficiency : ndarray, shape (n_scenarios,)
        Power-weighted mean charge efficiency.
    discharge_kw : ndarray, shape (n_scenarios, n_blocks)
        V2B power of the bidirectional ones present [kW].
    energy_floor_kwh : ndarray, shape (n_scenarios, n_blocks)
        Lowest net stored energy at the end of each block: minus what lies above
        the floors of the bidirectional sessions arrived by then and, where they
        must leave with their arrival energy, not yet gone [kWh].
    discharge_efficiency : ndarray, shape (n_scenarios,)
        Mean discharge efficiency of the bidirectional ones.
    """

    power_kw: np.ndarray
    energy_cap_kwh: np.ndarray
    required_kwh: np.ndarray
    efficiency: np.ndarray
    discharge_kw: np.ndarray
    energy_floor_kwh: np.ndarray
    discharge_efficiency: np.ndarray


def aggregate_futures(
    units: Units, grid: TimeGrid, slopes: np.ndarray, intercepts: np.ndarray, n_scenarios: int
) -> AggregateFutures:
    """Sum future-session units (``units.scenario`` indexes scenarios) per scenario."""
    shape = (n_scenarios, grid.n_blocks)
    present = grid.presence(units.start_slot, units.end_slot)
    rating = units.max_kw[:, None] * present
    power = np.zeros(shape)
    np.add.at(power, units.scenario, rating)
    need = np.maximum(units.target_kwh - units.energy_kwh, 0.0)
    reach = reachable_energy_kwh(units, grid, slopes, intercepts)[:, 1:] - units.energy_kwh[:, None]
    cap = np.zeros(shape)
    np.add.at(cap, units.scenario, np.minimum(reach, need[:, None]))
    gone = grid.starts[None, :] + grid.block_slots[None, :] >= units.end_slot[:, None]
    required = np.zeros(shape)
    np.add.at(required, units.scenario, np.where(gone, need[:, None], 0.0))
    weight = np.zeros(n_scenarios)
    eta = np.zeros(n_scenarios)
    np.add.at(weight, units.scenario, units.max_kw)
    np.add.at(eta, units.scenario, units.max_kw * units.charge_efficiency)
    eta = np.where(weight > 0, eta / np.where(weight > 0, weight, 1.0), 1.0)
    bidir = units.bidirectional
    discharge = np.zeros(shape)
    np.add.at(discharge, units.scenario[bidir], -units.min_kw[bidir, None] * present[bidir])
    arrived = grid.starts[None, :] + grid.block_slots[None, :] > units.start_slot[:, None]
    spare = np.where(bidir, np.maximum(units.energy_kwh - units.floor_kwh, 0.0), 0.0)
    # A session that must leave with its arrival energy lends V2B energy only while it stays.
    lends = arrived & ~(gone & (units.departure_floor_kwh[:, None] >= units.energy_kwh[:, None] - 1e-9))
    floor = np.zeros(shape)
    np.add.at(floor, units.scenario, -np.where(lends, spare[:, None], 0.0))
    out_w = np.zeros(n_scenarios)
    eta_d = np.zeros(n_scenarios)
    np.add.at(out_w, units.scenario[bidir], -units.min_kw[bidir])
    np.add.at(eta_d, units.scenario[bidir], -units.min_kw[bidir] * units.discharge_efficiency[bidir])
    eta_d = np.where(out_w > 0, eta_d / np.where(out_w > 0, out_w, 1.0), 1.0)
    return AggregateFutures(power, cap, required, eta, discharge, floor, eta_d)


@dataclass(frozen=True)
class AggregateLayout:
    """Columns of the aggregates, numbered from ``start``: charge ``y``, discharge ``q`` and
    energy ``e`` owned by (scenario, block) cells (``scenario x n_blocks + block``), shortfall
    ``z`` by scenarios."""

    y: Columns
    q: Columns
    e: Columns
    z: Columns
    n_blocks: int
    col_lower: np.ndarray
    col_upper: np.ndarray

    def cells(self, family: Columns) -> tuple[np.ndarray, np.ndarray]:
        """(scenario, block) of each column of ``family``."""
        return np.divmod(family.owners, self.n_blocks)


def aggregate_layout(agg: AggregateFutures, start: int) -> AggregateLayout:
    """``y``/``q`` where power is available, ``E`` from the first such block on, ``Z`` where needed."""
    has_y = agg.power_kw > 1e-9
    has_q = agg.discharge_kw > 1e-9
    started = np.cumsum(has_y, axis=1) > 0
    has_e = started
    has_z = agg.required_kwh[:, -1] > 1e-9
    y = Columns.where("future_charge", has_y.ravel(), start)
    q = Columns.where("future_discharge", has_q.ravel(), start + y.size)
    e = Columns.where("future_energy", has_e.ravel(), start + y.size + q.size)
    z = Columns.where("future_shortfall", has_z, start + y.size + q.size + e.size)
    n = y.size + q.size + e.size + z.size
    lower = np.zeros(n)
    upper = np.full(n, INF)
    upper[y.cols - start] = agg.power_kw[has_y]
    upper[q.cols - start] = agg.discharge_kw[has_q]
    lower[e.cols - start] = agg.energy_floor_kwh[has_e]
    upper[e.cols - start] = agg.energy_cap_kwh[has_e]
    return AggregateLayout(y, q, e, z, has_y.shape[1], lower, upper)


def aggregate_rows(grid: TimeGrid, agg: AggregateFutures, alay: AggregateLayout) -> list[RowBlock]:
    """Energy balance ``E_b = E_{b-1} + eta_c dt y_b - dt/eta_d q_b``; deadlines ``E_b + Z >= required_b``."""
    cells = alay.e.owners
    s, b = alay.cells(alay.e)
    r = np.arange(s.size)
    later, prev = alay.e.pick(np.where(b > 0, cells - 1, -1))  # energy starts where power first is on
    with_y, cols_y = alay.y.pick(cells)
    with_q, cols_q = alay.q.pick(cells)
    parts = [
        (r, alay.e.cols, np.ones(r.size)),
        (later, prev, -np.ones(later.size)),
        (with_y, cols_y, -agg.efficiency[s[with_y]] * grid.dt_h[b[with_y]]),
        (with_q, cols_q, grid.dt_h[b[with_q]] / agg.discharge_efficiency[s[with_q]]),
    ]
    balance = block("future_balance", parts, np.zeros(r.size), np.zeros(r.size))
    step = (np.diff(agg.required_kwh, axis=1, prepend=0.0) > 1e-9).ravel()
    due = np.flatnonzero(step[cells])  # energy cells where a deadline falls
    with_z, cols_z = alay.z.pick(s[due])
    due = due[with_z]
    ds, db = s[due], b[due]
    rd = np.arange(due.size)
    deadline = RowBlock(
        "future_deadline",
        np.concatenate([rd, rd]),
        np.concatenate([alay.e.cols[due], cols_z]),
        np.ones(2 * rd.size),
        agg.required_kwh[ds, db],
        np.full(rd.size, INF),
    )
    return [balance, deadline]


def aggregate_costs(
    grid: TimeGrid, price_per_kwh: np.ndarray, weight: np.ndarray, soc_penalty_usd_per_kwh: float,
    degradation_usd_per_kwh: float, alay: AggregateLayout, start: int,
) -> np.ndarray:
    """Energy cost of ``y - q``, ``K_batt x q`` and ``K_SOC x Z`` (new columns only)."""
    cost = np.zeros(alay.col_lower.size)
    price = grid.block_mean(price_per_kwh)
    s, b = alay.cells(alay.y)
    cost[alay.y.cols - start] = weight[s] * price[b] * grid.dt_h[b]
    s, b = alay.cells(alay.q)
    cost[alay.q.cols - start] = weight[s] * (degradation_usd_per_kwh - price[b]) * grid.dt_h[b]
    cost[alay.z.cols - start] = soc_penalty_usd_per_kwh * weight[alay.z.owners]
    return cost
