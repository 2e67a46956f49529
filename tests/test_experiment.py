"""`v2b experiment`: plans, task keys, resuming, failures, and the same numbers on every executor."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2b.cli import app
from v2b.experiments.executors import WorkerLost, run_tasks
from v2b.experiments.plan import TABLE1_ROWS, Sweep, plan
from v2b.experiments.runner import RunSpec, scaled_site
from v2b.experiments.store import code_version, task_key
from v2b.experiments.sweep import SweepError, keyed_cells, run_sweep
from v2b.site import load_site

SITE = "santa-clara-office"
TIMING = ("decision_seconds", "wall_seconds", "worker_peak_rss_mib", "lp_seconds_median",
          "offer_seconds_median", "offer_seconds_p95", "stored_at")


def _numbers(out: Path) -> dict[str, dict]:
    """Every task's summary without its timings, by key."""
    result = {}
    for path in sorted((out / "tasks").glob("*/summary.json")):
        summary = json.loads(path.read_text())
        result[path.parent.name] = {k: v for k, v in summary.items() if k not in TIMING}
    return result


def _rows(out: Path, name: str) -> list[dict]:
    return json.loads((out / "tables" / f"{name}.json").read_text())["rows"]


@pytest.fixture(scope="module")
def site():
    return load_site(SITE)


def test_tables_share_runs_that_mean_the_same(site):
    sweep = Sweep(SITE, episodes=2, options={"load_info": "paper"})
    cells, tasks = keyed_cells(["table1", "table2", "table3"], sweep, site)
    assert len(cells) == 2 * (8 + 15 + 6)
    # Table 2's survey rows are Table 1's menu/consent/no-reject; Table 3's alpha = 1 is Table 1's consent.
    assert len(tasks) == 2 * (8 + 12 + 5)
    by_row = {(c["experiment"], c["row"], c["episode"]): c["key"] for c in cells}
    assert by_row[("table2", "consent/survey", 1)] == by_row[("table1", "consent", 1)]
    assert by_row[("table3", "alpha=1", 0)] == by_row[("table1", "consent", 0)]
    assert by_row[("table3", "alpha=0.5", 0)] != by_row[("table1", "consent", 0)]


def test_task_key_changes_with_configuration_seed_site_and_code(site):
    spec = RunSpec(SITE, "consent", 0, seed=1, options={"load_info": "paper"})
    base = task_key(spec, site.model_dump_json(), code_version())
    assert base == task_key(RunSpec(SITE, "consent", 0, seed=1, options={"load_info": "paper"}),
                            site.model_dump_json(), code_version())
    other_site = site.model_copy(update={"description": "changed"}).model_dump_json()
    assert len({base,
                task_key(RunSpec(SITE, "consent", 0, seed=2, options={"load_info": "paper"}),
                         site.model_dump_json(), code_version()),
                task_key(RunSpec(SITE, "consent", 0, seed=1, options={"load_info": "measured"}),
                         site.model_dump_json(), code_version()),
                task_key(spec, other_site, code_version()),
                task_key(spec, site.model_dump_json(), "another-code")}) == 5


def test_figure2_scales_arrivals_and_chargers_together(site):
    cells = plan(["figure2"], Sweep(SITE, episodes=1), site)
    scales = sorted({c.spec.options.get("arrival_scale", 1.0) for c in cells})
    assert scales == [0.5, 1.0, 2.0, 4.0]
    assert all(c.spec.days == 3 for c in cells)
    bigger = scaled_site(site, 2.0)
    assert len(bigger.charger_list) == 2 * len(site.charger_list)
    assert bigger.sessions.arrivals_per_day == pytest.approx(2 * site.sessions.arrivals_per_day)
    assert scaled_site(site, 1.0) is site


@pytest.fixture(scope="module")
def local_table1(tmp_path_factory, site) -> Path:
    out = tmp_path_factory.mktemp("local")
    report = run_sweep(out, ["table1"], Sweep(SITE, 1, days=1, options={"load_info": "paper"}), site,
                       executor="local", workers=2)
    assert report.ran == 8 and not report.failed
    return out


def test_tiny_table1_writes_tables_figures_and_the_paper_beside_ours(local_table1):
    rows = _rows(local_table1, "table1")
    assert [r["row"] for r in rows] == [name for name, _, _ in TABLE1_ROWS]
    consent = next(r for r in rows if r["row"] == "consent")
    assert consent["paper"]["reject_rate"]["mean"] == 21.99
    assert consent["episodes"] == 1 and consent["ours"]["building_cost_usd"]["mean"] > 0
    for name in ("table1.csv", "table1.md", "table1-details.csv"):
        assert (local_table1 / "tables" / name).is_file()
    index = json.loads((local_table1 / "figures" / "index.json").read_text())
    assert {f["file"] for f in index} >= {"building_cost.png", "typical_day.png", "driver_choices.png"}
    header = json.loads((local_table1 / "experiment.json").read_text())
    assert header["tasks"] == {"total": 8, "done": 8, "failed": 0}
    assert header["code_version"] == code_version() and header["finished"]
    summary = json.loads(next((local_table1 / "tasks").glob("*/summary.json")).read_text())
    assert "choices_by_type" in summary and summary["wall_seconds"] > 0
    timing = json.loads((local_table1 / "timing.json").read_text())
    assert timing["tasks"] == 8 and set(timing["task_seconds"]) == {name for name, _, _ in TABLE1_ROWS}
    assert timing["worker_peak_rss_mib"]["max"] > 0


def test_dask_local_cluster_gives_the_same_numbers_as_the_process_pool(local_table1, tmp_path, site):
    pytest.importorskip("distributed")
    report = run_sweep(tmp_path, ["table1"], Sweep(SITE, 1, days=1, options={"load_info": "paper"}), site,
                       executor="dask", workers=2)
    assert report.ran == 8 and not report.failed
    assert _numbers(tmp_path) == _numbers(local_table1)
    assert _rows(tmp_path, "table1") == _rows(local_table1, "table1")


def test_an_interrupted_sweep_resumes_to_the_same_files(local_table1, tmp_path, site):
    sweep = Sweep(SITE, 1, days=1, options={"load_info": "paper"})
    seen = []

    def stop_after_three(outcome) -> None:
        seen.append(outcome.key)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(tmp_path, ["table1"], sweep, site, workers=2, on_outcome=stop_after_three)
    kept = {p.name for p in (tmp_path / "tasks").iterdir()}
    assert set(seen) <= kept and len(kept) < 8  # only whole tasks, and not all of them
    report = run_sweep(tmp_path, ["table1"], sweep, site, workers=1)  # another worker count, same numbers
    assert report.already == len(kept) and report.ran == 8 - len(kept)
    assert _numbers(tmp_path) == _numbers(local_table1)
    assert _rows(tmp_path, "table1") == _rows(local_table1, "table1")
    files = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    reference = {p.relative_to(local_table1).as_posix() for p in local_table1.rglob("*") if p.is_file()}
    assert files == reference


def test_a_killed_worker_stops_the_sweep_and_the_same_command_resumes(local_table1, tmp_path, site):
    sweep = Sweep(SITE, 1, days=1, options={"load_info": "paper"})

    def kill_a_worker(outcome) -> None:
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)

    with pytest.raises(WorkerLost, match="run the same command again"):
        run_sweep(tmp_path, ["table1"], sweep, site, workers=2, on_outcome=kill_a_worker)
    kept = len(list((tmp_path / "tasks").iterdir()))
    assert 1 <= kept < 8
    report = run_sweep(tmp_path, ["table1"], sweep, site, workers=2)
    assert report.already == kept and report.ran == 8 - kept
    assert _numbers(tmp_path) == _numbers(local_table1)


def test_a_task_that_raises_is_recorded_and_the_others_finish(tmp_path):
    good = RunSpec(SITE, "uncontrolled", 0, days=1)
    bad = RunSpec(SITE, "uncontrolled", 10_000, days=1)
    outcomes = {o.key: o for o in run_tasks({"good": good, "bad": bad}, workers=1)}
    assert outcomes["good"].record is not None
    assert outcomes["bad"].record is None
    assert "test episode 10000 does not exist" in outcomes["bad"].error
    assert "Traceback" in outcomes["bad"].traceback


def test_sweep_records_failures_in_the_directory(tmp_path):
    shipped = Path(load_site(SITE).base_dir or ".")
    data = tomllib.loads((shipped / f"{SITE}.toml").read_text())
    data["scenarios"].update(episodes=4, pool=3)
    data["negotiation"]["menu"] = str(shipped / data["negotiation"]["menu"])
    site_file = tmp_path / "tiny.json"
    site_file.write_text(json.dumps(data))
    tiny = load_site(site_file)
    assert tiny.scenarios.episodes - tiny.scenarios.pool == 1
    out = tmp_path / "out"
    # Two episodes of a site that has one: episode 1's tasks fail, episode 0's finish.
    report = run_sweep(out, ["table1"], Sweep(str(site_file), 2, days=1), tiny, workers=2)
    assert report.ran == 8 and len(report.failed) == 8
    failure = json.loads(next((out / "failures").glob("*.json")).read_text())
    assert failure["spec"]["episode"] == 1 and "does not exist" in failure["error"]
    assert all(r["episodes"] == 1 and r["planned_episodes"] == 2 for r in _rows(out, "table1"))


def test_another_sweeps_directory_is_refused(local_table1, site):
    with pytest.raises(SweepError, match="other settings"):
        run_sweep(local_table1, ["table1"], Sweep(SITE, 2, days=1, options={"load_info": "paper"}), site)


@pytest.mark.parametrize("args, message", [
    (["tableX", "--out", "x"], "experiment 'tableX' is not one of"),
    (["table1", "--out", "x", "--scheduler", "tcp://h:1"], "--scheduler 'tcp://h:1' needs --executor dask"),
    (["table1", "--out", "x", "--executor", "ray"], "--executor 'ray' is not one of"),
    (["table1", "--out", "x", "--episodes", "0"], "--episodes must be at least 1"),
    (["table1", "--out", "x", "--episodes", "500"], "does not exist"),
])
def test_bad_experiment_options_are_one_line_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["experiment", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x" / "tasks").exists()
