"""A live HiGHS instance: load an LP, solve within a time budget, change it, re-solve.

Every option set is checked: HiGHS returns an error status for an unknown
option or value and otherwise ignores it silently. Changing bounds, costs or
row bounds of the loaded model keeps HiGHS's basis, so the next solve is warm.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from v2b.opt.lp import LinearProgram

_OK = highspy.HighsStatus.kOk
_MODEL = highspy.HighsModelStatus
#: How HiGHS names a solve stopped by its time limit (``modelStatusToString``).
TIME_LIMIT_STATUS = "Time limit reached"


_FIRST = threading.Lock()
_banner_shown = False


@contextmanager
def _stdout_discarded():
    """Discard what C code writes to standard output meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def new_highs() -> highspy.Highs:
    """A HiGHS object. The first one of a process prints HiGHS's banner (highspy 1.16 does
    it in the constructor, before any option can silence it); it is discarded, so that
    standard output stays the program's (e.g. ``v2b offer --json``) and every worker
    process of ``v2b compare`` does not repeat it."""
    global _banner_shown
    with _FIRST:
        if _banner_shown:
            return highspy.Highs()
        with _stdout_discarded():
            h = highspy.Highs()
        _banner_shown = True
        return h


class SolverSetupError(RuntimeError):
    """HiGHS refused an option or a model (a bug, not a hard instance)."""


@dataclass(frozen=True)
class LpResult:
    """Outcome of one solve.

    ``optimal`` is true only for HiGHS's ``kOptimal``; ``x`` and ``objective``
    are then the solution (objective includes the LP's constant offset).
    ``row_dual`` (per row, objective units per row unit) is filled only when
    asked for and the model is an optimal LP.
    """

    status: str
    optimal: bool
    x: np.ndarray | None
    objective: float
    seconds: float
    iterations: int
    row_dual: np.ndarray | None = None

    @property
    def timed_out(self) -> bool:
        """The solve stopped at its time limit."""
        return self.status == TIME_LIMIT_STATUS


DEFAULT_OPTIONS: dict[str, Any] = {
    "output_flag": False,
    "threads": 1,
    "random_seed": 0,
}


class HighsSolver:
    """One HiGHS object kept alive across solves.

    Parameters
    ----------
    options : dict, optional
        Extra HiGHS options (checked); e.g. ``{"presolve": "off"}``.
    """

    def __init__(self, options: dict[str, Any] | None = None):
        self._h = new_highs()
        self._loaded = False
        for name, value in {**DEFAULT_OPTIONS, **(options or {})}.items():
            self.set_option(name, value)

    def set_option(self, name: str, value: Any) -> None:
        """Set a HiGHS option; raise :class:`SolverSetupError` if HiGHS rejects it."""
        status = self._h.setOptionValue(name, value)
        if status != _OK:
            raise SolverSetupError(f"HiGHS rejected option {name}={value!r} (status {status})")

    @property
    def highs(self) -> highspy.Highs:
        return self._h

    def load(self, lp: LinearProgram) -> None:
        """Replace the model by ``lp`` (drops any basis)."""
        m = lp.matrix
        integrality = (
            np.zeros(lp.n_cols, dtype=np.int32)
            if lp.integrality is None
            else lp.integrality.astype(np.int32)
        )
        self._h.clearSolver()
        status = self._h.passModel(
            lp.n_cols,
            lp.n_rows,
            int(m.nnz),
            1,  # column-wise
            1,  # minimise
            float(lp.offset),
            lp.cost.astype(float),
            lp.col_lower.astype(float),
            lp.col_upper.astype(float),
            lp.row_lower.astype(float),
            lp.row_upper.astype(float),
            m.indptr.astype(np.int32),
            m.indices.astype(np.int32),
            m.data.astype(float),
            integrality,
        )
        if status == highspy.HighsStatus.kError:
            raise SolverSetupError(f"HiGHS rejected a model with {lp.n_cols} columns, {lp.n_rows} rows")
        self._loaded = True

    def run(self, time_limit_s: float | None = None, row_duals: bool = False) -> LpResult:
        """Solve the loaded model, warm from the current basis if there is one.

        ``row_duals``: also return the row duals (an optimal LP only; a MILP has none,
        see :meth:`solve_with_duals`).
        """
        self.set_option("time_limit", float(time_limit_s) if time_limit_s else np.inf)
        start = time.perf_counter()
        run_status = self._h.run()
        seconds = time.perf_counter() - start
        model_status = self._h.getModelStatus()
        info = self._h.getInfo()
        optimal = run_status != highspy.HighsStatus.kError and model_status == _MODEL.kOptimal
        solution = self._h.getSolution() if optimal else None
        x = np.asarray(solution.col_value) if optimal else None
        row_dual = (
            np.asarray(solution.row_dual)
            if optimal and row_duals and solution.dual_valid
            else None
        )
        return LpResult(
            status=self._h.modelStatusToString(model_status),
            optimal=optimal,
            x=x,
            objective=float(info.objective_function_value) if optimal else np.nan,
            seconds=seconds,
            iterations=int(max(info.simplex_iteration_count, 0)),
            row_dual=row_dual,
        )

    def solve(
        self, lp: LinearProgram, time_limit_s: float | None = None, row_duals: bool = False
    ) -> LpResult:
        """Load ``lp`` and solve it (cold); ``row_duals`` as in :meth:`run`."""
        self.load(lp)
        return self.run(time_limit_s, row_duals)

    def solve_with_duals(self, lp: LinearProgram, time_limit_s: float | None = None) -> LpResult:
        """Solve ``lp`` and return its row duals, also for a MILP.

        A MILP is solved first; its integers are then fixed at the optimum
        (:meth:`LinearProgram.with_integers_fixed`) and the LP solved again: its
        ``x`` and ``row_dual`` are returned (same objective, up to tolerances).
        ``time_limit_s`` applies to each solve [s]. A non-optimal MILP result is
        returned as is, without duals.
        """
        result = self.solve(lp, time_limit_s, row_duals=not lp.is_mip)
        if not lp.is_mip or not result.optimal:
            return result
        return self.solve(lp.with_integers_fixed(result.x), time_limit_s, row_duals=True)

    def set_basis(self, basis: highspy.HighsBasis) -> bool:
        """Start the next solve from ``basis`` (an alien one is completed by HiGHS).

        Returns whether HiGHS accepted it; a refused basis means a cold start.
        """
        return self._h.setBasis(basis) != highspy.HighsStatus.kError

    def change_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self._check(
            self._h.changeColsBounds(cols.size, cols, np.asarray(lower, float), np.asarray(upper, float))
        )

    def change_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        self._check(
            self._h.changeRowsBounds(rows.size, rows, np.asarray(lower, float), np.asarray(upper, float))
        )

    def change_costs(self, cols: np.ndarray, cost: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self._check(self._h.changeColsCost(cols.size, cols, np.asarray(cost, float)))

    def add_row(self, lower: float, upper: float, cols: np.ndarray, values: np.ndarray) -> int:
        """Append one row ``lower <= values @ x[cols] <= upper`` to the loaded model;
        returns its index (the basis is kept: the new row's slack is basic)."""
        cols = np.asarray(cols, dtype=np.int32)
        self._check(self._h.addRow(float(lower), float(upper), cols.size, cols,
                                   np.asarray(values, dtype=float)))
        return int(self._h.getNumRow()) - 1

    def change_offset(self, offset: float) -> None:
        self._check(self._h.changeObjectiveOffset(float(offset)))

    @staticmethod
    def _check(status: highspy.HighsStatus) -> None:
        if status == highspy.HighsStatus.kError:
            raise SolverSetupError(f"HiGHS refused a model change (status {status})")
