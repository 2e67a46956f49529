"""``v2b report DIR``: the HTML page over a ``v2b experiment`` directory, built here by hand to the
directory's format; its numbers, the paper's, the failures, embedded images and no request leaving
the page; bad inputs refused in one line; and the page rendered by a real headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2b.cli import app
from v2b.experiments.report import build_report, chromium, difference, fmt, mean_std, read_run

runner = CliRunner()
CHROMIUM = Path("/usr/bin/chromium")
TRACEBACK = "Traceback (most recent call last):\n" + "".join(
    f'  File "/src/v2b/step{i}.py", line {i}, in step{i}\n' for i in range(20)
) + "ValueError: episode 3 has no sessions"

EXPERIMENT = {
    "experiments": ["table1", "table2", "figure2"],
    "site": "santa-clara-office",
    "episodes": 2,
    "days": None,
    "seed": 1,
    "load_info": "paper",
    "command": "v2b experiment all --site santa-clara-office --episodes 2 --out runs/x",
    "versions": {"v2b": "0.1.0", "python": "3.11.9", "highspy": "1.7.2", "numpy": "1.26.4",
                 "pandas": "2.2.2"},
    "code_version": "88a1dde0123456789abcdef",
    "executor": "dask",
    "workers": 2,
    "started": "2025-01-02T10:00:00+00:00",
    "finished": "2025-01-02T11:02:03+00:00",
    "tasks": {"total": 12, "done": 11, "failed": 1},
}
TABLE1 = {
    "experiment": "table1",
    "title": "Table 1: Building cost & user cost",
    "caption": "Mean ± std over test months <with> the paper's values.",
    "columns": [
        {"key": "building_cost_usd", "title": "Building Cost ($/month)", "decimals": 0},
        {"key": "user_cost_usd_per_kwh", "title": "User Cost ($/kWh)", "decimals": 3},
        {"key": "reject_rate", "title": "Reject (%)", "decimals": 2},
    ],
    "rows": [
        {"row": "consent", "label": "CONSENT (Our Approach)", "group": "Negotiation-Based Policies",
         "episodes": 2,
         "ours": {"building_cost_usd": {"mean": 1234.4, "std": 56.7},
                  "user_cost_usd_per_kwh": {"mean": 0.1234, "std": 0.0101},
                  "reject_rate": {"mean": 3.21, "std": 0.5}},
         "paper": {"building_cost_usd": {"mean": 1150.0, "std": 40.0},
                   "user_cost_usd_per_kwh": {"mean": 0.11, "std": None},
                   "reject_rate": {"mean": None, "std": None}}},
        {"row": "uncontrolled", "label": "Uncontrolled", "group": "Baselines", "episodes": 2,
         "planned_episodes": 3,  # beyond the contract: written by `v2b experiment` when tasks are missing
         "ours": {"building_cost_usd": {"mean": 2717.0, "std": 101.2},
                  "user_cost_usd_per_kwh": {"mean": None, "std": None},
                  "reject_rate": {"mean": 0.0, "std": 0.0}},
         "paper": None},
    ],
    "notes": ["Paper values from Table 1 of the paper.", "<script>alert('x')</script> is text here"],
}
TABLE2 = {
    "experiment": "table2",
    "title": "Table 2: Peak power",
    "caption": "",
    "columns": [{"key": "peak_kw", "title": "Peak (kW)", "decimals": 1}],
    "rows": [{"row": "smart", "label": "Smart", "group": None, "episodes": 2,
              "ours": {"peak_kw": {"mean": 98.76, "std": 4.32}}, "paper": None}],
    "notes": [],
}


def _png(path: Path) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.5), dpi=60)
    ax.plot([0, 1, 2], [1, 3, 2])
    fig.savefig(path)
    plt.close(fig)
    return path.read_bytes()


def make_run_dir(root: Path) -> Path:
    """A run directory as `v2b experiment` writes it: two tables, one figure, one failure."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "experiment.json").write_text(json.dumps(EXPERIMENT, indent=2))
    (root / "tables").mkdir()
    for table in (TABLE1, TABLE2):
        (root / "tables" / f"{table['experiment']}.json").write_text(json.dumps(table, indent=2))
        (root / "tables" / f"{table['experiment']}.md").write_text("| not read |\n")
    (root / "figures").mkdir()
    _png(root / "figures" / "figure2.png")
    (root / "figures" / "index.json").write_text(json.dumps([
        {"file": "figure2.png", "title": "Figure 2: Cost vs flexibility",
         "caption": "Building cost per month as drivers give more flexibility."}]))
    (root / "failures").mkdir()
    (root / "failures" / "table2-smart-ep3.json").write_text(json.dumps({
        "key": "table2-smart-ep3", "spec": {"policy": "smart", "episode": 3},
        "error": "ValueError: episode 3 has no sessions", "traceback": TRACEBACK}))
    (root / "tasks" / "table1-consent-ep0").mkdir(parents=True)
    (root / "tasks" / "table1-consent-ep0" / "summary.json").write_text("{}")
    return root


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run_dir(tmp_path / "run")


def _text(html: str) -> str:
    """The page's text, tags removed (cells, not markup, are what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the page ----------------------------------------------------------------------------------


def test_numbers_ours_the_papers_and_the_difference(run_dir):
    html = build_report(run_dir)
    assert "1,234 ± 57" in html and "1,150 ± 40" in html  # ours and the paper's, the column's decimals
    assert "+84 (+7.3%)" in html  # 1234.4 - 1150, and relative to 1150
    assert "0.123 ± 0.010" in html and ">0.110<" in html and "+0.013 (+12.2%)" in html
    assert "3.21 ± 0.50" in html
    assert "2,717 ± 101" in html and "98.8 ± 4.3" in html
    assert ">2 of 3<" in html  # fewer episodes than planned
    assert "—" in html  # the paper's missing reject rate, our missing user cost
    for text in ("Table 1: Building cost &amp; user cost", "Table 2: Peak power", "CONSENT (Our Approach)",
                 "Negotiation-Based Policies", "Baselines", "Paper values from Table 1 of the paper.",
                 "Mean ± std over test months &lt;with&gt; the paper&#x27;s values."):
        assert text in html, text
    # a table without paper values has no paper or difference columns
    table2 = html[html.index('id="table-table2"'):]
    table2 = table2[:table2.index("</section>")]
    assert "paper</th>" not in table2 and "difference" not in table2


def test_what_was_run(run_dir):
    text = _text(build_report(run_dir))
    for part in (EXPERIMENT["command"], "88a1dde0123456789abcdef", "santa-clara-office", "seed 1",
                 "dask, 2 workers", "2025-01-02T10:00:00+00:00", "took 1 h 02 min 03 s", "highspy 1.7.2",
                 "numpy 1.26.4", "python 3.11.9", "11 done, 1 failed, of 12", "whole episodes", "paper"):
        assert part in text, part


def test_failures_show_key_error_and_the_first_traceback_lines(run_dir):
    html = build_report(run_dir)
    assert "table2-smart-ep3" in html and "ValueError: episode 3 has no sessions" in html
    assert "Traceback (most recent call last):" in html and "step10.py" in html
    assert "step15.py" not in html and "more line(s) in failures/table2-smart-ep3.json" in html
    assert 'href="#failures"' in html


def test_figures_are_embedded_and_nothing_is_requested(run_dir):
    html = build_report(run_dir)
    png = (run_dir / "figures" / "figure2.png").read_bytes()
    assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in html
    assert "Figure 2: Cost vs flexibility" in html and "as drivers give more flexibility" in html
    urls = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]*)""", html, flags=re.IGNORECASE)
    assert urls and all(u.startswith(("data:", "#")) for u in urls), urls
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert "url(" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html  # text from files is escaped
    assert '<meta name="viewport"' in html and "overflow-x: auto" in html and "@media" in html


def test_a_partial_run_shows_what_is_there_and_says_what_is_missing(run_dir):
    (run_dir / "tables" / "table2.json").unlink()
    (run_dir / "failures" / "table2-smart-ep3.json").unlink()
    (run_dir / "figures" / "index.json").write_text("[{")  # half written
    experiment = {**EXPERIMENT, "finished": None}
    (run_dir / "experiment.json").write_text(json.dumps(experiment))
    run = read_run(run_dir)
    assert [t["experiment"] for t in run.tables] == ["table1"]
    assert [f.file for f in run.figures] == ["figure2.png"]  # still shown, under its file name
    html = build_report(run_dir)
    text = _text(html)
    assert "1,234 ± 57" in html
    assert "has not finished" in text and "not finished" in text
    assert "table2: no tables/table2.json" in text
    assert "figures/index.json is not valid JSON" in text
    assert "1 task(s) failed but 0 failure file(s) found" in text
    for gone in ("figures", "failures", "tables"):
        for path in (run_dir / gone).iterdir():
            path.unlink()
        (run_dir / gone).rmdir()
    text = _text(build_report(run_dir))
    assert "table1: no tables/table1.json" in text and "figure2: no tables/figure2.json" in text


def test_a_table_file_that_is_not_a_table_is_listed_not_fatal(run_dir):
    (run_dir / "tables" / "table2.json").write_text("[1, 2]")
    (run_dir / "tables" / "extra.json").write_bytes(b"\xff\xfe")
    text = _text(build_report(run_dir))
    assert "tables/table2.json holds a list" in text and "tables/extra.json is not a UTF-8 text file" in text
    assert "1,234 ± 57" in text


@pytest.mark.parametrize(("value", "decimals", "sign", "expected"), [
    (1234.4, 0, False, "1,234"), (-0.004, 2, False, "0.00"), (0.0, 1, True, "0.0"),
    (12.345, 1, True, "+12.3"), (-1500.0, 0, True, "-1,500"), (float("inf"), 0, False, "inf"),
])
def test_fmt(value, decimals, sign, expected):
    assert fmt(value, decimals, sign) == expected


def test_mean_std_and_difference_need_a_mean():
    assert mean_std({"mean": None, "std": 1.0}, 1) is None
    assert mean_std(None, 1) is None and mean_std({"mean": float("nan"), "std": 0}, 1) is None
    assert mean_std({"mean": 2, "std": None}, 1) == "2.0"
    assert difference({"mean": 2.0}, {"mean": None}, 1) is None
    assert difference({"mean": 2.0}, {"mean": 0.0}, 1) == "+2.0"  # no relative difference to 0
    assert difference({"mean": 1.0}, {"mean": 1.0}, 2) == "0.00 (0.0%)"


# --- the command -------------------------------------------------------------------------------


def test_report_writes_the_page(run_dir, tmp_path):
    result = runner.invoke(app, ["report", str(run_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1,234 ± 57" in (run_dir / "report.html").read_text(encoding="utf-8")
    out = tmp_path / "elsewhere.html"
    result = runner.invoke(app, ["report", str(run_dir), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == (run_dir / "report.html").read_text(encoding="utf-8")


def test_help_says_what_dir_is_with_an_example():
    text = " ".join(runner.invoke(app, ["report", "--help"]).output.split())
    assert "--out directory of `v2b experiment`" in text and "Example: v2b experiment" in text


def refused(*args: str, expected: tuple[str, ...]) -> None:
    """Exit status 2, one ``error:`` line naming ``expected``, no traceback."""
    result = runner.invoke(app, ["report", *args], catch_exceptions=False)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for part in expected:
        assert part in text, (part, text)


@pytest.fixture
def no_work(monkeypatch):
    def started(*_args, **_kwargs):
        raise AssertionError("the report was built before the bad input was refused")

    monkeypatch.setattr("v2b.cli.report.build_report", started)
    monkeypatch.setattr("v2b.cli.report.screenshot", started)


def test_bad_run_directory(tmp_path, no_work, monkeypatch):
    missing = tmp_path / "nope"
    refused(str(missing), expected=(f"DIR {missing}", "does not exist"))
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    refused(str(a_file), expected=(f"DIR {a_file}", "is a file, not a directory"))
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(str(empty), expected=(f"DIR {empty}", "has no experiment.json"))
    (empty / "experiment.json").write_text('{"experiments": [')
    refused(str(empty), expected=(f"DIR {empty}", "experiment.json is not valid JSON"))
    (empty / "experiment.json").write_text("[1]")
    refused(str(empty), expected=(f"DIR {empty}", "experiment.json holds a list, not a JSON object"))
    monkeypatch.chdir(tmp_path)
    refused("", expected=("DIR ''", "empty"))


def test_bad_output_file(run_dir, tmp_path, no_work, monkeypatch):
    folder = tmp_path / "folder.html"
    folder.mkdir()
    refused(str(run_dir), "--out", str(folder), expected=(f"--out {folder}", "is a directory"))
    nowhere = tmp_path / "no" / "such" / "r.html"
    refused(str(run_dir), "--out", str(nowhere), expected=(f"--out {nowhere}", "does not exist"))
    assert not (tmp_path / "no").exists()
    inside = run_dir / "tables" / "table1.json"
    refused(str(run_dir), "--out", str(inside), expected=(f"--out {inside}", "run's own files"))
    refused(str(run_dir), "--out", "", expected=("--out ''", "empty"))
    refused(str(run_dir), "--screenshot", str(run_dir / "r.html"), "--out", str(run_dir / "r.html"),
            expected=("--screenshot", "same file as --out"))
    refused(str(run_dir), "--screenshot", str(tmp_path / "s.png"), "--screenshot-size", "big",
            expected=("--screenshot-size 'big'", "WIDTHxHEIGHT"))
    monkeypatch.setattr("v2b.cli.report.find_chromium", lambda: None)
    refused(str(run_dir), "--screenshot", str(tmp_path / "s.png"), expected=("--screenshot", "no Chromium"))


def test_read_only_output_directory(run_dir, tmp_path, no_work, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    # root may write anywhere: what the permission check sees is made to match the mode
    access = os.access
    monkeypatch.setattr("v2b.cli.common.os.access", lambda path, mode: (
        access(path, mode) and not (mode & os.W_OK and str(path).startswith(str(locked)))))
    try:
        out = locked / "r.html"
        refused(str(run_dir), "--out", str(out), expected=(f"--out {out}", "not writable"))
    finally:
        locked.chmod(0o700)


# --- in a browser ------------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: the browser check needs Debian's "
                    "chromium (apt-get install chromium; .ci/run installs it where apt-get works)")
def test_the_page_renders_in_headless_chromium(run_dir, tmp_path):
    page, shot = tmp_path / "report.html", tmp_path / "report.png"
    result = runner.invoke(app, ["report", str(run_dir), "--out", str(page), "--screenshot", str(shot),
                                 "--screenshot-size", "1280x2000"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert shot.stat().st_size > 10_000  # a page, not a blank
    assert _png_size(shot) == (1280, 2000)
    dom = chromium(str(CHROMIUM), ["--dump-dom", page.resolve().as_uri()]).stdout
    assert "<table>" in dom and "1,234 ± 57" in dom and "table2-smart-ep3" in dom
    assert "data:image/png;base64," in dom
