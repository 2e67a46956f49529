"""Stacking the blocks into one sparse LP (CONSENT Eq. 4 as a linear program)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from v2b.opt import blocks
from v2b.opt.aggregate import aggregate_costs, aggregate_layout, aggregate_rows
from v2b.opt.layout import Layout, build_layout
from v2b.opt.problem import ChargingProblem
from v2b.opt.rows import RowBlock


@dataclass
class LinearProgram:
    """``min cost @ x + offset`` s.t. ``row_lower <= A x <= row_upper``, bounds on ``x``.

    ``integrality`` (1 = integer) is set only for the MILP mode.
    """

    cost: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    matrix: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    integrality: np.ndarray | None = None
    row_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return int(self.cost.size)

    @property
    def n_rows(self) -> int:
        return int(self.row_lower.size)


def stack(
    row_blocks: list[RowBlock],
    cost: np.ndarray,
    offset: float,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
) -> LinearProgram:
    """One CSC matrix from row blocks, in order."""
    starts = np.cumsum([0] + [b.n_rows for b in row_blocks])
    rows = np.concatenate([b.row + s for b, s in zip(row_blocks, starts[:-1], strict=True)])
    cols = np.concatenate([b.col for b in row_blocks])
    vals = np.concatenate([b.val for b in row_blocks])
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(int(starts[-1]), cost.size))
    return LinearProgram(
        cost=cost,
        offset=offset,
        col_lower=col_lower,
        col_upper=col_upper,
        matrix=matrix,
        row_lower=np.concatenate([b.lower for b in row_blocks]),
        row_upper=np.concatenate([b.upper for b in row_blocks]),
        row_ranges={
            b.name: (int(s), int(s + b.n_rows))
            for b, s in zip(row_blocks, starts[:-1], strict=True)
        },
    )


def assemble(problem: ChargingProblem) -> tuple[LinearProgram, Layout]:
    """The LP of ``problem`` and where its variables are."""
    lay = build_layout(problem)
    energy, offset = blocks.tou_energy_cost(problem, lay)
    cost = (
        energy
        + blocks.degradation_cost(problem, lay)
        + blocks.shortfall_cost(problem, lay)
        + blocks.demand_charge_cost(problem, lay)
    )
    lower, upper = lay.col_lower.copy(), lay.col_upper.copy()
    extra_rows: list[RowBlock] = []
    alay = None
    agg = problem.future_aggregate
    if agg is not None:
        alay = aggregate_layout(agg, lay.n_cols)
        extra_rows = aggregate_rows(problem.grid, agg, alay)
        agg_cost = aggregate_costs(problem.grid, problem.price_per_kwh, problem.scenario_weight,
                                   problem.soc_penalty_usd_per_kwh, problem.degradation_usd_per_kwh,
                                   alay, lay.n_cols)
        cost = np.concatenate([cost, agg_cost])
        lower = np.concatenate([lower, alay.col_lower])
        upper = np.concatenate([upper, alay.col_upper])
    rows = [
        blocks.energy_balance(problem, lay),
        blocks.charge_curve(problem, lay),
        blocks.departure_shortfall(problem, lay),
        blocks.peak_power(problem, lay, alay),
        blocks.no_export(problem, lay, alay),
        *extra_rows,
    ]
    return stack(rows, cost, offset, lower, upper), lay
