"""Time the community model at scale: B buildings x D days in one LP.

The data are the synthetic scenario (:func:`v2b.community.synthetic.synthetic_inputs`)
with each building on its own run of weekdays from March 2023 onwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from v2b.community.lp import build_lp
from v2b.community.solver import solve
from v2b.community.synthetic import ScenarioSpec, bench_dates, synthetic_inputs


@dataclass(frozen=True)
class BenchResult:
    """Sizes and wall times of one benchmark run [s]."""

    buildings: int
    days: int
    slot_minutes: int
    community: bool
    ev_sessions: int
    columns: int
    rows: int
    nonzeros: int
    binaries: int
    parts: int
    data_s: float
    build_s: float
    solve_s: float
    objective_eur: float

    @property
    def total_s(self) -> float:
        """Model build plus solve (what the speed target counts) [s]."""
        return self.build_s + self.solve_s


def run_bench(
    buildings: int, days: int, slot_minutes: int = 60, seed: int = 1, community: bool = True,
    spec: ScenarioSpec | None = None, split: bool = True,
) -> BenchResult:
    """Generate a B x D community, then build and solve it once, timing each step.

    Parameters
    ----------
    buildings, days : int
        Community size and horizon.
    slot_minutes : int
        Slot length [min].
    seed : int
        Seed of the synthetic data.
    community : bool
        Community (True) or individual (False) management.
    spec : ScenarioSpec, optional
        Scenario parameters (the paper's by default).
    split : bool
        Solve independent parts one by one (default) or the whole model in one HiGHS call.
    """
    start = time.perf_counter()
    inputs = synthetic_inputs(
        spec or ScenarioSpec(), seed, slot_minutes, bench_dates(buildings, days)
    )
    data_s = time.perf_counter() - start
    start = time.perf_counter()
    model = build_lp(inputs, community)
    build_s = time.perf_counter() - start
    solution = solve(model, split=split)
    return BenchResult(
        buildings=buildings, days=days, slot_minutes=slot_minutes, community=community,
        ev_sessions=len(inputs.evs), columns=model.layout.n_cols, rows=model.lp.n_rows,
        nonzeros=int(model.lp.matrix.nnz), binaries=int(model.layout.direction_cells.shape[0]),
        parts=solution.parts,
        data_s=data_s, build_s=build_s, solve_s=solution.solve_s,
        objective_eur=solution.objective_eur,
    )
