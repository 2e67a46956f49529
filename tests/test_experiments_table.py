"""The comparison table: oracle gaps only where they mean something, missing figures shown as '-'."""

from __future__ import annotations

import pytest

from v2b.experiments.table import aggregate, cell, shown_columns, with_oracle_gap


def _run(policy, cost, payments=0.0, declined=0, **extra):
    return {"site": "s", "episode_kind": "test", "episode": 0, "days": 1, "seed": 1, "policy": policy,
            "building_cost_usd": cost, "user_payments_usd": payments, "rejected_declined": declined,
            "decision_seconds": {"median": 0.0, "p95": 0.0}, **extra}


def test_the_oracle_gap_is_only_for_free_charging():
    runs = with_oracle_gap([_run("oracle", 100.0), _run("smart-free", 101.0),
                            _run("consent", 90.0, payments=20.0, declined=3)])
    gaps = {r["policy"]: r.get("gap_to_oracle") for r in runs}
    assert gaps["smart-free"] == pytest.approx(0.01) and gaps["oracle"] == 0.0
    assert gaps["consent"] is None


def test_a_figure_only_some_policies_have_is_a_dash_for_the_others():
    table = aggregate([_run("smart-free", 1.0), _run("consent", 2.0, offer_seconds_median=0.02)])
    col = next(c for c in shown_columns(table) if c.key == "offer_seconds_median")
    rows = {r["policy"]: r for _, r in table.iterrows()}
    assert cell(rows["smart-free"], col) == "-"
    assert cell(rows["consent"], col) == "20.0 ± 0.0"
