"""The MC-MPC policies in the simulator: determinism, fallbacks, causality."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import episode, random_episode, tiny_site
from test_opt_cases import random_futures
from v2b.control import mpc
from v2b.control.mpc import ExpectedMpc, SmartCharging
from v2b.control.mpc_options import MpcOptionError, MpcOptions
from v2b.control.mpc_peak import LoadHistory, MonthPeakPrior
from v2b.control.registry import make_policy
from v2b.episode import Session
from v2b.interface import Future, Observation
from v2b.sim import simulate

FAST = {"scenarios": 4, "month_peak": "none"}


class RandomSampler:
    """Futures that depend only on the observation and the generator."""

    def __init__(self) -> None:
        self.seen: list[Observation] = []

    def sample(self, obs: Observation, n: int, rng: np.random.Generator) -> list[Future]:
        self.seen.append(obs)
        return random_futures(rng, obs, n, per_day=2)

    def expected(self, obs: Observation) -> Future:
        return Future(np.full(96 - obs.slot_of_day, 20.0), ())


def _run(policy, ep, seed=3, **options):
    return simulate(tiny_site(flat_curve=False), ep, policy, seed=seed, futures=RandomSampler(),
                    policy_options={**FAST, **options})


def test_same_seed_same_setpoints_and_bill():
    ep = random_episode(np.random.default_rng(0), days=1, per_day=4)
    a, b = _run(SmartCharging(), ep), _run(SmartCharging(), ep)
    np.testing.assert_array_equal(a.trace.power_kw, b.trace.power_kw)
    assert a.summary["building_cost_usd"] == b.summary["building_cost_usd"]
    assert a.summary["solver_failures"] == 0 and a.summary["solver_fallbacks"] == 0


def test_smart_beats_uncontrolled_on_a_peaky_day():
    load = np.full(96, 20.0)
    load[40:44] = 35.0
    ep = episode([Session("A", 36, 60, 40.0, 0.3, 0.8), Session("B", 38, 70, 40.0, 0.4, 0.9)], load)
    # The random futures know nothing of the 35 kW step: only the current slot's load does.
    smart = _run(SmartCharging(), ep, load_info="paper").summary
    unc = simulate(tiny_site(flat_curve=False), ep, make_policy("uncontrolled")).summary
    assert smart["building_cost_usd"] < unc["building_cost_usd"]
    assert smart["peak_kw"] < unc["peak_kw"]


def test_over_budget_solves_fall_back_to_edf_and_are_counted():
    ep = random_episode(np.random.default_rng(1), days=1, per_day=4)
    run = _run(SmartCharging(), ep, solve_budget_s=1e-6)
    s = run.summary
    assert s["solver_fallbacks"] == s["decision_seconds"]["count"] > 0
    assert s["lp_solves"] + s["solver_fallbacks"] >= s["decision_seconds"]["count"]
    edf = simulate(tiny_site(flat_curve=False), ep, make_policy("edf"))
    np.testing.assert_allclose(run.trace.power_kw, edf.trace.power_kw)


def test_a_bug_in_the_lp_code_surfaces_instead_of_turning_smart_into_edf(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the LP code")

    monkeypatch.setattr(mpc, "solve_plan", broken)
    ep = random_episode(np.random.default_rng(2), days=1, per_day=3)
    with pytest.raises(RuntimeError, match="a bug in the LP code"):
        _run(SmartCharging(), ep)


def test_an_unsolved_lp_counts_as_a_failure(monkeypatch):
    real = mpc.solve_plan

    def unsolved(*args, **kwargs):
        plan = real(*args, **kwargs)
        result = dataclasses.replace(plan.result, optimal=False, status="Infeasible", x=None)
        return dataclasses.replace(plan, result=result, setpoints_kw=None)

    monkeypatch.setattr(mpc, "solve_plan", unsolved)
    ep = random_episode(np.random.default_rng(2), days=1, per_day=3)
    s = _run(SmartCharging(), ep).summary
    assert s["solver_failures"] == s["decision_seconds"]["count"] > 0


@pytest.mark.parametrize("load_info", ["measured", "paper"])
@pytest.mark.parametrize("month_peak", ["none", "pool"])
def test_decisions_do_not_depend_on_the_episode_future(month_peak, load_info):
    # Two 2-day episodes identical up to slot 146, different afterwards (load and arrivals).
    cut = 96 + 50
    base = [Session("A", 30, 70, 40.0, 0.2, 0.9), Session("B", 96 + 35, 96 + 60, 62.0, 0.3, 0.8)]
    load1 = np.full(2 * 96, 20.0)
    load2 = load1.copy()
    load2[cut + 1 :] = 35.0
    ep1 = episode(base, load1, days=2)
    ep2 = episode([*base, Session("C", cut + 5, cut + 30, 40.0, 0.1, 0.9)], load2, days=2)
    sampler1, sampler2 = RandomSampler(), RandomSampler()
    site = tiny_site(flat_curve=False)
    options = {**FAST, "month_peak": month_peak, "load_info": load_info}
    r1 = simulate(site, ep1, SmartCharging(), seed=5, futures=sampler1, policy_options=options)
    r2 = simulate(site, ep2, SmartCharging(), seed=5, futures=sampler2, policy_options=options)
    # With measured load the slot after the cut is still decided on the same knowledge.
    same = cut + (2 if load_info == "measured" else 1)
    np.testing.assert_array_equal(r1.trace.power_kw[:same], r2.trace.power_kw[:same])
    known = 1 if load_info == "paper" else 0
    assert all(o.load_today_kw.size == o.slot_of_day + known for o in sampler2.seen)
    assert all(o.current_load_known == (load_info == "paper") for o in sampler2.seen)


def test_causal_policies_get_no_episode():
    seen = {}

    class Spy(SmartCharging):
        def reset(self, ctx):
            seen["episode"] = ctx.oracle_episode
            super().reset(ctx)

    _run(Spy(), random_episode(np.random.default_rng(4), days=1, per_day=2))
    assert seen["episode"] is None and not SmartCharging.sees_future


def test_expected_mpc_plans_on_the_samplers_expected_future():
    ep = random_episode(np.random.default_rng(5), days=1, per_day=3)
    policy = ExpectedMpc()
    run = _run(policy, ep, scenarios=None)
    assert policy.options.scenarios == 1
    assert run.summary["lp_solves"] == run.summary["decision_seconds"]["count"]


def test_bundled_recourse_and_blocks_still_plan_feasibly():
    ep = random_episode(np.random.default_rng(6), days=1, per_day=4)
    s = _run(SmartCharging(), ep, recourse_bundles=2, fine_slots=4).summary
    assert s["solver_failures"] == 0 and s["lp_solves"] > 0


@pytest.mark.parametrize(
    "options",
    [{"scenarios": 0}, {"solve_budget_s": -1.0}, {"demand_weight": -2}, {"month_peak": "all"},
     {"season_months": -1.0}, {"season_months": 13}],
)
def test_bad_options_name_the_option(options):
    with pytest.raises(MpcOptionError, match=next(iter(options))):
        MpcOptions.from_dict(options)


def test_month_peak_prior_follows_the_season_seen_so_far():
    # Two kinds of pool month: flat 50 kW with 60 kW peaks, flat 100 kW with 150 kW peaks.
    low = np.full((20, 96), 50.0)
    low[:, 50] = 60.0
    high = np.full((20, 96), 100.0)
    high[:, 50] = 150.0
    prior = MonthPeakPrior([low, low, high, high])
    history = LoadHistory()
    obs = Observation(
        slot=40, day=0, slot_of_day=40, episode_days=20, load_today_kw=np.full(41, 98.0),
        peak_so_far_kw=0.0, occupied=np.zeros(2, bool), session_ids=("", ""),
        energy_kwh=np.zeros(2), battery_kwh=np.zeros(2), target_kwh=np.zeros(2),
        floor_kwh=np.zeros(2), arrival_slot=np.full(2, -1), departure_slot=np.full(2, -1),
        departure_floor_kwh=np.zeros(2),
    )
    history.observe(obs)
    np.testing.assert_allclose(prior.floors(history, obs, 4), 150.0)
    last = dataclasses.replace(obs, day=19, slot=19 * 96 + 40, peak_so_far_kw=80.0)
    np.testing.assert_allclose(prior.floors(history, last, 3), 80.0)


def _morning(month_of_year: int) -> Observation:
    return Observation(
        slot=26, day=0, slot_of_day=26, episode_days=20, load_today_kw=np.full(27, 80.0),
        peak_so_far_kw=0.0, occupied=np.zeros(2, bool), session_ids=("", ""),
        energy_kwh=np.zeros(2), battery_kwh=np.zeros(2), target_kwh=np.zeros(2),
        floor_kwh=np.zeros(2), arrival_slot=np.full(2, -1), departure_slot=np.full(2, -1),
        departure_floor_kwh=np.zeros(2), month_of_year=month_of_year,
    )


def test_month_peak_prior_weighs_the_calendar_month_when_the_morning_cannot_tell():
    # Pool months with the same mornings: August months peak at 200 kW, October ones at 150 kW.
    def month(peak_kw):
        load = np.full((20, 96), 80.0)
        load[:, 60] = peak_kw
        return load

    pool = [month(200.0), month(200.0), month(150.0), month(150.0)]
    calendar = np.array([8, 8, 10, 10])
    prior = MonthPeakPrior(pool, month_of_year=calendar, season_months=1.0)
    history = LoadHistory()
    october = _morning(10)
    history.observe(october)
    floors = prior.floors(history, october, 20)
    # two months apart weigh exp(-2) against 1: about one floor in nine from August
    assert np.median(floors) == 150.0 and (floors == 200.0).sum() == 2
    np.testing.assert_allclose(np.median(prior.floors(history, _morning(8), 20)), 200.0)
    # unknown date, kernel off, or no calendar months: every pool month alike, as before
    blind = [prior.floors(history, _morning(0), 20),
             MonthPeakPrior(pool, month_of_year=calendar, season_months=0.0).floors(history, october, 20),
             MonthPeakPrior(pool).floors(history, october, 20)]
    for f in blind:
        assert (f == 200.0).sum() == 10 and (f == 150.0).sum() == 10
    # December and January are one month apart
    winter = MonthPeakPrior(pool[:3], month_of_year=np.array([1, 6, 7]), season_months=1.0)
    assert (winter.floors(history, _morning(12), 20) == 200.0).sum() >= 15


def test_month_peak_prior_rejects_calendar_months_that_do_not_match_the_pool():
    with pytest.raises(ValueError, match="3 calendar months for 2 pool months"):
        MonthPeakPrior([np.ones((2, 96))] * 2, month_of_year=np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="season_months=-1"):
        MonthPeakPrior([np.ones((2, 96))], season_months=-1.0)


def test_the_engine_tells_policies_the_calendar_month():
    ep = random_episode(np.random.default_rng(8), days=2, per_day=1)
    sampler = RandomSampler()
    simulate(tiny_site(flat_curve=False), ep, SmartCharging(), seed=1, futures=sampler, policy_options=FAST)
    assert {o.month_of_year for o in sampler.seen} == {d.month for d in ep.dates}


def test_without_a_sampler_smart_plans_on_a_persistence_future():
    ep = random_episode(np.random.default_rng(8), days=1, per_day=3)
    run = simulate(tiny_site(flat_curve=False), ep, SmartCharging(), seed=1, futures=None,
                   policy_options=FAST)
    s = run.summary
    assert s["solver_failures"] == 0 and s["lp_solves"] == s["decision_seconds"]["count"] > 0
