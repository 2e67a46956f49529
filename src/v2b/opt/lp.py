"""Stacking the blocks into one sparse LP (CONSENT Eq. 4 as a linear program)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from v2b.opt import blocks
from v2b.opt.aggregate import aggregate_costs, aggregate_layout, aggregate_rows
from v2b.opt.layout import Layout, build_layout
from v2b.opt.problem import ChargingProblem
from v2b.opt.rows import RowBlock, Term


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
    #: the columns of each optional term (``TERMS``), ``[start, end)``
    col_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return int(self.cost.size)

    @property
    def n_rows(self) -> int:
        return int(self.row_lower.size)

    @property
    def is_mip(self) -> bool:
        """Whether some column is integer."""
        return self.integrality is not None and bool(np.any(self.integrality))

    def restrict(self, cols: np.ndarray, rows: np.ndarray) -> LinearProgram:
        """The sub-problem on columns ``cols`` and rows ``rows`` (indices into this LP).

        Meant for a part that shares no row with the rest (:mod:`v2b.opt.parts`),
        whose optimum is then the restriction of this LP's optimum. The constant
        offset stays with the whole model (the part's is 0) and ``row_ranges`` are dropped.
        """
        return LinearProgram(
            cost=self.cost[cols],
            offset=0.0,
            col_lower=self.col_lower[cols],
            col_upper=self.col_upper[cols],
            matrix=self.matrix[rows][:, cols].tocsc(),
            row_lower=self.row_lower[rows],
            row_upper=self.row_upper[rows],
            integrality=None if self.integrality is None else self.integrality[cols],
        )

    def with_integers_fixed(self, x: np.ndarray) -> LinearProgram:
        """This LP with every integer column fixed at ``round(x)`` and no integrality.

        Solving it after the MILP gives the row duals of the MILP optimum's LP
        (a MILP has none), e.g. market-clearing prices.
        """
        if not self.is_mip:
            return self
        integer = self.integrality != 0
        lower, upper = self.col_lower.copy(), self.col_upper.copy()
        lower[integer] = upper[integer] = np.round(np.asarray(x)[integer])
        return replace(self, col_lower=lower, col_upper=upper, integrality=None)


def stack(
    row_blocks: list[RowBlock],
    cost: np.ndarray,
    offset: float,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    integrality: np.ndarray | None = None,
) -> LinearProgram:
    """One CSC matrix from row blocks, in order; ``integrality`` as in :class:`LinearProgram`."""
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
        integrality=integrality,
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
    term_cols: dict[str, tuple[int, int]] = {}
    for name, applies, build in TERMS:
        if not applies(problem):
            continue
        term = build(problem, lay, alay, cost.size)
        if term.cost_before is not None:
            cost = cost + term.cost_before
        term_cols[name] = (cost.size, cost.size + term.cost.size)
        cost = np.concatenate([cost, term.cost])
        lower = np.concatenate([lower, term.lower])
        upper = np.concatenate([upper, term.upper])
        offset += term.offset
        extra_rows = [*extra_rows, term.rows]
    rows = [
        blocks.energy_balance(problem, lay),
        blocks.charge_curve(problem, lay),
        blocks.departure_shortfall(problem, lay),
        blocks.peak_power(problem, lay, alay),
        blocks.no_export(problem, lay, alay),
        blocks.site_limit(problem, lay, alay),
        *extra_rows,
    ]
    lp = stack(rows, cost, offset, lower, upper)
    lp.col_ranges = term_cols
    return lp, lay


#: The LP's optional terms, in column order: a name, when the problem needs it, and the
#: function that builds it (``v2b.opt.blocks``; ``docs/model.md``, "Where a tariff feature
#: lives"). A new tariff feature adds its field to ``ChargingProblem``, one function in
#: ``blocks`` and one line here.
TERMS: tuple[tuple[str, Callable[[ChargingProblem], bool], Callable[..., Term]], ...] = (
    ("window_peaks", lambda p: p.window_usd_per_kw.size > 0, blocks.window_peaks),
    ("surplus_energy", lambda p: bool((p.load_kw < 0).any()), blocks.surplus_energy),
    ("dr_overflow", lambda p: bool(p.dr_penalty_per_kwh.any()), blocks.dr_overflow),
    ("coming_slot_excess", lambda p: p.coming_load_kw is not None, blocks.coming_slot_excess),
    ("rest_of_month_unmet", lambda p: p.rest_unmet_cuts is not None, blocks.rest_of_month_unmet),
)
