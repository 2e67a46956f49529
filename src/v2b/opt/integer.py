"""MILP mode: on/off charging with a minimum power, and exclusive charge/discharge.

The LP never needs these (with losses and a degradation cost, charging and
discharging one battery in the same slot only loses money; ``tests/test_opt_milp.py``
checks that on generated cases). Sites whose hardware cannot charge below a
minimum power need the binaries: one per charge column, ``y = 1`` meaning
"charging", with ``pmin * y <= c <= c_max * y`` and ``d <= d_max * (1 - y)``.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from v2b.opt.charging import Plan, first_slot_setpoints
from v2b.opt.highs import HighsSolver
from v2b.opt.layout import Layout
from v2b.opt.lp import LinearProgram, assemble
from v2b.opt.problem import ChargingProblem


def add_on_off(lp: LinearProgram, lay: Layout, min_charge_kw: float | np.ndarray) -> LinearProgram:
    """``lp`` with one binary per charge column that needs one.

    Parameters
    ----------
    lp : LinearProgram
        The continuous problem.
    lay : Layout
        Its columns.
    min_charge_kw : float or ndarray
        Lowest non-zero charging power [kW], for all columns or per (unit, block)
        pair of ``lay``; 0 keeps only exclusivity.
    """
    cols_c, first = np.unique(lay.charge.cols, return_index=True)  # shared columns once
    owners = lay.charge.owners[first]
    bidirectional = np.zeros(cols_c.size, dtype=bool)
    with_d, cols_d = lay.discharge.pick(owners)
    bidirectional[with_d] = True
    c_max = lp.col_upper[cols_c]
    pmin = np.broadcast_to(np.asarray(min_charge_kw, dtype=float), lay.charge.cols.shape)[first]
    need = bidirectional | (pmin > 0)
    d_of = np.zeros(cols_c.size, dtype=int)
    d_of[with_d] = cols_d
    cols_c, bidirectional, d_of, c_max, pmin = (cols_c[need], bidirectional[need], d_of[need], c_max[need],
                                                pmin[need])
    n = cols_c.size
    y = lp.n_cols + np.arange(n)
    r = np.arange(n)
    rows, cols, vals = [r, r], [cols_c, y], [np.ones(n), -c_max]
    lower, upper = [np.full(n, -np.inf)], [np.zeros(n)]
    nxt = n
    if (pmin > 0).any():
        rows += [nxt + r, nxt + r]
        cols += [cols_c, y]
        vals += [np.ones(n), -np.minimum(pmin, c_max)]
        lower.append(np.zeros(n))
        upper.append(np.full(n, np.inf))
        nxt += n
    has_d = np.flatnonzero(bidirectional)
    d_max = lp.col_upper[d_of[has_d]]
    rd = nxt + np.arange(has_d.size)
    rows += [rd, rd]
    cols += [d_of[has_d], y[has_d]]
    vals += [np.ones(has_d.size), d_max]
    lower.append(np.full(has_d.size, -np.inf))
    upper.append(d_max)
    nxt += has_d.size
    extra = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(nxt, lp.n_cols + n),
    )
    matrix = sp.vstack([sp.hstack([lp.matrix, sp.csc_matrix((lp.n_rows, n))]), extra]).tocsc()
    integrality = np.concatenate([np.zeros(lp.n_cols, dtype=np.int32), np.ones(n, dtype=np.int32)])
    return LinearProgram(
        cost=np.concatenate([lp.cost, np.zeros(n)]),
        offset=lp.offset,
        col_lower=np.concatenate([lp.col_lower, np.zeros(n)]),
        col_upper=np.concatenate([lp.col_upper, np.ones(n)]),
        matrix=matrix,
        row_lower=np.concatenate([lp.row_lower, *lower]),
        row_upper=np.concatenate([lp.row_upper, *upper]),
        integrality=integrality,
        row_ranges={**lp.row_ranges, "on_off": (lp.n_rows, lp.n_rows + nxt)},
    )


def with_integers(
    problem: ChargingProblem,
    solver: HighsSolver,
    min_charge_kw: float | np.ndarray = 0.0,
    time_limit_s: float | None = None,
) -> Plan:
    """Assemble ``problem`` with :func:`add_on_off` and solve it as a MILP.

    ``min_charge_kw``: one value for all, or one per unit of ``problem`` (each unit's
    charger's own minimum).
    """
    start = time.perf_counter()
    lp, lay = assemble(problem)
    per_pair = np.asarray(min_charge_kw, dtype=float)
    if per_pair.ndim:
        per_pair = per_pair[lay.pair_unit]
    milp = add_on_off(lp, lay, per_pair)
    build = time.perf_counter() - start
    result = solver.solve(milp, time_limit_s)
    x = result.x[: lp.n_cols] if result.optimal else None
    setpoints = first_slot_setpoints(problem, lay, x) if x is not None else None
    return Plan(setpoints, result.objective, result, build, milp, lay)
