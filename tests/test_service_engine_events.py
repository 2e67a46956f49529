"""The engine's arrival as two events (offer, then choose), as the live service drives it."""

from __future__ import annotations

import pytest

from helpers import episode, tiny_site
from v2b.control.registry import make_policy
from v2b.episode import Session
from v2b.sim import Simulator
from v2b.users.choice import Choice


def _sim() -> Simulator:
    return Simulator(tiny_site(), episode([]), make_policy("uncontrolled"))


def test_an_offer_holds_its_charger_until_the_answer():
    sim = _sim()
    sim.begin_slot()
    a = sim.offer(Session("A", 0, 8, 40.0, 0.5, 0.6))
    assert a is not None and a.request.charger_index == 0  # FCFS: the bidirectional charger
    b = sim.request_for(Session("B", 0, 8, 40.0, 0.5, 0.6))
    assert b is not None and b.charger_index == 1  # A's charger is held while A decides
    assert sim.request_for(Session("B", 0, 8, 40.0, 0.5, 0.6), charger_index=0) is None
    assert sim.trace.sessions[a.record_index].rejected  # nothing agreed yet
    sim.choose(a, Choice(None))  # declined: the charger is free again
    assert sim.request_for(Session("C", 0, 8, 40.0, 0.5, 0.6), charger_index=0) is not None


def test_an_answer_in_a_later_slot_charges_from_then_on():
    sim = _sim()
    sim.begin_slot()
    pending = sim.offer(Session("A", 0, 8, 40.0, 0.5, 0.75), charger_index=1)
    assert pending is not None
    sim.end_slot()  # slot 0 passes with the menu unanswered: no charging
    sim.begin_slot()
    assert sim.trace.power_kw[0].sum() == 0.0
    record = sim.choose(pending, Choice(pending.menu.options[0]))
    assert not record.rejected and record.charger_id == "U01"
    sim.end_slot()
    assert sim.trace.power_kw[1, 1] == pytest.approx(10.0)


def test_a_menu_is_answered_once():
    sim = _sim()
    sim.begin_slot()
    pending = sim.offer(Session("A", 0, 8, 40.0, 0.5, 0.6))
    assert pending is not None
    sim.choose(pending, Choice(None))
    with pytest.raises(ValueError, match="no menu waiting"):
        sim.choose(pending, Choice(None))


def test_offline_admit_is_offer_then_choose():
    sim_a, sim_b = _sim(), _sim()
    s = Session("A", 0, 8, 40.0, 0.5, 0.6)
    for sim in (sim_a, sim_b):
        sim.begin_slot()
    sim_a.admit(s)
    pending = sim_b.offer(s)
    assert pending is not None
    sim_b.choose(pending, Choice(pending.menu.options[0]))
    fields = ("charger_id", "option", "departure_slot", "soc_target", "rejected", "price_usd", "promised_kwh")
    a, b = sim_a.trace.sessions[0], sim_b.trace.sessions[0]
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
    for sim in (sim_a, sim_b):
        sim.end_slot()
    assert (sim_a.trace.power_kw == sim_b.trace.power_kw).all()
