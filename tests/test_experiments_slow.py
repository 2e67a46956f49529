"""Whole-month experiments (slow: run with ``python -m pytest -m slow``).

These check the claims of ``docs/results.md`` on full test months rather than
short episodes: the MC-MPC controller beats the heuristics and comes within a
few percent of the perfect-foresight bound, with either load information.
"""

from __future__ import annotations

import pytest

from v2b.experiments.runner import RunSpec, run_many
from v2b.experiments.table import with_oracle_gap

pytestmark = pytest.mark.slow

#: Largest gap to the oracle on test months 0 and 1 (docs/results.md, "Load information":
#: measured 0.26-0.45 % with the paper's information, 2.08-2.31 % with a meter's); with a
#: meter's, the bound is the 3 % issue 8 asks of the mean over ten months.
BOUND = {"paper": 0.03, "measured": 0.03}


@pytest.mark.parametrize("load_info", ["paper", "measured"])
def test_smart_beats_heuristics_and_nears_the_oracle_on_whole_months(load_info):
    policies = ("uncontrolled", "edf", "llf", "smart-free", "oracle")
    specs = [RunSpec("santa-clara-office", p, ep, seed=1, options={"load_info": load_info})
             for p in policies for ep in (0, 1)]
    summaries = with_oracle_gap(run_many(specs, workers=2))
    cost = {(s["policy"], s["episode"]): s["building_cost_usd"] for s in summaries}
    gap = {(s["policy"], s["episode"]): s["gap_to_oracle"] for s in summaries}
    for ep in (0, 1):
        for heuristic in ("uncontrolled", "edf", "llf"):
            assert cost[("smart-free", ep)] < cost[(heuristic, ep)]
        assert 0.0 <= gap[("smart-free", ep)] < BOUND[load_info]
    assert all(s["solver_failures"] == 0 for s in summaries if s["policy"] == "smart-free")
