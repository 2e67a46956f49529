"""openv2b's own example scenarios billed by v2b as openv2b bills them.

``tests/data/openv2b`` holds openv2b's public examples (MIT or Apache-2.0, its licence files
beside them) and ``openv2b_bills.json`` the bills openv2b itself printed for them, with the
command that produced them (``tests/data/openv2b/README.md``). v2b's building-only and
uncontrolled runs of the same directories must agree within 0.1 % (``docs/model.md``,
"openv2b scenarios").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from v2b.control.registry import make_policy
from v2b.data.openv2b import read_openv2b
from v2b.experiments.runner import RunSpec, openv2b_run_inputs, run
from v2b.sim.engine import simulate
from v2b.site import load_site
from v2b.timegrid import SLOT_H

DATA = Path(__file__).parent / "data" / "openv2b"
BILLS = json.loads((DATA / "openv2b_bills.json").read_text())["bills"]
#: openv2b's policy name -> v2b's
POLICIES = {"idle": "building-only", "uncontrolled": "uncontrolled"}


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], dict]:
    out = {}
    for scenario in BILLS:
        for theirs, ours in POLICIES.items():
            spec = RunSpec(site="santa-clara-office", policy=ours, episode=0, openv2b=str(DATA / scenario))
            out[scenario, theirs] = run(spec).summary
    return out


@pytest.mark.parametrize("scenario", sorted(BILLS))
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_bill_agrees_with_openv2b_within_a_tenth_of_a_percent(runs, scenario, policy):
    theirs, ours = BILLS[scenario][policy], runs[scenario, policy]
    assert ours["utility_bill_usd"] == pytest.approx(theirs["total_usd"], rel=1e-3)
    assert ours["energy_cost_usd"] == pytest.approx(theirs["energy_usd"], rel=1e-3)
    assert ours["demand_charge_usd"] == pytest.approx(theirs["demand_usd"], rel=1e-3)
    assert ours.get("dr_penalty_usd", 0.0) == pytest.approx(theirs["dr_penalty_usd"], rel=1e-3, abs=0.01)
    assert ours.get("dr_incentive_usd", 0.0) == pytest.approx(theirs["dr_incentive_usd"], rel=1e-3, abs=0.01)
    assert ours["peak_kw"] == pytest.approx(theirs["peak_net_kw"], rel=1e-3)
    assert ours["openv2b_not_modelled"] == []


def test_every_example_needs_what_was_added_to_match(runs):
    """The examples exercise demand response, the peak-period charge, the site cap and returning
    cars: without them the bills differ by far more than 0.1 % (so the test above can fail)."""
    month = runs["one_month", "uncontrolled"]
    assert month["dr_penalty_usd"] > 0.2 * month["utility_bill_usd"]
    assert month["window_demand_charges_usd"]["tou-peak"] > 0
    assert runs["one_month_lossy", "uncontrolled"]["max_import_kw"] <= 75.0 + 1e-9


def _uncontrolled(directory: Path):
    spec = RunSpec("santa-clara-office", "uncontrolled", 0, openv2b=str(directory))
    site, episode, _ = openv2b_run_inputs(spec, load_site("santa-clara-office"))
    return episode, simulate(site, episode, make_policy("uncontrolled"))


def test_returning_cars_arrive_with_what_they_left_with():
    """openv2b's persistence: a car's later visit starts from its last departure SoC minus the
    energy it used since, kept within [its floor, full]; the energy drawn is then openv2b's."""
    scenario = read_openv2b(DATA / "one_month")
    episode, result = _uncontrolled(DATA / "one_month")
    own = {s.session_id: s for s in episode.sessions}
    sessions = result.trace.sessions_frame()
    assert sessions["vehicle_id"].notna().all() and len(sessions) == len(scenario.vehicles)
    chained = 0
    for _, visits in sessions.sort_values("arrival_slot").groupby("vehicle_id"):
        rows = visits.to_dict("records")
        for before, after in zip(rows, rows[1:], strict=False):
            s = own[after["session_id"]]
            expect = min(max(before["soc_departure"] - s.depletion_kwh / s.battery_kwh, s.min_soc), 1.0)
            assert after["soc_arrival"] == pytest.approx(expect, abs=1e-9)
            chained += 1
    assert chained == len(scenario.vehicles) - scenario.vehicles["vehicle_id"].nunique()
    drawn_kwh = float(np.sum(np.maximum(result.trace.power_kw, 0.0)) * SLOT_H)
    bills = BILLS["one_month"]
    theirs = bills["uncontrolled"]["energy_imported_kwh"] - bills["idle"]["energy_imported_kwh"]
    assert drawn_kwh == pytest.approx(theirs, rel=1e-6)


def test_without_persistence_every_visit_keeps_its_own_arrival_soc(tmp_path):
    d = tmp_path / "one_month"
    shutil.copytree(DATA / "one_month", d)
    doc = json.loads((d / "scenario.json").read_text())
    (d / "scenario.json").write_text(json.dumps(doc | {"persistence": False}))
    _, result = _uncontrolled(d)
    sessions = result.trace.sessions_frame()
    assert sessions["vehicle_id"].isna().all()
    own = pd.read_csv(d / "vehicles.csv")
    assert np.sort(sessions["soc_arrival"].to_numpy()) == pytest.approx(
        np.sort((own["soc_arrival_kwh"] / own["battery_kwh"]).to_numpy()))
    drawn_kwh = float(np.sum(np.maximum(result.trace.power_kw, 0.0)) * SLOT_H)
    assert drawn_kwh > 1.4 * (BILLS["one_month"]["uncontrolled"]["energy_imported_kwh"]
                              - BILLS["one_month"]["idle"]["energy_imported_kwh"])
