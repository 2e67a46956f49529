"""End-to-end `v2b data fit` and `v2b data show`, including user errors (exit 2, no traceback)."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from v2b.cli import app
from v2b.scenarios import GenerativeModel, generate_episode

runner = CliRunner()


def invoke(args: list[str]):
    """Run the CLI; output with rich's line wrapping undone."""
    result = runner.invoke(app, args)
    return result.exit_code, " ".join(result.output.split())


HEADER = "arrival,departure,energy_kwh\n"


def plain_sessions(tmp_path, extra: str = ""):
    rows = [
        f"2023-03-{day:02d}T{8 + k}:00:00,2023-03-{day:02d}T{14 + k}:30:00,{5 + 3 * k}"
        for day in (6, 7, 8, 9, 10, 13, 14)
        for k in range(4)
    ]
    path = tmp_path / "sessions.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n" + extra)
    return path


def load_csv(tmp_path):
    times = np.arange(np.datetime64("2023-03-06T00:00"), np.datetime64("2023-03-18T00:00"), 60)
    kw = 100 + 50 * np.sin(np.arange(times.size) / 24 * 2 * np.pi) ** 2
    path = tmp_path / "load.csv"
    rows = [f"{t},{v:.2f}" for t, v in zip(times.astype(str), kw, strict=True)]
    path.write_text("timestamp,kw\n" + "\n".join(rows) + "\n")
    return path


def test_data_fit_writes_a_model_that_generates(tmp_path):
    out = tmp_path / "models" / "mine.json"
    args = [
        "data",
        "fit",
        "--sessions",
        str(plain_sessions(tmp_path)),
        "--load",
        str(load_csv(tmp_path)),
        "--arrivals-per-day",
        "6",
        "--out",
        str(out),
    ]
    code, output = invoke(args)
    assert code == 0, output
    assert out.exists() and out.with_suffix(".npz").exists()
    assert json.loads(out.read_text())["meta"]["arrivals_per_day"] == 6
    model = GenerativeModel.load(out)
    assert model.arrivals.data_arrivals_per_day == 4
    ep = generate_episode(model, np.random.default_rng(0), arrivals_per_day=6, load_scale=1.0)
    assert ep.dates and ep.day.size > 0
    shown_code, shown = invoke(["data", "show", str(out)])
    assert shown_code == 0 and "data_arrivals_per_day" in shown


def test_data_fit_bad_row_is_a_message_with_exit_2(tmp_path):
    bad = plain_sessions(tmp_path, "2023-03-15T10:00:00,2023-03-15T09:00:00,4\n")
    args = [
        "data",
        "fit",
        "--sessions",
        str(bad),
        "--load",
        str(load_csv(tmp_path)),
        "--out",
        str(tmp_path / "m.json"),
    ]
    code, output = invoke(args)
    assert code == 2
    assert "row 29 (line 30)" in output and "must be after arrival" in output
    assert "Traceback" not in output
    assert not (tmp_path / "m.json").exists()


def test_data_fit_skip_invalid_reports_what_was_dropped(tmp_path):
    bad = plain_sessions(tmp_path, "2023-03-15T10:00:00,2023-03-15T09:00:00,4\n2023-03-15T10:00,x,4\n")
    args = [
        "data",
        "fit",
        "--sessions",
        str(bad),
        "--load",
        str(load_csv(tmp_path)),
        "--out",
        str(tmp_path / "m.json"),
        "--skip-invalid",
    ]
    code, output = invoke(args)
    assert code == 0, output
    assert "dropped 2 of 30 rows" in output
    assert "must be after arrival" in output and "is not a time" in output


def test_data_fit_rejects_bad_options(tmp_path):
    sessions = str(plain_sessions(tmp_path))
    code, output = invoke(
        ["data", "fit", "--sessions", sessions, "--format", "xml", "--out", str(tmp_path / "m.json")]
    )
    assert code == 2
    code, output = invoke(["data", "fit", "--sessions", sessions, "--out", str(tmp_path / "m.txt")])
    assert code == 2 and "must end in .json" in output
    code, output = invoke(
        ["data", "fit", "--sessions", str(tmp_path / "none.csv"), "--out", str(tmp_path / "m.json")]
    )
    assert code == 2 and "no such file" in output


def test_data_show_sessions_and_load(tmp_path):
    code, output = invoke(["data", "show", str(plain_sessions(tmp_path))])
    assert code == 0 and "sessions_per_day_mean" in output
    code, output = invoke(["data", "show", str(load_csv(tmp_path))])
    assert code == 0 and "native_interval_minutes" in output
    code, output = invoke(["data", "show", "builtin:acn-jpl"])
    assert code == 0 and "17109" in output
