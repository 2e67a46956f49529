"""Chargers with a minimum charging power: the engine delivers nothing below it,
and the MPC switches to its MILP mode so its plans respect it."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import episode, tiny_site
from v2b.control.registry import make_policy
from v2b.episode import Session
from v2b.interface import Observation, Policy
from v2b.sim import simulate
from v2b.site import SiteError


def min_site(min_kw: float = 4.0):
    return tiny_site(
        chargers=[
            {"count": 1, "kind": "bidirectional", "max_kw": 10.0, "min_kw": -10.0,
             "min_charge_kw": min_kw},
            {"count": 1, "kind": "unidirectional", "max_kw": 10.0, "min_charge_kw": min_kw},
        ]
    )


class Trickle(Policy):
    name = "trickle"

    def decide(self, obs: Observation) -> np.ndarray:
        return np.where(obs.occupied, 2.5, 0.0)


def test_engine_delivers_nothing_below_the_minimum():
    run = simulate(min_site(), episode([Session("A", 0, 8, 40.0, 0.5, 0.9)]), Trickle())
    assert (run.trace.power_kw == 0).all()
    run = simulate(min_site(2.0), episode([Session("A", 0, 8, 40.0, 0.5, 0.9)]), Trickle())
    assert run.trace.power_kw[0, 0] == pytest.approx(2.5)


def test_min_above_max_is_a_site_error():
    with pytest.raises(SiteError, match="min_charge_kw=12.0 exceeds max_kw=10.0"):
        min_site(12.0)


def test_smart_plans_on_off_charging_on_such_a_site():
    site = min_site(6.0)
    sessions = [Session("A", 32, 44, 40.0, 0.5, 0.7), Session("B", 34, 48, 60.0, 0.4, 0.6)]
    load = np.full(96, 20.0)
    load[36:42] = 35.0
    policy = make_policy("smart")
    run = simulate(site, episode(sessions, load), policy, policy_options={"scenarios": 2})
    assert policy.options.milp and policy.options.min_charge_kw == 6.0
    charging = run.trace.power_kw[run.trace.power_kw > 1e-6]
    assert charging.size > 0 and (charging >= 6.0 - 1e-6).all()
    assert run.summary["solver_failures"] == 0 and run.summary["solver_fallbacks"] == 0


def test_cli_milp_flag_reaches_the_controller(tmp_path):
    import json

    from typer.testing import CliRunner

    from v2b.cli import app

    out = tmp_path / "run"
    args = ["simulate", "--policy", "smart", "--milp", "--days", "1", "--scenarios", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["solver_mode"] == "milp"
    assert summary["lp_solves"] > 0 and summary["solver_failures"] == 0
