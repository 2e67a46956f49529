"""The driver and operator pages: served, and the driver page driven in headless Chromium
through request, options and choice against a running ``v2b serve``."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service needs the [serve] extra (pip install -e '.[serve]')")

from fastapi.testclient import TestClient  # noqa: E402

from service_support import OPERATOR, OPERATOR_TOKEN, Server  # noqa: E402
from v2b.experiments.report import chromium  # noqa: E402
from v2b.service.app import create_app  # noqa: E402
from v2b.service.db import Database  # noqa: E402
from v2b.service.live import LiveSite, ServiceConfig  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('pages') / 'service.sqlite'}")
    live = LiveSite(ServiceConfig(days=1, clock="manual", menu_deadline_s=None), db)
    with TestClient(create_app(live, OPERATOR_TOKEN)) as c:
        yield c
    db.dispose()


def test_the_driver_page_lists_the_chargers_and_fits_a_phone(client):
    r = client.get("/driver")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "width=device-width" in r.text
    assert "<option>B01</option>" in r.text and "<option>U01</option>" in r.text
    assert "/api/arrivals" in r.text and "__TODAY__" not in r.text


def test_the_operator_page_asks_for_the_token_and_reads_the_api(client):
    r = client.get("/operator")
    assert r.status_code == 200
    assert "id='token'" in r.text and "/api/status" in r.text and "/api/slots" in r.text


def test_the_status_carries_the_operator_pages_references(client):
    status = client.get("/api/status", headers=OPERATOR).json()
    assert set(status["references"]) == {"building_only", "uncontrolled"}
    assert status["references"]["building_only"]["slots"] == status["slot"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: the browser test needs Debian's "
                    "chromium (apt-get install chromium; .ci/run installs it where apt-get works)")
def test_the_driver_page_in_headless_chromium(tmp_path):
    server = Server(f"sqlite:///{tmp_path / 'service.sqlite'}", tmp_path / "serve.log")
    try:
        api = server.start()
        assert api.post("/api/clock/step", json={"slots": 32}, headers=OPERATOR).status_code == 200  # 08:00
        query = ("charger_id=B02&battery_kwh=62&arrival_soc_pct=30&requested_soc_pct=80&departure=16:00"
                 "&day=2023-02-01&submit=1&choose=as-requested")
        dom = chromium(str(CHROMIUM), ["--virtual-time-budget=15000", "--window-size=390,844", "--dump-dom",
                                       f"{server.base_url}/driver?{query}"]).stdout
        # the menu was shown (its option buttons are in the page) and the choice taken
        assert 'data-option="as-requested"' in dom, dom[-3000:]
        assert 'data-state="connected"' in dom, dom[-3000:]
        assert "Charging at B02" in dom
        sessions = api.get("/api/sessions", headers=OPERATOR).json()
        assert len(sessions) == 1
        s = sessions[0]
        assert (s["charger_id"], s["state"], s["option_id"]) == ("B02", "connected", "as-requested")
        assert s["requested"]["departure"] == "2023-02-01T16:00:00-08:00"
        assert s["requested"]["arrival_soc_pct"] == 30 and s["requested"]["battery_kwh"] == 62
    finally:
        server.stop()
