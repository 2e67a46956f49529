"""The LP's named pieces: column families list the owners that have a column, nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from v2b.opt.rows import Columns, block


def test_a_family_finds_the_columns_of_the_owners_that_have_one():
    discharge = Columns.where("discharge", np.array([False, True, False, True, True]), 10)
    assert discharge.owners.tolist() == [1, 3, 4] and discharge.cols.tolist() == [10, 11, 12]
    positions, cols = discharge.pick(np.array([0, 4, 1, 2]))
    assert positions.tolist() == [1, 2] and cols.tolist() == [12, 10]
    assert discharge.at(np.array([3, 1])).tolist() == [11, 10]
    with pytest.raises(ValueError, match="1 of the owners asked for have no discharge column"):
        discharge.at(np.array([1, 2]))
    empty = Columns.where("none", np.zeros(3, dtype=bool), 0)
    assert empty.pick(np.array([0, 1]))[0].size == 0


def test_a_row_family_refuses_a_column_that_does_not_exist():
    r = np.arange(2)
    with pytest.raises(ValueError, match="'balance' refers to column -1"):
        block("balance", [(r, np.array([0, -1]), np.ones(2))], np.zeros(2), np.zeros(2))
