"""Bring your own data: a site file pointing at your CSVs, --skip-invalid, and openv2b runs."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd
import pytest
import tomli_w
from typer.testing import CliRunner

from v2b.cli import app
from v2b.scenarios import GenerativeModel

runner = CliRunner()


def own_site(tmp_path, bad_row: bool = False):
    """A 4-charger site whose load and sessions come from CSV files next to it."""
    times = pd.date_range("2023-03-01", "2023-04-30 23:00", freq="1h")
    hours = times.hour.to_numpy()
    kw = 40 + 30 * ((hours >= 8) & (hours < 18))
    pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d %H:%M"), "kw": kw}).to_csv(
        tmp_path / "load.csv", index=False
    )
    rng = np.random.default_rng(0)
    rows = []
    for day in pd.bdate_range("2023-03-01", "2023-04-28"):
        for _ in range(4):
            arrival = day + pd.Timedelta(minutes=int(rng.integers(7 * 60, 10 * 60)))
            departure = arrival + pd.Timedelta(minutes=int(rng.integers(3 * 60, 8 * 60)))
            rows.append((arrival, departure, round(float(rng.uniform(5, 25)), 2)))
    frame = pd.DataFrame(rows, columns=["arrival", "departure", "energy_kwh"])
    if bad_row:
        frame.loc[5, "departure"] = frame.loc[5, "arrival"] - pd.Timedelta(hours=1)
    frame.to_csv(tmp_path / "sessions.csv", index=False)
    site = {
        "name": "my-garage",
        "chargers": [{"count": 4, "kind": "unidirectional", "max_kw": 7.2}],
        "tariff": {
            "demand_charge_usd_per_kw": 10.0,
            "energy": [{"name": "flat", "start": "00:00", "end": "00:00", "price_per_kwh": 0.2}],
        },
        "load": {"source": "load.csv"},
        "sessions": {"source": "sessions.csv", "format": "plain", "arrivals_per_day": 4},
        "scenarios": {"episodes": 6, "pool": 3},
    }
    path = tmp_path / "garage.toml"
    path.write_text(tomli_w.dumps(site))
    return path


def test_simulate_on_your_own_site_and_data(tmp_path):
    site = own_site(tmp_path)
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["simulate", "--site", str(site), "--policy", "edf", "--days", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["site"] == "my-garage" and summary["users"] > 0


def test_bad_row_stops_with_file_and_row_then_skip_invalid_runs(tmp_path):
    site = own_site(tmp_path, bad_row=True)
    args = ["simulate", "--site", str(site), "--policy", "edf", "--days", "2", "--out", str(tmp_path / "r")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "sessions.csv" in result.output and "row 6" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, [*args, "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "dropped 1 of" in result.output


@pytest.fixture
def openv2b_dir(tmp_path):
    d = tmp_path / "scen"
    d.mkdir()
    doc = {"slot_minutes": 15, "horizon_slots": 192, "charge_efficiency": 0.9,
           "discharge_efficiency": 0.9, "demand_charge_usd_per_kw": 11.67}
    (d / "scenario.json").write_text(json.dumps(doc))
    (d / "vehicles.csv").write_text(
        "vehicle_id,arrival_slot,departure_slot,battery_kwh,soc_arrival_kwh,soc_target_kwh\n"
        "0,32,68,60.0,15.0,48.0\n1,36,72,80.0,20.0,40.0\n2,130,170,60.0,10.0,50.0\n"
    )
    (d / "chargers.csv").write_text("charger_id,max_kw,bidirectional\n0,20.0,true\n1,11.0,false\n")
    (d / "building_load.csv").write_text("slot,value\n0,22.0\n32,60.0\n72,25.0\n")
    # Two identical days of TOU prices, written as step changes.
    (d / "grid_prices.csv").write_text(
        "slot,value\n0,0.10\n24,0.20\n88,0.10\n120,0.20\n184,0.10\n"
    )
    return d


def test_simulate_an_openv2b_scenario(tmp_path, openv2b_dir):
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["simulate", "--openv2b", str(openv2b_dir), "--policy", "uncontrolled", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["days"] == 2 and summary["users"] == 3
    chargers = pd.read_csv(out / "chargers.csv")
    assert chargers["max_kw"].tolist() == [20.0, 11.0]
    assert chargers["min_kw"].tolist() == [-20.0, 0.0]
    slots = pd.read_csv(out / "slots.csv")
    assert slots["price_per_kwh"].iloc[23] == 0.1 and slots["price_per_kwh"].iloc[24] == 0.2
    sessions = pd.read_csv(out / "sessions.csv")
    # Vehicle 0 wants 33 kWh on the 20 kW bidirectional charger and gets it (flat curve).
    first = sessions.iloc[0]
    assert first["charger_id"] == "C01"
    assert first["soc_departure"] == pytest.approx(48.0 / 60.0)


def test_openv2b_prices_that_change_between_days_are_billed_slot_by_slot(tmp_path, openv2b_dir):
    # 0.10 $/kWh until slot 120 (day 2, 06:00), then 0.30 to the end: not one daily table
    (openv2b_dir / "grid_prices.csv").write_text("slot,value\n0,0.10\n120,0.30\n")
    out = tmp_path / "r"
    result = runner.invoke(app, ["simulate", "--openv2b", str(openv2b_dir), "--policy", "uncontrolled",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    slots = pd.read_csv(out / "slots.csv")
    own = np.where(slots["slot"] < 120, 0.10, 0.30)
    assert slots["price_per_kwh"].to_numpy() == pytest.approx(own)
    summary = json.loads((out / "summary.json").read_text())
    energy = float((own * slots["total_kw"].clip(lower=0)).sum() * 0.25)
    assert summary["energy_cost_usd"] == pytest.approx(energy)


def test_site_can_use_a_model_saved_by_data_fit(tmp_path):
    site_path = own_site(tmp_path)
    fit = runner.invoke(
        app,
        ["data", "fit", "--sessions", str(tmp_path / "sessions.csv"), "--format", "plain",
         "--load", str(tmp_path / "load.csv"), "--arrivals-per-day", "4",
         "--out", str(tmp_path / "model.json")],
    )
    assert fit.exit_code == 0, fit.output
    data = tomllib.loads(site_path.read_text())
    data["scenarios"]["model"] = "model.json"
    site_path.write_text(tomli_w.dumps(data))
    from v2b.scenarios import site_scenarios
    from v2b.site import load_site

    scenarios = site_scenarios(load_site(site_path))
    assert scenarios.model.describe() == GenerativeModel.load(tmp_path / "model.json").describe()
    assert len(scenarios.test_episode(0).sessions) > 0
    data["scenarios"]["model"] = "missing.json"
    site_path.write_text(tomli_w.dumps(data))
    result = runner.invoke(app, ["simulate", "--site", str(site_path), "--policy", "edf",
                                 "--days", "1", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "missing.json" in result.output


def test_openv2b_peak_class_charge_and_what_is_not_modelled(tmp_path, openv2b_dir):
    doc = json.loads((openv2b_dir / "scenario.json").read_text())
    doc.update(demand_charge_peak_usd_per_kw=9.0, dr_events_file="dr_events.csv", heuristic_threshold_kw=50.0)
    (openv2b_dir / "scenario.json").write_text(json.dumps(doc))
    (openv2b_dir / "dr_events.csv").write_text(
        "start_slot,end_slot,fsl_kw,penalty_usd_per_kwh\n60,68,45,6\n")
    (openv2b_dir / "grid_prices.csv").write_text(
        "slot,value,tou\n0,0.10,off-peak\n64,0.30,peak\n84,0.10,off-peak\n"
        "160,0.30,peak\n180,0.10,off-peak\n"
    )
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["simulate", "--openv2b", str(openv2b_dir), "--policy", "uncontrolled", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "not modelled by v2b" in result.output and "heuristic_threshold_kw" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert any("heuristic_threshold_kw" in note for note in summary["openv2b_not_modelled"])
    assert not any("dr_events" in note for note in summary["openv2b_not_modelled"])
    slots = pd.read_csv(out / "slots.csv")
    # the event's window is openv2b's slots 61..68 (start < s <= end): 6 $ per kWh above 45 kW
    window = slots[(slots["slot"] > 60) & (slots["slot"] <= 68)]
    overflow_kwh = (window["total_kw"] - 45).clip(lower=0).sum() / 4
    assert overflow_kwh > 0
    assert summary["dr_penalty_usd"] == pytest.approx(6 * overflow_kwh)
    assert summary["dr_events"][0]["overflow_kwh"] == pytest.approx(overflow_kwh)
    peak_slots = slots[(slots["slot"] % 96 >= 64) & (slots["slot"] % 96 < 84)]
    assert summary["window_demand_charges_usd"]["tou-peak"] == pytest.approx(
        9.0 * peak_slots["total_kw"].max())
    # peak slots that change from one day to the next (same prices) cannot be one daily window
    (openv2b_dir / "grid_prices.csv").write_text(
        "slot,value,tou\n0,0.10,off-peak\n64,0.30,peak\n84,0.10,off-peak\n"
        "160,0.30,off-peak\n180,0.10,off-peak\n"
    )
    result = runner.invoke(app, ["simulate", "--openv2b", str(openv2b_dir), "--policy", "uncontrolled",
                                 "--out", str(tmp_path / "r2")])
    assert result.exit_code != 0 and "demand_charge_peak_usd_per_kw" in result.output
