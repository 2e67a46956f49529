"""The shared HiGHS layer: row duals on request, MILP-then-fixed-LP duals, independent parts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from v2b.opt.highs import HighsSolver
from v2b.opt.lp import LinearProgram
from v2b.opt.parts import independent_parts, whole


def _lp(cost, lower, upper, dense, row_lower, row_upper, integrality=None, offset=0.0):
    return LinearProgram(
        cost=np.asarray(cost, float), offset=offset,
        col_lower=np.asarray(lower, float), col_upper=np.asarray(upper, float),
        matrix=sp.csc_matrix(np.asarray(dense, float)),
        row_lower=np.asarray(row_lower, float), row_upper=np.asarray(row_upper, float),
        integrality=None if integrality is None else np.asarray(integrality, np.int32),
    )


def cover(integer: bool) -> LinearProgram:
    """min x + 3 y + 1 s.t. x + y >= 1.5, x in [0, 1], y in [0, 2] (integer if asked).

    LP optimum x = 1, y = 0.5 (objective 3.5); MILP optimum x = 0.5, y = 1 (objective 4.5),
    where the row's dual is 1 (one more unit of cover costs one more x).
    """
    return _lp([1, 3], [0, 0], [1, 2], [[1, 1]], [1.5], [np.inf],
               integrality=[0, 1] if integer else None, offset=1.0)


def test_row_duals_only_on_request():
    solver = HighsSolver()
    plain = solver.solve(cover(integer=False))
    assert plain.optimal and plain.row_dual is None
    with_duals = solver.solve(cover(integer=False), row_duals=True)
    assert with_duals.x == pytest.approx([1.0, 0.5])
    assert with_duals.objective == pytest.approx(3.5)
    assert with_duals.row_dual == pytest.approx([3.0])


def test_milp_duals_come_from_the_lp_with_integers_fixed():
    milp = cover(integer=True)
    assert milp.is_mip and not cover(integer=False).is_mip
    solver = HighsSolver({"mip_rel_gap": 1e-9})
    assert solver.solve(milp, row_duals=True).row_dual is None  # a MILP has no duals
    result = solver.solve_with_duals(milp, time_limit_s=10.0)
    assert result.optimal
    assert result.x == pytest.approx([0.5, 1.0])
    assert result.objective == pytest.approx(4.5)
    assert result.row_dual == pytest.approx([1.0])
    fixed = milp.with_integers_fixed(np.array([0.5, 0.9999999]))
    assert not fixed.is_mip
    assert (fixed.col_lower[1], fixed.col_upper[1]) == (1.0, 1.0)
    assert milp.col_upper[1] == 2.0  # the original is untouched
    lp = cover(integer=False)
    assert lp.with_integers_fixed(np.zeros(2)) is lp


def test_infeasible_milp_is_returned_without_a_second_solve():
    milp = _lp([1, 1], [0, 0], [1, 1], [[1, 1]], [3.0], [np.inf], integrality=[0, 1])
    result = HighsSolver().solve_with_duals(milp)
    assert not result.optimal and result.x is None and result.row_dual is None


def block_diagonal() -> LinearProgram:
    """Three independent two-column problems (each: min c.x s.t. x0 + x1 >= b, x <= 2)."""
    blocks = [sp.csc_matrix(np.ones((1, 2)))] * 3
    return _lp([1, 2, 3, 1, 2, 4], np.zeros(6), np.full(6, 2.0),
               sp.block_diag(blocks).toarray(), [1.0, 3.0, 2.5], np.full(3, np.inf))


def test_independent_parts_are_the_components_packed_to_a_minimum_size():
    lp = block_diagonal()
    parts = independent_parts(lp.matrix)
    assert [p.cols.tolist() for p in parts] == [[0, 1], [2, 3], [4, 5]]
    assert [p.rows.tolist() for p in parts] == [[0], [1], [2]]
    packed = independent_parts(lp.matrix, min_columns=4)
    assert [p.cols.tolist() for p in packed] == [[0, 1, 2, 3], [4, 5]]
    assert [p.rows.tolist() for p in packed] == [[0, 1], [2]]
    one = whole(lp.matrix)
    assert one.cols.tolist() == list(range(6)) and one.rows.tolist() == [0, 1, 2]


def test_solving_the_parts_one_by_one_gives_the_whole_optimum():
    lp = block_diagonal()
    full = HighsSolver().solve(lp, row_duals=True)
    x, dual = np.zeros(lp.n_cols), np.zeros(lp.n_rows)
    for part in independent_parts(lp.matrix):
        sub = lp.restrict(part.cols, part.rows)
        assert sub.offset == 0.0 and sub.n_cols == part.cols.size
        result = HighsSolver().solve(sub, row_duals=True)
        x[part.cols], dual[part.rows] = result.x, result.row_dual
    assert x == pytest.approx(full.x)
    assert dual == pytest.approx(full.row_dual)
    assert lp.cost @ x == pytest.approx(full.objective)
