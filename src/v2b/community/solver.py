"""Solve a :class:`~v2b.community.lp.CommunityLp` with HiGHS (``highspy``) in one ``passModel``.

A MILP (direction binaries, Eqs. 10-11) is solved first; its binaries are then
fixed and the remaining LP solved again, which gives the row duals the market
clearing needs (a MILP has none).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from v2b.community.lp import CommunityLp


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
    """

    x: np.ndarray
    row_dual: np.ndarray
    objective_eur: float
    solve_s: float
    mip: bool


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


def _to_highs_lp(
    model: CommunityLp, lower: np.ndarray, upper: np.ndarray, integer: bool
) -> highspy.HighsLp:
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = model.layout.n_cols
    lp.num_row_ = model.matrix.shape[0]
    lp.col_cost_ = model.cost
    lp.offset_ = model.offset
    lp.col_lower_ = lower
    lp.col_upper_ = np.where(np.isinf(upper), inf, upper)
    lp.row_lower_ = np.where(np.isinf(model.row_lower), -inf, model.row_lower)
    lp.row_upper_ = np.where(np.isinf(model.row_upper), inf, model.row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = model.matrix.indptr
    lp.a_matrix_.index_ = model.matrix.indices
    lp.a_matrix_.value_ = model.matrix.data
    if integer:
        kinds = np.full(lp.num_col_, highspy.HighsVarType.kContinuous)
        kinds[model.layout.cols("direction")] = highspy.HighsVarType.kInteger
        lp.integrality_ = list(kinds)
    return lp


def _run(highs: highspy.Highs, lp: highspy.HighsLp) -> None:
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


def solve(model: CommunityLp, time_limit_s: float = 600.0, threads: int = 1) -> Solution:
    """Solve ``model`` to optimality.

    Parameters
    ----------
    model : CommunityLp
        From :func:`v2b.community.lp.build_lp`.
    time_limit_s : float
        HiGHS time limit per solve [s].
    threads : int
        HiGHS threads.

    Raises
    ------
    SolveError
        If HiGHS does not report an optimal solution.
    """
    highs = _highs(time_limit_s, threads)
    start = time.perf_counter()
    _run(highs, _to_highs_lp(model, model.col_lower, model.col_upper, model.is_mip))
    x = np.asarray(highs.getSolution().col_value)
    if model.is_mip:
        cols = model.layout.cols("direction")
        lower, upper = model.col_lower.copy(), model.col_upper.copy()
        lower[cols] = upper[cols] = np.round(x[cols])
        highs = _highs(time_limit_s, threads)
        _run(highs, _to_highs_lp(model, lower, upper, integer=False))
        x = np.asarray(highs.getSolution().col_value)
    solution = highs.getSolution()
    return Solution(
        x=x,
        row_dual=np.asarray(solution.row_dual),
        objective_eur=float(highs.getInfo().objective_function_value),
        solve_s=time.perf_counter() - start,
        mip=model.is_mip,
    )
