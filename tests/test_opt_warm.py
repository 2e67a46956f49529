"""Warm-start keys name every variable uniquely, or refuse."""

from __future__ import annotations

import numpy as np
import pytest

from v2b.control.mpc_options import MpcOptionError, MpcOptions
from v2b.opt.warm import MAX_SCENARIO_SETS, WarmKeyError, _key


def test_keys_are_unique_over_the_whole_range():
    scen = np.array([0, 1, MAX_SCENARIO_SETS - 1, 0, 0])
    ident = np.array([5, 5, 5, (1 << 33) - 1, 5])
    slot = np.array([0, 0, 0, 0, (1 << 14) - 1])
    keys = _key(np.array([0, 0, 0, 0, 4]), scen, ident, slot)
    assert np.unique(keys).size == keys.size


@pytest.mark.parametrize("scenario,slot", [(MAX_SCENARIO_SETS, 0), (-1, 0), (0, 1 << 14)])
def test_values_that_would_collide_are_refused(scenario, slot):
    # scenario set 2048 would have wrapped onto set 0 (and slot 16384 onto slot 0)
    with pytest.raises(WarmKeyError, match="warm start cannot name"):
        _key(0, np.array([scenario]), np.array([1]), np.array([slot]))


def test_too_many_scenario_sets_with_warm_starts_is_an_option_error():
    with pytest.raises(MpcOptionError, match="warm_start"):
        MpcOptions.from_dict({"warm_start": True, "scenarios": 2047, "recourse_bundles": 5})
    MpcOptions.from_dict({"warm_start": False, "scenarios": 2047, "recourse_bundles": 5})
