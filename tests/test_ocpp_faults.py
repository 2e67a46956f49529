"""OCPP faults, one test each: a charger that drops and comes back, a charger that rejects
its profile, messages that are malformed or come out of order (the protocol's error reply,
nothing changed), unknown charge points, a wrong subprotocol, basic auth."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
from typing import Any

import pytest

from ocpp_support import Car, LiveServer, Loop, fleet, ocpp_site, status, wait_for, websockets
from service_support import OPERATOR
from v2b.service.models import EventRow, OcppTransactionRow

MORNING = 36  # 09:00


@pytest.fixture
def site_up(tmp_path):
    """The OCPP site served on the manual clock at 09:00, U01 and B01 connected and booted."""
    server = LiveServer(ocpp_site(tmp_path), f"sqlite:///{tmp_path / 'service.sqlite'}")
    client = server.start()
    loop = Loop()
    chargers = fleet()
    assert client.post("/api/clock/step", json={"slots": MORNING}, headers=OPERATOR).status_code == 200

    async def go() -> None:
        for c in ("U01", "B01"):
            await chargers[c].connect(server.ws_url)

    loop.run(go())
    try:
        yield server, client, loop, chargers
    finally:
        loop.close()
        server.stop()


def arrive(server: LiveServer, client: Any, loop: Loop, sim: Any) -> str:
    """A driver at ``sim``'s charger asks, takes the first option; the car plugs in."""
    now = server.live.clock.now()
    body = {"charger_id": sim.charger_id, "battery_kwh": 60, "arrival_soc_pct": 30, "requested_soc_pct": 80,
            "departure": (now + dt.timedelta(hours=8)).isoformat()}
    r = client.post("/api/arrivals", json=body)
    assert r.status_code == 201, r.text
    offer = r.json()
    option = offer["options"][0]["option_id"]
    r = client.post(f"/api/sessions/{offer['session_id']}/choice", json={"option_id": option},
                    headers={"Authorization": f"Bearer {offer['driver_token']}"})
    assert r.status_code == 200, r.text
    sim.car = Car()
    loop.run(sim.client.plug_in(now + dt.timedelta(minutes=1)))
    return str(offer["session_id"])


def step(client: Any) -> dict[str, Any]:
    r = client.post("/api/clock/step", json={"slots": 1}, headers=OPERATOR)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_charger_that_drops_and_reconnects_keeps_its_session_and_gets_its_profile_again(site_up):
    server, client, loop, chargers = site_up
    sim = chargers["U01"]
    session = arrive(server, client, loop, sim)
    step(client)
    wait_for(lambda: len(sim.profiles) == 1, "the first profile")
    first = sim.profiles[0]
    loop.run(sim.disconnect())
    wait_for(lambda: not _cp(client, "CP16-U01")["connected"], "the server to see the drop")
    loop.run(sim.connect(server.ws_url, boot=False))  # a 1.6 charger reconnects without booting
    wait_for(lambda: len(sim.profiles) == 2, "the profile sent again")
    assert sim.profiles[1] == first
    body = status(client)
    assert [c["session_id"] for c in body["connected"]] == [session]
    assert body["not_following"] == []
    assert [t["tx_id"] for t in body["ocpp"]["open_transactions"]] == [sim.car.tx_id]
    step(client)
    wait_for(lambda: len(sim.profiles) == 3, "the next slot's profile")
    # the charger has the profile before the server has recorded its answer: wait for that too
    wait_for(lambda: _cp(client, "CP16-U01")["connectors"][0]["last_profile"]["status"] == "Accepted",
             "the server to record the charger's answer")


def test_a_rejected_profile_is_recorded_and_the_controller_plans_the_charger_at_its_fallback(site_up):
    server, client, loop, chargers = site_up
    sim = chargers["U01"]
    arrive(server, client, loop, sim)
    sim.reject = True
    step(client)  # slot 37: the profile is rejected
    wait_for(lambda: status(client)["not_following"] != [], "the rejection to be recorded")
    body = status(client)
    assert body["not_following"] == [{"charger_id": "U01", "assumed_kw": 0.0, "reason": "Rejected"}]
    wait_for(lambda: _cp(client, "CP16-U01")["connectors"][0]["last_profile"]["status"] == "Rejected",
             "the server to record the rejection")
    step(client)  # slot 38: planned at the fallback (0 kW)
    slots = client.get("/api/slots", params={"since": 38}, headers=OPERATOR).json()
    assert slots[0]["power_kw"]["U01"] == 0.0
    sim.reject = False
    wait_for(lambda: _cp(client, "CP16-U01")["connectors"][0]["last_profile"]["slot"] == 38, "slot 38's send")
    step(client)  # slot 39: the charger accepts again, the fault is cleared
    wait_for(lambda: status(client)["not_following"] == [], "the fault to clear")
    with server.db.session() as s:
        events = s.query(EventRow).filter_by(kind="fault")
        faults = [(e.payload["fixed_kw"], e.payload["reason"]) for e in events]
    assert faults == [(0.0, "Rejected"), (None, "accepted")]
    step(client)  # slot 40: steered again, the profile is the controller's set-point
    wait_for(lambda: sim.limit_w(server.live.clock.slot_start(40)) is not None, "slot 40's profile")
    planned = client.get("/api/slots", params={"since": 40}, headers=OPERATOR).json()[0]["power_kw"]["U01"]
    assert sim.limit_w(server.live.clock.slot_start(40)) == round(planned * 1000, 1)
    assert status(client)["not_following"] == []


def _cp(client: Any, cp_id: str) -> dict[str, Any]:
    return next(cp for cp in status(client)["ocpp"]["charge_points"] if cp["id"] == cp_id)


class RawClient:
    """A charge point written by hand: frames as the test wants them, answers read raw."""

    def __init__(self, ws: Any):
        self.ws = ws

    async def ask(self, frame: str | list[Any]) -> list[Any]:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))
        while True:
            answer = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if answer[0] == 2:  # a call from v2b (the default profile): accept it
                await self.ws.send(json.dumps([3, answer[1], {"status": "Accepted"}]))
                continue
            return answer


def _raw(server: LiveServer, cp_id: str, protocol: str = "ocpp1.6", **kw: Any) -> Any:
    return websockets.connect(f"{server.ws_url}/{cp_id}", subprotocols=[protocol], ping_interval=None, **kw)


BOOT16 = [2, "boot", "BootNotification", {"chargePointVendor": "raw", "chargePointModel": "raw"}]


def test_malformed_and_out_of_order_messages_get_the_protocols_error_and_change_nothing(site_up):
    server, client, loop, _ = site_up
    before = server.live.counts()
    now = server.live.clock.now().isoformat()

    async def go() -> dict[str, list[Any]]:
        out = {}
        async with _raw(server, "CP16-U02") as ws:
            raw = RawClient(ws)
            out["not json"] = await raw.ask("this is not json")
            out["not a list"] = await raw.ask('{"a": 1}')
            out["before boot"] = await raw.ask([2, "m1", "StartTransaction", {
                "connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": now}])
            out["boot"] = await raw.ask(BOOT16)
            out["unknown transaction"] = await raw.ask([2, "m2", "StopTransaction", {
                "meterStop": 10, "timestamp": now, "transactionId": 999}])
            out["meter of unknown transaction"] = await raw.ask([2, "m3", "MeterValues", {
                "connectorId": 1, "transactionId": 998, "meterValue": [
                    {"timestamp": now, "sampledValue": [{"value": "5"}]}]}])
            out["missing field"] = await raw.ask([2, "m4", "MeterValues", {"connectorId": 1}])
            out["undeclared connector"] = await raw.ask([2, "m5", "StartTransaction", {
                "connectorId": 7, "idTag": "T", "meterStart": 0, "timestamp": now}])
            out["bad time"] = await raw.ask([2, "m6", "StartTransaction", {
                "connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "yesterday"}])
            out["unknown action"] = await raw.ask([2, "m7", "Teleport", {}])
        async with _raw(server, "CP201-B02", "ocpp2.0.1") as ws:
            raw = RawClient(ws)
            await raw.ask([2, "b", "BootNotification", {"chargingStation": {"model": "r", "vendorName": "r"},
                                                         "reason": "PowerUp"}])
            out["2.0.1 unknown transaction"] = await raw.ask([2, "n1", "TransactionEvent", {
                "eventType": "Updated", "timestamp": now, "triggerReason": "MeterValuePeriodic", "seqNo": 1,
                "transactionInfo": {"transactionId": "nope"}}])
        return out

    out = loop.run(go())
    assert out["not json"][:3] == [4, "-1", "FormatViolation"]
    assert out["not a list"][:3] == [4, "-1", "ProtocolError"]
    assert out["before boot"][:3] == [4, "m1", "SecurityError"]
    assert out["boot"][0] == 3 and out["boot"][2]["status"] == "Accepted"
    assert out["unknown transaction"][:3] == [4, "m2", "PropertyConstraintViolation"]
    assert out["meter of unknown transaction"][:3] == [4, "m3", "PropertyConstraintViolation"]
    assert out["missing field"][:2] == [4, "m4"]
    assert out["undeclared connector"][:3] == [4, "m5", "PropertyConstraintViolation"]
    assert out["bad time"][:3] == [4, "m6", "FormatViolation"]
    assert out["unknown action"][:2] == [4, "m7"]
    assert out["2.0.1 unknown transaction"][:3] == [4, "n1", "PropertyConstraintViolation"]
    assert server.live.counts() == before
    with server.db.session() as s:
        assert s.query(OcppTransactionRow).count() == 0
    assert status(client)["not_following"] == []


def test_an_unknown_charge_point_is_rejected_at_boot(site_up):
    server, _, loop, _ = site_up

    async def go() -> tuple[list[Any], list[Any]]:
        async with _raw(server, "CP-STRANGER") as ws:
            raw = RawClient(ws)
            boot = await raw.ask(BOOT16)
            heartbeat = await raw.ask([2, "h", "Heartbeat", {}])
            return boot, heartbeat

    boot, heartbeat = loop.run(go())
    assert boot[2]["status"] == "Rejected"
    assert heartbeat[:3] == [4, "h", "SecurityError"]


def test_a_subprotocol_other_than_the_declared_version_is_refused(site_up):
    server, _, loop, _ = site_up

    async def go() -> None:
        async with _raw(server, "CP16-U03", "ocpp2.0.1"):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus):
        loop.run(go())


def test_a_charger_with_a_password_needs_basic_auth(tmp_path):
    digest = hashlib.sha256(b"s3cret-of-cp16-u01").hexdigest()
    site = ocpp_site(tmp_path)
    text = site.read_text().replace('id = "CP16-U01"\n', f'id = "CP16-U01"\npassword_sha256 = "{digest}"\n')
    site.write_text(text)
    server = LiveServer(site, f"sqlite:///{tmp_path / 'service.sqlite'}")
    server.start()
    loop = Loop()

    def header(user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    async def attempt(headers: dict[str, str] | None) -> str:
        try:
            async with _raw(server, "CP16-U01", additional_headers=headers) as ws:
                return str((await RawClient(ws).ask(BOOT16))[2]["status"])
        except websockets.exceptions.InvalidStatus as err:
            return f"refused {err.response.status_code}"

    try:
        assert loop.run(attempt(None)).startswith("refused")
        assert loop.run(attempt(header("CP16-U01", "wrong"))).startswith("refused")
        assert loop.run(attempt(header("CP16-U02", "s3cret-of-cp16-u01"))).startswith("refused")
        assert loop.run(attempt(header("CP16-U01", "s3cret-of-cp16-u01"))) == "Accepted"
    finally:
        loop.close()
        server.stop()
