"""Carrying a solution from one decision to the next as a starting basis.

Consecutive decisions differ in shape (the horizon shrinks, EVs come and go,
futures change), so HiGHS's own basis does not fit the next LP. Every variable
and row is instead named by what it means: (kind, scenario, EV, episode slot).
The previous solution's values are looked up by name, turned into basis
statuses (strictly between its bounds: basic; at a bound: non-basic) and handed
to HiGHS as an *alien* basis, which HiGHS completes and repairs itself.
Reading values instead of HiGHS's basis avoids converting long lists of status
enums in Python, which costs more than the solve it saves.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from v2b.opt.layout import Layout
from v2b.opt.lp import LinearProgram
from v2b.opt.problem import ChargingProblem

_STATUS = [highspy.HighsBasisStatus.kLower, highspy.HighsBasisStatus.kBasic,
           highspy.HighsBasisStatus.kUpper]
_LOWER, _BASIC, _UPPER = 0, 1, 2
_KIND_C, _KIND_D, _KIND_E, _KIND_U, _KIND_PEAK = range(5)


#: What a key can hold: kind < 16, scenario set < 2048, id < 2**33, episode slot < 16384.
MAX_SCENARIO_SETS = 1 << 11
MAX_SLOTS = 1 << 14


class WarmKeyError(ValueError):
    """A problem too large for warm-start keys (they would collide)."""


def _key(kind: np.ndarray | int, scenario: np.ndarray | int, ident: np.ndarray | int,
         slot: np.ndarray | int) -> np.ndarray:
    """One int64 per (kind, scenario set, id, slot); refuses values that do not fit
    instead of letting two names share a key."""
    k = np.asarray(kind, dtype=np.int64)
    s = np.asarray(scenario, dtype=np.int64)
    i = np.asarray(ident, dtype=np.int64)
    t = np.asarray(slot, dtype=np.int64)
    for name, value, limit in (("scenario set", s, MAX_SCENARIO_SETS), ("EV id", i, 1 << 33),
                               ("slot", t, MAX_SLOTS), ("kind", k, 16)):
        if value.size and (value.min() < 0 or value.max() >= limit):
            raise WarmKeyError(
                f"warm start cannot name a {name} of {int(value.max())} (limit {limit - 1}); "
                "use fewer scenarios and bundles, or no warm start"
            )
    return (((k << 11 | s) << 33 | i) << 14) | t


@dataclass(frozen=True)
class WarmState:
    """Values of the last solution by name, and the episode slots its blocks start at."""

    keys: np.ndarray
    values: np.ndarray
    block_starts: np.ndarray


def _pair_keys(problem: ChargingProblem, lay: Layout, kind: int, slots: np.ndarray) -> np.ndarray:
    u = lay.pair_unit
    return _key(kind, problem.units.scenario[u], problem.units.ident[u], slots)


def _named_columns(problem: ChargingProblem, lay: Layout, slots: np.ndarray):
    """(column, key) pairs of every named column; shared columns appear once per scenario."""
    units = problem.units
    cols, keys = [], []
    for kind, family in ((_KIND_C, lay.charge), (_KIND_D, lay.discharge), (_KIND_E, lay.energy)):
        cols.append(family.cols)
        keys.append(_pair_keys(problem, lay, kind, slots)[family.owners])
    with_u = lay.shortfall.owners
    cols.append(lay.shortfall.cols)
    keys.append(_key(_KIND_U, units.scenario[with_u], units.ident[with_u], 0))
    cols.append(lay.peak.cols)
    keys.append(_key(_KIND_PEAK, lay.peak.owners, 0, 0))
    return np.concatenate(cols), np.concatenate(keys)


def save_state(problem: ChargingProblem, lay: Layout, x: np.ndarray) -> WarmState:
    """Remember a solution by name for the next decision."""
    slots = problem.first_slot + problem.grid.starts[lay.pair_block]
    cols, keys = _named_columns(problem, lay, slots)
    order = np.argsort(keys, kind="stable")
    return WarmState(keys[order], x[cols[order]], problem.first_slot + problem.grid.starts)


def guess_solution(problem: ChargingProblem, lay: Layout, lp: LinearProgram,
                   state: WarmState) -> tuple[np.ndarray, np.ndarray]:
    """Previous values for this LP's columns (lower bounds where unknown) and a found-mask.

    A block is matched to the previous block that contained its first slot, so a
    block that became finer inherits the coarse block's value.
    """
    slots = problem.first_slot + problem.grid.starts[lay.pair_block]
    old_block = np.searchsorted(state.block_starts, slots, side="right") - 1
    slots = np.where(old_block >= 0, state.block_starts[np.maximum(old_block, 0)], slots)
    cols, keys = _named_columns(problem, lay, slots)
    pos = np.searchsorted(state.keys, keys)
    pos = np.minimum(pos, max(state.keys.size - 1, 0))
    found = state.keys.size > 0
    hit = (state.keys[pos] == keys) if found else np.zeros(keys.size, dtype=bool)
    x = np.where(np.isfinite(lp.col_lower), lp.col_lower, 0.0)
    known = np.zeros(lp.n_cols, dtype=bool)
    x[cols[hit]] = np.clip(state.values[pos[hit]], lp.col_lower[cols[hit]], lp.col_upper[cols[hit]])
    known[cols[hit]] = True
    return x, known


def basis_from_values(lp: LinearProgram, x: np.ndarray, tol: float = 1e-7) -> highspy.HighsBasis:
    """An alien basis: inside the bounds -> basic, at a bound -> non-basic there."""
    col = np.where(
        x <= lp.col_lower + tol, _LOWER, np.where(x >= lp.col_upper - tol, _UPPER, _BASIC)
    )
    activity = lp.matrix @ x
    row = np.where(
        activity <= lp.row_lower + tol,
        _LOWER,
        np.where(activity >= lp.row_upper - tol, _UPPER, _BASIC),
    )
    basis = highspy.HighsBasis()
    basis.col_status = [_STATUS[i] for i in col.tolist()]
    basis.row_status = [_STATUS[i] for i in row.tolist()]
    basis.alien = True
    basis.valid = True
    return basis
