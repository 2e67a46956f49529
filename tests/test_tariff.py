"""Tariffs: time-of-use periods by day type and season, a price series, one place
(``v2b.tariff``) where the engine, the bill and the controllers get their prices."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from helpers import tiny_site
from v2b.data.errors import DataError
from v2b.site import SiteError, load_site, site_from_dict
from v2b.tariff import episode_prices_per_kwh, price_bounds_per_kwh
from v2b.timegrid import SLOTS_PER_DAY

SEASONAL = {
    "demand_charge_usd_per_kw": 10.0,
    "energy": [
        {"name": "off", "start": "18:00", "end": "12:00", "price_per_kwh": 0.10, "days": "weekdays"},
        {"name": "summer-peak", "start": "12:00", "end": "18:00", "price_per_kwh": 0.30, "days": "weekdays",
         "months": [6, 7, 8, 9]},
        {"name": "winter-peak", "start": "12:00", "end": "18:00", "price_per_kwh": 0.20, "days": "weekdays",
         "months": [1, 2, 3, 4, 5, 10, 11, 12]},
        {"name": "weekend", "start": "00:00", "end": "24:00", "price_per_kwh": 0.08, "days": "weekends"},
    ],
}


def _site(tariff: dict, **extra):
    data = tiny_site().model_dump(exclude={"base_dir"})
    data["tariff"] = tariff
    data.update(extra)
    return site_from_dict(data)


def test_each_date_gets_its_day_type_and_season():
    site = _site(SEASONAL)
    wed_jul, sat_jul, wed_jan = dt.date(2023, 7, 12), dt.date(2023, 7, 15), dt.date(2023, 1, 11)
    prices = episode_prices_per_kwh(site, [wed_jul, sat_jul, wed_jan]).reshape(3, SLOTS_PER_DAY)
    noon, night = 12 * 4, 2 * 4
    assert prices[0, noon] == 0.30 and prices[0, night] == 0.10
    assert (prices[1] == 0.08).all()
    assert prices[2, noon] == 0.20 and prices[2, 18 * 4] == 0.10
    assert not site.tariff.uniform
    assert price_bounds_per_kwh(site.tariff) == (0.08, 0.30)
    with pytest.raises(ValueError, match="depend on the day"):
        site.tariff.price_per_kwh_by_slot()


@pytest.mark.parametrize("change,words", [
    (lambda e: e.pop(3), "leave 00:00 on weekends in month 1 without a price"),
    (lambda e: e[2].update(months=[1, 2, 3, 4, 5, 6, 10, 11, 12]), "overlap at 12:00 on weekdays in month 6"),
    (lambda e: e[1].update(months=[13]), "months [13] are not months 1-12"),
    (lambda e: e[0].update(days="holidays"), "days"),
])
def test_a_tariff_that_leaves_a_day_unpriced_or_priced_twice_is_refused(change, words):
    tariff = {**SEASONAL, "energy": [dict(p) for p in SEASONAL["energy"]]}
    change(tariff["energy"])
    with pytest.raises(SiteError, match=words.replace("[", r"\[").replace("]", r"\]")):
        _site(tariff)


def test_either_periods_or_a_series():
    with pytest.raises(SiteError, match="either energy periods or price_series"):
        _site({**SEASONAL, "price_series": "p.csv"})
    with pytest.raises(SiteError, match="energy periods are missing"):
        _site({"demand_charge_usd_per_kw": 1.0})


def test_sites_without_the_new_fields_keep_their_json():
    text = load_site("santa-clara-office").model_dump_json()
    for key in ('"days"', '"months"', '"price_series"', '"connection_limit_kw"'):
        assert key not in text
    assert '"days":"weekends"' in _site(SEASONAL).model_dump_json()


def _series_site(tmp_path, rows: str):
    path = tmp_path / "prices.csv"
    path.write_text("time,price_per_kwh\n" + rows)
    return _site({"demand_charge_usd_per_kw": 10.0, "price_series": str(path)})


def test_a_price_series_holds_each_price_until_the_next(tmp_path):
    rows = "".join(f"2023-03-06T{h:02d}:00:00,{0.05 + 0.01 * h:.2f}\n" for h in range(24))
    rows += "2023-03-07T00:00:00,0.50\n2023-03-07T23:00:00,0.60\n"
    site = _series_site(tmp_path, rows)
    prices = episode_prices_per_kwh(site, [dt.date(2023, 3, 6), dt.date(2023, 3, 7)])
    assert prices[0] == 0.05 and prices[3] == 0.05 and prices[4] == pytest.approx(0.06)
    assert prices[SLOTS_PER_DAY - 1] == pytest.approx(0.28)
    assert (prices[SLOTS_PER_DAY:-4] == 0.50).all() and (prices[-4:] == 0.60).all()
    assert site.tariff.price_series is not None and not site.tariff.uniform


@pytest.mark.parametrize("rows,words", [
    ("2023-03-06T00:00:00,0.1\n2023-03-06T12:00:00,0.2\n", "does not cover 2023-03-06"),
    ("2023-03-06T00:00:00,0.1\n2023-03-07T23:00:00,0.2\n", "does not cover 2023-03-08"),
    ("yesterday,0.1\n", "is not a local time"),
    ("2023-03-06T00:00:00,cheap\n", "is not a price"),
    ("2023-03-06T00:00:00,0.1\n2023-03-06T00:00:00,0.2\n", "appears twice"),
    ("2023-03-06T00:00:00+01:00,0.1\n", "without a UTC offset"),
])
def test_a_bad_or_short_series_is_refused_naming_the_row_or_date(tmp_path, rows, words):
    site = _series_site(tmp_path, rows)
    with pytest.raises(DataError, match=words):
        episode_prices_per_kwh(site, [dt.date(2023, 3, 6), dt.date(2023, 3, 7), dt.date(2023, 3, 8)])


def test_controllers_plan_on_the_days_prices():
    from test_mpc import RandomSampler
    from v2b.control.registry import make_policy
    from v2b.episode import Episode, Session
    from v2b.opt.problem import problem_from_observation
    from v2b.sim import Simulator

    site = _site(SEASONAL)
    dates = (dt.date(2023, 7, 14), dt.date(2023, 7, 15))  # a summer Friday, then a Saturday
    load = np.full(2 * SLOTS_PER_DAY, 20.0)
    sessions = (Session("fri", 40, 80, 60.0, 0.2, 0.8), Session("sat", 96 + 40, 96 + 80, 60.0, 0.2, 0.8))
    sim = Simulator(site, Episode("tiny", "test", 0, dates, load, sessions), make_policy("smart"), 3,
                    RandomSampler(), policy_options={"scenarios": 4, "month_peak": "none"})
    seen = {}
    while not sim.done:
        sim.begin_slot()
        if sim.slot in (40, 96 + 40):
            obs = sim.observe()
            futures = RandomSampler().sample(obs, 2, np.random.default_rng(0))
            problem = problem_from_observation(site, obs, futures)
            seen[sim.slot] = problem.price_per_kwh
        sim.end_slot()
    friday, saturday = seen[40], seen[96 + 40]
    assert friday[8] == 0.30 and friday[0] == 0.10  # 12:00 and 10:00 of a summer weekday
    assert (saturday == 0.08).all()
    assert sim.trace.price_per_kwh[48] == 0.30 and (sim.trace.price_per_kwh[SLOTS_PER_DAY:] == 0.08).all()


ON_PEAK = {**SEASONAL, "demand_charges": [
    {"name": "summer-on-peak", "start": "12:00", "end": "18:00", "days": "weekdays", "months": [6, 7, 8, 9],
     "usd_per_kw": 15.0}]}


def _summer_days(site_tariff: dict, policy: str, load=None):
    from test_mpc import RandomSampler
    from v2b.control.registry import make_policy
    from v2b.episode import Episode, Session
    from v2b.sim import simulate

    site = _site(site_tariff)
    dates = (dt.date(2023, 7, 14), dt.date(2023, 7, 15), dt.date(2023, 7, 17))  # Fri, Sat, Mon
    if load is None:
        load = np.full(3 * SLOTS_PER_DAY, 20.0)
        load[SLOTS_PER_DAY + 50] = 60.0  # Saturday's building peak: outside the window
    sessions = tuple(Session(f"s{d}", d * 96 + 44, d * 96 + 76, 60.0, 0.2, 0.8) for d in (0, 1, 2))
    ep = Episode("tiny", "test", 0, dates, np.asarray(load, float), sessions)
    return simulate(site, ep, make_policy(policy), seed=3, futures=RandomSampler(),
                    policy_options={"scenarios": 4, "month_peak": "none", "load_info": "paper"})


def test_a_windowed_demand_charge_bills_the_peak_inside_its_window():
    result = _summer_days(ON_PEAK, "uncontrolled")
    total = result.trace.total_kw
    inside = np.zeros(total.size, dtype=bool)
    inside[[*range(48, 72), *range(2 * 96 + 48, 2 * 96 + 72)]] = True  # Fri and Mon 12:00-18:00
    s = result.summary
    assert s["window_demand_charges_usd"]["summer-on-peak"] == pytest.approx(15.0 * total[inside].max())
    assert s["demand_charge_usd"] == pytest.approx(10.0 * total.max() + 15.0 * total[inside].max())
    assert total.max() == pytest.approx(60.0 + total[96 + 50] - 60.0)  # the all-hours peak is Saturday's


@pytest.mark.parametrize("policy", ["smart", "oracle"])
def test_the_controllers_keep_charging_out_of_a_dear_window(policy):
    with_window = _summer_days(ON_PEAK, policy)
    without = _summer_days(SEASONAL, policy)
    inside = np.r_[48:72, 2 * 96 + 48 : 2 * 96 + 72]
    ev = with_window.trace.power_kw.sum(axis=1)
    assert ev[inside].max() <= without.trace.power_kw.sum(axis=1)[inside].max() + 1e-6
    # the site's peak inside the window: what the new charge bills
    assert with_window.trace.total_kw[inside].max() <= without.trace.total_kw[inside].max() + 1e-6
    assert with_window.summary["window_demand_charges_usd"]["summer-on-peak"] == pytest.approx(
        15.0 * with_window.trace.total_kw[inside].max())


def test_the_oracle_bill_is_its_lp_optimum_with_a_window():
    # the window's charge is in the month LP: its plan's cost is the bill, window included
    result = _summer_days(ON_PEAK, "oracle")
    s = result.summary
    assert s["window_demand_charges_usd"]["summer-on-peak"] > 0
    assert s["building_cost_usd"] == pytest.approx(s["oracle_objective_usd"], rel=1e-7)


def test_a_window_charge_moves_charging_out_of_the_window():
    # flat energy prices and a building spike at 02:00 that sets the all-hours peak: only the
    # window's charge tells the oracle when to charge; a car there 11:00-19:00 asking 36 kWh
    flat = {"demand_charge_usd_per_kw": 10.0,
            "energy": [{"name": "flat", "start": "00:00", "end": "24:00", "price_per_kwh": 0.1}]}
    load = np.full(3 * SLOTS_PER_DAY, 20.0)
    load[[8, 96 + 8, 2 * 96 + 8]] = 60.0
    with_window = _summer_days({**flat, "demand_charges": ON_PEAK["demand_charges"]}, "oracle", load)
    friday = with_window.trace.total_kw[:96]
    # 20 kWh fit outside the window (11:00-12:00, 18:00-19:00 at 10 kW), 16 must go inside,
    # spread evenly over its 24 slots: 20 + 16 / 6 kW at most
    assert friday[48:72].max() <= 20.0 + 16.0 / 6.0 + 1e-6
    assert with_window.trace.power_kw[:96].sum(axis=1)[[44, 45, 46, 47, 72, 73, 74, 75]].min() > 9.0


def test_a_demand_charge_name_is_used_once():
    charges = [dict(ON_PEAK["demand_charges"][0]), dict(ON_PEAK["demand_charges"][0])]
    with pytest.raises(SiteError, match="used twice"):
        _site({**SEASONAL, "demand_charges": charges})


def test_price_points_in_the_site_are_a_price_series():
    points = [{"time": "2023-07-14T00:00", "price_per_kwh": 0.1},
              {"time": "2023-07-14T17:00", "price_per_kwh": 0.5},
              {"time": "2023-07-15T23:45", "price_per_kwh": 0.1}]
    site = _site({"demand_charge_usd_per_kw": 10.0, "price_points": points})
    prices = episode_prices_per_kwh(site, (dt.date(2023, 7, 14), dt.date(2023, 7, 15)))
    assert prices[: 68].tolist() == [0.1] * 68 and (prices[68:-1] == 0.5).all() and prices[-1] == 0.1
    assert price_bounds_per_kwh(site.tariff) == (0.1, 0.5)
    assert site_from_dict(site.model_dump(exclude={"base_dir"})).tariff == site.tariff
    with pytest.raises(SiteError, match="time order"):
        _site({"demand_charge_usd_per_kw": 10.0, "price_points": points[::-1]})
    with pytest.raises(SiteError, match="one of energy periods, price_series or price_points"):
        _site({**SEASONAL, "price_points": points})
    with pytest.raises(DataError, match="does not cover 2023-07-16"):
        episode_prices_per_kwh(site, (dt.date(2023, 7, 16),))
