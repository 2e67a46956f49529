"""A family of LP rows as sparse triplets (what every constraint function returns)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RowBlock:
    """Rows ``lower <= A x <= upper`` of one constraint family."""

    name: str
    row: np.ndarray
    col: np.ndarray
    val: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.lower.size)


@dataclass(frozen=True)
class Term:
    """One optional piece of the LP (a tariff feature, usually): its own columns (their cost
    and bounds), its rows, and what it changes in the cost of the columns before it and in the
    constant. :func:`v2b.opt.lp.assemble` appends its columns after those."""

    name: str
    rows: RowBlock
    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cost_before: np.ndarray | None = None
    offset: float = 0.0


def block(name: str, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
          lower: np.ndarray, upper: np.ndarray) -> RowBlock:
    """Rows from (row, column, value) parts; entries with column -1 (absent) are dropped."""
    rows, cols, vals = (np.concatenate([p[i] for p in parts]) for i in range(3))
    keep = cols >= 0
    return RowBlock(name, rows[keep], cols[keep], vals[keep], lower, upper)
