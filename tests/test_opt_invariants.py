"""Invariants of solved plans on generated decisions: physics, non-anticipativity, LP = MILP."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import tiny_site
from test_opt_cases import random_futures, random_observation
from v2b.episode import Session
from v2b.interface import Future
from v2b.opt.charging import solve_plan, unit_energy_kwh, unit_power_kw
from v2b.opt.highs import HighsSolver
from v2b.opt.integer import with_integers
from v2b.opt.problem import problem_from_observation
from v2b.opt.warm import save_state
from v2b.site import load_site, site_from_dict
from v2b.timegrid import SLOT_H

TOL = 1e-6


def _site(kind: str):
    if kind == "tiny":
        return tiny_site(flat_curve=False)
    return load_site("santa-clara-office")


def _decision(seed: int, kind: str, n_futures: int = 3, fine_slots: int | None = None):
    rng = np.random.default_rng(seed)
    site = _site(kind)
    obs = random_observation(rng, site)
    futures = random_futures(rng, obs, n_futures)
    return site, obs, problem_from_observation(site, obs, futures, fine_slots=fine_slots)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["tiny", "default"])
def test_every_planned_slot_respects_the_engine_physics(seed, kind):
    site, obs, problem = _decision(seed, kind)
    plan = solve_plan(problem, HighsSolver())
    assert plan.optimal
    units = problem.units
    power = unit_power_kw(problem, plan.layout, plan.result.x)
    energy = unit_energy_kwh(problem, plan.layout, plan.result.x)
    t = np.arange(problem.grid.n_blocks)
    present = (units.start_slot[:, None] <= t) & (t < units.end_slot[:, None])
    soc = energy[:, :-1] / units.battery_kwh[:, None]
    curve = units.max_kw[:, None] * site.battery.charge_fraction(np.clip(soc, 0, 1))
    assert (power[~present] == 0).all()
    assert (power <= curve + TOL).all()
    assert (power >= units.min_kw[:, None] - TOL).all()
    assert (energy <= units.battery_kwh[:, None] + TOL).all()
    assert (energy >= units.floor_kwh[:, None] - TOL).all()
    ev_kw = np.zeros(problem.load_kw.shape)
    np.add.at(ev_kw, units.scenario, power)
    assert (problem.load_kw + ev_kw >= -TOL).all()
    peaks = plan.result.x[plan.layout.peak.cols]
    assert (peaks >= (problem.load_kw + ev_kw).max(axis=1) - TOL).all()
    assert (peaks >= obs.peak_so_far_kw - TOL).all()


@pytest.mark.parametrize("seed", range(4))
def test_current_setpoints_are_shared_by_all_scenarios(seed):
    _, obs, problem = _decision(seed, "default", n_futures=4)
    plan = solve_plan(problem, HighsSolver())
    power = unit_power_kw(problem, plan.layout, plan.result.x)
    units = problem.units
    for g in np.unique(units.group[units.group >= 0]):
        first = power[units.group == g, 0]
        np.testing.assert_allclose(first, first[0], atol=1e-9)
        assert plan.setpoints_kw[g] == pytest.approx(first[0])
    assert (plan.setpoints_kw[~obs.occupied] == 0).all()


@pytest.mark.parametrize("seed", range(5))
def test_lp_never_charges_and_discharges_at_once_and_matches_the_milp(seed):
    site, _, problem = _decision(seed, "tiny", n_futures=2)
    lp_plan = solve_plan(problem, HighsSolver())
    lay, x = lp_plan.layout, lp_plan.result.x
    both = lay.discharge.owners  # the pairs that can discharge
    simultaneous = np.minimum(x[lay.charge.at(both)], x[lay.discharge.cols])
    assert (simultaneous <= 1e-7).all()
    milp = with_integers(problem, HighsSolver({"mip_rel_gap": 1e-9}))
    assert milp.optimal
    assert milp.objective_usd == pytest.approx(lp_plan.objective_usd, rel=1e-7, abs=1e-6)


def test_minimum_charging_power_holds_in_milp_mode():
    _, _, problem = _decision(3, "tiny", n_futures=2)
    plan = with_integers(problem, HighsSolver({"mip_rel_gap": 1e-9}), min_charge_kw=4.0)
    assert plan.optimal
    x = plan.result.x[: plan.layout.n_cols]
    c = x[plan.layout.charge.cols]
    assert ((c <= 1e-7) | (c >= 4.0 - 1e-7)).all()
    lp = solve_plan(problem, HighsSolver())
    assert plan.objective_usd >= lp.objective_usd - 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_blocked_grid_keeps_physics_and_only_approximates_the_cost(seed):
    site, _, exact = _decision(seed, "default", n_futures=3)
    _, _, blocked = _decision(seed, "default", n_futures=3, fine_slots=4)
    assert blocked.grid.n_blocks < exact.grid.n_blocks
    a = solve_plan(exact, HighsSolver())
    b = solve_plan(blocked, HighsSolver())
    assert b.optimal
    power = unit_power_kw(blocked, b.layout, b.result.x)
    assert (power <= blocked.units.max_kw[:, None] + TOL).all()
    # Similar expected cost (this load is white noise, the worst case for hourly
    # blocks, which plan on each hour's highest load).
    assert b.objective_usd == pytest.approx(a.objective_usd, rel=0.1)
    assert np.abs(b.setpoints_kw - a.setpoints_kw).max() <= 20.0 + TOL
    energy = unit_energy_kwh(blocked, b.layout, b.result.x)
    assert (energy <= blocked.units.battery_kwh[:, None] + TOL).all()
    assert SLOT_H == 0.25


@pytest.mark.parametrize("seed", range(3))
def test_warm_start_from_the_previous_decision_reaches_the_same_optimum(seed):
    rng = np.random.default_rng(seed)
    site = _site("default")
    obs = random_observation(rng, site)
    first = problem_from_observation(site, obs, random_futures(rng, obs, 3))
    plan = solve_plan(first, HighsSolver({"presolve": "off"}))
    state = save_state(first, plan.layout, plan.result.x)
    step = site.charger_arrays.charge_efficiency * plan.setpoints_kw * SLOT_H
    later = dataclasses.replace(
        obs,
        slot=obs.slot + 1,
        slot_of_day=obs.slot_of_day + 1,
        load_today_kw=np.append(obs.load_today_kw, 20.0),
        energy_kwh=obs.energy_kwh + np.where(plan.setpoints_kw > 0, step, plan.setpoints_kw * SLOT_H / 0.95),
        occupied=obs.occupied & (obs.departure_slot > obs.slot + 1),
    )
    second = problem_from_observation(site, later, random_futures(rng, later, 3))
    cold = solve_plan(second, HighsSolver({"presolve": "off"}))
    warm = solve_plan(second, HighsSolver({"presolve": "off"}), warm=state)
    assert warm.optimal
    assert warm.objective_usd == pytest.approx(cold.objective_usd, rel=1e-8)


def test_aggregate_futures_equal_sessions_for_one_flat_curve_session():
    site = tiny_site(flat_curve=True)
    rng = np.random.default_rng(11)
    obs = random_observation(rng, site, slot_of_day=30)
    occupied = np.array([True, False])
    obs = dataclasses.replace(
        obs, occupied=occupied, departure_slot=np.where(occupied, obs.slot + 40, -1),
        energy_kwh=np.array([10.0, 0.0]), battery_kwh=np.array([40.0, 0.0]),
        target_kwh=np.array([30.0, 0.0]), floor_kwh=np.array([8.0, 0.0]),
        departure_floor_kwh=np.array([10.0, 0.0]),
    )
    futures = []
    for j in range(3):
        a = obs.slot + 3 + j
        session = Session(f"f{j}", a, a + 12 + 4 * j, 40.0, 0.2, 0.3 + 0.2 * j)
        futures.append(Future(15 + 10 * rng.random(96 - obs.slot_of_day), (session,)))
    exact = problem_from_observation(site, obs, futures)
    summed = problem_from_observation(site, obs, futures, future_model="aggregate")
    assert summed.units.n == 3 and summed.future_aggregate is not None
    a = solve_plan(exact, HighsSolver())
    b = solve_plan(summed, HighsSolver())
    assert b.objective_usd == pytest.approx(a.objective_usd, rel=1e-9)
    np.testing.assert_allclose(b.setpoints_kw, a.setpoints_kw, atol=1e-7)


@pytest.mark.parametrize("seed", range(3))
def test_aggregate_futures_relax_the_session_model_without_v2b(seed):
    # Summing charge-only sessions can only add options (energy may go to any present
    # session). With V2B the session model has options the aggregate lacks.
    data = load_site("santa-clara-office").model_dump(exclude={"base_dir"})
    data["chargers"] = [{"count": 15, "kind": "unidirectional", "max_kw": 20.0}]
    site = site_from_dict(data)
    rng = np.random.default_rng(seed)
    obs = random_observation(rng, site)
    futures = random_futures(rng, obs, 3)
    exact = problem_from_observation(site, obs, futures)
    summed = problem_from_observation(site, obs, futures, future_model="aggregate")
    a = solve_plan(exact, HighsSolver())
    b = solve_plan(summed, HighsSolver())
    assert b.optimal
    assert b.objective_usd <= a.objective_usd + 1e-6


def test_uncontrolled_chargers_become_load_at_full_power():
    site = tiny_site(flat_curve=True)
    data = site.model_dump(exclude={"base_dir"})
    data["chargers"][1]["controllable"] = False
    site = site_from_dict(data)
    rng = np.random.default_rng(4)
    obs = random_observation(rng, site, slot_of_day=40)
    obs = dataclasses.replace(
        obs, occupied=np.array([False, True]), departure_slot=np.array([-1, obs.slot + 3]),
        energy_kwh=np.array([0.0, 10.0]), battery_kwh=np.array([0.0, 40.0]),
        target_kwh=np.array([0.0, 11.0]), floor_kwh=np.array([0.0, 8.0]),
        departure_floor_kwh=np.array([0.0, 10.0]),
    )
    futures = [Future(np.full(96 - obs.slot_of_day, 20.0), ())]
    problem = problem_from_observation(site, obs, futures)
    assert problem.units.n == 0
    # Full power (10 kW) until departure, whatever the target: the hardware does not stop.
    np.testing.assert_allclose(problem.load_kw[0, :4], [obs.last_load_kw + 10, 30, 30, 20])
