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
from v2b.opt.rows import Columns
from v2b.opt.units import reachable_energy_kwh, recovery_kwh_per_slot
from v2b.site import curve_fraction

_TOL = 1e-9


@dataclass(frozen=True)
class Layout:
    """Columns and bounds of one assembled problem.

    Pair arrays have one entry per connected (unit, block) pair, ordered by unit then block.
    The variables are named families of :class:`Columns`: ``charge`` and ``discharge`` owned
    by pairs (a connected EV's current block is one column shared by all scenarios, so pairs
    may share a charge column), ``energy`` by the pairs of stateful units, ``shortfall`` by
    units, ``peak`` by scenarios; ``shared_charge`` / ``shared_discharge`` are the shared
    current-block columns, owned by the index into ``shared_group``.
    """

    pair_unit: np.ndarray
    pair_block: np.ndarray
    present: np.ndarray
    first: np.ndarray
    last: np.ndarray
    charge: Columns
    discharge: Columns
    energy: Columns
    shortfall: Columns
    peak: Columns
    stateful: np.ndarray
    curve_rows: np.ndarray
    c_upper: np.ndarray
    d_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    shared_group: np.ndarray
    shared_charge: Columns
    shared_discharge: Columns

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


def payback_floor_kwh(problem: ChargingProblem, u: np.ndarray, b: np.ndarray,
                      end_slot: np.ndarray | None = None) -> np.ndarray:
    """The least energy each (unit, block) pair may end its block with [kWh].

    The engine's payback rule (``docs/model.md``, "Driver protections"): after any
    slot, charging flat out at the guaranteed rate in the slots left must still
    restore the departure floor, so ``e >= floor - slots after the block x rate``.
    It is lowered to what charging flat out from now can surely reach, so the LP
    stays feasible in any state the engine can leave an EV in. Linear in time, so
    holding it at block ends holds it inside coarse blocks too. ``end_slot``: each pair's
    departure instead of its unit's (an arrival priced at a departure other than the one its LP
    was built with, :class:`v2b.opt.marginal.ArrivalPricer`).
    """
    units, grid = problem.units, problem.grid
    rate = recovery_kwh_per_slot(units, problem.curve_slopes, problem.curve_intercepts)[u]
    block_end = grid.starts[b] + grid.block_slots[b]
    end = units.end_slot[u] if end_slot is None else end_slot
    after = np.maximum(end - block_end, 0)
    elapsed = np.minimum(block_end, end) - units.start_slot[u]
    wanted = units.departure_floor_kwh[u] - after * rate
    return np.minimum(wanted, units.energy_kwh[u] + elapsed * rate)


def energy_lower_kwh(problem: ChargingProblem, u: np.ndarray, b: np.ndarray,
                     end_slot: np.ndarray | None = None) -> np.ndarray:
    """The lower bound of each (unit, block) pair's end-of-block energy [kWh]: its discharge
    floor and its payback floor (:func:`payback_floor_kwh`, ``end_slot`` as there)."""
    return np.maximum(problem.units.floor_kwh[u], payback_floor_kwh(problem, u, b, end_slot))


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

    # charge: the shared current-block columns first, then one per other pair
    col_c = np.empty(k, dtype=int)
    col_c[shared] = shared_index[shared]
    n_own = int((~shared).sum())
    col_c[~shared] = n_shared + np.arange(n_own)
    charge = Columns("charge", np.arange(k), col_c)
    nxt = n_shared + n_own

    # discharge: bidirectional pairs; shared groups' columns first
    bidir_groups = np.zeros(n_shared, dtype=bool)
    bidir_groups[shared_index[shared & bidir_pair]] = True
    shared_discharge = Columns.where("shared_discharge", bidir_groups, nxt)
    nxt += shared_discharge.size
    own_d = ~shared & bidir_pair
    d_owner = np.flatnonzero(shared & bidir_pair | own_d)
    d_col = np.empty(d_owner.size, dtype=int)
    is_shared = shared[d_owner]
    d_col[is_shared] = shared_discharge.at(shared_index[d_owner[is_shared]])
    d_col[~is_shared] = nxt + np.arange(int((~is_shared).sum()))
    discharge = Columns("discharge", d_owner, d_col)
    nxt += int(own_d.sum())

    energy = Columns.where("energy", stateful[u], nxt)
    nxt += energy.size

    lowest_end = np.where(units.bidirectional, units.floor_kwh, units.energy_kwh)
    shortfall = Columns.where("shortfall", units.target_kwh > lowest_end + 1e-7, nxt)
    nxt += shortfall.size

    peak = Columns("peak", np.arange(problem.n_scenarios), nxt + np.arange(problem.n_scenarios))
    nxt += problem.n_scenarios

    lower = np.zeros(nxt)
    upper = np.full(nxt, np.inf)
    upper[col_c] = c_upper  # shared pairs write identical values
    upper[discharge.cols] = d_upper[discharge.owners]
    e_pair = energy.owners
    lower[energy.cols] = energy_lower_kwh(problem, u[e_pair], b[e_pair])
    upper[energy.cols] = np.maximum(units.battery_kwh[u[e_pair]], units.energy_kwh[u[e_pair]])
    lower[peak.cols] = problem.peak_floor_by_scenario

    return Layout(
        pair_unit=u,
        pair_block=b,
        present=frac,
        first=first,
        last=last,
        charge=charge,
        discharge=discharge,
        energy=energy,
        shortfall=shortfall,
        peak=peak,
        stateful=stateful,
        curve_rows=curve,
        c_upper=c_upper,
        d_upper=d_upper,
        col_lower=lower,
        col_upper=upper,
        shared_group=groups,
        shared_charge=Columns("shared_charge", np.arange(n_shared), np.arange(n_shared)),
        shared_discharge=shared_discharge,
    )
