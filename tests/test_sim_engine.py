"""The engine on hand-computed cases, and its invariants on random episodes."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import episode, random_episode, tiny_site
from v2b.control.registry import make_policy
from v2b.episode import Session
from v2b.errors import UserError
from v2b.interface import Menu, Observation, Option, Policy
from v2b.sim import PolicyError, simulate
from v2b.timegrid import SLOT_H


def two_ev_episode():
    return episode(
        [
            Session("A", 0, 4, 40.0, 0.5, 0.75),  # needs 10 kWh, gets 4 x 2.25
            Session("B", 2, 6, 20.0, 0.2, 0.5),  # needs 6 kWh
        ]
    )


def test_uncontrolled_two_evs_exact_bill():
    site = tiny_site()
    run = simulate(site, two_ev_episode(), make_policy("uncontrolled"))
    s = run.summary
    # Hand computation (eta 0.9, 10 kW, 15 min: 2.25 kWh per full slot):
    # A on B01 slots 0-3 at 10 kW -> 9 kWh, 1 kWh short.
    # B on U01 slots 2,3 at 10 kW, slot 4 at 1.5/(0.9*0.25) = 6.667 kW.
    expected_total = np.full(96, 20.0)
    expected_total[[0, 1]] += 10
    expected_total[[2, 3]] += 20
    expected_total[4] += 1.5 / (0.9 * 0.25)
    np.testing.assert_allclose(run.trace.total_kw, expected_total)
    energy = 0.25 * (0.1 * expected_total[:48].sum() + 0.2 * expected_total[48:].sum())
    assert s["energy_cost_usd"] == pytest.approx(energy)
    assert energy == pytest.approx(73.6666667)
    assert s["demand_charge_usd"] == pytest.approx(400.0)
    assert s["peak_kw"] == pytest.approx(40.0)
    assert s["unmet_kwh"] == pytest.approx(1.0)
    assert s["soc_penalty_usd"] == pytest.approx(0.5)
    assert s["energy_delivered_kwh"] == pytest.approx(15.0)
    assert s["building_cost_usd"] == pytest.approx(energy + 400.0 + 0.5)
    ids = {r.session_id: r.charger_id for r in run.trace.sessions}
    assert ids == {"A": "B01", "B": "U01"}


def test_third_ev_without_free_charger_is_rejected():
    site = tiny_site()
    sessions = [
        Session("A", 0, 10, 40.0, 0.5, 0.6),
        Session("B", 0, 8, 40.0, 0.5, 0.6),
        Session("C", 1, 5, 40.0, 0.5, 0.6),
        Session("D", 10, 12, 40.0, 0.5, 0.6),
    ]
    run = simulate(site, episode(sessions), make_policy("uncontrolled"))
    records = {r.session_id: r for r in run.trace.sessions}
    assert records["C"].rejected and records["C"].reject_reason == "no charger"
    assert not records["D"].rejected  # A left at slot 10: B01 is free again
    assert records["B"].charger_id == "B01"  # earliest departure served first
    assert run.summary["rejected"] == 1
    assert run.summary["reject_rate"] == pytest.approx(0.25)


def test_building_only_admits_no_ev():
    site = tiny_site()
    run = simulate(site, two_ev_episode(), make_policy("building-only"))
    assert run.summary["users"] == 0
    assert run.summary["peak_kw"] == pytest.approx(20.0)
    assert run.summary["building_cost_usd"] == pytest.approx(
        0.25 * 20 * (48 * 0.1 + 48 * 0.2) + 200.0
    )


class Greedy(Policy):
    """Asks for absurd power both ways, to test that physics wins."""

    name = "greedy"

    def __init__(self, sign: float):
        self.sign = sign

    def decide(self, obs: Observation) -> np.ndarray:
        return np.full(obs.occupied.shape, self.sign * 1e6)


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("seed", range(6))
def test_engine_enforces_physics_on_random_episodes(sign, seed):
    site = tiny_site(flat_curve=False)
    ep = random_episode(np.random.default_rng(seed))
    run = simulate(site, ep, Greedy(sign))
    tr = run.trace
    ch = site.charger_arrays
    assert (tr.power_kw <= ch.max_kw + 1e-9).all()
    assert (tr.power_kw >= ch.min_kw - 1e-9).all()
    assert (tr.power_kw[:, ~ch.bidirectional] >= 0).all()
    assert (tr.total_kw >= -1e-9).all()  # no export
    for rec in tr.sessions:
        assert 0.0 <= rec.soc_departure <= 1.0 + 1e-12
        if rec.rejected:
            continue
        in_window = np.zeros(len(tr.total_kw), dtype=bool)
        in_window[rec.arrival_slot : rec.departure_slot] = True
        col = ch.ids.index(rec.charger_id)
        mine = tr.session_index[:, col] == tr.sessions.index(rec)
        assert not (mine & ~in_window).any()  # nothing outside the stay
        # Energy balance: battery change equals efficiency-weighted charger energy.
        p = tr.power_kw[mine, col]
        stored = np.where(p >= 0, p * ch.charge_efficiency[col], p / ch.discharge_efficiency[col])
        assert rec.delivered_kwh == pytest.approx(stored.sum() * SLOT_H, abs=1e-9)
        if sign < 0 and site.charger_list[col].bidirectional:
            floor = min(rec.soc_arrival, site.battery.discharge_floor_soc)
            assert rec.soc_departure >= floor - 1e-9


@pytest.mark.parametrize("name", ["building-only", "uncontrolled", "edf", "llf"])
def test_registered_heuristics_meet_invariants(name):
    # Optimising and negotiating policies are tested in their own files.
    site = tiny_site(flat_curve=False)
    run = simulate(site, random_episode(np.random.default_rng(7)), make_policy(name))
    assert (run.trace.total_kw >= -1e-9).all()
    assert run.summary["building_cost_usd"] > 0


def test_edf_keeps_peak_at_or_below_uncontrolled():
    site = tiny_site(flat_curve=False)
    ep = random_episode(np.random.default_rng(3), days=2)
    unc = simulate(site, ep, make_policy("uncontrolled")).summary
    edf = simulate(site, ep, make_policy("edf")).summary
    assert edf["peak_kw"] <= unc["peak_kw"] + 1e-9


def test_wrong_setpoint_shape_is_a_policy_error():
    class Broken(Policy):
        name = "broken"

        def decide(self, obs):
            return np.zeros(3)

    with pytest.raises(PolicyError, match="shape"):
        simulate(tiny_site(), two_ev_episode(), Broken())


def test_menu_options_are_clipped_to_the_day_and_paid():
    class Pricey(Policy):
        name = "pricey"

        def offer(self, obs, request):
            return Menu((Option("late", 10_000, 1.5, payment_fixed_usd=1.0, price_per_kwh=0.2),))

        def decide(self, obs):
            return np.where(obs.occupied, 10.0, 0.0)

    run = simulate(tiny_site(), episode([Session("A", 90, 92, 40.0, 0.5, 0.6)]), Pricey())
    rec = run.trace.sessions[0]
    assert rec.departure_slot == 96 and rec.soc_target == 1.0 and rec.option == "late"
    assert rec.payment_usd == pytest.approx(1.0 + 0.2 * rec.delivered_kwh)


class Spy(Policy):
    """Charges nothing; keeps every observation it gets."""

    name = "spy"

    def reset(self, ctx):
        super().reset(ctx)
        self.seen: list[Observation] = []

    def decide(self, obs):
        self.seen.append(obs)
        return np.zeros(obs.occupied.shape)


def test_observation_hides_the_future():
    ep = episode(list(two_ev_episode().sessions), np.arange(96.0))  # the load names its own slot
    spy = Spy()
    simulate(tiny_site(), ep, spy)
    for obs in spy.seen:
        # A meter's knowledge: completed slots only, the latest of them as last_load_kw.
        assert obs.load_today_kw.size == obs.slot_of_day and not obs.current_load_known
        assert obs.last_load_kw == obs.slot - 1 if obs.slot else np.isnan(obs.last_load_kw)
        assert obs.occupied.sum() <= 2
        assert all(sid in ("", "A", "B") for sid in obs.session_ids)
        assert (obs.arrival_slot[obs.occupied] <= obs.slot).all()


def test_the_paper_mode_also_shows_the_slot_being_decided():
    ep = episode(list(two_ev_episode().sessions), np.arange(96.0))
    spy = Spy()
    simulate(tiny_site(), ep, spy, policy_options={"load_info": "paper"})
    seen = spy.seen
    assert seen and all(o.current_load_known and o.last_load_kw == o.slot for o in seen)
    assert all(o.load_today_kw.size == o.slot_of_day + 1 for o in seen)
    with pytest.raises(UserError, match="load_info='psychic'"):
        simulate(tiny_site(), ep, Spy(), policy_options={"load_info": "psychic"})


def test_uncontrolled_charger_draws_full_power_whatever_the_policy_asks():
    site = tiny_site(
        chargers=[
            {"count": 1, "kind": "unidirectional", "max_kw": 7.0, "controllable": False,
             "charge_efficiency": 1.0, "level": "L1"},
        ]
    )
    run = simulate(site, episode([Session("A", 0, 8, 40.0, 0.5, 0.6)]), make_policy("building-only"))
    assert run.summary["users"] == 0  # building-only admits nobody
    run = simulate(site, episode([Session("A", 0, 8, 40.0, 0.5, 0.6)]), Greedy(-1.0))
    # Asked to discharge, the uncontrolled charger charges at 7 kW until the battery is full.
    np.testing.assert_allclose(run.trace.power_kw[:8, 0], 7.0)
    assert run.trace.sessions[0].soc_departure == pytest.approx(0.5 + 8 * 7.0 * 0.25 / 40.0)
