"""Where each LP variable lives: columns for (unit, block) pairs, shortfalls, peaks.

Variables exist only where they can matter:

- charge ``c`` for every block a unit is connected; discharge ``d`` only on
  bidirectional chargers; the current block's ``c``/``d`` of a connected EV is
  one column shared by all scenarios (non-anticipativity);
- end-of-block energy ``e`` only for *stateful* units: bidirectional ones, and
  those whose charge curve or capacity can bind after their first block. Other
  units need only their total energy, so their trajectory costs one column per
  block and no rows (an exact reduction);
- shortfall ``u`` only where the target is not already guaranteed;
- one peak ``P_s`` per scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2b.opt.problem import ChargingProblem
from v2b.opt.units import reachable_energy_kwh, recovery_kwh_per_slot
from v2b.site import curve_fraction

_TOL = 1e-9


@dataclass(frozen=True)
class Layout:
    """Column indices and bounds of one assembled problem.

    Pair arrays have one entry per connected (unit, block) pair, ordered by unit
    then block; ``-1`` marks an absent column.
    """

    pair_unit: np.ndarray
    pair_block: np.ndarray
    present: np.ndarray
    first: np.ndarray
    last: np.ndarray
    col_c: np.ndarray
    col_d: np.ndarray
    col_e: np.ndarray
    col_u: np.ndarray
    col_peak: np.ndarray
    stateful: np.ndarray
    curve_rows: np.ndarray
    c_upper: np.ndarray
    d_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    shared_group: np.ndarray
    shared_col_c: np.ndarray
    shared_col_d: np.ndarray

    @property
    def n_cols(self) -> int:
        return int(self.col_lower.size)


def _pairs(problem: ChargingProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    units, grid = problem.units, problem.grid
    frac = grid.presence(units.start_slot, units.end_slot)
    u, b = np.nonzero(frac > _TOL)
    return u, b, frac[u, b]


def segment_intervals(slopes: np.ndarray, intercepts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SoC interval on which each segment of a concave curve is the active (lowest) one."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = (intercepts[1:] - intercepts[:-1]) / (slopes[:-1] - slopes[1:])
    cross = np.where(np.isfinite(cross), cross, -np.inf)
    return np.concatenate([[-np.inf], cross]), np.concatenate([cross, [np.inf]])


def _curve_rows_needed(
    problem: ChargingProblem, u: np.ndarray, b: np.ndarray, first: np.ndarray, reach: np.ndarray
) -> np.ndarray:
    """Which (pair, segment) curve constraints can bind, shape (n_pairs, n_segments).

    On the SoC range a unit can be in at a block start, only the segments active
    somewhere in that range matter (the curve is their minimum), and only where
    they fall below 1 (the charger's rating is a bound). The first block's start
    energy is known, so its limit is a column bound instead.
    """
    units = problem.units
    cap = np.maximum(units.battery_kwh[u], _TOL)
    low = np.where(units.bidirectional[u], units.floor_kwh[u], units.energy_kwh[u]) / cap
    high = reach[u, b] / cap
    a, c = problem.curve_slopes[None, :], problem.curve_intercepts[None, :]
    seg_lo, seg_hi = segment_intervals(problem.curve_slopes, problem.curve_intercepts)
    active = (seg_lo[None, :] <= high[:, None] + _TOL) & (seg_hi[None, :] >= low[:, None] - _TOL)
    line_min = np.minimum(a * low[:, None] + c, a * high[:, None] + c)
    return active & (line_min < 1.0 - _TOL) & ~first[:, None]


def payback_floor_kwh(problem: ChargingProblem, u: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The least energy each (unit, block) pair may end its block with [kWh].

    The engine's payback rule (``docs/model.md``, "Driver protections"): after any
    slot, charging flat out at the guaranteed rate in the slots left must still
    restore the departure floor, so ``e >= floor - slots after the block x rate``.
    It is lowered to what charging flat out from now can surely reach, so the LP
    stays feasible in any state the engine can leave an EV in. Linear in time, so
    holding it at block ends holds it inside coarse blocks too.
    """
    units, grid = problem.units, problem.grid
    rate = recovery_kwh_per_slot(units, problem.curve_slopes, problem.curve_intercepts)[u]
    block_end = grid.starts[b] + grid.block_slots[b]
    after = np.maximum(units.end_slot[u] - block_end, 0)
    elapsed = np.minimum(block_end, units.end_slot[u]) - units.start_slot[u]
    wanted = units.departure_floor_kwh[u] - after * rate
    return np.minimum(wanted, units.energy_kwh[u] + elapsed * rate)


def build_layout(problem: ChargingProblem) -> Layout:
    """Columns, their bounds and the reductions above, all vectorised."""
    units, grid = problem.units, problem.grid
    u, b, frac = _pairs(problem)
    k = u.size
    first = np.ones(k, dtype=bool)
    first[1:] = u[1:] != u[:-1]
    last = np.ones(k, dtype=bool)
    last[:-1] = u[1:] != u[:-1]
    reach = reachable_energy_kwh(units, grid, problem.curve_slopes, problem.curve_intercepts)
    curve = _curve_rows_needed(problem, u, b, first, reach)

    bidir_pair = units.bidirectional[u]
    may_overfill = reach[:, -1] > units.battery_kwh - 1e-6
    needs_curve = np.zeros(units.n, dtype=bool)
    np.logical_or.at(needs_curve, u, curve.any(axis=1))
    stateful = units.bidirectional | needs_curve | may_overfill

    # Charge limit: rating x presence, and the curve at the known energy of the first block.
    cap = np.maximum(units.battery_kwh[u], _TOL)
    first_frac = curve_fraction(
        units.energy_kwh[u] / cap, problem.curve_slopes, problem.curve_intercepts
    )
    c_upper = units.max_kw[u] * frac * np.where(first, first_frac, 1.0)
    d_upper = np.where(bidir_pair, -units.min_kw[u] * frac, 0.0)

    shared = (units.group[u] >= 0) & (b == 0)
    groups = np.unique(units.group[u[shared]])
    n_shared = groups.size
    shared_index = np.searchsorted(groups, units.group[u])

    col_c = np.empty(k, dtype=int)
    col_c[shared] = shared_index[shared]
    n_own = int((~shared).sum())
    col_c[~shared] = n_shared + np.arange(n_own)
    nxt = n_shared + n_own

    bidir_groups = np.zeros(n_shared, dtype=bool)
    bidir_groups[shared_index[shared & bidir_pair]] = True
    shared_d = np.full(n_shared, -1)
    shared_d[bidir_groups] = nxt + np.arange(int(bidir_groups.sum()))
    nxt += int(bidir_groups.sum())
    col_d = np.full(k, -1)
    col_d[shared & bidir_pair] = shared_d[shared_index[shared & bidir_pair]]
    own_d = ~shared & bidir_pair
    col_d[own_d] = nxt + np.arange(int(own_d.sum()))
    nxt += int(own_d.sum())

    col_e = np.full(k, -1)
    has_e = stateful[u]
    col_e[has_e] = nxt + np.arange(int(has_e.sum()))
    nxt += int(has_e.sum())

    lowest_end = np.where(units.bidirectional, units.floor_kwh, units.energy_kwh)
    needs_u = units.target_kwh > lowest_end + 1e-7
    col_u = np.full(units.n, -1)
    col_u[needs_u] = nxt + np.arange(int(needs_u.sum()))
    nxt += int(needs_u.sum())

    col_peak = nxt + np.arange(problem.n_scenarios)
    nxt += problem.n_scenarios

    lower = np.zeros(nxt)
    upper = np.full(nxt, np.inf)
    upper[col_c] = c_upper  # shared pairs write identical values
    dmask = col_d >= 0
    upper[col_d[dmask]] = d_upper[dmask]
    lower[col_e[has_e]] = np.maximum(units.floor_kwh[u[has_e]],
                                     payback_floor_kwh(problem, u[has_e], b[has_e]))
    upper[col_e[has_e]] = np.maximum(units.battery_kwh[u[has_e]], units.energy_kwh[u[has_e]])
    lower[col_peak] = problem.peak_floor_by_scenario

    return Layout(
        pair_unit=u,
        pair_block=b,
        present=frac,
        first=first,
        last=last,
        col_c=col_c,
        col_d=col_d,
        col_e=col_e,
        col_u=col_u,
        col_peak=col_peak,
        stateful=stateful,
        curve_rows=curve,
        c_upper=c_upper,
        d_upper=d_upper,
        col_lower=lower,
        col_upper=upper,
        shared_group=groups,
        shared_col_c=np.arange(n_shared),
        shared_col_d=shared_d,
    )
