"""The LP's named pieces: a family of columns (:class:`Columns`), a family of rows as sparse
triplets (:class:`RowBlock`, what every constraint function returns), an optional term
(:class:`Term`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Columns:
    """A named family of LP columns: the column of each *owner* (a (unit, block) pair, a unit,
    a scenario...) that has one. Owners without one simply are not listed."""

    name: str
    owners: np.ndarray
    cols: np.ndarray

    @classmethod
    def where(cls, name: str, has: np.ndarray, first_col: int) -> Columns:
        """Consecutive columns from ``first_col`` for the owners where ``has`` is set."""
        owners = np.flatnonzero(has)
        return cls(name, owners, first_col + np.arange(owners.size))

    @property
    def size(self) -> int:
        return int(self.owners.size)

    def pick(self, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``owners`` have a column (positions into ``owners``) and those columns."""
        owners = np.asarray(owners)
        pos = np.searchsorted(self.owners, owners)
        pos = np.minimum(pos, max(self.owners.size - 1, 0))
        ok = np.flatnonzero(self.owners[pos] == owners) if self.owners.size else np.zeros(0, dtype=int)
        return ok, self.cols[pos[ok]]

    def at(self, owners: np.ndarray) -> np.ndarray:
        """The columns of ``owners``, each of which must have one."""
        ok, cols = self.pick(owners)
        if ok.size != np.size(owners):
            missing = np.size(owners) - ok.size
            raise ValueError(f"{missing} of the owners asked for have no {self.name} column")
        return cols


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
    """Rows from (row, column, value) parts; every column must exist (a family's absent
    columns are left out by :meth:`Columns.pick`, not marked)."""
    rows, cols, vals = (np.concatenate([p[i] for p in parts]) for i in range(3))
    if cols.size and cols.min() < 0:
        raise ValueError(f"row family {name!r} refers to column {int(cols.min())}")
    return RowBlock(name, rows, cols, vals, lower, upper)
