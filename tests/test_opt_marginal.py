"""Pricing an arrival on one live model gives the same J as building each LP afresh."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from test_opt_cases import random_futures, random_observation
from v2b.episode import Session
from v2b.interface import ArrivalRequest
from v2b.opt.charging import solve_plan
from v2b.opt.highs import HighsSolver
from v2b.opt.marginal import ArrivalPricer, connect
from v2b.opt.problem import problem_from_observation
from v2b.site import load_site


def _arrival(seed: int):
    rng = np.random.default_rng(seed)
    site = load_site("santa-clara-office")
    obs = random_observation(rng, site, slot_of_day=36)
    free = np.flatnonzero(~obs.occupied)
    if free.size == 0:
        obs = dataclasses.replace(obs, occupied=obs.occupied & (np.arange(obs.occupied.size) > 0))
        free = np.array([0])
    session = Session("v", obs.slot, obs.slot + 30, 62.0, 0.3, 0.85)
    request = ArrivalRequest(session, int(free[0]))
    futures = random_futures(rng, obs, 3)
    return site, obs, request, futures


def _fresh(site, obs, futures, request=None, departure=None, target=None):
    if request is not None:
        obs = connect(obs, request, departure, site.battery.discharge_floor_soc)
        i = request.charger_index
        t = obs.target_kwh.copy()
        t[i] = target * request.session.battery_kwh
        obs = dataclasses.replace(obs, target_kwh=t)
    return solve_plan(problem_from_observation(site, obs, futures), HighsSolver()).objective_usd


@pytest.mark.parametrize("seed", range(3))
def test_warm_evaluations_match_fresh_solves(seed):
    site, obs, request, futures = _arrival(seed)
    pricer = ArrivalPricer(site, obs, request, futures, obs.slot + 37)
    without = pricer.without()
    assert without.cost_usd == pytest.approx(_fresh(site, obs, futures), rel=1e-7)
    assert without.ev_energy_cost_usd == pytest.approx(0.0, abs=1e-9)
    for delay, soc in [(0, 0.85), (7, 0.85), (2, 0.75), (0, 0.85)]:
        departure = request.session.departure_slot + delay
        got = pricer.with_ev(departure, soc)
        want = _fresh(site, obs, futures, request, departure, soc)
        assert got.cost_usd == pytest.approx(want, rel=1e-7)
    assert pricer.without().cost_usd == pytest.approx(without.cost_usd, rel=1e-9)


def test_target_reduction_is_chosen_within_its_allowance():
    site, obs, request, futures = _arrival(1)
    pricer = ArrivalPricer(site, obs, request, futures, obs.slot + 37)
    departure = request.session.departure_slot
    full = pricer.with_ev(departure, 0.85)
    free = pricer.with_ev(departure, 0.85, max_soc_reduction=0.2, reduction_cost_usd_per_kwh=0.0)
    assert 0.0 <= free.reduction_kwh <= 0.2 * 62.0 + 1e-9
    assert free.cost_usd <= full.cost_usd + 1e-9
    dear = pricer.with_ev(departure, 0.85, max_soc_reduction=0.2, reduction_cost_usd_per_kwh=100.0)
    assert dear.reduction_kwh == pytest.approx(0.0, abs=1e-9)
    assert dear.cost_usd == pytest.approx(full.cost_usd, rel=1e-9)
    # The reduced target equals a fresh LP asking for the reduced SoC.
    soc = 0.85 - free.reduction_kwh / 62.0
    assert free.cost_usd == pytest.approx(
        _fresh(site, obs, futures, request, departure, soc), rel=1e-6
    )


def test_departure_outside_the_latest_is_refused():
    site, obs, request, futures = _arrival(2)
    pricer = ArrivalPricer(site, obs, request, futures, obs.slot + 10)
    with pytest.raises(ValueError, match="departure_slot"):
        pricer.with_ev(obs.slot + 11, 0.8)


def test_planning_with_free_ev_energy_minimises_j_without_it():
    site, obs, request, futures = _arrival(0)
    departure = request.session.departure_slot
    full = ArrivalPricer(site, obs, request, futures, obs.slot + 37)
    free = ArrivalPricer(site, obs, request, futures, obs.slot + 37, ev_pays_energy=True)
    a = full.with_ev(departure, 0.85)
    b = free.with_ev(departure, 0.85)
    # Each plan is optimal for its own objective: J without v's energy, or the full J.
    assert b.cost_without_ev_energy_usd == pytest.approx(b.result.objective, rel=1e-9)
    assert b.cost_without_ev_energy_usd <= a.cost_without_ev_energy_usd + 1e-6
    assert a.cost_usd <= b.cost_usd + 1e-6
    assert free.without().cost_usd == pytest.approx(full.without().cost_usd, rel=1e-9)
