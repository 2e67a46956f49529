"""The community LP: a hand-solved case, physical invariants, exclusivity (Eq. 10) and clearing."""

from __future__ import annotations

import numpy as np
import pytest

from v2b.community.checks import violations
from v2b.community.inputs import CommunityInputs, EvSessions, Tariffs
from v2b.community.lp import build_lp, simultaneity_unprofitable
from v2b.community.results import manage
from v2b.community.solver import SolveError
from v2b.community.study import run_study, self_consumption
from v2b.community.synthetic import ScenarioSpec, synthetic_inputs
from v2b.opt.parts import independent_parts

ETA = 0.9


def two_buildings(
    slot_minutes: int = 60, export_eur_per_kwh: float = -0.03, grid_use: float = 0.05
) -> CommunityInputs:
    """Building A: 20 kW PV surplus for two hours, then a 10 kW deficit, one EV.
    Building B: 8, 30, 10 kW deficits, no EV. Import 0.10, 0.20, 0.30 EUR/kWh."""
    per_hour = 60 // slot_minutes

    def hourly(values: list[float]) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=float), per_hour)

    tariffs = Tariffs(
        import_eur_per_kwh=hourly([0.10, 0.20, 0.30]),
        export_eur_per_kwh=hourly([export_eur_per_kwh] * 3),
        grid_use_eur_per_kwh=grid_use,
        charging_eur_per_h=hourly([2.0] * 3),
        discharging_eur_per_h=hourly([-3.0] * 3),
        parking_eur_per_h=0.5,
        flexibility_eur_per_h=-0.5,
    )
    ev = EvSessions(
        ev_id=("a1",), building=np.array([0]), arrival_h=np.array([0.0]),
        departure_h=np.array([3.0]), charge_h=np.array([1.0]), discharge_h=np.array([0.5]),
        charge_kw=np.array([10.0]), discharge_kw=np.array([10.0]), efficiency=np.array([ETA]),
    )
    load = np.stack([hourly([0, 0, 10]), hourly([8, 30, 10])])
    pv = np.stack([hourly([20, 20, 0]), hourly([0, 0, 0])])
    return CommunityInputs(("A", "B"), load, pv, slot_minutes, tariffs, ev)


# Hand solution (docs/model.md, "Community"). The EV must end 1 h x 10 kW x 0.9 = 9 kWh up.
# Each kWh charged earns (2 + 0.5)/10 = 0.25 EUR, each kWh discharged costs 0.25 EUR; one
# discharged kWh needs 1/0.81 kWh more charging. Discharging 5 kWh (the 0.5 h allowance) at
# 0.30 EUR/kWh pays in both modes, so charging totals 10 + 5/0.81 kWh.
CHARGE_KWH = 10.0 + 5.0 / 0.81
EV_REVENUE = 3 * 0.5 + (3 - CHARGE_KWH / 10 - 0.5) * -0.5 + CHARGE_KWH / 10 * 2.0 + 0.5 * -3.0
# Individual: A charges 10 kWh in each surplus hour's slack (export value 0.03), exports
# the rest, imports 10 - 5 in hour 3; B buys everything from the grid.
A_INDIVIDUAL = (40 - CHARGE_KWH) * -0.03 + 5 * 0.30
B_ALONE = 8 * 0.10 + 30 * 0.20 + 10 * 0.30
INDIVIDUAL = A_INDIVIDUAL + B_ALONE - EV_REVENUE
# Community: hour 1: A charges 10, sells 8 to B, exports 2; hour 2: A charges the remaining
# 6.17 kWh and sells 13.83 kWh to B, who buys 16.17 kWh from the grid. Every community kWh
# costs the community C_G = 0.05 in total.
SOLD_H2 = 20 - (CHARGE_KWH - 10)
COMMUNITY = (
    2 * -0.03 + 5 * 0.30 + (30 - SOLD_H2) * 0.20 + 10 * 0.30 + (8 + SOLD_H2) * 0.05 - EV_REVENUE
)


@pytest.mark.parametrize("slot_minutes", [60, 15])
def test_two_buildings_hand_optimum(slot_minutes):
    inputs = two_buildings(slot_minutes)
    individual = manage(inputs, community=False)
    community = manage(inputs, community=True)
    assert individual.objective_eur == pytest.approx(INDIVIDUAL, abs=1e-7)
    assert community.objective_eur == pytest.approx(COMMUNITY, abs=1e-7)
    assert individual.ev_revenue_eur[0] == pytest.approx(EV_REVENUE, abs=1e-7)
    costs = individual.electricity_cost_eur
    assert costs == pytest.approx([A_INDIVIDUAL, B_ALONE], abs=1e-7)


def test_reported_terms_add_up_to_the_objective():
    inputs = two_buildings()
    for community in (False, True):
        result = manage(inputs, community=community)
        reported = result.electricity_cost_eur.sum() - result.ev_revenue_eur.sum()
        assert reported == pytest.approx(result.objective_eur, abs=1e-8)


def test_clearing_prices_follow_the_marginal_side():
    """Hour 1: A exports to the grid too, so sellers are marginal and get the grid export
    tariff (the paper's case). Hour 2: B still buys from the grid, so buyers are marginal
    and pay the grid import tariff; sellers get it minus the grid-use tariff (Eq. 14)."""
    result = manage(two_buildings(), community=True)
    assert result.clearing_export_eur_per_kwh[:2] == pytest.approx([-0.03, -0.15], abs=1e-9)
    assert result.clearing_import_eur_per_kwh[:2] == pytest.approx([0.08, 0.20], abs=1e-9)
    assert np.isnan(result.clearing_import_eur_per_kwh[2])
    a_cost = 5 * 0.30 + 2 * -0.03 + 8 * -0.03 + SOLD_H2 * -0.15
    assert result.electricity_cost_eur[0] == pytest.approx(a_cost, abs=1e-7)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_day_keeps_every_rule(seed):
    inputs = synthetic_inputs(ScenarioSpec(), seed=seed, slot_minutes=60)
    study = run_study(inputs)
    for name, result in study.cases().items():
        assert violations(inputs, result) == [], name
    # Community management can only add options: never a higher objective.
    assert study.community.objective_eur <= study.individual.objective_eur + 1e-7
    flows = study.community.community_net_kw()
    assert np.abs(flows.sum(axis=0)).max() < 1e-6


def test_quarter_hour_slots_keep_every_rule():
    inputs = synthetic_inputs(ScenarioSpec(), seed=5, slot_minutes=15)
    result = manage(inputs, community=True)
    assert inputs.n_slots == 96
    assert violations(inputs, result) == []


def test_ev_never_below_arrival_energy_and_ends_at_request():
    inputs = synthetic_inputs(ScenarioSpec(), seed=4, slot_minutes=60)
    result = manage(inputs, community=True)
    lay = result.model.layout
    eta = inputs.evs.efficiency[lay.ev_session]
    step = (result.ev_charge_kw * eta - result.ev_discharge_kw / eta) * inputs.slot_h
    for n in range(len(inputs.evs)):
        energy = np.cumsum(step[lay.ev_session == n])
        assert energy.min() >= -1e-7
        assert energy[-1] == pytest.approx(inputs.evs.requested_battery_kwh[n], abs=1e-6)
    assert result.ev_discharge_kw.sum() > 0  # V2B is used, so the floor is exercised


def test_paper_tariffs_need_no_binaries_and_match_the_milp():
    inputs = synthetic_inputs(ScenarioSpec(), seed=2, slot_minutes=60)
    assert simultaneity_unprofitable(inputs.tariffs, community=True).all()
    assert not build_lp(inputs, community=True).lp.is_mip
    lp = manage(inputs, community=True, exclusivity="lp")
    milp = manage(inputs, community=True, exclusivity="milp")
    assert milp.model.lp.is_mip
    assert lp.objective_eur == pytest.approx(milp.objective_eur, abs=1e-6)
    assert violations(inputs, lp) == []


def test_export_paying_more_than_import_needs_binaries():
    """Selling to the grid at 0.35 EUR/kWh while buying at 0.10-0.30: without binaries the
    LP would buy and sell the same power in one slot without limit."""
    inputs = two_buildings(export_eur_per_kwh=-0.35)
    unprofitable = simultaneity_unprofitable(inputs.tariffs, community=True)
    assert not unprofitable.any()
    with pytest.raises(SolveError, match="nbounded"):
        manage(inputs, community=True, exclusivity="lp")
    result = manage(inputs, community=True)
    assert result.model.lp.is_mip
    assert violations(inputs, result) == []


def test_free_community_exchange_gets_binaries_only_under_community_management():
    inputs = two_buildings(grid_use=0.0)
    assert build_lp(inputs, community=True).lp.is_mip
    assert not build_lp(inputs, community=False).lp.is_mip
    assert violations(inputs, manage(inputs, community=True)) == []


def test_self_consumption_counts_exports_as_not_consumed():
    inputs = two_buildings()
    individual = manage(inputs, community=False)
    per_building, whole = self_consumption(inputs, individual)
    assert per_building[0] == pytest.approx(CHARGE_KWH / 40)
    assert np.isnan(per_building[1])
    community = manage(inputs, community=True)
    per_building, whole = self_consumption(inputs, community)
    assert per_building[0] == pytest.approx(CHARGE_KWH / 40)
    assert whole == pytest.approx(1 - 2 / 40)


def test_baseline_is_the_net_load_priced_at_grid_tariffs():
    inputs = synthetic_inputs(ScenarioSpec(), seed=3, slot_minutes=60)
    baseline = manage(inputs.without_evs(), community=False)
    net = inputs.net_load_kw
    t = inputs.tariffs
    expected = (
        np.maximum(net, 0) * t.import_eur_per_kwh + np.minimum(net, 0) * -t.export_eur_per_kwh
    ).sum(axis=1)
    assert baseline.electricity_cost_eur == pytest.approx(expected, abs=1e-7)


def test_solving_independent_days_apart_gives_the_same_optimum():
    from v2b.community.solver import solve
    from v2b.community.synthetic import bench_dates

    inputs = synthetic_inputs(ScenarioSpec(), seed=6, slot_minutes=60,
                              building_dates=bench_dates(3, 2))
    model = build_lp(inputs, community=True)
    # Slots are coupled only through parked EVs: each day's EV window is one part, each
    # slot without EVs another (the community couples the buildings within a slot).
    parts = independent_parts(model.lp.matrix)
    parked = np.unique(model.layout.ev_slot)
    assert len(parts) == 2 + inputs.n_slots - parked.size
    whole = solve(model, split=False)
    split = solve(model)
    assert split.objective_eur == pytest.approx(whole.objective_eur, abs=1e-7)
    first, last = model.lp.row_ranges["community_balance"]
    assert split.row_dual[first:last] == pytest.approx(whole.row_dual[first:last], abs=1e-7)
    # Without the community every building is on its own: at least three times the parts.
    individual = build_lp(inputs, community=False)
    assert len(independent_parts(individual.lp.matrix)) >= 3 * len(parts)


def random_community(rng: np.random.Generator) -> CommunityInputs:
    """2-4 buildings, 8 hourly slots, random loads, PV, EVs and tariffs; in some cases the
    export tariff pays more than import costs or community exchange is free."""
    n_b, n_h = int(rng.integers(2, 5)), 8
    importing = rng.uniform(0.05, 0.3, n_h)
    exporting = -rng.uniform(0.0, 0.4 if rng.random() < 0.3 else 0.04, n_h)
    tariffs = Tariffs(
        import_eur_per_kwh=importing, export_eur_per_kwh=exporting,
        grid_use_eur_per_kwh=float(rng.choice([0.0, 0.05])),
        charging_eur_per_h=rng.uniform(0.5, 3.0, n_h), discharging_eur_per_h=-rng.uniform(0, 4, n_h),
        parking_eur_per_h=0.5, flexibility_eur_per_h=-0.5,
    )
    n_ev = int(rng.integers(0, 3 * n_b))
    arrival = rng.uniform(0, 5, n_ev)
    departure = np.minimum(arrival + rng.uniform(1, 4, n_ev), n_h)
    evs = EvSessions(
        ev_id=tuple(f"e{k}" for k in range(n_ev)), building=rng.integers(0, n_b, n_ev),
        arrival_h=arrival, departure_h=departure,
        charge_h=rng.uniform(0.1, 1.0, n_ev) * (departure - arrival),
        discharge_h=rng.uniform(0, 1.5, n_ev), charge_kw=rng.choice([7.4, 10.0, 22.0], n_ev),
        discharge_kw=rng.choice([7.4, 10.0], n_ev), efficiency=rng.uniform(0.85, 0.97, n_ev),
    )
    load = rng.uniform(0, 50, (n_b, n_h))
    pv = rng.uniform(0, 80, (n_b, n_h))
    return CommunityInputs(tuple(f"b{b}" for b in range(n_b)), load, pv, 60, tariffs, evs)


@pytest.mark.parametrize("seed", range(12))
def test_random_communities_keep_every_rule(seed):
    inputs = random_community(np.random.default_rng(seed))
    individual = manage(inputs, community=False)
    community = manage(inputs, community=True)
    assert violations(inputs, individual) == []
    assert violations(inputs, community) == []
    assert community.objective_eur <= individual.objective_eur + 1e-6
    milp = manage(inputs, community=True, exclusivity="milp")
    assert community.objective_eur == pytest.approx(milp.objective_eur, abs=1e-5)
