"""The later days' EVs in the month's peak (``month_peak = "pool-value"``) and the billing
history's level (``docs/model.md``, "Controller: month-aware demand charge")."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import tiny_site
from test_mpc import _morning
from test_opt_cases import one_unit, small_problem
from v2b.control.mpc_options import MpcOptionError, MpcOptions
from v2b.control.mpc_peak import HISTORY_PSEUDO_MONTHS, LoadHistory, MonthPeakPrior, history_level
from v2b.episode import Episode
from v2b.opt.charging import solve_plan
from v2b.opt.daypeak import ev_unmet_curves_kwh
from v2b.opt.highs import HighsSolver
from v2b.scenarios import site_scenarios
from v2b.site import load_site

HEADROOM = np.array([0.0, 5.0, 10.0, 20.0, 40.0])
# Three days of 50 kW with a 60 kW building peak at noon; on day 0 a car asks 40 kWh between
# 10:00 and 12:00 (8 slots, at most 20 kW), on day 2 one asks 10 kWh over the same hours.
LOAD = np.full((3, 96), 50.0)
LOAD[:, 48] = 60.0
CARS = dict(session_day=np.array([0, 2]), arrival_sod=np.array([40, 40]), departure_sod=np.array([48, 48]),
            energy_kwh=np.array([40.0, 10.0]), rate_kw=20.0, efficiency=1.0)


def test_unmet_energy_falls_with_the_headroom_over_the_days_own_peak():
    unmet = ev_unmet_curves_kwh(LOAD, **CARS, headroom_kw=HEADROOM)
    assert unmet.shape == (5, 3)
    # the cap is 60 kW + headroom over 50 kW of building: 10 kW of room at headroom 0
    np.testing.assert_allclose(unmet[:, 0], [20.0, 10.0, 0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(unmet[:, 1], 0.0)  # no car
    np.testing.assert_allclose(unmet[:, 2], 0.0, atol=1e-6)  # 10 kWh fit in 2 h at 10 kW
    slopes = np.diff(unmet[:, 0]) / np.diff(HEADROOM)
    assert (slopes <= 1e-9).all() and (np.diff(slopes) >= -1e-9).all()  # falling and convex


def test_without_room_or_cars_everything_or_nothing_is_unmet():
    flat = np.full((1, 96), 50.0)
    one = {k: v[:1] if isinstance(v, np.ndarray) else v for k, v in CARS.items()}
    np.testing.assert_allclose(ev_unmet_curves_kwh(flat, **one, headroom_kw=np.array([0.0]))[:, 0], 40.0)
    none = dict(one, energy_kwh=np.array([0.0]))
    np.testing.assert_allclose(ev_unmet_curves_kwh(flat, **none, headroom_kw=HEADROOM), 0.0)


class JulyPool:
    """A sampler with one pool month, a July of :data:`LOAD` and :data:`CARS`."""

    month_of_year = np.array([7])

    def pool_months(self):
        keys = ("session_day", "arrival_sod", "departure_sod", "energy_kwh")
        return [(LOAD, *[CARS[k] for k in keys])]


def _prior(**kw) -> MonthPeakPrior:
    unmet = ev_unmet_curves_kwh(LOAD, **CARS, headroom_kw=HEADROOM)
    return MonthPeakPrior([LOAD], unmet_kwh=[unmet], headroom_kw=HEADROOM, **kw)


def test_the_cuts_are_the_later_days_unmet_energy_at_each_month_peak():
    history = LoadHistory()
    obs = _morning(0)  # day 0 of 20: the pool month's 3 days repeat over the rest
    history.observe(obs)
    floors, (a, b) = _prior().unmet_cuts(history, obs, 4)
    np.testing.assert_allclose(floors, 60.0)
    days = np.arange(1, 20) % 3
    for h in [0.0, 2.5, 5.0, 10.0, 30.0, 50.0]:
        # each later day: day 0's car (20 kWh at h=0, 10 at 5, none from 10) or day 2's (none)
        per_day = np.interp(h, HEADROOM, [20.0, 10.0, 0.0, 0.0, 0.0])
        expected = per_day * (days == 0).sum()
        np.testing.assert_allclose(np.max(a + b * (60.0 + h), axis=1), expected, atol=1e-6)
    assert (b <= 1e-12).all()
    # on the month's last day nothing is left to price
    last = _morning(0)
    last = type(last)(**{**last.__dict__, "day": 19})
    assert _prior().unmet_cuts(history, last, 4)[1] is None
    # the plain prior has no curves
    assert MonthPeakPrior([LOAD]).unmet_cuts(history, obs, 4)[1] is None


def test_a_plan_raises_the_months_peak_where_the_later_days_need_it():
    # 20 kW of building, 25 kW already paid; no EV today. Later days leave 40 kWh unmet per kW
    # below 27.5 kW (0.5 $/kWh: 20 $ a kW against a demand charge of 10 $/kW), nothing above.
    units = one_unit(target_kwh=[10.0])
    cuts = (np.array([[100.0 + 40.0 * 25.0, 0.0]]), np.array([[-40.0, 0.0]]))
    plain = small_problem(units, [20.0] * 4, [0.1] * 4, floor_kw=25.0)
    valued = small_problem(units, [20.0] * 4, [0.1] * 4, floor_kw=25.0, rest_unmet_cuts=cuts)
    peaks = []
    for problem in (plain, valued):
        plan = solve_plan(problem, HighsSolver())
        assert plan.optimal
        peaks.append(float(plan.result.x[plan.layout.peak.at(np.array([0]))][0]))
    assert peaks == pytest.approx([25.0, 27.5])


def test_the_billing_history_sets_the_pools_level():
    peaks = np.array([200.0, 200.0, 100.0])
    calendar = np.array([7, 7, 1])
    assert history_level(peaks, calendar, (), 1.0) == 1.0
    # one July at 160 kW against July's 200: the ratio 0.8, believed for a third
    one = history_level(peaks, calendar, ((7, 160.0),), 1.0)
    assert one == pytest.approx(0.8 ** (1 / (1 + HISTORY_PSEUDO_MONTHS)), rel=1e-3)
    # many months at 0.8 of their season's pool months: the level goes to 0.8
    many = history_level(peaks, calendar, ((7, 160.0), (1, 80.0)) * 20, 1.0)
    assert many == pytest.approx(0.8 ** (40 / (40 + HISTORY_PSEUDO_MONTHS)), rel=1e-3)
    prior = _prior(level=0.5)
    np.testing.assert_allclose(prior.peak_kw[0, :3], 30.0)
    with pytest.raises(ValueError, match="level=0"):
        MonthPeakPrior([LOAD], level=0.0)


def test_recorded_months_carry_the_billing_history_of_the_months_before():
    scenarios = site_scenarios(load_site("santa-clara-office"))
    first, third = scenarios.replay_episode(0), scenarios.replay_episode(2)
    assert first.peak_history_kw == ()
    months = [scenarios.replay_month(j)[1] for j in range(2)]
    assert [m for m, _ in third.peak_history_kw] == months
    assert third.peak_history_kw[0][1] == pytest.approx(float(first.load_kw.max()))
    assert third.truncated(2).peak_history_kw == third.peak_history_kw


@pytest.mark.parametrize("entry", [(0, 100.0), (13, 100.0), (5, -1.0), (5, float("nan"))])
def test_a_bad_billing_history_is_named(entry):
    with pytest.raises(ValueError, match="peak_history_kw entry"):
        Episode("s", "test", 0, (), np.zeros(0), peak_history_kw=(entry,))


def test_the_history_and_value_options_are_checked():
    assert MpcOptions.from_dict({"month_peak": "pool-value"}).month_peak == "pool-value"
    with pytest.raises(MpcOptionError, match="billing_history"):
        MpcOptions.from_dict({"billing_history": "yes"})


def test_smart_gets_the_history_and_the_curves_from_its_context():
    site = tiny_site()
    level = 0.8 ** (1 / 3)  # one July at 48 kW against the pool July's 60
    prior = MonthPeakPrior.from_sampler(JulyPool(), site, "pool-value", 1.0, ((7, 48.0),))
    assert prior.unmet_kwh is not None and prior.unmet_kwh.shape[0] == 1
    assert prior.level == pytest.approx(level, rel=1e-3)
    np.testing.assert_allclose(prior.peak_kw[0, :3], 60.0 * level)


def _seen_one_day():
    from v2b.control.mpc_history import SeenDays
    from v2b.control.mpc_peak import SeenDayUnmet
    from v2b.episode import Session

    seen = SeenDays()
    day0 = _morning(0)
    day0 = type(day0)(**{**day0.__dict__, "slot": 95, "slot_of_day": 95, "load_today_kw": LOAD[0]})
    seen.observe(day0)
    seen.record_arrival(day0, Session("a", 40, 48, 40.0, 0.0, 1.0))  # day 0's 40 kWh car
    unmet = SeenDayUnmet(rate_kw=20.0, efficiency=1.0)
    nxt = type(day0)(**{**day0.__dict__, "slot": 96 + 30, "day": 1, "slot_of_day": 30,
                        "load_today_kw": np.full(31, 50.0), "load_past_kw": LOAD[0]})
    unmet.update(seen, nxt)
    return unmet, nxt


def test_the_days_seen_this_month_give_their_own_curve():
    unmet, _ = _seen_one_day()
    assert unmet.n_days == 1
    # under 50 kW there is no room at all, at 60 kW 10 kW of room for 2 h, at 70 kW enough
    np.testing.assert_allclose(unmet.mean_unmet_kwh(np.array([50.0, 60.0, 65.0, 70.0])),
                               [40.0, 20.0, 10.0, 0.0], atol=1e-6)


def test_the_later_days_blend_the_pool_months_curve_with_the_seen_days():
    unmet, obs = _seen_one_day()
    history = LoadHistory()
    history.observe(obs)
    prior = _prior()
    floors, (a0, b0) = prior.unmet_cuts(history, obs, 2)
    _, (a1, b1) = prior.unmet_cuts(history, obs, 2, unmet)
    w = 1 / (1 + 2.0)  # one day seen against SEEN_PSEUDO_DAYS
    rest = obs.episode_days - obs.day - 1
    for p in [60.0, 62.5, 65.0, 70.0]:
        pool = np.max(a0 + b0 * p, axis=1)
        seen = rest * float(unmet.mean_unmet_kwh(np.array([p]))[0])
        np.testing.assert_allclose(np.max(a1 + b1 * p, axis=1), (1 - w) * pool + w * seen, atol=1e-6)


def test_only_the_value_mode_takes_the_billing_history():
    site = tiny_site()
    bills = ((7, 48.0),)
    for mode in ("pool", "pool-ev", "pool-tradeoff"):
        prior = MonthPeakPrior.from_sampler(JulyPool(), site, mode, 1.0, bills)
        assert prior.level == 1.0 and prior.unmet_kwh is None
    assert MonthPeakPrior.from_sampler(JulyPool(), site, "pool-value", 1.0, bills).level < 1.0
