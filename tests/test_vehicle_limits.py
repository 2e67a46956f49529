"""A car's own limits (its on-board charger, its discharge limit, whether it allows V2B) on
top of the charger's: the engine never exceeds them, the controllers plan within them, and the
driver protections hold with them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import episode, tiny_site
from test_mpc import RandomSampler
from test_physics_properties import MIN_SITE, states
from v2b.control.registry import make_policy
from v2b.episode import Session
from v2b.sim import Simulator, physics, simulate

SLOW = Session("slow", 30, 70, 60.0, 0.5, 0.9, max_charge_kw=6.0, v2b_allowed=False)  # on B01
GIVER = Session("giver", 32, 80, 60.0, 0.8, 0.85, max_discharge_kw=3.0)  # on U01: no V2B there anyway
FAST = {"scenarios": 4, "month_peak": "none"}


def test_a_session_states_its_limits():
    assert SLOW.charge_limit_kw == 6.0 and SLOW.discharge_limit_kw == 0.0
    assert GIVER.charge_limit_kw == np.inf and GIVER.discharge_limit_kw == 3.0
    plain = Session("p", 0, 4, 40.0, 0.5, 0.6)
    assert plain.charge_limit_kw == np.inf and plain.discharge_limit_kw == np.inf


@settings(max_examples=300, deadline=None)
@given(states(MIN_SITE), st.lists(st.floats(0.5, 30.0), min_size=3, max_size=3),
       st.lists(st.floats(0.0, 30.0), min_size=3, max_size=3))
def test_the_engine_never_exceeds_a_cars_limits(state, up, down):
    occupied, battery, energy, floor, asked, building = state
    ch = MIN_SITE.charger_arrays
    up, down = np.asarray(up), np.asarray(down)
    p = physics.enforce(asked, energy, battery, floor, occupied, building, ch, MIN_SITE.battery,
                        ev_max_kw=up, ev_discharge_max_kw=down)
    assert (p <= up + 1e-9).all()
    assert (p >= -down - 1e-9).all()
    assert (p <= ch.max_kw + 1e-9).all() and (p >= ch.min_kw - 1e-9).all()


@pytest.mark.parametrize("policy", ["uncontrolled", "edf", "llf", "smart", "oracle", "mpc-expected"])
def test_no_policy_exceeds_a_cars_limits(policy):
    ep = episode([SLOW, GIVER], np.full(96, 20.0))
    result = simulate(tiny_site(flat_curve=False), ep, make_policy(policy), seed=3, futures=RandomSampler(),
                      policy_options={**FAST, "load_info": "paper"})
    power = result.trace.power_kw
    slow = result.trace.session_index[:, 0] >= 0  # the slow car is on B01
    assert (power[slow, 0] <= 6.0 + 1e-9).all()
    assert (power[slow, 0] >= -1e-9).all()  # no V2B from a car that does not allow it
    by_id = {s.session_id: s for s in result.trace.sessions}
    assert by_id["slow"].soc_departure >= by_id["slow"].soc_arrival - 1e-9
    if policy == "uncontrolled":
        assert power[33, 0] == pytest.approx(6.0)  # full power is the car's 6 kW


def test_smart_plans_within_a_cars_limits():
    ep = episode([SLOW, GIVER], np.full(96, 20.0))
    sim = Simulator(tiny_site(flat_curve=False), ep, make_policy("smart"), 3, RandomSampler(),
                    policy_options={**FAST, "load_info": "paper"})
    while not sim.done:
        sim.begin_slot()
        if sim.plugged.occupied[0]:
            asked = np.asarray(sim.policy.decide(sim.observe()))
            assert -1e-9 <= asked[0] <= 6.0 + 1e-9, sim.slot
        sim.end_slot()


def test_a_slow_car_needs_more_slots_to_be_paid_back():
    ch = tiny_site().charger_arrays
    battery = tiny_site().battery
    args = (np.array([10.0, 0.0]), np.array([30.0, 0.0]), np.array([3, 0]), np.array([60.0, 1.0]),
            ch, battery)
    fast = physics.payback_min_kw(*args)
    slow = physics.payback_min_kw(*args, ev_max_kw=np.array([4.0, np.inf]))
    assert slow[0] > fast[0] > 0  # 20 kWh in 3 slots: a 4 kW car must start at once and harder


def _service(tmp_path):
    pytest.importorskip("fastapi", reason="the service needs the [serve] extra")
    from v2b.service.db import Database
    from v2b.service.live import LiveSite, ServiceConfig

    config = ServiceConfig(days=1, clock="manual", menu_deadline_s=None, options={"load_info": "paper"})
    return LiveSite(config, Database(f"sqlite:///{tmp_path}/s.db"))


def test_the_service_takes_a_cars_limits_and_keeps_them_across_a_restart(tmp_path):
    from fastapi.testclient import TestClient

    from service_support import OPERATOR, OPERATOR_TOKEN
    from v2b.service.app import create_app

    live = _service(tmp_path)
    with TestClient(create_app(live, OPERATOR_TOKEN)) as client:
        client.post("/api/clock/step", json={"slots": 32}, headers=OPERATOR)
        departure = live.clock.slot_start(live.sim.slot + 32).isoformat()
        body = {"charger_id": "B01", "battery_kwh": 60, "arrival_soc_pct": 20, "requested_soc_pct": 90,
                "departure": departure, "max_charge_kw": 3.5, "v2b_allowed": False}
        r = client.post("/api/arrivals", json=body)
        assert r.status_code == 201, r.text
        answer = r.json()
        client.post(f"/api/sessions/{answer['session_id']}/choice", json={"option_id": "as-requested"},
                    headers={"Authorization": f"Bearer {answer['driver_token']}"})
        client.post("/api/clock/step", json={"slots": 20}, headers=OPERATOR)
        b01 = live.charger_index["B01"]
        power = live.sim.trace.power_kw[33:live.sim.slot, b01]
        assert power.max() == pytest.approx(3.5) and power.min() >= -1e-9
        for field, value in (("max_charge_kw", 0), ("max_discharge_kw", -1), ("max_charge_kw", "fast"),
                             ("v2b_allowed", "maybe")):
            bad = {**body, "charger_id": "B02", field: value}
            r = client.post("/api/arrivals", json=bad)
            assert r.status_code == 422 and field in r.text, (field, r.text)
    from v2b.service.live import LiveSite

    rebuilt = LiveSite(live.config, live.db)
    assert rebuilt.replay_mismatches == 0
    done = live.sim.slot
    np.testing.assert_array_equal(rebuilt.sim.trace.power_kw[:done], live.sim.trace.power_kw[:done])
