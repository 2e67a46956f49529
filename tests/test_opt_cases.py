"""Hand-made charging problems and generated decisions, shared by the opt/MPC tests.

Besides the builders, this module holds the hand-computed LP optima.
"""

from __future__ import annotations

import numpy as np
import pytest

from v2b.episode import Session
from v2b.interface import Future, Observation
from v2b.opt.charging import solve_plan, unit_power_kw
from v2b.opt.grid import planning_grid
from v2b.opt.highs import HighsSolver
from v2b.opt.problem import ChargingProblem
from v2b.opt.units import Units
from v2b.site import Site
from v2b.timegrid import SLOTS_PER_DAY

FLAT = (np.array([0.0]), np.array([1.0]))


def one_unit(**overrides) -> Units:
    """A unidirectional 10 kW unit, eta 0.9, 10 of 40 kWh, connected for 4 slots."""
    base = dict(
        scenario=[0], group=[0], charger=[0], start_slot=[0], end_slot=[4], energy_kwh=[10.0],
        battery_kwh=[40.0], target_kwh=[14.5], floor_kwh=[8.0], departure_floor_kwh=[0.0],
        max_kw=[10.0], min_kw=[0.0],
        charge_efficiency=[0.9], discharge_efficiency=[0.9], ident=[7],
    )
    base.update(overrides)
    return Units(**{k: np.asarray(v) for k, v in base.items()})


def small_problem(units: Units, load_kw, price, floor_kw: float, curve=FLAT, **kw) -> ChargingProblem:
    load = np.atleast_2d(np.asarray(load_kw, dtype=float))
    values = dict(
        grid=planning_grid(load.shape[1]),
        units=units,
        load_kw=load,
        price_per_kwh=np.asarray(price, dtype=float),
        scenario_weight=np.full(load.shape[0], 1.0 / load.shape[0]),
        peak_floor_kw=floor_kw,
        demand_charge_usd_per_kw=10.0,
        soc_penalty_usd_per_kwh=0.5,
        degradation_usd_per_kwh=0.05,
        curve_slopes=curve[0],
        curve_intercepts=curve[1],
        n_chargers=1,
    )
    values.update(kw)
    return ChargingProblem(**values)


def random_observation(
    rng: np.random.Generator, site: Site, slot_of_day: int | None = None, day: int = 0
) -> Observation:
    """Random connected EVs on a random subset of the site's chargers."""
    n = len(site.charger_arrays)
    k = int(rng.integers(20, 70)) if slot_of_day is None else slot_of_day
    slot = day * SLOTS_PER_DAY + k
    occupied = rng.random(n) < 0.7
    battery = np.where(occupied, rng.choice([20.0, 40.0, 62.0], n), 0.0)
    soc = rng.uniform(0.05, 0.95, n)
    energy = np.where(occupied, soc * battery, 0.0)
    target = np.where(occupied, np.minimum(soc + rng.uniform(0, 0.6, n), 1.0) * battery, 0.0)
    floor = np.where(occupied, np.minimum(soc, site.battery.discharge_floor_soc) * battery, 0.0)
    departure = np.where(occupied, slot + rng.integers(1, 40, n), -1)
    departure = np.minimum(departure, (day + 1) * SLOTS_PER_DAY)
    load = 15 + 10 * rng.random(k + 1)
    return Observation(
        slot=slot, day=day, slot_of_day=k, episode_days=day + 1, load_today_kw=load,
        peak_so_far_kw=float(rng.uniform(0, 40)), occupied=occupied,
        session_ids=tuple(f"ev{i}" if o else "" for i, o in enumerate(occupied)),
        energy_kwh=energy, battery_kwh=battery, target_kwh=target, floor_kwh=floor,
        arrival_slot=np.where(occupied, slot, -1), departure_slot=departure,
        departure_floor_kwh=energy.copy(), current_load_known=True, last_load_kw=float(load[-1]),
    )


def random_futures(rng: np.random.Generator, obs: Observation, n: int, per_day: int = 4) -> list[Future]:
    """``n`` futures with a wavy load and a few later arrivals each."""
    horizon = SLOTS_PER_DAY - obs.slot_of_day
    out = []
    for j in range(n):
        load = 15 + 10 * rng.random(horizon)
        sessions = []
        for i in range(int(rng.integers(0, per_day + 1))):
            a = obs.slot + int(rng.integers(1, max(horizon - 1, 2)))
            soc = float(rng.uniform(0.1, 0.8))
            sessions.append(
                Session(f"f{j}-{i}", a, a + int(rng.integers(1, 30)), 40.0, soc,
                        float(rng.uniform(soc, 1.0)))
            )
        out.append(Future(load, tuple(s for s in sessions if s.arrival_slot < obs.slot + horizon)))
    return out


def test_one_ev_two_prices_exact_cost():
    # 4.5 kWh at eta 0.9 is 5 kWh at the charger: two slots at 10 kW, the cheap ones.
    # The peak 20 + 10 stays at the 30 kW already paid.
    problem = small_problem(one_unit(), [20.0] * 4, [0.1, 0.1, 0.2, 0.2], floor_kw=30.0)
    plan = solve_plan(problem, HighsSolver())
    assert plan.optimal
    np.testing.assert_allclose(unit_power_kw(problem, plan.layout, plan.result.x), [[10, 10, 0, 0]])
    load_energy = 20 * 0.25 * (0.1 * 2 + 0.2 * 2)
    assert plan.objective_usd == pytest.approx(load_energy + 10 * 0.25 * 0.1 * 2 + 10.0 * 30.0)
    np.testing.assert_allclose(plan.setpoints_kw, [10.0])


def test_demand_charge_spreads_charging_over_a_lower_floor():
    # With 20 kW already paid, 5 kW in every slot (peak 25) beats 10 kW in the two
    # cheap slots (peak 30): 50 $ of demand against 0.25 $ of energy. (A high K_SOC,
    # as at 0.5 $/kWh leaving the EV uncharged would be cheaper still.)
    problem = small_problem(
        one_unit(), [20.0] * 4, [0.1, 0.1, 0.2, 0.2], floor_kw=20.0, soc_penalty_usd_per_kwh=100.0
    )
    plan = solve_plan(problem, HighsSolver())
    np.testing.assert_allclose(unit_power_kw(problem, plan.layout, plan.result.x), [[5, 5, 5, 5]])
    assert plan.objective_usd == pytest.approx(3.0 + 0.25 * 5 * 0.6 + 250.0)


def test_plan_never_pays_again_for_a_peak_already_paid():
    # Raising the floor above what the plan needs adds exactly K_DC x the difference:
    # no double counting of the month's peak.
    low = solve_plan(small_problem(one_unit(), [20.0] * 4, [0.1] * 4, 30.0), HighsSolver())
    high = solve_plan(small_problem(one_unit(), [20.0] * 4, [0.1] * 4, 45.0), HighsSolver())
    assert high.objective_usd - low.objective_usd == pytest.approx(10.0 * 15.0)
    assert high.result.x[high.layout.peak.cols[0]] == pytest.approx(45.0)


def test_v2b_shaves_a_spike_with_losses_and_degradation():
    # Bidirectional EV back to 20 kWh at departure; a 40 kW spike in slot 2.
    # Discharging 10 kW (its limit) cuts the peak to 30 and costs 10/0.81 kW-slots
    # of recharging at 0.1 $/kWh plus 0.05 $/kWh degradation.
    units = one_unit(energy_kwh=[20.0], target_kwh=[20.0], min_kw=[-10.0])
    problem = small_problem(units, [20.0, 20.0, 40.0, 20.0], [0.1] * 4, floor_kw=0.0)
    plan = solve_plan(problem, HighsSolver())
    power = unit_power_kw(problem, plan.layout, plan.result.x)[0]
    assert power[2] == pytest.approx(-10.0)
    assert power[[0, 1, 3]].sum() == pytest.approx(10.0 / 0.81)
    expected = 300.0 + 2.5 + 0.025 * (10.0 / 0.81 - 10.0) + 0.05 * 0.25 * 10.0
    assert plan.objective_usd == pytest.approx(expected)


def test_unmet_energy_is_penalised_when_the_ev_cannot_reach_its_target():
    # 4 slots at 10 kW store 9 kWh; asking for 30 leaves 21 kWh at 0.5 $/kWh.
    units = one_unit(target_kwh=[40.0])
    problem = small_problem(units, [20.0] * 4, [0.1] * 4, floor_kw=100.0)
    plan = solve_plan(problem, HighsSolver())
    assert plan.result.x[plan.layout.shortfall.at([0])[0]] == pytest.approx(21.0)
    assert plan.objective_usd == pytest.approx(2.0 + 1.0 + 0.5 * 21.0 + 1000.0)


def test_no_export_limits_discharge_to_the_building_load():
    units = one_unit(energy_kwh=[30.0], target_kwh=[0.0], floor_kwh=[8.0], min_kw=[-10.0])
    problem = small_problem(units, [3.0, 50.0, 3.0, 3.0], [0.5] * 4, floor_kw=50.0)
    plan = solve_plan(problem, HighsSolver())
    power = unit_power_kw(problem, plan.layout, plan.result.x)[0]
    # Selling at 0.5 $/kWh pays more than degradation, but only down to zero at the meter.
    np.testing.assert_allclose(power, [-3.0, -10.0, -3.0, -3.0], atol=1e-7)


def test_taper_curve_limits_charging_near_full():
    # Default curve: above 70 % SoC the limit falls (segments 0.7->0.9: 1->0.45).
    site_curve = (np.array([0.0, -2.75, -3.5]), np.array([1.0, 2.925, 3.6]))
    units = one_unit(energy_kwh=[32.0], target_kwh=[40.0], end_slot=[2])
    problem = small_problem(units, [20.0] * 2, [0.1] * 2, floor_kw=100.0, curve=site_curve)
    plan = solve_plan(problem, HighsSolver())
    power = unit_power_kw(problem, plan.layout, plan.result.x)[0]
    first = 10.0 * (2.925 - 2.75 * 0.8)
    e1 = 32.0 + 0.9 * 0.25 * first
    second = 10.0 * min(2.925 - 2.75 * e1 / 40, 3.6 - 3.5 * e1 / 40)
    np.testing.assert_allclose(power, [first, second], rtol=1e-9)
