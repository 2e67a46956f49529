"""Bad and hostile input: each case is a clear 4xx with a message, and nothing is stored."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the service needs the [serve] extra (pip install -e '.[serve]')")

from fastapi.testclient import TestClient  # noqa: E402

from service_support import OPERATOR, OPERATOR_TOKEN  # noqa: E402
from v2b.service.app import MAX_BODY_BYTES, create_app  # noqa: E402
from v2b.service.db import Database  # noqa: E402
from v2b.service.live import LiveSite, ServiceConfig  # noqa: E402

DAY = "2023-02-01"  # test episode 0 starts on this day (site time, UTC-8)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('svc') / 'service.sqlite'}")
    live = LiveSite(ServiceConfig(days=1, clock="manual", options={"load_info": "measured"},
                                  menu_deadline_s=None), db)
    with TestClient(create_app(live, OPERATOR_TOKEN)) as client:
        r = client.post("/api/clock/step", json={"slots": 28}, headers=OPERATOR)  # 07:00
        assert r.status_code == 200, r.text
        yield live, client
    db.dispose()


_taken: set[str] = set()


def request(**changes):
    body = {"charger_id": "U05", "battery_kwh": 60, "arrival_soc_pct": 20, "requested_soc_pct": 80,
            "departure": f"{DAY}T17:00:00-08:00"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def refused(service, status: int, method: str, url: str, **kwargs) -> str:
    """Send a request that must be refused with ``status``; nothing may be stored. Returns the message."""
    live, client = service
    before = live.counts()
    r = client.request(method, url, **kwargs)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert isinstance(message, str) and message
    assert live.counts() == before
    return message


#: Chargers the tests name themselves; the ``arrival`` fixture takes the others, one each.
NAMED = {"U05", "U06", "B01", "B02", "B03", "B04"}


@pytest.fixture
def arrival(service):
    """A session waiting for its answer, on a charger nothing else uses."""
    live, client = service
    free = next(c for c in live.charger_ids if c not in NAMED and c not in _taken)
    _taken.add(free)
    r = client.post("/api/arrivals", json=request(charger_id=free))
    assert r.status_code == 201, r.text
    return r.json()


def test_malformed_json(service):
    message = refused(service, 400, "POST", "/api/arrivals", content=b'{"charger_id": "U05", ',
                      headers={"Content-Type": "application/json"})
    assert "malformed JSON" in message


def test_a_body_that_is_not_an_object(service):
    message = refused(service, 422, "POST", "/api/arrivals", json=[1, 2, 3])
    assert "object" in message or "dictionary" in message


def test_missing_fields(service):
    message = refused(service, 422, "POST", "/api/arrivals", json=request(battery_kwh=None, departure=None))
    assert "battery_kwh is missing" in message and "departure is missing" in message


def test_unknown_field(service):
    message = refused(service, 422, "POST", "/api/arrivals", json=request(price_usd=-100))
    assert "price_usd is not a field" in message


@pytest.mark.parametrize("field,value", [("arrival_soc_pct", 120), ("arrival_soc_pct", -1),
                                         ("requested_soc_pct", 100.5), ("requested_soc_pct", -0.1)])
def test_soc_outside_0_to_100(service, field, value):
    message = refused(service, 422, "POST", "/api/arrivals", json=request(**{field: value}))
    assert field in message and str(value) in message


def test_soc_not_a_number(service):
    body = (b'{"charger_id": "U05", "battery_kwh": 60, "arrival_soc_pct": NaN, "requested_soc_pct": 80, '
            b'"departure": "2023-02-01T17:00:00-08:00"}')
    message = refused(service, 422, "POST", "/api/arrivals", content=body,
                      headers={"Content-Type": "application/json"})
    assert "arrival_soc_pct" in message


def test_battery_out_of_range(service):
    message = refused(service, 422, "POST", "/api/arrivals", json=request(battery_kwh=1e9))
    assert "battery_kwh" in message


def test_departure_in_the_past(service):
    message = refused(service, 422, "POST", "/api/arrivals", json=request(departure=f"{DAY}T06:00:00-08:00"))
    assert "in the past" in message and "06:00" in message


def test_departure_before_any_charging(service):
    message = refused(service, 422, "POST", "/api/arrivals", json=request(departure=f"{DAY}T07:10:00-08:00"))
    assert "next charging slot" in message


def test_departure_without_utc_offset(service):
    message = refused(service, 422, "POST", "/api/arrivals", json=request(departure=f"{DAY}T17:00:00"))
    assert "departure" in message and "timezone" in message.lower()


def test_unknown_charger(service):
    message = refused(service, 422, "POST", "/api/arrivals", json=request(charger_id="Z99"))
    assert "'Z99'" in message and "B01" in message


def test_charger_already_occupied(service, arrival):
    message = refused(service, 409, "POST", "/api/arrivals", json=request(charger_id=arrival["charger_id"]))
    assert arrival["charger_id"] in message and "in use" in message


def test_choice_for_someone_elses_session(service, arrival):
    _, client = service
    other = client.post("/api/arrivals", json=request(charger_id="U06")).json()
    message = refused(service, 403, "POST", f"/api/sessions/{arrival['session_id']}/choice",
                      json={"option_id": "as-requested"},
                      headers={"Authorization": f"Bearer {other['driver_token']}"})
    assert arrival["session_id"] in message


def test_wrong_driver_token(service, arrival):
    sid = arrival["session_id"]
    bad = {"Authorization": "Bearer " + "0" * 64}
    refused(service, 403, "POST", f"/api/sessions/{sid}/choice", json={"option_id": "as-requested"},
            headers=bad)
    refused(service, 403, "GET", f"/api/sessions/{sid}", headers=bad)


def test_missing_driver_token(service, arrival):
    sid = arrival["session_id"]
    message = refused(service, 401, "POST", f"/api/sessions/{sid}/choice", json={"option_id": "as-requested"})
    assert "token" in message
    refused(service, 401, "GET", f"/api/sessions/{sid}")
    refused(service, 401, "GET", f"/api/sessions/{sid}", headers={"Authorization": "Basic abc"})


def test_wrong_or_missing_operator_token(service):
    refused(service, 401, "POST", "/api/clock/step", json={"slots": 1})
    refused(service, 403, "POST", "/api/clock/step", json={"slots": 1},
            headers={"Authorization": "Bearer nope"})
    refused(service, 401, "GET", "/api/status")
    refused(service, 403, "GET", "/api/sessions", headers={"Authorization": "Bearer nope"})


def test_a_driver_token_is_not_an_operator_token(service, arrival):
    refused(service, 403, "POST", "/api/clock/step", json={"slots": 1},
            headers={"Authorization": f"Bearer {arrival['driver_token']}"})


def test_option_not_on_the_menu(service, arrival):
    message = refused(service, 422, "POST", f"/api/sessions/{arrival['session_id']}/choice",
                      json={"option_id": "free-charging"},
                      headers={"Authorization": f"Bearer {arrival['driver_token']}"})
    assert "'free-charging'" in message and "as-requested" in message


def test_unknown_session(service):
    refused(service, 404, "GET", "/api/sessions/nosuchsession", headers=OPERATOR)


def test_an_answered_session_cannot_be_answered_otherwise(service, arrival):
    _, client = service
    auth = {"Authorization": f"Bearer {arrival['driver_token']}"}
    url = f"/api/sessions/{arrival['session_id']}/choice"
    first = client.post(url, json={"option_id": "reject"}, headers=auth)
    assert first.status_code == 200 and first.json()["state"] == "declined"
    again = client.post(url, json={"option_id": "reject"}, headers=auth)  # a retry: same answer
    assert again.status_code == 200 and again.json() == first.json()
    refused(service, 409, "POST", url, json={"option_id": "as-requested"}, headers=auth)


def test_oversized_body(service):
    message = refused(service, 413, "POST", "/api/arrivals", content=b" " * (MAX_BODY_BYTES + 1),
                      headers={"Content-Type": "application/json"})
    assert str(MAX_BODY_BYTES) in message


def test_a_retried_post_returns_the_same_session(service):
    live, client = service
    body = request(charger_id="B04")
    first = client.post("/api/arrivals", json=body, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == 201
    counts = live.counts()
    again = client.post("/api/arrivals", json=body, headers={"Idempotency-Key": "retry-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert live.counts() == counts
    # the same with the client's request id in the body
    second = client.post("/api/arrivals", json={**request(charger_id="B03"), "request_id": "retry-2"})
    assert client.post("/api/arrivals", json={**request(charger_id="B03"), "request_id": "retry-2"}).json() \
        == second.json()


def test_an_idempotency_key_reused_for_another_request(service):
    _, client = service
    assert client.post("/api/arrivals", json=request(charger_id="B02"),
                       headers={"Idempotency-Key": "reuse"}).status_code == 201
    message = refused(service, 422, "POST", "/api/arrivals", json=request(charger_id="B01"),
                      headers={"Idempotency-Key": "reuse"})
    assert "reuse" in message and "different request" in message
