"""The site's connection limit: the engine never lets the site draw more, the controllers
plan within it (so that, knowing the slot's load, they never need the engine to cut them), the
oracle's plan keeps it, and the bill says how often the site stood at its limit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import episode, tiny_site
from test_mpc import RandomSampler
from v2b.control.registry import make_policy
from v2b.episode import Session
from v2b.opt.lp import assemble
from v2b.opt.month import month_problem
from v2b.sim import Simulator, simulate
from v2b.site import SiteError, site_from_dict

LIMIT_KW = 32.0
FAST = {"scenarios": 4, "month_peak": "none"}


def _site(limit_kw: float | None = LIMIT_KW):
    site = tiny_site(flat_curve=False)
    data = site.model_dump(exclude={"base_dir"})
    if limit_kw is not None:
        data["connection_limit_kw"] = limit_kw
    return site_from_dict(data)


def _day(load_kw: np.ndarray | float = 20.0):
    return episode([Session("A", 30, 70, 60.0, 0.2, 0.9), Session("B", 32, 60, 60.0, 0.3, 0.95)], load_kw)


@pytest.mark.parametrize("policy", ["uncontrolled", "edf", "llf", "smart", "oracle", "mpc-expected"])
def test_no_policy_draws_more_than_the_connection(policy):
    load = np.full(96, 20.0)
    load[40:48] = 30.0  # 2 kW of room
    load[50] = 35.0  # the building alone is over the limit
    result = simulate(_site(), _day(load), make_policy(policy), seed=3, futures=RandomSampler(),
                      policy_options={**FAST, "load_info": "paper"})
    total = result.trace.total_kw
    under = result.trace.building_kw <= LIMIT_KW
    assert (total[under] <= LIMIT_KW + 1e-6).all()
    assert (result.trace.power_kw[~under] <= 1e-9).all()  # nothing charges where the building is over
    s = result.summary
    assert s["site_limit_kw"] == LIMIT_KW
    assert s["slots_building_over_limit"] == 1
    assert s["max_import_kw"] == pytest.approx(total.max()) and total.max() <= 35.0 + 1e-6


def test_uncontrolled_charging_is_cut_to_the_room_left():
    result = simulate(_site(), _day(), make_policy("uncontrolled"))
    both = result.trace.power_kw[33]  # A and B both connected and asking 10 kW each
    assert both.sum() == pytest.approx(LIMIT_KW - 20.0)
    assert both[0] == pytest.approx(both[1])  # cut in proportion
    free = simulate(_site(None), _day(), make_policy("uncontrolled"))
    assert free.trace.power_kw[33].sum() == pytest.approx(20.0)
    assert "site_limit_kw" not in free.summary


def test_smart_plans_within_the_limit_when_it_knows_the_slot():
    site, ep = _site(), _day()
    sim = Simulator(site, ep, make_policy("smart"), 3, RandomSampler(),
                    policy_options={**FAST, "load_info": "paper"})
    while not sim.done:
        sim.begin_slot()
        if sim.plugged.occupied.any():
            asked = np.asarray(sim.policy.decide(sim.observe()))
            assert ep.load_kw[sim.slot] + np.maximum(asked, 0).sum() <= LIMIT_KW + 1e-6, sim.slot
        sim.end_slot()


def test_the_month_lp_has_a_row_per_slot_the_evs_could_pass_the_limit():
    site, ep = _site(), _day()
    problem, _ = month_problem(site, ep)
    lp, _ = assemble(problem)
    first, last = lp.row_ranges["site_limit"]
    assert last - first == 28  # slots 32..59: A and B together (20 kW) can pass the 12 kW of room
    no_limit, _ = assemble(month_problem(_site(None), ep)[0])
    assert no_limit.row_ranges["site_limit"] == (no_limit.row_ranges["site_limit"][0],) * 2


@settings(max_examples=25, deadline=None)
@given(st.floats(21.0, 60.0), st.integers(0, 3))
def test_the_oracle_keeps_any_limit(limit_kw, seed):
    rng = np.random.default_rng(seed)
    load = 20.0 + rng.uniform(0, 5, 96)
    result = simulate(_site(limit_kw), _day(load), make_policy("oracle"))
    under = load <= limit_kw
    assert (result.trace.total_kw[under] <= limit_kw + 1e-6).all()
    assert (result.trace.power_kw[~under] <= 1e-9).all()


@pytest.mark.parametrize("value", [0, -5, "lots", 2e6])
def test_a_bad_limit_is_refused_naming_the_field(value):
    data = tiny_site().model_dump(exclude={"base_dir"})
    data["connection_limit_kw"] = value
    with pytest.raises(SiteError, match="connection_limit_kw"):
        site_from_dict(data)


def test_a_site_without_a_limit_keeps_its_json():
    assert "connection_limit_kw" not in _site(None).model_dump_json()
    assert '"connection_limit_kw":32.0' in _site().model_dump_json()
