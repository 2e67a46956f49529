"""The site meter: a reading of an ended slot replaces the building load the engine played
there, in the bill, the month's peak and what the controller sees next; it is an event like
the others (kept across a restart); bad readings are refused with a message."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("fastapi", reason="the service needs the [serve] extra (pip install -e '.[serve]')")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from service_support import OPERATOR, OPERATOR_TOKEN  # noqa: E402
from v2b.service.app import create_app  # noqa: E402
from v2b.service.db import Database  # noqa: E402
from v2b.service.live import LiveSite, ServiceConfig  # noqa: E402

CONFIG = ServiceConfig(days=1, clock="manual", menu_deadline_s=None, options={"load_info": "measured"})


def _site(tmp_path) -> LiveSite:
    return LiveSite(CONFIG, Database(f"sqlite:///{tmp_path}/s.db"))


def test_a_reading_replaces_the_played_load_and_survives_a_restart(tmp_path):
    live = _site(tmp_path)
    with TestClient(create_app(live, OPERATOR_TOKEN)) as client:
        client.post("/api/clock/step", json={"slots": 40}, headers=OPERATOR)
        before = client.get("/api/status", headers=OPERATOR).json()
        played = live.sim.trace.building_kw[30]
        price = live.sim.trace.price_per_kwh[30]
        at = (live.clock.slot_start(30) + dt.timedelta(minutes=7)).isoformat()
        r = client.post("/api/meter", json={"slot_start": at, "building_kw": 900.0}, headers=OPERATOR)
        assert r.status_code == 200, r.text
        assert r.json()["slot"] == 30 and r.json()["peak_kw_so_far"] == pytest.approx(900.0)
        after = client.get("/api/status", headers=OPERATOR).json()
        for ref in ("building_only", "uncontrolled"):  # the references are billed on the reading too
            assert after["references"][ref]["peak_kw"] >= 900.0 - 1e-6
        assert before["peak_kw_so_far"] < 900.0
        assert after["peak_kw_so_far"] == pytest.approx(900.0)
        extra_usd = (900.0 - played) * 0.25 * price
        assert after["bill_to_date"]["energy_cost_usd"] == pytest.approx(
            before["bill_to_date"]["energy_cost_usd"] + extra_usd)
        row = client.get("/api/slots", params={"since": 30}, headers=OPERATOR).json()[0]
        assert row["building_kw"] == pytest.approx(900.0)
        # the last ended slot (the engine has decided the slot in progress): the controller's
        # next observation sees the reading
        last = live.sim.slot - 2
        r = client.post("/api/meter", json={"slot_start": live.clock.slot_start(last).isoformat(),
                                            "building_kw": 123.0}, headers=OPERATOR)
        assert r.status_code == 200, r.text
        assert live.sim.observe().load_today_kw[last] == pytest.approx(123.0)
    rebuilt = _site(tmp_path)
    assert rebuilt.sim.trace.building_kw[30] == pytest.approx(900.0)
    assert rebuilt.sim.peak_kw == pytest.approx(live.sim.peak_kw)
    assert rebuilt.bill_to_date() == live.bill_to_date()


@pytest.mark.parametrize("slot,body_kw,status,words", [
    (40, 100.0, 409, "has not ended"),  # the engine's next slot: not started yet
    (-3, 100.0, 422, "outside the billing period"),
    (10, 1e9, 422, "building_kw"),
    (10, "lots", 422, "building_kw"),
])
def test_bad_readings_are_refused_and_change_nothing(tmp_path, slot, body_kw, status, words):
    live = _site(tmp_path)
    with TestClient(create_app(live, OPERATOR_TOKEN)) as client:
        client.post("/api/clock/step", json={"slots": 40}, headers=OPERATOR)
        before = live.sim.trace.building_kw.copy()
        at = (live.clock.slot_start(0) + dt.timedelta(minutes=15 * slot)).isoformat()
        r = client.post("/api/meter", json={"slot_start": at, "building_kw": body_kw}, headers=OPERATOR)
        assert r.status_code == status, r.text
        assert words in r.text
        assert (live.sim.trace.building_kw == before).all()
        assert client.post("/api/meter", json={"slot_start": at, "building_kw": 1.0}).status_code == 401
        naive = live.clock.slot_start(5).replace(tzinfo=None).isoformat()
        r = client.post("/api/meter", json={"slot_start": naive, "building_kw": 1.0}, headers=OPERATOR)
        assert r.status_code == 422 and "slot_start" in r.text


def test_the_engine_takes_readings_of_decided_slots_only():
    from helpers import episode, tiny_site
    from v2b.control.registry import make_policy
    from v2b.sim import Simulator

    sim = Simulator(tiny_site(), episode([]), make_policy("uncontrolled"))
    sim.step()
    sim.set_building_load(0, 55.0)
    assert sim.peak_kw == pytest.approx(55.0)
    with pytest.raises(ValueError, match="not a decided slot"):
        sim.set_building_load(1, 10.0)
    with pytest.raises(ValueError, match="finite"):
        sim.set_building_load(0, float("nan"))
