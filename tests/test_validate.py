"""`v2b data validate`: the statistics on hand-made samples, the hold-out split, and the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from v2b.cli import app
from v2b.data.errors import DataError
from v2b.data.fleet import read_fleet
from v2b.data.sources import read_load, read_sessions
from v2b.scenarios.episodes import EpisodeArrays
from v2b.scenarios.validate import alternate, holdout_split, restrict_load, restrict_sessions, validate
from v2b.scenarios.validate_features import FEATURE_SLUGS, SessionFeatures
from v2b.scenarios.validate_report import REPORT_FILES
from v2b.scenarios.validate_stats import (
    banded_ks,
    busy_share,
    common_bands,
    ks_test,
    lag1_autocorrelation,
    occupancy,
    permutation_p,
    profile_rms,
)

runner = CliRunner()


def invoke(args: list[str]):
    result = runner.invoke(app, args)
    return result.exit_code, " ".join(result.output.split())


# --- statistics on samples with known answers -------------------------------------------


def test_ks_identical_shifted_and_disjoint_samples():
    a = np.arange(10.0)
    assert ks_test(a, a.copy()) == (0.0, 1.0)
    assert ks_test(a, a + 3)[0] == pytest.approx(0.3)  # 3 of 10 values lie outside the overlap
    d, p = ks_test(a, a + 100)
    assert d == 1.0 and p < 1e-4
    assert np.isnan(ks_test(a, np.array([np.nan]))[0])  # nothing finite to compare


def test_lag1_autocorrelation_of_known_sequences():
    # deviations -2..2: sum of neighbour products 2 + 0 + 0 + 2 = 4, sum of squares 10
    assert lag1_autocorrelation(np.array([1, 2, 3, 4, 5])) == pytest.approx(0.4)
    # deviations -1, 1, -1, 1: products -3, squares 4
    assert lag1_autocorrelation(np.array([1, 3, 1, 3])) == pytest.approx(-0.75)
    assert np.isnan(lag1_autocorrelation(np.array([4, 4, 4, 4])))
    assert np.isnan(lag1_autocorrelation(np.array([1, 2])))


def test_occupancy_and_busy_share_of_hand_made_stays():
    arrival, departure = np.array([0, 2, 3]), np.array([4, 6, 5])  # departure slot exclusive
    assert occupancy(arrival, departure, 8).tolist() == [1, 1, 2, 3, 2, 1, 0, 0]
    assert busy_share(arrival, departure, 8, 2) == pytest.approx(3 / 8)
    assert busy_share(arrival, departure, 8, 3) == pytest.approx(1 / 8)
    assert busy_share(arrival, departure, 8, 4) == 0.0


def test_banded_ks_reports_the_worst_band_with_bonferroni_p():
    kwh = np.arange(30.0)
    hours = np.concatenate([np.full(30, 7.0), np.full(30, 10.0)])  # bands 6-9 h and 9-12 h
    a_kwh = np.concatenate([kwh, kwh])
    b_kwh = np.concatenate([kwh, kwh + 15])  # same in 6-9 h, shifted by half the range in 9-12 h
    bands = common_bands([hours, hours], min_sessions=20)
    assert bands == [6, 9]
    result = banded_ks(hours, a_kwh, hours, b_kwh, bands)
    assert result.band == 9 and result.statistic == pytest.approx(0.5)
    assert result.p_value == pytest.approx(min(1.0, 2 * ks_test(kwh, kwh + 15)[1]))


def test_profile_rms_and_its_permutation_p():
    rng = np.random.default_rng(0)
    flat = rng.normal(100.0, 1.0, (40, 96))
    assert profile_rms(flat, flat) == 0.0
    assert profile_rms(np.full((3, 96), 2.0), np.zeros((5, 96))) == pytest.approx(2.0)
    raised = flat + 10.0
    assert permutation_p(flat, raised, rng, permutations=99) == pytest.approx(1 / 100)
    assert permutation_p(flat[:20], flat[20:], rng, permutations=99) > 0.05


def test_session_features_of_a_hand_made_month():
    import datetime as dt

    dates = tuple(dt.date(2023, 3, d) for d in (6, 7, 8))
    ep = EpisodeArrays(
        dates=dates,
        load_kw=np.zeros(3 * 96),
        day=np.array([0, 0, 2]),
        arrival_slot=np.array([32, 36, 2 * 96 + 40]),  # 08:00, 09:00 on day 0; 10:00 on day 2
        departure_slot=np.array([40, 44, 2 * 96 + 48]),
        battery_kwh=np.array([50.0, 60.0, 40.0]),
        soc_arrival=np.array([0.5, 0.9, 0.2]),
        soc_requested=np.array([0.9, 0.8, 0.7]),  # the second asks for nothing (clipped at 0)
    )
    f = SessionFeatures.of([ep], chargers=2)
    assert f.arrival_h.tolist() == [8.0, 9.0, 10.0]
    assert f.stay_h.tolist() == [2.0, 2.0, 2.0]
    assert f.requested_kwh == pytest.approx([20.0, 0.0, 20.0])
    assert f.daily_count.tolist() == [2, 0, 1] and f.month_mean[0] == pytest.approx(1.0)
    assert f.month_busy[0] == pytest.approx(4 / (3 * 96))  # both cars in 09:00-10:00 only


# --- small data files -------------------------------------------------------------------


def sessions_csv(tmp_path, months=(3, 4, 5, 6), name="sessions.csv"):
    rng = np.random.default_rng(5)
    rows = []
    for month in months:
        for day in range(1, 29):
            date = np.datetime64(f"2023-{month:02d}-{day:02d}")
            if not np.is_busday(date):
                continue
            for _ in range(int(rng.integers(3, 9))):
                arrive = int(rng.integers(7 * 60, 11 * 60))
                stay = int(rng.integers(3 * 60, 9 * 60))
                start = date + np.timedelta64(arrive, "m")
                rows.append(f"{start},{start + np.timedelta64(stay, 'm')},{rng.uniform(5, 30):.1f}")
    path = tmp_path / name
    path.write_text("arrival,departure,energy_kwh\n" + "\n".join(rows) + "\n")
    return path


def load_csv(tmp_path, first="2023-03-01", last="2023-07-01"):
    times = np.arange(np.datetime64(f"{first}T00:00"), np.datetime64(f"{last}T00:00"), 60)
    hours = np.arange(times.size)
    kw = 100 + 50 * np.sin(hours / 24 * np.pi) ** 2 + 10 * np.sin(hours / 24 / 30)
    path = tmp_path / "load.csv"
    path.write_text("timestamp,kw\n" + "\n".join(f"{t},{v:.2f}" for t, v in zip(times.astype(str), kw,
                                                                                   strict=True)) + "\n")
    return path


def test_holdout_split_alternates_is_disjoint_and_covers_every_month(tmp_path):
    sessions = read_sessions(sessions_csv(tmp_path, months=(3, 4, 5, 6, 7)))
    load = read_load(load_csv(tmp_path))
    split = holdout_split(sessions, load)
    assert split.fit_months == ((2023, 3), (2023, 5), (2023, 7))
    assert split.held_out_months == ((2023, 4), (2023, 6))
    assert split.fit_load_months == ((2023, 3), (2023, 5))
    assert split.held_out_load_months == ((2023, 4), (2023, 6))
    assert not set(split.fit_months) & set(split.held_out_months)
    assert sorted(split.fit_months + split.held_out_months) == [(2023, m) for m in range(3, 8)]
    fit = restrict_sessions(sessions, split.fit_months).frame["arrival"].dt.month
    assert set(fit) == {3, 5, 7}
    assert set(restrict_load(load, split.held_out_load_months).series.index.month) == {4, 6}
    assert alternate([(2020, 1), (2019, 12)]) == (((2019, 12),), ((2020, 1),))


def test_holdout_needs_two_months(tmp_path):
    sessions = read_sessions(sessions_csv(tmp_path, months=(3,)))
    with pytest.raises(DataError, match="at least 2 months"):
        holdout_split(sessions, read_load(load_csv(tmp_path)))
    short_load = read_load(load_csv(tmp_path, "2023-03-06", "2023-03-18"))
    with pytest.raises(DataError, match="of load"):
        holdout_split(read_sessions(sessions_csv(tmp_path)), short_load)


def test_validate_is_seeded_and_compares_every_feature(tmp_path):
    sessions, load = read_sessions(sessions_csv(tmp_path)), read_load(load_csv(tmp_path))
    runs = [validate(sessions, load, read_fleet(), np.random.default_rng(3), months=4) for _ in range(2)]
    assert [r.slug for r in runs[0].rows] == list(FEATURE_SLUGS)
    assert runs[0].rows == runs[1].rows
    row = {r.slug: r for r in runs[0].rows}
    assert row["month_arrivals"].n_generated == 4 and row["month_arrivals"].n_held_out == 2
    assert all(r.passes == (r.value <= r.reference) for r in runs[0].rows)


# --- the command ------------------------------------------------------------------------


def test_validate_command_end_to_end(tmp_path):
    out = tmp_path / "val"
    code, output = invoke([
        "data", "validate", "--sessions", str(sessions_csv(tmp_path)), "--load", str(load_csv(tmp_path)),
        "--out", str(out), "--months", "4", "--seed", "2", "--chargers", "5",
    ])
    assert code == 0, output
    for name in REPORT_FILES:
        assert (out / name).stat().st_size > 0, name
    doc = json.loads((out / "validation.json").read_text())
    assert doc["held_out_months"] == ["2023-04", "2023-06"] and doc["seed"] == 2
    assert [f["slug"] for f in doc["features"]] == list(FEATURE_SLUGS)
    assert "--chargers 5" in doc["command"]
    assert "share of slots with >= 5 EVs" in [f["name"] for f in doc["features"]]
    assert "features pass" in output and "held out 2023-04, 2023-06" in output
    html = (out / "index.html").read_text()
    assert 'src="monthly_peak.png"' in html and "2023-05" in html
    assert (out / "validation.csv").read_text().count("\n") == len(FEATURE_SLUGS) + 1


def test_validate_command_rejects_bad_options_before_work(tmp_path):
    sessions = str(sessions_csv(tmp_path))
    code, output = invoke(["data", "validate", "--site", "santa-clara-office", "--sessions", sessions,
                           "--out", str(tmp_path / "v")])
    assert code == 2 and "either --site or --sessions" in output
    code, output = invoke(["data", "validate", "--sessions", sessions, "--months", "0",
                           "--out", str(tmp_path / "v")])
    assert code == 2 and "--months must be in 1..1000, got 0" in output
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, output = invoke(["data", "validate", "--sessions", sessions, "--out", str(blocker)])
    assert code == 2 and "is a file, not a directory" in output
    one_month = str(sessions_csv(tmp_path, months=(3,), name="march.csv"))
    code, output = invoke(["data", "validate", "--sessions", one_month, "--load", str(load_csv(tmp_path)),
                           "--out", str(tmp_path / "v")])
    assert code == 2 and "at least 2 months" in output and "Traceback" not in output


def test_data_fit_prints_a_quick_validation(tmp_path):
    args = ["data", "fit", "--sessions", str(sessions_csv(tmp_path)), "--load", str(load_csv(tmp_path)),
            "--out", str(tmp_path / "m.json")]
    code, output = invoke(args)
    assert code == 0, output
    assert "20 generated months" in output and "features within the two-halves reference" in output
    assert "v2b data validate --sessions" in output
