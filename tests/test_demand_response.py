"""Demand-response events: a dated window with a power limit (penalty per kWh above it, an
incentive when kept) and/or a price adder, in the site's tariff, the bill and the controllers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from helpers import tiny_site
from test_tariff import SEASONAL, _summer_days
from v2b.site import SiteError, site_from_dict
from v2b.tariff import dr_settlements, episode_dr_events, episode_prices_per_kwh
from v2b.timegrid import SLOTS_PER_DAY

#: Friday 14 July 2023 11:00-12:00 (slots 44..47, the cheap hour before the summer peak price):
#: at most 22 kW, 2 $ per kWh above
EVENT = {"name": "heat", "start": "2023-07-14T11:00", "end": "2023-07-14T12:00", "limit_kw": 22.0,
         "penalty_per_kwh": 2.0, "incentive_usd_per_kw": 3.0, "baseline_kw": 45.0}
FRIDAY_EVENT = np.r_[44:48]


def _site(events: list[dict], tariff: dict = SEASONAL):
    data = tiny_site().model_dump(exclude={"base_dir"})
    data["tariff"] = {**tariff, "demand_response": events}
    return site_from_dict(data)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"end": "2023-07-14T10:00"}, "not after start"),
        ({"start": "2023-07-14T11:05"}, "15-minute boundary"),
        ({"start": "2023-07-14T11:00+02:00"}, "UTC offset"),
        ({"limit_kw": None, "penalty_per_kwh": 0.0, "incentive_usd_per_kw": 0.0}, "needs a limit_kw"),
        ({"limit_kw": None, "price_adder_per_kwh": 0.1}, "need a limit_kw"),
        ({"baseline_kw": None}, "needs the baseline_kw"),
        ({"limit_kw": -1.0}, "limit_kw"),
        ({"start": "next friday"}, "start"),
    ],
)
def test_a_bad_event_is_refused_naming_what_is_wrong(change, words):
    event = {k: v for k, v in {**EVENT, **change}.items() if v is not None}
    with pytest.raises(SiteError, match=words):
        _site([event])


def test_events_may_not_overlap_or_share_a_name():
    with pytest.raises(SiteError, match="overlap"):
        _site([EVENT, {**EVENT, "name": "b", "start": "2023-07-14T11:30", "end": "2023-07-14T15:00"}])
    with pytest.raises(SiteError, match="used twice"):
        _site([EVENT, {**EVENT, "start": "2023-07-17T13:00", "end": "2023-07-17T15:00"}])


def test_an_event_round_trips_through_the_sites_json():
    site = _site([EVENT])
    again = site_from_dict(site.model_dump(exclude={"base_dir"}))
    assert again.tariff.demand_response == site.tariff.demand_response
    assert site.model_dump()["tariff"]["demand_response"][0]["start"] == "2023-07-14T11:00"


def test_a_price_adder_raises_the_price_inside_its_window_only():
    adder = {"name": "peak-day", "start": "2023-07-14T16:00", "end": "2023-07-15T01:00",
             "price_adder_per_kwh": 0.5}
    dates = (dt.date(2023, 7, 14), dt.date(2023, 7, 15), dt.date(2023, 7, 17))
    plain = episode_prices_per_kwh(_site([]), dates)
    priced = episode_prices_per_kwh(_site([adder]), dates)
    inside = np.zeros(plain.size, dtype=bool)
    inside[64 : SLOTS_PER_DAY + 4] = True  # Friday 16:00 to Saturday 01:00, across midnight
    assert priced[inside] == pytest.approx(plain[inside] + 0.5)
    assert (priced[~inside] == plain[~inside]).all()
    # an event on a date outside the episode is not on it
    assert episode_dr_events(_site([adder]), (dt.date(2023, 7, 17),)) == []


def test_settlement_penalty_above_the_limit_and_incentive_only_when_kept():
    site = _site([EVENT])
    dates = (dt.date(2023, 7, 14),)
    events = episode_dr_events(site, dates)
    total = np.full(SLOTS_PER_DAY, 20.0)
    kept = dr_settlements(total, events)[0]
    assert kept["overflow_kwh"] == 0 and kept["penalty_usd"] == 0
    assert kept["incentive_usd"] == pytest.approx(3.0 * (45.0 - 22.0))
    total[45] = 30.0  # one slot 8 kW above: 2 kWh
    broken = dr_settlements(total, events)[0]
    assert broken["overflow_kwh"] == pytest.approx(2.0)
    assert broken["penalty_usd"] == pytest.approx(4.0) and broken["incentive_usd"] == 0


def _with_event(policy: str, events: list[dict]):
    return _summer_days({**SEASONAL, "demand_response": events}, policy)


def test_the_bill_charges_the_penalty_uncontrolled_incurs():
    result = _with_event("uncontrolled", [EVENT])
    total = result.trace.total_kw
    overflow_kwh = float(np.maximum(total[FRIDAY_EVENT] - 22.0, 0).sum() * 0.25)
    assert overflow_kwh > 0  # the car charges at full power from 11:00
    s = result.summary
    assert s["dr_penalty_usd"] == pytest.approx(2.0 * overflow_kwh)
    assert s["dr_incentive_usd"] == 0
    plain = _summer_days(SEASONAL, "uncontrolled").summary
    assert s["utility_bill_usd"] == pytest.approx(plain["utility_bill_usd"] + 2.0 * overflow_kwh)
    assert s["building_cost_usd"] == pytest.approx(plain["building_cost_usd"] + 2.0 * overflow_kwh)


@pytest.mark.parametrize("policy", ["smart", "oracle"])
def test_the_controllers_keep_the_site_under_the_events_limit(policy):
    # a penalty dearer than any peak it could save (smart weighs 2 $/kWh against the peak)
    result = _with_event(policy, [{**EVENT, "penalty_per_kwh": 50.0}])
    ev = result.trace.power_kw.sum(axis=1)
    assert result.trace.total_kw[FRIDAY_EVENT].max() <= 22.0 + 1e-6
    without = _summer_days(SEASONAL, policy)
    assert without.trace.total_kw[FRIDAY_EVENT].max() > 22.0 + 1.0  # the event changed the plan
    assert result.summary["dr_penalty_usd"] == pytest.approx(0.0, abs=1e-6)
    assert result.summary["dr_incentive_usd"] == pytest.approx(69.0)
    assert ev[FRIDAY_EVENT].max() <= 2.0 + 1e-6


def test_the_oracles_objective_is_its_bill_before_the_incentive():
    result = _with_event("oracle", [{**EVENT, "limit_kw": 21.0, "penalty_per_kwh": 0.05}])
    s = result.summary
    # a cheap penalty: the oracle pays some of it rather than charge at the dearer hours
    assert s["dr_penalty_usd"] > 0 and s["dr_incentive_usd"] == 0
    assert s["building_cost_usd"] == pytest.approx(s["oracle_objective_usd"], rel=1e-7)


@pytest.mark.parametrize("policy", ["edf", "llf"])
def test_the_heuristics_hold_the_events_limit(policy):
    # on Monday the month's peak so far is Saturday's 60 kW: without the event they charge at will
    monday = {**EVENT, "start": "2023-07-17T11:00", "end": "2023-07-17T12:00"}
    window = 2 * SLOTS_PER_DAY + FRIDAY_EVENT
    result = _with_event(policy, [monday])
    without = _summer_days(SEASONAL, policy)
    assert result.trace.power_kw.sum(axis=1)[window].max() <= 22.0 - 20.0 + 1e-6  # the building draws 20
    assert without.trace.power_kw.sum(axis=1)[window].max() > 2.0 + 1.0


def test_site_show_lists_every_part_of_the_tariff(tmp_path):
    import json

    from typer.testing import CliRunner

    from v2b.cli import app

    site = _site([EVENT, {"name": "dear-evening", "start": "2023-07-17T17:00", "end": "2023-07-17T19:00",
                          "price_adder_per_kwh": 0.25}], {**SEASONAL, "export_price_per_kwh": 0.03})
    path = tmp_path / "site.json"
    path.write_text(json.dumps(site.model_dump(exclude={"base_dir"})))
    result = CliRunner().invoke(app, ["site", "show", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for words in ("event: heat", "limit 22 kW, 2 $/kWh above", "3 $/kW below 45 kW if kept",
                  "event: dear-evening", "+0.25 $/kWh", "energy: summer-peak", "months 6, 7, 8, 9",
                  "export (the building's surplus)", "0.03 $/kWh"):
        assert words in result.output


def test_each_tariff_term_is_a_named_piece_of_the_lp():
    from test_tariff import ON_PEAK
    from v2b.episode import Episode, Session
    from v2b.opt.lp import TERMS, assemble
    from v2b.opt.month import month_problem

    site = _site([EVENT], {**ON_PEAK, "export_price_per_kwh": 0.02})
    load = np.full(SLOTS_PER_DAY, 20.0)
    load[60:64] = -5.0  # a little surplus at 15:00
    car = Session("a", 40, 80, 60.0, 0.2, 0.8)
    episode = Episode("tiny", "replay", 0, (dt.date(2023, 7, 14),), load, (car,))
    lp, _ = assemble(month_problem(site, episode)[0])
    # every term but the controller's own (the unmeasured slot, the later days' EVs: never in
    # the oracle's month LP)
    tariff_terms = [name for name, _, _ in TERMS if name not in ("coming_slot_excess", "rest_of_month_unmet")]
    assert list(lp.col_ranges) == tariff_terms
    ends = [lp.col_ranges[name] for name in tariff_terms]
    assert all(a[1] == b[0] for a, b in zip(ends, ends[1:], strict=False)) and ends[-1][1] == lp.n_cols
    assert {"window_peak", "surplus_energy", "dr_overflow"} <= set(lp.row_ranges)
    plain, _ = assemble(month_problem(_site([]), episode)[0])
    assert "dr_overflow" not in plain.col_ranges and "window_peaks" not in plain.col_ranges
