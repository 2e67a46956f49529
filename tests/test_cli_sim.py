"""End-to-end CLI: sites, site show, policies, simulate, compare, and user errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from v2b.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_sites_lists_the_default():
    result = invoke("sites")
    assert result.exit_code == 0
    assert "santa-clara-office" in result.output


def test_site_show_prints_chargers_tariff_and_sources():
    result = invoke("site", "show", "santa-clara-office")
    assert result.exit_code == 0
    for text in ("bidirectional", "-20", "0.178", "0.137", "11.67", "builtin:acn-jpl", "0.3",
                 "105 min later", "builtin:consent-survey", "santa-clara-office.menu.toml"):
        assert text in result.output


def test_site_show_bad_file_is_a_message_not_a_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n[[chargers]]\ncount = 1\nkind = "warp"\nmax_kw = 7\n')
    result = invoke("site", "show", str(path))
    assert result.exit_code == 2
    assert "chargers.0.kind" in result.output and "warp" in result.output
    assert "Traceback" not in result.output


def test_policies_lists_heuristics():
    result = invoke("policies")
    assert result.exit_code == 0
    for name in ("building-only", "uncontrolled", "edf", "llf"):
        assert name in result.output


def test_simulate_writes_every_file(tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "simulate", "--site", "santa-clara-office", "--policy", "uncontrolled",
        "--episode", "0", "--seed", "1", "--days", "2", "--out", str(out),
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "policy", "site", "episode", "days", "seed", "energy_cost_usd", "demand_charge_usd",
        "peak_kw", "soc_penalty_usd", "degradation_usd", "user_payments_usd",
        "building_cost_usd", "utility_bill_usd", "energy_delivered_kwh", "discharged_kwh",
        "unmet_kwh", "users", "rejected", "reject_rate", "user_cost_usd_per_kwh",
        "decision_seconds", "tariff",
    ):
        assert key in summary, key
    assert summary["days"] == 2 and summary["users"] > 0
    assert set(summary["decision_seconds"]) == {"median", "p95", "count"}
    assert set(summary["tariff"]) == {
        "slot_hours", "demand_charge_usd_per_kw", "soc_penalty_usd_per_kwh", "degradation_usd_per_kwh"
    }
    for name in ("slots.csv", "power.csv", "sessions.csv", "chargers.csv", "power.png"):
        assert (out / name).exists(), name
    header = (out / "sessions.csv").read_text().splitlines()[0].split(",")
    for col in (
        "session_id", "arrival_slot", "departure_slot", "charger_id", "battery_kwh", "soc_arrival",
        "soc_requested", "soc_target", "soc_departure", "payment_usd", "option", "rejected",
        "level", "driver_type", "acceptance_usd", "price_usd", "promised_kwh", "energy_cost_usd",
        "marginal_utility_usd", "offered_price_usd", "requested_departure_slot",
    ):
        assert col in header


def test_simulate_is_deterministic_byte_for_byte(tmp_path):
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        invoke("simulate", "--policy", "edf", "--days", "2", "--seed", "3", "--out", str(out))
        outs.append(out)
    for name in ("slots.csv", "power.csv", "sessions.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    a, b = (json.loads((o / "summary.json").read_text()) for o in outs)
    a.pop("decision_seconds"), b.pop("decision_seconds")
    assert a == b


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--policy", "teleport"), "unknown policy 'teleport'"),
        (("--policy", "edf", "--episode", "999"), "test episode 999 does not exist"),
        (("--policy", "edf", "--site", "nowhere.toml"), "no site named 'nowhere.toml'"),
        (("--policy", "edf", "--days", "0"), "--days must be at least 1"),
    ],
)
def test_simulate_user_errors(tmp_path, args, message):
    result = invoke("simulate", *args, "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_compare_prints_a_table_and_writes_results(tmp_path):
    result = invoke(
        "compare", "--policies", "building-only,uncontrolled,edf,oracle", "--episodes", "2",
        "--days", "1", "--workers", "1", "--out", str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert "uncontrolled" in result.output and "±" in result.output
    runs = (tmp_path / "runs.csv").read_text().splitlines()
    assert len(runs) == 1 + 4 * 2
    table = (tmp_path / "table.md").read_text()
    assert "| uncontrolled |" in table and "Gap to oracle (%)" in table
    header = [c.strip() for c in table.splitlines()[0].split("|")]
    oracle = next(line for line in table.splitlines() if line.startswith("| oracle |"))
    assert [c.strip() for c in oracle.split("|")][header.index("Gap to oracle (%)")] == "0.00 ± 0.00"


def test_simulate_replay_month(tmp_path):
    out = tmp_path / "replay"
    result = invoke(
        "simulate", "--policy", "edf", "--replay", "--episode", "2", "--days", "2", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episode_kind"] == "replay" and summary["users"] > 0
    result = invoke("simulate", "--policy", "edf", "--replay", "--episode", "99", "--out", str(out))
    assert result.exit_code == 2 and "replay month 99 does not exist" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("compare", "--episodes", "999", "--policies", "edf"), "test episode 998 does not exist"),
        (("simulate", "--policy", "edf", "--days", "1", "--out", "/dev/null/x"), "Not a directory"),
        (("simulate", "--policy", "smart", "--scenarios", "0", "--days", "1", "--out", "/tmp/v2b-x"),
         "scenarios=0 is outside the allowed range"),
    ],
)
def test_more_user_errors_are_messages(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_python_dash_m_runs_the_same_cli():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "v2b", "policies"], capture_output=True, text=True)
    assert out.returncode == 0
    for name in ("smart-free", "smart-fixed", "smart-utility", "menu", "consent", "consent-no-reject"):
        assert name in out.stdout
