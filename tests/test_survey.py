"""Survey pipeline: NNLS weights, k-means types, synthetic surveys, `v2b survey fit/synthesize`."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from v2b.cli import app
from v2b.users.survey import (
    SCENARIOS,
    W1,
    W2,
    SurveyError,
    apportion,
    cluster_types,
    fit_respondent_weights,
    read_survey,
    synthetic_survey,
    type_summary,
)
from v2b.users.types import UserType, UserTypes, load_user_types

runner = CliRunner()
HEADER = "respondent,soc_reduction_pct,delay_min,required_discount_usd\n"


def invoke(args: list[str]) -> tuple[int, str]:
    """Run the CLI; output with rich's line wrapping undone."""
    result = runner.invoke(app, args)
    return result.exit_code, " ".join(result.output.split())


def write(tmp_path, body: str, name: str = "survey.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def test_nnls_recovers_exact_weights_and_clips_negative_ones(tmp_path):
    # a: I = 0.02 x dSoC + 0.05 x dt exactly. b: giving up SoC costs nothing.
    # c asks less for 20 points plus 100 minutes than for the 20 points alone:
    # least squares would say w1 = 0.02, w2 = -0.001; NNLS keeps w2 = 0 and refits w1.
    path = write(
        tmp_path,
        "a,10,0,0.20\na,0,30,1.50\na,20,60,3.40\n"
        "b,10,0,0\nb,0,20,1.00\n"
        "c,20,0,0.40\nc,20,100,0.30\n",
    )
    fitted = fit_respondent_weights(read_survey(path))
    assert list(fitted.index) == ["a", "b", "c"]
    assert fitted.loc["a", W1] == pytest.approx(0.02, abs=1e-12)
    assert fitted.loc["a", W2] == pytest.approx(0.05, abs=1e-12)
    assert fitted.loc["a", "rmse_usd"] == pytest.approx(0.0, abs=1e-12)
    assert fitted.loc["b", W1] == 0.0
    assert fitted.loc["b", W2] == pytest.approx(0.05, abs=1e-12)
    # w2 = 0; w1 = (20 x 0.40 + 20 x 0.30) / (20^2 + 20^2) = 0.0175
    assert fitted.loc["c", W2] == 0.0
    assert fitted.loc["c", W1] == pytest.approx(0.0175, abs=1e-12)
    assert list(fitted["scenarios"]) == [3, 2, 2]


def test_apportion_gives_the_papers_split():
    shares = load_user_types("builtin:consent-survey").shares
    assert list(apportion(shares, 28)) == [3, 15, 9, 1]
    assert apportion(shares, 1000).sum() == 1000


def test_synthetic_survey_reproduces_the_papers_split():
    types = load_user_types("builtin:consent-survey")
    survey = synthetic_survey(types, 28, np.random.default_rng(5))
    assert survey["respondent"].nunique() == 28
    assert len(survey) == 28 * len(SCENARIOS)
    assert (survey["required_discount_usd"] >= 0).all()
    cents = survey["required_discount_usd"].to_numpy() * 100
    np.testing.assert_allclose(cents / 5, np.round(cents / 5), atol=1e-9)  # multiples of $0.05
    # noise-free answers reveal each respondent's type by its exact weights
    exact = synthetic_survey(types, 28, np.random.default_rng(5), noise_usd=0.0, step_usd=1e-9)
    w = fit_respondent_weights(exact)
    assert (w[W1] == 0).sum() >= 1  # type iv: w1 = 0 exactly (sd 0)
    assert np.isclose(w[W2], 0.1083, atol=1e-6).sum() == 1
    assert synthetic_survey(types, 28, np.random.default_rng(5)).equals(survey)


SEPARATED = UserTypes(
    (
        UserType("a", 0.010, 0.001, 0.010, 0.001, 0.5),
        UserType("b", 0.060, 0.002, 0.030, 0.002, 0.3),
        UserType("c", 0.020, 0.001, 0.120, 0.003, 0.2),
    ),
    "test",
)


def test_kmeans_recovers_separated_types_deterministically():
    survey = synthetic_survey(SEPARATED, 200, np.random.default_rng(0), noise_usd=0.02)
    weights = fit_respondent_weights(survey)
    fitted = cluster_types(weights, 3, np.random.default_rng(7))
    # ordered by decreasing w2: c, b, a
    np.testing.assert_allclose(fitted.shares, [0.2, 0.3, 0.5], atol=1e-12)
    expected = [(0.020, 0.120), (0.060, 0.030), (0.010, 0.010)]
    for t, (w1, w2) in zip(fitted.types, expected, strict=True):
        assert t.soc_weight_usd_per_pct == pytest.approx(w1, abs=0.002)
        assert t.time_weight_usd_per_min == pytest.approx(w2, abs=0.002)
        assert 0 < t.soc_weight_sd < 0.005 and 0 < t.time_weight_sd < 0.005
    assert fitted.names == ("i", "ii", "iii")
    again = cluster_types(weights, 3, np.random.default_rng(7))
    assert again == fitted


def test_single_member_type_has_zero_sd_and_bad_counts_are_refused():
    weights = np.array([[0.01, 0.01], [0.011, 0.012], [0.05, 0.2]])
    fitted = cluster_types(weights, 2, np.random.default_rng(0))
    assert fitted.types[0].time_weight_usd_per_min == 0.2
    assert fitted.types[0].soc_weight_sd == 0.0 and fitted.types[0].time_weight_sd == 0.0
    assert fitted.types[1].soc_weight_sd == pytest.approx(np.std([0.01, 0.011], ddof=1))
    with pytest.raises(SurveyError, match="between 1 and the 3 respondents"):
        cluster_types(weights, 0, np.random.default_rng(0))
    with pytest.raises(SurveyError, match="between 1 and the 3 respondents"):
        cluster_types(weights, 4, np.random.default_rng(0))
    with pytest.raises(SurveyError, match="only 1 distinct"):
        cluster_types(np.ones((5, 2)), 2, np.random.default_rng(0))


def test_fit_toml_round_trip(tmp_path):
    survey = synthetic_survey(SEPARATED, 60, np.random.default_rng(3))
    fitted = cluster_types(fit_respondent_weights(survey), 3, np.random.default_rng(1), source="round trip")
    path = tmp_path / "types.toml"
    path.write_text(fitted.to_toml())
    loaded = load_user_types(path)
    assert loaded.names == fitted.names and loaded.source == "round trip"
    for a, b in zip(loaded.types, fitted.types, strict=True):
        assert a.soc_weight_usd_per_pct == pytest.approx(b.soc_weight_usd_per_pct, rel=1e-5)
        assert a.time_weight_sd == pytest.approx(b.time_weight_sd, rel=1e-5)
        assert a.share == pytest.approx(b.share, rel=1e-5)
    assert list(type_summary(loaded, 60)["respondents"]) == list(np.round(fitted.shares * 60).astype(int))


def test_shipped_synthetic_survey_matches_the_papers_population_means():
    survey = read_survey("builtin:consent-survey-synthetic")
    assert survey["respondent"].nunique() == 28
    fitted = cluster_types(fit_respondent_weights(survey), 4, np.random.default_rng(1))
    w1, w2 = fitted.mean_weights()
    paper_w1, paper_w2 = load_user_types("builtin:consent-survey").mean_weights()
    assert paper_w1 == pytest.approx(0.0240, abs=5e-5) and paper_w2 == pytest.approx(0.0574, abs=5e-5)
    assert w1 == pytest.approx(paper_w1, rel=0.30)
    assert w2 == pytest.approx(paper_w2, rel=0.30)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("a,10,0,0.2\na,0,30,-1.5\n", "line 3 (respondent 'a'): column 'required_discount_usd' = '-1.5'"),
        ("a,10,0,0.2\na,0,thirty,1.5\n", "line 3 (respondent 'a'): column 'delay_min' = 'thirty'"),
        ("a,10,0,0.2\na,0,30,1.5\n\nb,10,0,0.1\n", "line 5 (respondent 'b'): column 'respondent' = 'b'"),
        ("a,10,0,0.2\na,120,30,1.5\n", "column 'soc_reduction_pct' = '120': must be at most 100"),
        ("a,10,0,0.2\na,,30,1.5\n", "column 'soc_reduction_pct' = '': is missing"),
        ("a,10,0,0.2,9\na,0,30,1.5\n", "line 2 has more fields than the header's 4"),
        ("a,10,0,0.2\na,0,30\n", "line 3 (respondent 'a'): column 'required_discount_usd' = '': is missing"),
    ],
)
def test_read_survey_errors_name_file_line_column_value(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(SurveyError) as err:
        read_survey(path)
    assert str(err.value).startswith(f"{path}: ") and expected in str(err.value)


def test_read_survey_missing_file_column_and_builtin(tmp_path):
    with pytest.raises(SurveyError, match="does not exist"):
        read_survey(tmp_path / "nope.csv")
    (tmp_path / "cols.csv").write_text("respondent,delay_min,required_discount_usd\na,1,1\n")
    with pytest.raises(SurveyError, match="missing column\\(s\\) soc_reduction_pct"):
        read_survey(tmp_path / "cols.csv")
    with pytest.raises(SurveyError, match="unknown built-in survey"):
        read_survey("builtin:nope")


def test_cli_synthesize_then_fit(tmp_path):
    csv = tmp_path / "out" / "survey.csv"
    code, output = invoke(["survey", "synthesize", "--out", str(csv), "--respondents", "40", "--seed", "2"])
    assert code == 0, output
    assert "SYNTHETIC" in output and str(csv) in output
    survey = pd.read_csv(csv)
    assert list(survey.columns) == ["respondent", "soc_reduction_pct", "delay_min", "required_discount_usd"]
    assert survey["respondent"].nunique() == 40

    out = tmp_path / "types" / "mine.toml"
    code, output = invoke(["survey", "fit", str(csv), "--types", "3", "--out", str(out), "--seed", "4"])
    assert code == 0, output
    loaded = load_user_types(out)
    assert loaded.names == ("i", "ii", "iii")
    assert f"wrote {out}" in output and "respondents" in output and "±" in output
    assert sum(int(n) for n in type_summary(loaded, 40)["respondents"]) == 40


def test_cli_fit_builtin_and_shipped_file_is_what_synthesize_writes(tmp_path):
    out = tmp_path / "t.toml"
    code, output = invoke(["survey", "fit", "builtin:consent-survey-synthetic", "--out", str(out)])
    assert code == 0, output
    assert len(load_user_types(out).types) == 4
    again = tmp_path / "again.csv"
    code, output = invoke(["survey", "synthesize", "--out", str(again)])
    assert code == 0, output
    shipped = resources.files("v2b.users.data") / "consent-survey-synthetic.csv"
    assert again.read_text() == shipped.read_text()


def test_cli_user_errors_exit_2_with_one_line(tmp_path):
    good = write(tmp_path, "a,10,0,0.2\na,0,30,1.5\nb,5,0,0.1\nb,0,60,2\n", "good.csv")
    (tmp_path / "nocol.csv").write_text("respondent,soc_reduction_pct,delay_min\na,1,1\na,2,2\n")
    negative = write(tmp_path, "a,10,0,0.2\na,0,30,-1.5\n", "neg.csv")
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = str(tmp_path / "t.toml")
    synth = ["survey", "synthesize", "--out"]
    cases = [
        (["survey", "fit", str(tmp_path / "nocol.csv"), "--out", out], "missing column(s) required_discount"),
        (["survey", "fit", str(negative), "--out", out], "column 'required_discount_usd' = '-1.5'"),
        (["survey", "fit", str(good), "--types", "0", "--out", out], "number of types = 0"),
        (["survey", "fit", str(good), "--types", "3", "--out", out], "between 1 and the 2 respondents"),
        (["survey", "fit", str(good), "--out", str(tmp_path)], "is a directory"),
        (["survey", "fit", str(good), "--out", str(afile / "t.toml")], "is a file, not a directory"),
        (["survey", "fit", str(tmp_path / "none.csv"), "--out", out], "does not exist"),
        ([*synth, str(tmp_path)], "is a directory"),
        ([*synth, str(tmp_path / "s.csv"), "--respondents", "0"], "must be at least 1"),
        ([*synth, str(tmp_path / "s.csv"), "--types", "builtin:x"], "unknown built-in"),
    ]
    for args, expected in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: ") and expected in " ".join(result.output.split()), args
        assert "Traceback" not in result.output
    assert not (tmp_path / "t.toml").exists()  # nothing written by a failed fit


def test_help_teaches_columns_and_synthetic():
    for command in (["survey", "fit", "--help"], ["survey", "synthesize", "--help"]):
        code, output = invoke(command)
        assert code == 0
        assert "required_discount_usd" in output and "SYNTHETIC" in output and "percentage points" in output
