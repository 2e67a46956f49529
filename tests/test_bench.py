"""``v2b bench``: its building blocks, the CLI's output and JSON keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import random_episode, tiny_site
from test_mpc import RandomSampler
from v2b import bench
from v2b.cli import app
from v2b.site import load_site

REQUIRED = {"smart_decision_s", "assembly_s", "options_s", "month_s", "peak_rss_mib", "cores"}


def test_scaled_site_keeps_a_third_bidirectional_and_scales_load():
    base = load_site("santa-clara-office")
    site = bench.scaled_site(base, 150, 200.0, 10.0)
    kinds = {g.kind: g.count for g in site.chargers}
    assert kinds == {"bidirectional": 50, "unidirectional": 100}
    assert site.sessions.arrivals_per_day == 200.0
    assert site.load.scale == pytest.approx(10 * base.load.scale)
    assert len(site.charger_arrays) == 150


def test_growth_exponent_reads_a_log_log_slope():
    rows = [{"arrivals_per_day": a, "decision_s": {"median": 0.01 * a}} for a in (10, 20, 40)]
    assert bench.growth_exponent(rows, "arrivals_per_day") == pytest.approx(1.0)
    rows = [{"chargers": c, "decision_s": {"median": 0.001 * c**2}} for c in (15, 50, 150)]
    assert bench.growth_exponent(rows, "chargers") == pytest.approx(2.0)


def test_consent_offer_timing_prices_every_arrival():
    ep = random_episode(np.random.default_rng(3), days=1, per_day=3)
    timing = bench.consent_offer_timing(tiny_site(flat_curve=False), ep, RandomSampler())
    assert timing["count"] > 0 and timing["median"] > 0
    assert timing["solves_per_arrival"] >= 2  # J without the EV, then at least level 0


def _canned(quick: bool = True, site_name: str = "x", progress=None) -> dict:
    row = {"chargers": 15, "arrivals_per_day": 20.0, "decision_s": {"median": 0.02, "p95": 0.05}}
    stats = {"median": 0.02, "p95": 0.05, "count": 10}
    return {
        "site": site_name, "quick": quick, "cores": 2, "uncontrolled_month_s": 0.2,
        "smart_decision_s": {"10": stats, "30": stats},
        "cold_vs_warm": {"cold": stats, "warm": stats},
        "assembly_s": stats,
        "options_s": {**stats, "solves_per_arrival": 15.0, "futures": 10},
        "month_s": 30.0, "month_days": 3, "peak_rss_mib": 300.0,
        "consent_month_s": 40.0, "consent_to_smart_month": 1.3,
        "growth_arrivals": {"rows": [row], "exponent": 0.8},
        "growth_chargers": {"rows": [row], "exponent": 0.9},
    }


def test_cli_prints_the_table_and_writes_json(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "run_bench", _canned)
    out = tmp_path / "b.json"
    result = CliRunner().invoke(app, ["bench", "--quick", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "all options of one arrival" in result.output and "growth exponent" in result.output
    assert "building its LP" in result.output
    data = json.loads(out.read_text())
    assert set(data) >= REQUIRED and {"10", "30"} <= set(data["smart_decision_s"])


def test_cli_unknown_site_is_a_user_error():
    result = CliRunner().invoke(app, ["bench", "--quick", "--site", "no-such-site"])
    assert result.exit_code == 2
    assert "no-such-site" in result.output


def test_quick_bench_reports_every_key():
    data = bench.run_bench(quick=True)
    assert set(data) >= REQUIRED
    for n in ("10", "30"):
        assert data["smart_decision_s"][n]["median"] > 0
    assert data["options_s"]["median"] > 0 and data["month_s"] > 0
    assert 0 < data["assembly_s"]["median"] < data["smart_decision_s"]["30"]["p95"]


def test_cli_ablation_prints_the_variant_table(tmp_path, monkeypatch):
    def canned(site_name, episodes, progress=None):
        stats = {"median": 0.02, "p95": 0.05, "count": 10}
        return [
            {"episode": e, "variant": v, "building_cost_usd": c, "gap_to_oracle": c / 100 - 1,
             "peak_kw": 50.0, "unmet_kwh": 1.0, "decision_s": stats, "month_s": 3.0}
            for e in range(episodes) for v, c in (("oracle", 100.0), ("smart (defaults)", 101.0))
        ]

    monkeypatch.setattr(bench, "ablation", canned)
    out = tmp_path / "a.json"
    result = CliRunner().invoke(app, ["bench", "--ablation", "2", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "+1.00 %" in result.output
    assert len(json.loads(out.read_text())["ablation"]) == 4


def test_ablation_starts_with_the_oracle():
    assert bench.ABLATION[0][1] == "oracle"
