"""The clock and unanswered menus: an offer expires to the site's rule at the next decision
after its expiry; the clock maps slots to site time in the site's zone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("sqlalchemy", reason="the service needs the [serve] extra (pip install -e '.[serve]')")

from v2b.service.clock import Clock  # noqa: E402
from v2b.service.db import Database  # noqa: E402
from v2b.service.live import ArrivalRequest, LiveSite, ServiceConfig  # noqa: E402

ZONE = ZoneInfo("America/Los_Angeles")


def _arrival(live: LiveSite, charger: str = "B01") -> dict:
    departure = live.clock.slot_start(live.sim.slot + 30)
    answer, new = live.arrive(ArrivalRequest(charger, 60.0, Decimal(20), Decimal(80), departure), None)
    assert new
    return answer


@pytest.mark.parametrize("rule,state,option", [("reject", "declined", "reject"),
                                               ("request", "connected", "as-requested")])
def test_an_unanswered_menu_expires_to_the_sites_rule(tmp_path, rule, state, option):
    live = LiveSite(ServiceConfig(days=1, clock="manual", on_expiry=rule, menu_deadline_s=None), Database(f"sqlite:///{tmp_path}/s.db"))
    live.step(28)
    answer = _arrival(live)
    assert live.session(answer["session_id"], answer["driver_token"])["state"] == "offered"
    live.step(1)  # the menu expired (5 site minutes) before this decision
    s = live.session(answer["session_id"], answer["driver_token"])
    assert (s["state"], s["option_id"], s["choice_source"]) == (state, option, "expiry")
    rebuilt = LiveSite(live.config, Database(f"sqlite:///{tmp_path}/s.db"))  # the expiry is an event too
    assert rebuilt.session(answer["session_id"], None, operator=True)["state"] == state
    assert rebuilt.replay_mismatches == 0


def test_a_menu_open_at_the_end_of_the_period_is_declined(tmp_path):
    live = LiveSite(ServiceConfig(days=1, clock="manual", menu_minutes=600, menu_deadline_s=None),
                    Database(f"sqlite:///{tmp_path}/s.db"))
    live.step(94)
    answer = _arrival(live)
    live.step(1)
    assert live.sim.done
    assert live.session(answer["session_id"], None, operator=True)["state"] == "declined"


def test_slots_are_fifteen_real_minutes_across_a_daylight_saving_change():
    origin = dt.datetime(2023, 3, 12, tzinfo=ZONE)  # clocks go forward at 02:00
    clock = Clock("manual", origin)
    assert clock.slot_start(8).isoformat() == "2023-03-12T03:00:00-07:00"  # 2 real hours later
    assert clock.slot_at(clock.slot_start(8)) == 8
    assert clock.slot_ending_by(clock.slot_start(8) + dt.timedelta(minutes=1)) == 9


def test_the_x60_clock_runs_a_day_in_24_minutes():
    wall = [1000.0]
    clock = Clock("x60", dt.datetime(2023, 2, 1, tzinfo=ZONE), wall_origin_s=1000.0, wall=lambda: wall[0])
    wall[0] += 24 * 60
    assert clock.now() == dt.datetime(2023, 2, 2, tzinfo=ZONE)
    assert clock.wall_seconds_until(clock.slot_start(97)) == pytest.approx(15.0)
