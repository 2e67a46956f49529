"""Every bad input is a one-line message with exit status 2, before any work; nothing passes silently.

One test per class of bad input, over every command it applies to. "Before any work" is checked by
replacing each command's work (simulation, solve, calibration, data reading) with a function that
fails the test if called.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2b.cli import app
from v2b.errors import UserError
from v2b.experiments.runner import episode_for
from v2b.scenarios import site_scenarios
from v2b.site import load_site

runner = CliRunner()
SITE_TEXT = (resources.files("v2b.sites") / "santa-clara-office.toml").read_text()
OFFER = ("offer", "--at", "08:00", "--battery-kwh", "60", "--arrival-soc-pct", "30",
         "--requested-soc-pct", "80", "--departure", "17:00")

#: what each command computes; none of it may start on a bad input
WORK = (
    "v2b.cli.sim.run", "v2b.cli.sim.run_many", "v2b.bench.run_bench", "v2b.bench.ablation",
    "v2b.community.study.run_study", "v2b.community.bench.run_bench",
    "v2b.cli.negotiation.calibrate_static_menu", "v2b.cli.negotiation.offer_at",
    "v2b.cli.survey.cluster_types", "v2b.cli.survey.synthetic_survey", "v2b.cli.data.read_sessions",
)
#: what a command reads before its work; an output path must be refused before even that
READING = (
    "v2b.cli.sim.load_site", "v2b.cli.bench.load_site", "v2b.cli.negotiation.load_site",
    "v2b.community.config.inputs_from_config", "v2b.cli.survey.read_survey",
    "v2b.cli.survey.load_user_types",
)


def _forbid(monkeypatch: pytest.MonkeyPatch, targets: tuple[str, ...]) -> None:
    def started(*_args, **_kwargs):
        raise AssertionError("work started before the bad input was refused")

    for target in targets:
        monkeypatch.setattr(target, started)


@pytest.fixture
def no_work(monkeypatch):
    _forbid(monkeypatch, WORK)


@pytest.fixture
def nothing_read(monkeypatch):
    _forbid(monkeypatch, WORK + READING)


def refused(*args: str, expected: tuple[str, ...]) -> str:
    """Run the CLI; assert exit status 2, one ``error:`` message holding every ``expected`` text
    (typically the option or field and the value) and no traceback. Returns the message."""
    result = runner.invoke(app, list(args), catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 2, (args, result.output)
    assert text.startswith("error: "), (args, result.output)
    assert "Traceback" not in result.output
    for part in expected:
        assert part in text, (args, part, text)
    return text


def site_file(tmp_path: Path, text: str, name: str = "site.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def seeded_commands(tmp_path: Path) -> dict[str, tuple[str, ...]]:
    return {
        "simulate": ("simulate", "--policy", "edf", "--out", str(tmp_path / "run")),
        "compare": ("compare", "--policies", "edf", "--days", "1"),
        "offer": OFFER,
        "menu calibrate": ("menu", "calibrate", "--out", str(tmp_path / "m.toml")),
        "community": ("community", "--out", str(tmp_path / "c")),
        "community-bench": ("community-bench", "--buildings", "1", "--days", "1"),
        "survey fit": ("survey", "fit", "builtin:consent-survey-synthetic", "--out",
                       str(tmp_path / "t.toml")),
        "survey synthesize": ("survey", "synthesize", "--out", str(tmp_path / "s.csv")),
    }


@pytest.mark.parametrize("command", ["simulate", "compare", "offer", "menu calibrate", "community",
                                     "community-bench", "survey fit", "survey synthesize"])
@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_seed_out_of_range(tmp_path, no_work, command, seed):
    refused(*seeded_commands(tmp_path)[command], "--seed", seed,
            expected=("--seed", seed, "0..4294967295"))


SITE_COMMANDS = {
    "site show": lambda site, tmp: ("site", "show", site),
    "simulate": lambda site, tmp: ("simulate", "--policy", "edf", "--out", str(tmp / "r"), "--site", site),
    "compare": lambda site, tmp: ("compare", "--policies", "edf", "--site", site),
    "offer": lambda site, tmp: (*OFFER, "--site", site),
    "menu calibrate": lambda site, tmp: ("menu", "calibrate", "--out", str(tmp / "m.toml"), "--site", site),
    "bench": lambda site, tmp: ("bench", "--site", site),
}


@pytest.mark.parametrize("command", list(SITE_COMMANDS))
@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("binary.toml", b"\xff\xfe\x00name = 1\x80", "not a text site file"),
        ("binary.json", b"\x89PNG\r\n\x1a\n\x00", "not a text site file"),
        ("list.json", b"[1, 2]", "found a list"),
        ("number.json", b"3", "found a number"),
        ("string.json", b'"santa-clara-office"', "found a string"),
        ("null.json", b"null", "found null"),
    ],
)
def test_site_file_that_is_not_a_site(tmp_path, no_work, command, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    refused(*SITE_COMMANDS[command](str(path), tmp_path), expected=(str(path), expected))


def test_site_that_is_a_directory_or_empty(tmp_path, no_work):
    refused("site", "show", str(tmp_path), expected=(str(tmp_path), "is a directory, not a site file"))
    refused("site", "show", "", expected=("no site named ''",))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("community-bench", "--slot-minutes", "0"), ("--slot-minutes 0", "multiple of 5")),
        (("community-bench", "--slot-minutes", "-15"), ("--slot-minutes -15", "multiple of 5")),
        (("community-bench", "--slot-minutes", "7"), ("--slot-minutes 7", "divides 1440")),
        (("community-bench", "--buildings", "0"), ("--buildings", "got 0")),
        (("community-bench", "--days", "201"), ("--days", "1..200", "got 201")),
        (("community", "--out", "{tmp}/c", "--slot-minutes", "0"), ("--slot-minutes", "got 0")),
        (("community", "--out", "{tmp}/c", "--slot-minutes", "2000"), ("--slot-minutes", "got 2000")),
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--days", "0"), ("--days", "got 0")),
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--episode", "-1"), ("test episode -1",)),
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--scenarios", "0"), ("scenarios=0",)),
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--solve-budget-s", "nan"),
         ("solve_budget_s=nan",)),
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--alpha", "1.5"), ("alpha=1.5",)),
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--temperature", "-1"), ("--temperature -1",)),
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--profile", "lazy"), ("--profile 'lazy'",)),
        (("compare", "--policies", "edf", "--episodes", "0"), ("--episodes", "got 0")),
        (("compare", "--policies", "edf", "--workers", "0"), ("--workers", "got 0")),
        (("compare", "--policies", "edf", "--selection", "random"), ("selection='random'",)),
        (("bench", "--ablation", "-1"), ("--ablation", "got -1")),
        (("bench", "--ablation", "1000"), ("--ablation", "got 1000")),
        (("menu", "calibrate", "--out", "{tmp}/m.toml", "--episodes", "0"), ("--episodes", "got 0")),
        (("menu", "calibrate", "--out", "{tmp}/m.toml", "--episodes", "1000"), ("--episodes 1000",)),
        (("menu", "calibrate", "--out", "{tmp}/m.toml", "--days", "0"), ("--days", "got 0")),
        ((*OFFER, "--day", "99"), ("--day 99",)),
        ((*OFFER, "--battery-kwh", "nan"), ("--battery-kwh nan",)),
        ((*OFFER, "--alpha", "0"), ("alpha=0",)),
        (("survey", "fit", "builtin:consent-survey-synthetic", "--out", "{tmp}/t.toml", "--restarts", "0"),
         ("--restarts", "got 0")),
        (("survey", "synthesize", "--out", "{tmp}/s.csv", "--respondents", "1000000000"),
         ("--respondents", "got 1000000000")),
        (("data", "fit", "--sessions", "builtin:acn-jpl", "--out", "{tmp}/m.json", "--arrivals-per-day",
          "0"), ("--arrivals-per-day = 0",)),
    ],
)
def test_numeric_option_out_of_range(tmp_path, no_work, args, expected):
    refused(*(a.replace("{tmp}", str(tmp_path)) for a in args), expected=expected)


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a directory")
    return path


DIR_OUTPUTS = {
    "simulate": lambda out: ("simulate", "--policy", "edf", "--days", "1", "--out", out),
    "compare": lambda out: ("compare", "--policies", "edf", "--days", "1", "--out", out),
    "community": lambda out: ("community", "--out", out),
}
FILE_OUTPUTS = {
    "bench --json": lambda out: ("bench", "--quick", "--json", out),
    "menu calibrate": lambda out: ("menu", "calibrate", "--episodes", "1", "--out", out),
    "survey fit": lambda out: ("survey", "fit", "builtin:consent-survey-synthetic", "--out", out),
    "survey synthesize": lambda out: ("survey", "synthesize", "--out", out),
    "data fit": lambda out: ("data", "fit", "--sessions", "builtin:acn-jpl", "--out", out),
}


def _option(args: tuple[str, ...]) -> str:
    return "--json" if "--json" in args else "--out"


@pytest.mark.parametrize("command", list(DIR_OUTPUTS))
def test_output_directory_that_is_a_file(tmp_path, nothing_read, command):
    path = str(_a_file(tmp_path))
    refused(*DIR_OUTPUTS[command](path), expected=(f"--out {path}", "is a file, not a directory"))


@pytest.mark.parametrize("command", list(FILE_OUTPUTS))
def test_output_file_that_is_a_directory(tmp_path, nothing_read, command):
    folder = tmp_path / "folder.json"  # a directory, whatever its name says
    folder.mkdir()
    args = FILE_OUTPUTS[command](str(folder))
    refused(*args, expected=(f"{_option(args)} {folder}", "is a directory"))


@pytest.mark.parametrize("command", [*DIR_OUTPUTS, *FILE_OUTPUTS])
def test_output_path_below_a_file(tmp_path, nothing_read, command):
    out = str(_a_file(tmp_path) / "sub" / "out.json")
    args = {**DIR_OUTPUTS, **FILE_OUTPUTS}[command](out)
    refused(*args, expected=(f"{_option(args)} {out}", "Not a directory"))


@pytest.mark.parametrize("command", [*DIR_OUTPUTS, *FILE_OUTPUTS])
def test_output_path_in_a_read_only_directory(tmp_path, nothing_read, command, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    # root may write anywhere: what the permission check sees is then made to match the mode
    access = os.access
    monkeypatch.setattr("v2b.cli.common.os.access", lambda path, mode: (
        access(path, mode) and not (mode & os.W_OK and str(path).startswith(str(locked)))))
    try:
        out = str(locked / "out.json")
        args = {**DIR_OUTPUTS, **FILE_OUTPUTS}[command](out)
        refused(*args, expected=(f"{_option(args)} {out}",))
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("command", [*DIR_OUTPUTS, *FILE_OUTPUTS])
def test_empty_output_path(tmp_path, nothing_read, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = {**DIR_OUTPUTS, **FILE_OUTPUTS}[command]("")
    refused(*args, expected=(f"{_option(args)} ''", "empty"))
    assert list(tmp_path.iterdir()) == []  # nothing written into the current directory


def test_a_file_of_the_output_directory_that_is_a_directory(tmp_path, nothing_read):
    (tmp_path / "run" / "summary.json").mkdir(parents=True)
    refused(*DIR_OUTPUTS["simulate"](str(tmp_path / "run")), expected=("summary.json is a directory",))


def test_tariff_time_off_the_15_minute_grid(tmp_path, no_work):
    for bad in ("06:07", "06:75", "25:00"):
        path = site_file(tmp_path, SITE_TEXT.replace('start = "06:00"', f'start = "{bad}"'))
        text = refused("site", "show", path, expected=("tariff.energy.0.start", bad))
        assert "at least 1 item" not in text  # only the field at fault is named
        refused("simulate", "--policy", "edf", "--out", str(tmp_path / "r"), "--site", path,
                expected=("tariff.energy.0.start", bad))
    shifted = site_file(tmp_path, SITE_TEXT.replace('"06:00"', '"06:15"'))
    prices = load_site(shifted).tariff.price_per_kwh_by_slot()
    assert prices[24] == 0.137 and prices[25] == 0.178  # 06:00-06:15 off-peak, billed as shown


def test_unknown_time_zone_is_blamed_on_the_site_field(tmp_path, no_work):
    path = site_file(tmp_path, SITE_TEXT.replace('timezone = "America/Los_Angeles"',
                                                 'timezone = "Mars/Olympus"'))
    for args in (("site", "show", path),
                 ("simulate", "--policy", "edf", "--out", str(tmp_path / "r"), "--site", path),
                 (*OFFER, "--site", path)):
        text = refused(*args, expected=(path, "field 'timezone'", "Mars/Olympus", "time zone"))
        assert "acn_jpl" not in text and "arrival" not in text


@pytest.mark.parametrize("command", ["fit", "show"])
def test_unknown_time_zone_option(tmp_path, no_work, command):
    args = (("data", "fit", "--sessions", "builtin:acn-jpl", "--out", str(tmp_path / "m.json"))
            if command == "fit" else ("data", "show", "builtin:acn-jpl"))
    refused(*args, "--timezone", "Mars/Olympus", expected=("--timezone 'Mars/Olympus'", "time zone"))


def test_unknown_time_zone_in_a_data_column(tmp_path):
    path = tmp_path / "acn.csv"
    path.write_text(
        "connectionTime,disconnectTime,kWhDelivered,timezone\n"
        "2019-05-01 08:00:00-07:00,2019-05-01 17:00:00-07:00,10,America/Los_Angeles\n"
        "2019-05-02 08:00:00-07:00,2019-05-02 17:00:00-07:00,10,Mars/Olympus\n"
    )
    refused("data", "show", str(path), "--format", "acn",
            expected=("row 2", "field 'timezone' = 'Mars/Olympus'", "time zone"))


def test_days_longer_than_the_episode(tmp_path, no_work):
    site = load_site("santa-clara-office")
    test_days = episode_for(site, 0).days
    replay_days = episode_for(site, 0, replay=True).days
    pool_days = site_scenarios(site).pool_episode(0).days
    out = str(tmp_path / "r")
    refused("simulate", "--policy", "edf", "--out", out, "--days", "1000",
            expected=("--days", "got 1000", f"test episode 0 has {test_days} days"))
    refused("simulate", "--policy", "edf", "--out", out, "--replay", "--days", str(replay_days + 1),
            expected=("--days", f"got {replay_days + 1}", f"replay month 0 has {replay_days} days"))
    refused("compare", "--policies", "edf", "--episodes", "1", "--days", str(test_days + 1),
            expected=("--days", f"got {test_days + 1}", f"test episode 0 has {test_days} days"))
    refused("menu", "calibrate", "--out", str(tmp_path / "m.toml"), "--episodes", "1", "--days", "1000",
            expected=("--days", "got 1000", f"pool month 0 has {pool_days} days"))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--openv2b", "{tmp}", "--episode", "3"),
         ("--episode 3", "--openv2b")),
        (("simulate", "--policy", "edf", "--out", "{tmp}/r", "--openv2b", "{tmp}", "--replay"),
         ("--replay", "--openv2b")),
        (("compare", "--policies", "edf", "--openv2b", "{tmp}", "--episodes", "4"), ("--episodes 4",)),
        (("compare", "--policies", "edf,uncontrolled,edf"), ("--policies", "edf more than once")),
        (("compare", "--policies", ""), ("--policies ''", "empty name")),
    ],
)
def test_options_that_would_be_ignored(tmp_path, no_work, args, expected):
    refused(*(a.replace("{tmp}", str(tmp_path)) for a in args), expected=expected)


class Stop(UserError):
    """Stands in for the run, once its spec has been seen."""


def captured_runs(monkeypatch, command: str) -> list:
    """The run specs ``simulate`` or ``compare`` would start, collected instead of run (the
    command then stops with :class:`Stop`)."""
    seen: list = []

    def capture(specs, *_args, **_kwargs):
        seen.extend(specs if isinstance(specs, list) else [specs])
        raise Stop("stop")

    monkeypatch.setattr(f"v2b.cli.sim.{'run' if command == 'simulate' else 'run_many'}", capture)
    return seen


@pytest.mark.parametrize("command", ["simulate", "compare"])
@pytest.mark.parametrize(("flag", "key", "bad", "choices", "given"), [
    ("--load-info", "load_info", "oracle", "measured, paper", [(None, "measured"), ("paper", "paper")]),
    ("--coming-slot", "coming_slot", "later", "excess, guard, samples", [("guard", "guard")]),
])
def test_information_options_are_validated_and_passed_to_the_run(tmp_path, monkeypatch, command, flag, key,
                                                                 bad, choices, given):
    seen = captured_runs(monkeypatch, command)
    base = (DIR_OUTPUTS[command](str(tmp_path / "r")))
    refused(*base, flag, bad, expected=(f"{flag} '{bad}'", choices))
    assert not seen
    for value, expected in given:
        runner.invoke(app, [*base, *((flag, value) if value else ())], catch_exceptions=False)
        assert seen and all(spec.options[key] == expected for spec in seen)
        seen.clear()


@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_the_later_margin_is_validated_and_passed_to_the_run(tmp_path, monkeypatch, command):
    seen = captured_runs(monkeypatch, command)
    base = DIR_OUTPUTS[command](str(tmp_path / "r"))
    refused(*base, "--later-margin", "1.5", expected=("--later-margin", "1.5"))
    assert not seen
    runner.invoke(app, [*base], catch_exceptions=False)
    assert seen and all("later_margin_quantile" not in spec.options for spec in seen)
    seen.clear()
    runner.invoke(app, [*base, "--later-margin", "0.9"], catch_exceptions=False)
    assert seen and all(spec.options["later_margin_quantile"] == 0.9 for spec in seen)


#: controller options given on the command line: flag, values refused, a value passed, its option key
CONTROLLER_FLAGS = [
    ("--future-days", ["-5"], "100", "future_days", 100),
    ("--season-months", ["13", "-1"], "0", "season_months", 0),
]


@pytest.mark.parametrize("command", ["simulate", "compare"])
@pytest.mark.parametrize(("flag", "bad", "good", "key", "value"), CONTROLLER_FLAGS)
def test_controller_flags_are_validated_and_passed_to_the_run(tmp_path, monkeypatch, command, flag, bad,
                                                              good, key, value):
    seen = captured_runs(monkeypatch, command)
    base = DIR_OUTPUTS[command](str(tmp_path / "r"))
    for wrong in bad:
        refused(*base, flag, wrong, expected=(flag, wrong))
    assert not seen
    runner.invoke(app, [*base, flag, good], catch_exceptions=False)
    assert seen and all(spec.options[key] == value for spec in seen)


@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_the_billing_history_switch_and_the_history_modes_reach_the_run(tmp_path, monkeypatch, command):
    seen = captured_runs(monkeypatch, command)
    base = DIR_OUTPUTS[command](str(tmp_path / "r"))
    runner.invoke(app, [*base], catch_exceptions=False)
    assert seen and all("billing_history" not in spec.options for spec in seen)
    seen.clear()
    runner.invoke(app, [*base, "--month-peak", "pool-value", "--no-billing-history"], catch_exceptions=False)
    assert seen and all(spec.options["billing_history"] is False for spec in seen)
    assert all(spec.options["month_peak"] == "pool-value" for spec in seen)
    seen.clear()
    runner.invoke(app, [*base, "--month-peak", "calibrated"], catch_exceptions=False)
    assert seen and all(spec.options["month_peak"] == "calibrated" for spec in seen)
