"""The perfect-foresight bound: its plan is what the engine plays, and nothing beats it."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import random_episode, tiny_site
from test_mpc import FAST, RandomSampler
from v2b.control.mpc import SmartCharging
from v2b.control.oracle import Oracle
from v2b.control.registry import make_policy
from v2b.opt.month import fcfs_assignment
from v2b.sim import simulate


@pytest.mark.parametrize("seed", range(3))
def test_oracle_bill_equals_its_lp_and_beats_every_causal_policy(seed):
    site = tiny_site(flat_curve=False)
    ep = random_episode(np.random.default_rng(seed), days=2, per_day=4)
    oracle = simulate(site, ep, Oracle(), seed=1).summary
    assert oracle["oracle_status"] == "Optimal"
    assert oracle["building_cost_usd"] == pytest.approx(oracle["oracle_objective_usd"], rel=1e-7)
    for name in ("uncontrolled", "edf", "llf"):
        other = simulate(site, ep, make_policy(name), seed=1).summary
        assert oracle["building_cost_usd"] <= other["building_cost_usd"] + 1e-6
    smart = simulate(site, ep, SmartCharging(), seed=1, futures=RandomSampler(), policy_options=FAST)
    assert oracle["building_cost_usd"] <= smart.summary["building_cost_usd"] + 1e-6


def test_oracle_uses_the_simulators_charger_assignment():
    site = tiny_site()
    ep = random_episode(np.random.default_rng(7), days=1, per_day=6)
    run = simulate(site, ep, Oracle(), seed=1)
    assigned = {s.session_id: site.charger_list[c].charger_id for s, c in fcfs_assignment(site, ep.sessions)}
    served = {r.session_id: r.charger_id for r in run.trace.sessions if not r.rejected}
    assert assigned == served


def test_oracle_needs_the_episode():
    from v2b.interface import PolicyContext

    with pytest.raises(ValueError, match="oracle_episode"):
        Oracle().reset(PolicyContext(tiny_site(), None, np.random.default_rng(0), 1))


def _sites():
    from test_min_charge import min_site

    three = tiny_site(flat_curve=False, chargers=[
        {"count": 1, "kind": "bidirectional", "max_kw": 11.0, "min_kw": -11.0, "min_charge_kw": 6.0},
        {"count": 2, "kind": "unidirectional", "max_kw": 11.0, "min_charge_kw": 6.0},
    ])
    mixed = tiny_site(flat_curve=False, chargers=[
        {"count": 1, "kind": "bidirectional", "max_kw": 10.0, "min_kw": -10.0},
        {"count": 1, "kind": "unidirectional", "max_kw": 7.0, "controllable": False},
    ])
    return {"tiny": tiny_site(flat_curve=False), "min-charge 4 kW": min_site(4.0),
            "three with 6 kW minimum": three, "one uncontrolled": mixed}


@pytest.mark.parametrize("site_name", list(_sites()))
@pytest.mark.parametrize("seed", range(2))
def test_the_oracle_is_a_bound_on_every_site(site_name, seed):
    site = _sites()[site_name]
    minimum = site.charger_arrays.min_charge_kw.max() > 0
    # MILP sites are slow to plan (an integer program every slot): one day there.
    ep = random_episode(np.random.default_rng(seed), days=1 if minimum else 2, per_day=4)
    oracle = simulate(site, ep, Oracle(), seed=1).summary
    assert oracle["oracle_status"] == "Optimal"
    assert oracle["building_cost_usd"] == pytest.approx(oracle["oracle_objective_usd"], rel=1e-6)
    assert oracle["oracle_mode"] == ("milp" if minimum else "lp")
    others = [(name, {}) for name in ("uncontrolled", "edf", "llf")]
    fast = {**FAST, "scenarios": 2} if minimum else FAST
    others += [("smart-free", {**fast, "load_info": info}) for info in ("measured", "paper")]
    others += [("mpc-expected", fast)]
    for name, options in others:
        other = simulate(site, ep, make_policy(name), seed=1, futures=RandomSampler(),
                         policy_options=options).summary
        assert oracle["building_cost_usd"] <= other["building_cost_usd"] + 1e-6, name
