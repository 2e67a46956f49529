"""Independent parts of a sparse LP: groups of columns and rows that share no constraint.

Solving the parts one by one gives the same optimum as one solve of the whole
model, and is faster when the model falls apart (e.g. days without an EV parked
over midnight, or buildings under individual management).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class Part:
    """One independent piece of a model: its column and row indices in the whole model."""

    cols: np.ndarray
    rows: np.ndarray


def whole(matrix: sp.spmatrix) -> Part:
    """The whole model as one part."""
    n_rows, n_cols = matrix.shape
    return Part(np.arange(n_cols), np.arange(n_rows))


def independent_parts(matrix: sp.spmatrix, min_columns: int = 1) -> list[Part]:
    """Groups of columns and rows of ``matrix`` that share no constraint with the rest.

    Connected components of the bipartite row-column graph, packed in column-label
    order into parts of at least ``min_columns`` columns, so that many tiny
    components do not cost one solver call each (the last part may be smaller).
    A row without any entry goes to the first part; an empty column is a
    component of its own.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        Constraint matrix, shape (rows, columns).
    min_columns : int
        Smallest number of columns per part [-]; 1 keeps every component apart.
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
    # Python loop over components (not variables): at most one per building-day.
    for label in np.unique(col_label):
        if filled >= min_columns:
            part, filled = part + 1, 0
        part_of_label[label] = part
        filled += sizes[label]
    col_part, row_part = part_of_label[col_label], part_of_label[row_label]
    return [
        Part(np.flatnonzero(col_part == k), np.flatnonzero(row_part == k))
        for k in range(part + 1)
    ]
