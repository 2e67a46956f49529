"""Policies 4-8 in the simulator: prices, settlement, reject, the same drivers for every
policy, and the budget guarantee summed over an episode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import random_episode, tiny_site
from test_mpc import FAST, RandomSampler
from v2b.control.negotiating import MenuNegotiation
from v2b.control.registry import make_policy
from v2b.errors import UserError
from v2b.negotiation.static_menu import StaticMenu
from v2b.sim import simulate
from v2b.users.population import site_chooser


def _run(name, ep, site=None, chooser=None, **options):
    site = site or tiny_site(flat_curve=False)
    return simulate(site, ep, make_policy(name), seed=3, futures=RandomSampler(),
                    chooser=chooser, policy_options={**FAST, "negotiation_futures": 3, **options})


@pytest.fixture(scope="module")
def ep():
    return random_episode(np.random.default_rng(5), days=2, per_day=6)


@pytest.fixture(scope="module")
def consent_run(ep):
    return _run("consent", ep)


def test_every_priced_option_covers_its_marginal_cost_and_the_episode_sums_up(consent_run):
    served = [r for r in consent_run.trace.sessions if r.level >= 0]
    assert served and consent_run.summary["arrivals_priced"] > 0
    gains = [r.price_usd - r.energy_cost_usd + r.marginal_utility_usd for r in served]
    assert all(math.isfinite(g) for g in gains)
    assert min(gains) >= -1e-6 and sum(gains) >= -1e-6
    assert consent_run.summary["negotiation_fallbacks"] == 0


def test_drivers_pay_for_energy_delivered_never_more_than_agreed(consent_run):
    for r in consent_run.trace.sessions:
        if r.rejected:
            assert r.payment_usd == 0.0
            continue
        if r.promised_kwh > 1e-6:
            billed = min(max(r.delivered_kwh, 0.0), r.promised_kwh)
            assert r.payment_usd == pytest.approx(r.price_usd / r.promised_kwh * billed, abs=1e-9)
        if r.target_met:
            assert r.payment_usd == pytest.approx(r.price_usd, abs=1e-6)
    s = consent_run.summary
    assert 0.0 <= s["targets_met_share"] <= 1.0
    assert s["user_payments_usd"] == pytest.approx(sum(r.payment_usd for r in consent_run.trace.sessions))


def test_rational_drivers_never_take_an_option_worth_less_than_rejecting(ep):
    site = tiny_site(flat_curve=False)
    run = _run("consent", ep, site, chooser=site_chooser(site, temperature_usd=0.0))
    taken = [r for r in run.trace.sessions if not r.rejected]
    assert taken and all(r.acceptance_usd >= -1e-9 for r in taken)
    declined = [r for r in run.trace.sessions if r.reject_reason == "declined"]
    assert all(r.acceptance_usd == 0.0 for r in declined)


def test_without_reject_nobody_declines(ep):
    site = tiny_site(flat_curve=False)
    run = _run("consent-no-reject", ep, site, chooser=site_chooser(site, temperature_usd=0.0))
    assert run.summary["rejected_declined"] == 0
    assert all(r.reject_reason != "declined" for r in run.trace.sessions)


def test_every_policy_meets_the_same_drivers(ep, consent_run):
    free = _run("smart-free", ep)
    types = lambda run: {r.session_id: r.driver_type for r in run.trace.sessions if r.driver_type}  # noqa: E731
    a, b = types(free), types(consent_run)
    common = set(a) & set(b)
    assert len(common) >= 5 and all(a[k] == b[k] for k in common)


def test_fixed_price_and_utility_price(ep):
    fixed = _run("smart-fixed", ep)
    for r in fixed.trace.sessions:
        if not r.rejected:
            assert r.payment_usd == pytest.approx(0.178 * min(max(r.delivered_kwh, 0), r.promised_kwh))
    assert fixed.summary["rejected_declined"] == 0
    utility = _run("smart-utility", ep)
    assert {r.level for r in utility.trace.sessions if not r.rejected} == {0}
    assert utility.summary["rejected_declined"] == 0
    assert all(math.isfinite(r.marginal_utility_usd) for r in utility.trace.sessions if not r.rejected)


def test_alpha_below_one_keeps_more_for_the_building(ep, consent_run):
    half = _run("consent", ep, alpha=0.5)
    assert half.summary["alpha"] == 0.5
    gains = [r.price_usd - r.energy_cost_usd + r.marginal_utility_usd for r in half.trace.sessions
             if r.level >= 0]
    assert min(gains) >= -1e-6


def test_menu_policy_offers_each_levels_largest_deviation_at_its_static_price(ep, tmp_path):
    site = tiny_site(flat_curve=False)
    menu = StaticMenu((0.2, 0.15, 0.12, 0.08), ((0.0, 0), (6.25, 2), (10.0, 1), (20.0, 7)), 1, "hand-made")
    (tmp_path / "menu.toml").write_text(menu.to_toml())
    site = tiny_site(flat_curve=False, negotiation={"menu": str(tmp_path / "menu.toml")})
    run = _run("menu", ep, site)
    by_level = {0: 0.2, 1: 0.15, 2: 0.12, 3: 0.08}
    for r in run.trace.sessions:
        if r.level >= 0 and r.promised_kwh > 1e-6:
            assert r.price_usd == pytest.approx(by_level[r.level] * r.promised_kwh)


def test_menu_policy_without_a_price_file_says_how_to_make_one(ep):
    with pytest.raises(UserError, match="v2b menu calibrate"):
        _run("menu", ep)
    assert MenuNegotiation.name == "menu"


def test_a_bad_alpha_is_a_clear_error(ep):
    with pytest.raises(UserError, match="alpha=1.5"):
        _run("consent", ep, alpha=1.5)
