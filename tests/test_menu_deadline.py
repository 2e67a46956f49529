"""A menu on time: an arrival not priced by its deadline gets the site's static menu, marked
as a fallback; it draws the same random futures as a priced one, so a replay that knows it
missed the deadline gives the same run (``docs/model.md``, "Negotiation: a menu on time")."""

from __future__ import annotations

import dataclasses
import math
import time
from decimal import Decimal

import numpy as np
import pytest

from v2b.control.registry import make_policy
from v2b.episode import Session
from v2b.experiments.runner import episode_for
from v2b.negotiation.settings import NegotiationSettings
from v2b.negotiation.static_menu import load_site_menu
from v2b.scenarios import site_scenarios
from v2b.sim import Simulator
from v2b.site import load_site

SITE = "santa-clara-office"


def _at_nine(policy: str = "consent") -> Simulator:
    site = load_site(SITE)
    ep = dataclasses.replace(episode_for(site, 0, days=1), sessions=())  # an empty lot: quick decisions
    sim = Simulator(site, ep, make_policy(policy), 3, site_scenarios(site).future_sampler())
    while sim.slot < 36:
        sim.step()
    sim.begin_slot()
    return sim


def _session() -> Session:
    return Session("late", 36, 70, 60.0, 0.2, 0.8)


def test_a_missed_deadline_gives_the_static_menu_after_the_same_random_draws():
    priced, late = _at_nine(), _at_nine()
    a = priced.offer(_session())
    b = late.offer(_session(), respond_by_s=-math.inf)
    assert a is not None and b is not None
    assert a.menu.fallback is None and b.menu.fallback == "deadline"
    site = load_site(SITE)
    static = load_site_menu(site, NegotiationSettings.from_site(site, {}))
    assert {o.price_per_kwh for o in b.menu.options} <= set(static.price_per_kwh)
    assert b.menu.reject_allowed
    assert [o.price_per_kwh for o in a.menu.options] != [o.price_per_kwh for o in b.menu.options]
    # the futures were drawn in both: the random stream is where a priced menu leaves it
    assert priced.policy.ctx.rng.bit_generator.state == late.policy.ctx.rng.bit_generator.state
    assert late.policy.stats()["menus_past_deadline"] == 1
    assert priced.policy.stats()["menus_past_deadline"] == 0


def test_a_deadline_that_passes_while_pricing_stops_it():
    sim = _at_nine()
    start = time.monotonic()
    pending = sim.offer(_session(), respond_by_s=start + 1e-4)  # less than one LP takes
    assert pending is not None and pending.menu.fallback == "deadline"
    assert time.monotonic() - start < 1.0


def test_a_generous_deadline_changes_nothing():
    a, b = _at_nine(), _at_nine()
    pa = a.offer(_session())
    pb = b.offer(_session(), respond_by_s=time.monotonic() + 600)
    assert pa is not None and pb is not None
    assert pa.menu == pb.menu


def test_without_a_static_menu_the_fallback_is_the_request_at_the_fixed_price():
    sim = _at_nine()
    sim.policy.ctx.site = sim.site.model_copy(update={"negotiation": sim.site.negotiation.model_copy(
        update={"menu": None})})
    pending = sim.offer(_session(), respond_by_s=-math.inf)
    assert pending is not None
    assert pending.menu.fallback == "deadline"
    assert [o.name for o in pending.menu.options] == ["as-requested"]
    assert pending.menu.options[0].price_per_kwh == pytest.approx(sim.site.negotiation.fixed_price_per_kwh)


def test_the_service_marks_a_late_menu_and_replays_it(tmp_path):
    pytest.importorskip("sqlalchemy", reason="the service needs the [serve] extra")
    from v2b.service.db import Database
    from v2b.service.live import ArrivalRequest, LiveSite, ServiceConfig

    url = f"sqlite:///{tmp_path}/s.db"
    config = ServiceConfig(days=1, clock="manual", menu_deadline_s=1e-9)  # every menu is late
    live = LiveSite(config, Database(url))
    live.step(36)
    departure = live.clock.slot_start(live.sim.slot + 30)
    answer, _ = live.arrive(ArrivalRequest("B01", 60.0, Decimal(20), Decimal(80), departure), None)
    assert answer["fallback"] == "deadline"
    assert answer["options"] and answer["reject"] is not None
    on_time = LiveSite(config.model_copy(update={"menu_deadline_s": None}),
                       Database(f"sqlite:///{tmp_path}/t.db"))
    on_time.step(36)
    priced, _ = on_time.arrive(ArrivalRequest("B01", 60.0, Decimal(20), Decimal(80), departure), None)
    assert priced["fallback"] is None
    live.choose(answer["session_id"], answer["options"][0]["option_id"], answer["driver_token"])
    live.step(4)
    rebuilt = LiveSite(config.model_copy(update={"menu_deadline_s": 600.0}), Database(url))
    assert rebuilt.replay_mismatches == 0  # the replay priced nothing: the menu was late
    assert rebuilt.session(answer["session_id"], None, operator=True)["state"] == "connected"
    done = live.sim.slot
    np.testing.assert_array_equal(rebuilt.sim.trace.power_kw[:done], live.sim.trace.power_kw[:done])
    assert rebuilt.bill_to_date() == live.bill_to_date()


def test_the_time_limit_status_is_the_one_highs_reports():
    import highspy

    from v2b.opt.highs import TIME_LIMIT_STATUS

    assert highspy.Highs().modelStatusToString(highspy.HighsModelStatus.kTimeLimit) == TIME_LIMIT_STATUS


def test_the_pricing_time_estimate_learns_grows_and_forgets():
    from v2b.negotiation.deadline import PricingTime

    est = PricingTime()
    assert est.expected_s(50) == 0.0  # nothing known: always try
    est.priced(0.1, 10)
    assert est.expected_s(20) == pytest.approx(0.2)  # per car on the site
    est.ran_out(0.25, 5)  # a pricing of 5 cars ran out after 0.25 s
    assert est.expected_s(5) >= 0.25
    high = est.expected_s(5)
    est.skipped()
    assert est.expected_s(5) == pytest.approx(0.9 * high)
