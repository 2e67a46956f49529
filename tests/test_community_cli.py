"""End-to-end: `v2b community` writes Table I, flows, summary and figures; errors exit 2."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from v2b.cli import app
from v2b.community.outputs import TABLE_KEYS

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_community_writes_every_output(tmp_path):
    out = tmp_path / "run"
    result = invoke("community", "--out", str(out), "--seed", "4")
    assert result.exit_code == 0, result.output
    assert "Table I" in result.output and "total" in result.output

    rows = json.loads((out / "table.json").read_text())
    assert [row["building"] for row in rows] == ["B1", "B2", "B3", "B4", "total"]
    assert all(tuple(row) == TABLE_KEYS for row in rows)
    total = rows[-1]
    for key in TABLE_KEYS[1:]:
        assert abs(total[key] - sum(row[key] for row in rows[:-1])) < 1e-6
    assert total["community_obj"] <= total["individual_obj"] + 1e-7

    with (out / "flows.csv").open() as handle:
        flows = list(csv.DictReader(handle))
    assert list(flows[0]) == ["slot", "building", "import_kw", "export_kw"]
    assert len(flows) == 4 * 24
    for slot in range(24):
        at = [f for f in flows if int(f["slot"]) == slot]
        assert abs(sum(float(f["import_kw"]) - float(f["export_kw"]) for f in at)) < 1e-5

    summary = json.loads((out / "summary.json").read_text())
    assert {"clearing_tariffs", "self_consumption", "findings_pct", "solver"} <= set(summary)
    assert set(summary["self_consumption"]) == {"baseline", "individual", "community"}
    for name in ("fig2_net_loads", "fig3_building1_net_load", "fig4_community_flows"):
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_community_with_user_files_and_quarter_hours(tmp_path):
    from importlib import resources

    example = resources.files("v2b.community").joinpath("data/example/community.toml")
    result = invoke("community", "--out", str(tmp_path), "--config", str(example),
                    "--slot-minutes", "15")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "table.json").read_text())
    assert [row["building"] for row in rows] == ["library", "lab", "offices", "total"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["inputs"]["slots"] == 96


def test_community_bad_config_is_a_message_not_a_traceback(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[scenario]\nefficiency = 1.5\n")
    result = invoke("community", "--out", str(tmp_path / "x"), "--config", str(config))
    assert result.exit_code == 2
    assert "scenario.efficiency" in result.output and "1.5" in result.output
    assert "Traceback" not in result.output


def test_community_bad_option_values(tmp_path):
    result = invoke("community", "--out", str(tmp_path), "--exclusivity", "sometimes")
    assert result.exit_code == 2 and "auto, lp or milp" in result.output
    result = invoke("community", "--out", str(tmp_path), "--slot-minutes", "7")
    assert result.exit_code == 2 and "multiple of 5 that divides 1440" in result.output


def test_community_bench_reports_times():
    result = invoke("community-bench", "--buildings", "3", "--days", "2")
    assert result.exit_code == 0, result.output
    assert "build + solve" in result.output and "EV sessions" in result.output
