"""Solve a :class:`~v2b.community.lp.CommunityLp` with HiGHS (``highspy``), one ``passModel`` per part.

The model often falls apart into independent parts: days are independent when no
EV stays parked over midnight, and under individual management so is every
building. :func:`independent_parts` finds them from the sparsity pattern
(connected components of the row-column graph); solving them one by one gives the
same optimum as one solve of the whole model, faster. A MILP part (direction
binaries, Eqs. 10-11) is solved first, then its binaries are fixed and the LP
solved again for the row duals the market clearing needs (a MILP has none).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from v2b.community.lp import CommunityLp

PART_COLUMNS = 20_000


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


def _set(highs: highspy.Highs, name: str, value: object) -> None:
    # HiGHS ignores an unknown option or a bad value after returning kError; fail loudly.
    status = highs.setOptionValue(name, value)
    if status != highspy.HighsStatus.kOk:
        raise SolveError(f"HiGHS rejected option {name}={value!r} (status {status})")


def _highs(time_limit_s: float, threads: int) -> highspy.Highs:
    highs = highspy.Highs()
    _set(highs, "output_flag", False)
    _set(highs, "time_limit", float(time_limit_s))
    _set(highs, "threads", int(threads))
    _set(highs, "mip_rel_gap", 1e-9)
    return highs


@dataclass(frozen=True)
class _Part:
    """One independent piece of a model: its columns and rows in the whole model."""

    cols: np.ndarray
    rows: np.ndarray


def independent_parts(matrix: sp.csc_matrix, min_columns: int = PART_COLUMNS) -> list[_Part]:
    """Groups of columns and rows that share no constraint with the rest [-].

    Connected components of the bipartite row-column graph, packed in order into
    parts of at least ``min_columns`` columns so that many tiny components (one
    building-day each) do not cost one HiGHS call each.
    """
    n_rows, n_cols = matrix.shape
    coo = matrix.tocoo()
    graph = sp.coo_matrix(
        (np.ones(coo.nnz), (coo.row, n_rows + coo.col)), shape=(n_rows + n_cols,) * 2
    )
    _, labels = connected_components(graph, directed=False)
    row_label, col_label = labels[:n_rows], labels[n_rows:]
    sizes = np.bincount(col_label, minlength=labels.max() + 1)
    part_of_label = np.zeros(sizes.shape[0], dtype=int)
    part, filled = 0, 0
    for label in np.unique(col_label):
        if filled >= min_columns:
            part, filled = part + 1, 0
        part_of_label[label] = part
        filled += sizes[label]
    col_part, row_part = part_of_label[col_label], part_of_label[row_label]
    return [
        _Part(np.flatnonzero(col_part == k), np.flatnonzero(row_part == k))
        for k in range(part + 1)
    ]


def _to_highs_lp(
    cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, matrix: sp.csc_matrix,
    row_lower: np.ndarray, row_upper: np.ndarray, integer: np.ndarray | None,
) -> highspy.HighsLp:
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = cost.shape[0]
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = np.where(np.isinf(upper), inf, upper)
    lp.row_lower_ = np.where(np.isinf(row_lower), -inf, row_lower)
    lp.row_upper_ = np.where(np.isinf(row_upper), inf, row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    if integer is not None and integer.any():
        kinds = np.where(integer, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous)
        lp.integrality_ = list(kinds)
    return lp


def _run(highs: highspy.Highs, lp: highspy.HighsLp) -> np.ndarray:
    if highs.passModel(lp) != highspy.HighsStatus.kOk:
        raise SolveError("HiGHS rejected the model (passModel)")
    highs.run()
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolveError(
            f"HiGHS stopped with status '{highs.modelStatusToString(status)}'; the community "
            "model must be feasible and bounded (check that export tariffs do not pay more "
            "than imports cost, or use exclusivity='auto')"
        )
    return np.asarray(highs.getSolution().col_value)


def _solve_part(
    model: CommunityLp, part: _Part, integer: np.ndarray, time_limit_s: float, threads: int
) -> tuple[np.ndarray, np.ndarray]:
    matrix = model.matrix[part.rows][:, part.cols].tocsc()
    cost = model.cost[part.cols]
    lower, upper = model.col_lower[part.cols], model.col_upper[part.cols].copy()
    row_lower, row_upper = model.row_lower[part.rows], model.row_upper[part.rows]
    integer = integer[part.cols]
    highs = _highs(time_limit_s, threads)
    x = _run(highs, _to_highs_lp(cost, lower, upper, matrix, row_lower, row_upper, integer))
    if integer.any():
        lower = lower.copy()
        lower[integer] = upper[integer] = np.round(x[integer])
        highs = _highs(time_limit_s, threads)
        x = _run(highs, _to_highs_lp(cost, lower, upper, matrix, row_lower, row_upper, None))
    return x, np.asarray(highs.getSolution().row_dual)


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
        Solve :func:`independent_parts` one by one (same optimum); False: one solve.

    Raises
    ------
    SolveError
        If HiGHS does not report an optimal solution.
    """
    start = time.perf_counter()
    n_rows, n_cols = model.matrix.shape
    integer = np.zeros(n_cols, dtype=bool)
    integer[model.layout.cols("direction")] = True
    parts = (
        independent_parts(model.matrix) if split
        else [_Part(np.arange(n_cols), np.arange(n_rows))]
    )
    x, row_dual = np.zeros(n_cols), np.zeros(n_rows)
    for part in parts:
        x[part.cols], row_dual[part.rows] = _solve_part(
            model, part, integer, time_limit_s, threads
        )
    return Solution(
        x=x,
        row_dual=row_dual,
        objective_eur=float(model.cost @ x + model.offset),
        solve_s=time.perf_counter() - start,
        mip=model.is_mip,
        parts=len(parts),
    )
