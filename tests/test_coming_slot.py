"""The slot nobody has measured yet: its peak as an expected excess over load samples
(``v2b.opt.blocks.coming_slot_excess``; ``docs/model.md``, "What is known of the load")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_opt_cases import one_unit, random_futures, random_observation, small_problem
from v2b.control.heuristics import coming_margin_kw
from v2b.control.mpc import SmartCharging
from v2b.control.mpc_options import MpcOptionError, MpcOptions, break_even_quantile
from v2b.interface import PolicyContext
from v2b.opt.blocks import EXCESS_CUT_QUANTILES, excess_cuts
from v2b.opt.charging import solve_plan, unit_power_kw
from v2b.opt.highs import HighsSolver
from v2b.opt.lp import assemble
from v2b.opt.problem import problem_from_observation
from v2b.scenarios import site_scenarios
from v2b.scenarios.futures import COMING_SLOT_DAYS, PoolFutureSampler
from v2b.site import load_site


def expected_excess(samples: np.ndarray, z: float) -> float:
    return float(np.maximum(samples + z, 0.0).mean())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 300.0), min_size=1, max_size=400), st.floats(-400.0, 100.0))
def test_the_cuts_never_overstate_the_expected_excess_and_are_exact_where_they_touch(values, z):
    samples = np.array(values)
    a, b = excess_cuts(samples)
    assert max(0.0, float(np.max(a + b * z))) <= expected_excess(samples, z) + 1e-9
    for at in np.quantile(samples, EXCESS_CUT_QUANTILES, method="lower"):
        assert max(a - b * at) == pytest.approx(expected_excess(samples, -at), abs=1e-9)
    # far above every sample the excess is the mean overshoot: the slope-1 cut is exact there
    high = -float(samples.min()) + 10.0
    assert max(a + b * high) == pytest.approx(expected_excess(samples, high))


def unknown_first_slot(later_price: float):
    # 20 kW of building in slot 0 nine times in ten, 30 kW one time in ten; 35 kW already paid;
    # the EV needs 20 kW-slots over 4 slots at up to 10 kW. Every kW above 5 in slot 0 lifts the
    # month's peak one time in ten: K_DC x 0.1 = 1 $ per kW. (Unmet energy is dear: the EV
    # is charged in full, the question is only when.)
    samples = np.array([20.0] * 90 + [30.0] * 10)
    return small_problem(one_unit(), [20.0] * 4, [0.1] + [later_price] * 3, floor_kw=35.0,
                         coming_load_kw=samples, soc_penalty_usd_per_kwh=100.0)


def test_the_plan_charges_the_unmeasured_slot_only_as_far_as_an_overshoot_is_worth_it():
    cheap_later = unknown_first_slot(0.5)  # 10 kW more in slot 0 saves 0.1 $/kW: not worth 1 $/kW
    plan = solve_plan(cheap_later, HighsSolver())
    power = unit_power_kw(cheap_later, plan.layout, plan.result.x)
    assert power[0, 0] == pytest.approx(5.0)
    dear_later = unknown_first_slot(5.0)  # saves 1.225 $/kW: worth the 1 $/kW
    plan = solve_plan(dear_later, HighsSolver())
    assert unit_power_kw(dear_later, plan.layout, plan.result.x)[0, 0] == pytest.approx(10.0)
    # the expected overshoot, 0.1 x (30 + 10 - 35) kW, is in the objective at K_DC
    lp, _ = assemble(dear_later)
    start, end = lp.col_ranges["coming_slot_excess"]
    assert plan.result.x[start:end] == pytest.approx([0.5, 10.0])  # the expected overshoot, the EV power
    assert "peak_power" not in lp.row_ranges or np.all(
        lp.matrix[slice(*lp.row_ranges["peak_power"])].toarray()[:, start:end] == 0)


def test_without_samples_the_first_slot_keeps_its_peak_row():
    problem = dataclasses.replace(unknown_first_slot(0.5), coming_load_kw=None)
    lp, _ = assemble(problem)
    assert "coming_slot_excess" not in lp.col_ranges
    plan = solve_plan(problem, HighsSolver())
    # slot 0's one future says 20 kW: 10 kW fit under the 35 kW paid, so it charges in full
    assert unit_power_kw(problem, plan.layout, plan.result.x)[0, 0] == pytest.approx(10.0)


@pytest.fixture(scope="module")
def site():
    return load_site("santa-clara-office")


@pytest.mark.parametrize("known", [True, False])
def test_only_an_unmeasured_slot_gets_the_term(site, known):
    rng = np.random.default_rng(3)
    obs = dataclasses.replace(random_observation(rng, site), current_load_known=known)
    futures = random_futures(rng, obs, 4)
    problem = problem_from_observation(site, obs, futures, coming_load_kw=np.array([20.0, 25.0]))
    assert (problem.coming_load_kw is None) == known
    lp, _ = assemble(problem)
    assert ("coming_slot_excess" in lp.col_ranges) != known


@pytest.mark.parametrize(("mode", "term"), [("excess", True), ("guard", False), ("samples", False)])
def test_the_controller_samples_the_coming_slot_in_excess_mode_only(site, mode, term):
    sampler = site_scenarios(site).future_sampler()
    policy = SmartCharging()
    policy.reset(PolicyContext(site=site, rng=np.random.default_rng(0), futures=sampler, episode_days=21,
                               options={"coming_slot": mode}))
    rng = np.random.default_rng(5)
    obs = dataclasses.replace(random_observation(rng, site, slot_of_day=40), current_load_known=False)
    obs = dataclasses.replace(obs, load_today_kw=obs.load_today_kw[:-1])
    samples = policy.coming_load_kw(obs)
    assert (samples is not None) == term
    if term:
        assert samples.size == COMING_SLOT_DAYS
        assert np.all(samples > 0)
    paper = dataclasses.replace(obs, current_load_known=True)
    assert policy.coming_load_kw(paper) is None


def test_a_bad_mode_is_refused_by_name():
    with pytest.raises(MpcOptionError, match="coming_slot='later'"):
        MpcOptions.from_dict({"coming_slot": "later"})


def test_edf_and_llf_keep_the_same_samples_90_percent_rise_in_hand(site):
    sampler = site_scenarios(site).future_sampler()
    rng = np.random.default_rng(6)
    obs = dataclasses.replace(random_observation(rng, site, slot_of_day=40), current_load_known=False)
    obs = dataclasses.replace(obs, load_today_kw=obs.load_today_kw[:-1])
    expected = np.quantile(sampler.coming_slot_samples_kw(obs), 0.9) - obs.last_load_kw
    assert coming_margin_kw(sampler, obs) == pytest.approx(max(expected, 0.0))
    assert coming_margin_kw(sampler, dataclasses.replace(obs, current_load_known=True)) == 0.0
    assert coming_margin_kw(None, obs) == 0.0
    assert coming_margin_kw(sampler, dataclasses.replace(obs, last_load_kw=float("nan"))) == 0.0


def later_slots_unmeasured(margin_kw: float | None):
    # slot 0 is certain (20 kW, every sample), 35 kW already paid, the EV needs 20 kW-slots at
    # up to 10 kW; slot 0 costs 0.5 $/kWh, later slots 0.1. Planned as if later slots will be
    # measured, the EV charges later (20 + 10 kW fit under 35); kept ``margin_kw`` below the
    # peak there, only 15 - margin_kw kW fit, and slot 0 takes the rest. (Unmet energy is dear.)
    margin = None if margin_kw is None else np.full(4, margin_kw)
    return small_problem(one_unit(), [20.0] * 4, [0.5] + [0.1] * 3, floor_kw=35.0,
                         coming_load_kw=np.full(50, 20.0), later_margin_kw=margin,
                         soc_penalty_usd_per_kwh=100.0)


def test_later_slots_keep_the_margin_the_controller_will_need_when_it_gets_there():
    free = later_slots_unmeasured(None)
    plan = solve_plan(free, HighsSolver())
    assert unit_power_kw(free, plan.layout, plan.result.x)[0, 0] == pytest.approx(0.0, abs=1e-6)
    kept = later_slots_unmeasured(10.0)
    plan = solve_plan(kept, HighsSolver())
    power = unit_power_kw(kept, plan.layout, plan.result.x)
    assert power[0, 1:] == pytest.approx([5.0] * 3)  # 35 - 20 - 10 each, the peak untouched
    assert power[0, 0] == pytest.approx(5.0)  # the 20 kW-slots' rest
    # the peak rows of the later slots carry the margin in their bounds, slot 0 has none
    lp, _ = assemble(kept)
    assert lp.row_lower[slice(*lp.row_ranges["peak_power"])] == pytest.approx([30.0] * 3)


def test_a_margin_takes_headroom_from_the_evs_but_never_lifts_the_peak_by_itself():
    # 20 kW of margin where only 15 kW are left under the 35 kW paid: the rows stop at 35 kW
    wide = later_slots_unmeasured(20.0)
    lp, _ = assemble(wide)
    assert lp.row_lower[slice(*lp.row_ranges["peak_power"])] == pytest.approx([35.0] * 3)
    # a car that needs nothing costs the same with or without the margin: no phantom peak
    # for it to charge under for free, so an arrival's marginal cost is the margin's too
    idle = [dataclasses.replace(later_slots_unmeasured(m), units=one_unit(target_kwh=[10.0]))
            for m in (None, 20.0)]
    free, kept = (solve_plan(p, HighsSolver()).result.objective for p in idle)
    assert kept == pytest.approx(free)


@pytest.mark.parametrize("known", [True, False])
def test_only_an_unmeasured_decision_keeps_later_margins(site, known):
    rng = np.random.default_rng(4)
    obs = dataclasses.replace(random_observation(rng, site), current_load_known=known)
    problem = problem_from_observation(site, obs, random_futures(rng, obs, 3),
                                       coming_load_kw=np.array([20.0]), later_margin_kw=np.arange(96.0))
    if known:
        assert problem.later_margin_kw is None
    else:  # the horizon's slots of the day, overnight slots from tomorrow's
        of_day = (obs.slot_of_day + np.arange(problem.grid.horizon_slots)) % 96
        assert problem.later_margin_kw == pytest.approx(of_day.astype(float))


def test_the_later_margins_are_the_similar_days_spread_of_one_slot_moves(site):
    sampler = site_scenarios(site).future_sampler()
    rng = np.random.default_rng(7)
    obs = dataclasses.replace(random_observation(rng, site, slot_of_day=40), current_load_known=False)
    obs = dataclasses.replace(obs, load_today_kw=obs.load_today_kw[:-1])
    low, high = sampler.later_margins_kw(obs, 0.9), sampler.later_margins_kw(obs, 0.99)
    assert low.shape == (96,) and np.all(low >= 0) and np.all(high >= low)
    # working hours move by several kW a slot at the 99 % quantile; nothing keeps a margin at 0
    assert np.median(high[36:72]) > 1.0
    assert np.all(sampler.later_margins_kw(obs, 0.0) == 0.0)
    # a pool whose days all move alike (one profile, a level per month) leaves nothing to keep
    # (but at midnight, where one month's last day runs into the next month's first)
    pool = [site_scenarios(site).episode_arrays(i) for i in range(3)]
    profile = pool[0].load_kw[:96]
    alike = PoolFutureSampler([dataclasses.replace(e, load_kw=np.tile(profile, len(e.dates)) * (1 + i))
                               for i, e in enumerate(pool)])
    assert alike.later_margins_kw(obs, 0.99)[1:] == pytest.approx(np.zeros(95), abs=1e-9)


def test_the_break_even_quantile_prices_a_kw_slot_against_the_demand_charge(site):
    q = break_even_quantile(0.5, 11.67)
    assert q == pytest.approx(1 - 0.5 * 0.25 / 11.67)
    assert break_even_quantile(0.5, 0.0) == 0.0
    assert break_even_quantile(100.0, 1.0) == 0.5 and break_even_quantile(0.0, 10.0) == 0.999
    sampler = site_scenarios(site).future_sampler()
    rng = np.random.default_rng(8)
    obs = dataclasses.replace(random_observation(rng, site, slot_of_day=40), current_load_known=False)
    obs = dataclasses.replace(obs, load_today_kw=obs.load_today_kw[:-1])
    for options, expected in (({}, sampler.later_margins_kw(obs, q)), ({"later_margin_quantile": 0}, None),
                              ({"later_margin_quantile": 0.9}, sampler.later_margins_kw(obs, 0.9))):
        policy = SmartCharging()
        policy.reset(PolicyContext(site=site, rng=np.random.default_rng(0), futures=sampler, episode_days=21,
                                   options=options))
        got = policy.problem_options(obs, 30)["later_margin_kw"]
        assert (got is None) if expected is None else got == pytest.approx(expected)
    with pytest.raises(MpcOptionError, match="later_margin_quantile=1.5"):
        MpcOptions.from_dict({"later_margin_quantile": 1.5})


def test_the_controller_draws_its_futures_among_similar_days_when_asked(site):
    sampler = site_scenarios(site).future_sampler()
    calls: list = []

    class Spy:
        def __getattr__(self, name):
            return getattr(sampler, name)

        def sample(self, obs, n, rng, among=None):
            calls.append(among)
            return sampler.sample(obs, n, rng, among=among)

    rng = np.random.default_rng(9)
    obs = random_observation(rng, site, slot_of_day=40)
    for options, expected in (({}, None), ({"future_days": 50}, 50), ({"future_days": 0}, None)):
        policy = SmartCharging()
        policy.reset(PolicyContext(site=site, rng=np.random.default_rng(0), futures=Spy(), episode_days=21,
                                   options=options))
        calls.clear()
        assert len(policy.sample_futures(obs, 4)) == 4
        assert calls == [expected]
    with pytest.raises(MpcOptionError, match="future_days=-1"):
        MpcOptions.from_dict({"future_days": -1})
