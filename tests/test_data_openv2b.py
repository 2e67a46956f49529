"""openv2b scenario directories: parsing, step-and-hold series, bad input, conversion."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from v2b.data.errors import DataError
from v2b.data.openv2b import read_openv2b
from v2b.data.sources import detect_kind, read_load, read_sessions
from v2b.scenarios.openv2b_episode import openv2b_episode
from v2b.timegrid import SLOTS_PER_DAY

VEHICLES = (
    "vehicle_id,arrival_slot,departure_slot,battery_kwh,soc_arrival_kwh,soc_target_kwh,"
    "max_charge_kw,max_discharge_kw,min_soc_kwh\n"
    "0,32,68,60.0,15.0,48.0,11.0,11.0,6.0\n"
    "1,36,72,80.0,60.0,40.0,19.0,19.0,8.0\n"
)


def scenario_dir(tmp_path, vehicles: str = VEHICLES, horizon: int = 96, **manifest):
    d = tmp_path / "scen"
    d.mkdir(exist_ok=True)
    doc = {
        "slot_minutes": 15.0,
        "horizon_slots": horizon,
        "charge_efficiency": 0.95,
        "demand_charge_usd_per_kw": 11.67,
        **manifest,
    }
    (d / "scenario.json").write_text(json.dumps(doc))
    (d / "vehicles.csv").write_text(vehicles)
    (d / "chargers.csv").write_text("charger_id,max_kw,bidirectional\n0,20.0,true\n1,20.0,false\n")
    (d / "building_load.csv").write_text("slot,value\n0,22.0\n24,30.0\n48,62.0\n")
    (d / "grid_prices.csv").write_text("slot,value,tou\n0,0.10,off-peak\n24,0.20,peak\n84,0.1,\n")
    return d


def test_reads_manifest_vehicles_and_step_series(tmp_path):
    scen = read_openv2b(scenario_dir(tmp_path))
    assert scen.slot_minutes == 15
    assert len(scen.vehicles) == 2
    assert scen.load_kw.shape == (96,)
    assert scen.load_kw[0] == 22 and scen.load_kw[23] == 22 and scen.load_kw[24] == 30
    assert scen.load_kw[95] == 62
    assert scen.price_per_kwh[24] == 0.2 and scen.tou[24] == "peak"
    assert scen.tou[90] == "peak"  # an empty tou cell holds the previous class
    assert not any("max_charge_kw" in note for note in scen.ignored)  # each session keeps its car's limits


def test_slots_before_first_row_are_zero(tmp_path):
    d = scenario_dir(tmp_path)
    (d / "building_load.csv").write_text("slot,value\n10,5.0\n")
    scen = read_openv2b(d)
    assert scen.load_kw[:10].tolist() == [0.0] * 10 and scen.load_kw[10] == 5.0


def test_sessions_and_load_through_the_generic_readers(tmp_path):
    d = scenario_dir(tmp_path)
    assert detect_kind(d) == "openv2b"
    f = read_sessions(d).frame
    assert f["arrival"].iloc[0] == pd.Timestamp("2023-01-02 08:00")
    assert f["soc_arrival"].iloc[0] == pytest.approx(0.25)
    assert f["energy_kwh"].iloc[0] == pytest.approx(33.0)
    assert f["energy_kwh"].iloc[1] == 0.0  # target below arrival: nothing requested
    assert read_load(d).series.size == 96


def test_episode_keeps_slots_and_soc(tmp_path):
    ep = openv2b_episode(read_openv2b(scenario_dir(tmp_path)), site_name="x")
    assert ep.days == 1 and ep.load_kw.shape == (SLOTS_PER_DAY,)
    s = ep.sessions[0]
    assert (s.arrival_slot, s.departure_slot, s.battery_kwh) == (32, 68, 60.0)
    assert s.soc_arrival == pytest.approx(0.25) and s.soc_requested == pytest.approx(0.8)
    assert (s.max_charge_kw, s.max_discharge_kw, s.v2b_allowed) == (11.0, 11.0, True)
    assert ep.sessions[1].max_charge_kw == 19.0


def test_vehicle_limits_follow_their_vehicle_and_the_site_cap_becomes_the_connection(tmp_path):
    from v2b.scenarios.openv2b_episode import openv2b_site
    from v2b.site import load_site

    vehicles = ("vehicle_id,arrival_slot,departure_slot,battery_kwh,soc_arrival_kwh,soc_target_kwh,"
                "max_charge_kw,max_discharge_kw\n"
                "7,40,60,60.0,15.0,48.0,7.0,0\n"  # listed first, arrives second
                "3,30,70,80.0,20.0,60.0,11.0,\n")
    scen = read_openv2b(scenario_dir(tmp_path, vehicles, site_cap_kw=80.0))
    assert not any("site_cap" in note for note in scen.ignored)
    ep = openv2b_episode(scen, site_name="x")
    early, late = ep.sessions
    assert (early.arrival_slot, early.max_charge_kw, early.max_discharge_kw, early.v2b_allowed) == (
        30, 11.0, None, True)
    assert (late.arrival_slot, late.max_charge_kw, late.discharge_limit_kw, late.v2b_allowed) == (
        40, 7.0, 0.0, False)
    assert openv2b_site(scen, load_site("santa-clara-office")).connection_limit_kw == 80.0


@pytest.mark.parametrize("column,value", [("max_charge_kw", "0"), ("max_charge_kw", "-3"),
                                          ("max_discharge_kw", "-1"), ("max_charge_kw", "fast")])
def test_bad_vehicle_limits_are_refused_naming_the_column(tmp_path, column, value):
    limits = {"max_charge_kw": "11.0", "max_discharge_kw": "11.0", column: value}
    vehicles = ("vehicle_id,arrival_slot,departure_slot,battery_kwh,soc_arrival_kwh,soc_target_kwh,"
                "max_charge_kw,max_discharge_kw\n"
                f"0,32,68,60.0,15.0,48.0,{limits['max_charge_kw']},{limits['max_discharge_kw']}\n")
    with pytest.raises(DataError, match=column):
        read_openv2b(scenario_dir(tmp_path, vehicles))


def test_hourly_scenario_is_resampled_to_15_minutes(tmp_path):
    vehicles = VEHICLES.replace("0,32,68", "0,8,17").replace("1,36,72", "1,9,18")
    d = scenario_dir(tmp_path, vehicles, horizon=24, slot_minutes=60.0)
    ep = openv2b_episode(read_openv2b(d), site_name="x")
    assert ep.load_kw.shape == (96,)
    assert ep.sessions[0].arrival_slot == 32 and ep.sessions[0].departure_slot == 68
    assert np.all(ep.load_kw[:24] == ep.load_kw[0])


def test_partial_day_horizon_is_an_error(tmp_path):
    with pytest.raises(DataError, match="whole number of days"):
        openv2b_episode(read_openv2b(scenario_dir(tmp_path, horizon=100)), site_name="x")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2,40,30,40.0,10.0,32.0,7.0,0.0,4.0", "field 'departure_slot' = '30': must be after"),
        ("2,40,130,40.0,10.0,32.0,7.0,0.0,4.0", "field 'departure_slot' = '130': must be <= horizon"),
        ("2,40,60,-40.0,10.0,32.0,7.0,0.0,4.0", "field 'battery_kwh' = -40.0: must be > 0"),
        (
            "2,40,60,40.0,50.0,32.0,7.0,0.0,4.0",
            "field 'soc_arrival_kwh' = '50.0': must be in [0, battery_kwh]",
        ),
        ("2,40,60,40.0,10.0,,7.0,0.0,4.0", "field 'soc_target_kwh' = '': is missing"),
        ("2,4x,60,40.0,10.0,32.0,7.0,0.0,4.0", "field 'arrival_slot' = '4x': is not a number"),
    ],
)
def test_bad_vehicle_rows(tmp_path, row, expected):
    d = scenario_dir(tmp_path, VEHICLES + row + "\n")
    with pytest.raises(DataError) as err:
        read_openv2b(d)
    assert "vehicles.csv: row 3 (line 4)" in str(err.value)
    assert expected in str(err.value)
    scen = read_openv2b(d, skip_invalid=True)
    assert len(scen.vehicles) == 2 and scen.report.dropped == 1


def test_bad_manifest_and_duplicate_steps(tmp_path):
    d = scenario_dir(tmp_path, charge_efficiency=1.5)
    message = r"scenario.json: field 'charge_efficiency' = 1.5: must be in \(0, 1\]"
    with pytest.raises(DataError, match=message):
        read_openv2b(d)
    d = scenario_dir(tmp_path)
    (d / "scenario.json").write_text(json.dumps({"slot_minutes": 15}))
    with pytest.raises(DataError, match="field 'horizon_slots' is required"):
        read_openv2b(d)
    d = scenario_dir(tmp_path)
    (d / "building_load.csv").write_text("slot,value\n0,1\n0,2\n")
    message = r"building_load.csv: row 2 \(line 3\): field 'slot' = '0': appears twice"
    with pytest.raises(DataError, match=message):
        read_openv2b(d)
    with pytest.raises(DataError, match="not a directory"):
        read_openv2b(tmp_path / "missing")
