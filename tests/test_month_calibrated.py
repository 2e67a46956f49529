"""The month floor calibrated on the site's past months (``month_peak = "calibrated"``,
``docs/model.md``, "Controller: month-aware demand charge")."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import tiny_site
from test_month_value import LOAD, JulyPool
from test_mpc import _morning
from v2b.control.mpc_peak import CALIBRATION_PSEUDO_MONTHS, LoadHistory, MonthPeakPrior, hindsight_peak_kw
from v2b.episode import Episode
from v2b.scenarios import site_scenarios
from v2b.site import load_site

# One day: 50 kW of building, 55 kW while a car stays 10:00-12:00 asking 40 kWh, 60 kW at noon.
DAY = np.full((1, 96), 50.0)
DAY[0, 40:48] = 55.0
DAY[0, 48] = 60.0
CAR = (np.array([0]), np.array([40]), np.array([48]), np.array([40.0]))


def test_a_past_months_hindsight_peak_trades_the_demand_charge_against_unmet_energy():
    # tiny site: 10 kW chargers at 0.9 efficiency, 10 $/kW. Under 60 kW the car gets 5 kW for
    # two hours; each kW more gives 1.8 kWh: 0.9 $ at 0.5 $/kWh, 36 $ at 20 $/kWh.
    assert hindsight_peak_kw(tiny_site(), DAY, *CAR) == pytest.approx(60.0, abs=1e-6)
    dear = tiny_site(penalties={"soc_penalty_usd_per_kwh": 20.0, "degradation_usd_per_kwh": 0.05})
    assert hindsight_peak_kw(dear, DAY, *CAR) == pytest.approx(65.0, abs=1e-6)  # the charger's 10 kW
    no_car = tuple(a[:0] for a in CAR)
    assert hindsight_peak_kw(dear, DAY, *no_car) == pytest.approx(60.0)


def test_without_past_months_the_calibrated_prior_is_the_pool_prior():
    site = tiny_site()
    calibrated = MonthPeakPrior.from_sampler(JulyPool(), site, "calibrated", 1.0)
    pool = MonthPeakPrior.from_sampler(JulyPool(), site, "pool", 1.0)
    assert not calibrated.point and calibrated.level == 1.0
    np.testing.assert_array_equal(calibrated.peak_kw, pool.peak_kw)


def test_the_calibrated_floor_is_one_point_levelled_by_the_sites_past_months():
    site = tiny_site()
    pool_hindsight = hindsight_peak_kw(site, *JulyPool().pool_months()[0])
    past = ((7, 0.8 * pool_hindsight),)  # one July at 0.8 of the pool's July
    prior = MonthPeakPrior.from_sampler(JulyPool(), site, "calibrated", 1.0, hindsight_history_kw=past)
    level = 0.8 ** (1 / (1 + CALIBRATION_PSEUDO_MONTHS))
    assert prior.point and prior.level == pytest.approx(level, rel=1e-6)
    history, obs = LoadHistory(), _morning(0)
    history.observe(obs)
    floors, cuts = prior.unmet_cuts(history, obs, 5)
    assert cuts is None
    np.testing.assert_allclose(floors, level * pool_hindsight)  # the pool July's, levelled
    # the building's billing history does not move it; only the hindsight peaks do
    bills = MonthPeakPrior.from_sampler(JulyPool(), site, "calibrated", 1.0, ((7, 10.0),), past)
    assert bills.level == prior.level


def test_one_point_is_the_weighted_median_where_the_spread_is_a_quantile_each():
    months = [LOAD.copy() for _ in range(3)]  # alike but for noon's peak: 60, 72 and 84 kW
    for month, peak in zip(months, [60.0, 72.0, 84.0], strict=True):
        month[:, 48] = peak
    history, obs = LoadHistory(), _morning(0)
    history.observe(obs)
    spread = MonthPeakPrior(months).floors(history, obs, 3)
    point = MonthPeakPrior(months, point=True).floors(history, obs, 3)
    assert np.ptp(spread) > 0
    weights = MonthPeakPrior(months).rest_of_month_kw(history, obs)[1]
    assert weights.max() < 0.5  # so the median is the middle month
    np.testing.assert_allclose(point, 72.0)
    # never below the peak already paid
    paid = type(obs)(**{**obs.__dict__, "peak_so_far_kw": 80.0})
    np.testing.assert_allclose(MonthPeakPrior(months, point=True).floors(history, paid, 3), 80.0)


def test_recorded_months_carry_their_predecessors_hindsight_peaks():
    scenarios = site_scenarios(load_site("santa-clara-office"))
    third = scenarios.replay_episode(2)
    assert scenarios.replay_episode(0).hindsight_history_kw == ()
    assert scenarios.test_episode(0).hindsight_history_kw == ()  # generated months: the pool prior
    assert [m for m, _ in third.hindsight_history_kw] == [m for m, _ in third.peak_history_kw]
    for (_, hindsight), (_, building) in zip(third.hindsight_history_kw, third.peak_history_kw, strict=True):
        assert hindsight >= building - 1e-6  # no V2B in the hindsight peak: never below the building
    assert third.truncated(2).hindsight_history_kw == third.hindsight_history_kw


@pytest.mark.parametrize("entry", [(0, 100.0), (5, 0.0), (5, float("inf"))])
def test_a_bad_hindsight_history_is_named(entry):
    with pytest.raises(ValueError, match="hindsight_history_kw entry"):
        Episode("s", "test", 0, (), np.zeros(0), hindsight_history_kw=(entry,))


def test_a_few_hours_of_load_count_for_their_share_of_a_day_in_the_profile_kernel():
    from v2b.control.mpc_peak import PROFILE_EVIDENCE_SLOTS

    months = [np.full((20, 96), 80.0), np.full((20, 96), 90.0)]
    prior = MonthPeakPrior(months)
    sigma = 0.06 * 85.0
    for slots in (24, 48, 96):
        history, obs = LoadHistory(), _morning(0)
        history.observe(type(obs)(**{**obs.__dict__, "load_today_kw": np.full(slots, 80.0)}))
        weight = prior.rest_of_month_kw(history, obs)[1]
        share = min(1.0, slots / PROFILE_EVIDENCE_SLOTS)
        assert np.log(weight[0] / weight[1]) == pytest.approx(0.5 * share * (10.0 / sigma) ** 2, rel=1e-6)


def test_the_calibrated_floor_weighs_pool_months_by_calendar_month_only():
    # an August and an October pool month; the load seen looks like the August one
    august, october = LOAD.copy(), LOAD * 0.8
    august[:, 48], october[:, 48] = 90.0, 50.0
    calendar = np.array([8, 10])
    history, obs = LoadHistory(), _morning(10)
    history.observe(type(obs)(**{**obs.__dict__, "load_today_kw": august[0]}))  # a whole day
    point = MonthPeakPrior([august, october], month_of_year=calendar, season_months=1.0, point=True)
    spread = MonthPeakPrior([august, october], month_of_year=calendar, season_months=1.0)
    assert spread.rest_of_month_kw(history, obs)[1][0] > 0.5  # the profile says August
    weight = point.rest_of_month_kw(history, obs)[1]
    np.testing.assert_allclose(weight, point.rest_of_month_kw(LoadHistory(), obs)[1])
    assert weight[1] > 0.5  # the date says October, and only the date counts
    np.testing.assert_allclose(point.floors(history, obs, 3), 50.0)
