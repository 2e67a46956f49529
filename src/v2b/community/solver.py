"""Solve a :class:`~v2b.community.lp.CommunityLp` on the shared HiGHS layer, one part at a time.

The model often falls apart into independent parts: days are independent when no
EV stays parked over midnight, and under individual management so is every
building. :func:`v2b.opt.parts.independent_parts` finds them from the sparsity
pattern; solving them one by one gives the same optimum as one solve of the whole
model, faster. A MILP part (direction binaries, Eqs. 10-11) is solved first, then
its binaries are fixed and the LP solved again for the row duals the market
clearing needs (:meth:`v2b.opt.highs.HighsSolver.solve_with_duals`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from v2b.community.lp import CommunityLp
from v2b.opt.highs import HighsSolver
from v2b.opt.parts import independent_parts, whole

PART_COLUMNS = 20_000
# MILPs are solved to optimality, not to HiGHS's default 1e-4 relative gap.
MIP_REL_GAP = 1e-9


class SolveError(RuntimeError):
    """HiGHS did not return an optimal solution (infeasible, unbounded, time limit)."""


@dataclass(frozen=True)
class Solution:
    """Optimal point of a community model.

    Parameters
    ----------
    x : np.ndarray
        Column values.
    row_dual : np.ndarray
        Row duals of the LP (of the fixed-binary LP for a MILP) [EUR per row unit].
    objective_eur : float
        Optimal objective including the constant offset [EUR].
    solve_s : float
        Wall time inside HiGHS [s].
    mip : bool
        Whether binaries were used.
    parts : int
        Independent parts solved one by one.
    """

    x: np.ndarray
    row_dual: np.ndarray
    objective_eur: float
    solve_s: float
    mip: bool
    parts: int = 1


def solve(
    model: CommunityLp, time_limit_s: float = 600.0, threads: int = 1, split: bool = True
) -> Solution:
    """Solve ``model`` to optimality.

    Parameters
    ----------
    model : CommunityLp
        From :func:`v2b.community.lp.build_lp`.
    time_limit_s : float
        HiGHS time limit per solve [s].
    threads : int
        HiGHS threads.
    split : bool
        Solve :func:`~v2b.opt.parts.independent_parts` one by one (same optimum);
        False: one solve.

    Raises
    ------
    SolveError
        If HiGHS does not report an optimal solution.
    """
    start = time.perf_counter()
    lp = model.lp
    parts = independent_parts(lp.matrix, PART_COLUMNS) if split else [whole(lp.matrix)]
    x, row_dual = np.zeros(lp.n_cols), np.zeros(lp.n_rows)
    for part in parts:
        # A fresh solver per part: nothing of one part's solve carries over to the next.
        solver = HighsSolver({"threads": int(threads), "mip_rel_gap": MIP_REL_GAP})
        result = solver.solve_with_duals(lp.restrict(part.cols, part.rows), time_limit_s)
        if not result.optimal:
            raise SolveError(
                f"HiGHS stopped with status '{result.status}'; the community model must be "
                "feasible and bounded (check that export tariffs do not pay more than "
                "imports cost, or use exclusivity='auto')"
            )
        x[part.cols], row_dual[part.rows] = result.x, result.row_dual
    return Solution(
        x=x,
        row_dual=row_dual,
        objective_eur=float(lp.cost @ x + lp.offset),
        solve_s=time.perf_counter() - start,
        mip=lp.is_mip,
        parts=len(parts),
    )
