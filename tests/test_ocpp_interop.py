"""Interoperability: a charge point built on ``ocpp-rpc`` (npm; an OCPP-J implementation we did
not write, in strict mode so that every call and answer of v2b is checked against its own copy
of the OCPP schemas) boots, starts a transaction, gets its profile, reports and stops, on 1.6J
and on 2.0.1. Needs Node and the npm registry (or ``ocpp-rpc`` in ``$V2B_NODE_MODULES``);
skipped with the reason elsewhere."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ocpp_support import LiveServer, ocpp_site, status
from service_support import OPERATOR
from v2b.service.models import OcppTransactionRow

SCRIPT = Path(__file__).parent / "interop" / "ocpp_rpc_charge_point.js"
PACKAGE = "ocpp-rpc@2.2.1"
PASSWORD = "interop-password-1"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed: the ocpp-rpc interoperability check needs them")
    folder = Path(os.environ.get("V2B_NODE_MODULES", Path.home() / ".cache" / "v2b-node"))
    if not (folder / "node_modules" / "ocpp-rpc").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), PACKAGE],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"npm could not install {PACKAGE}: {done.stderr.strip().splitlines()[-1:]}")
    return folder / "node_modules"


@pytest.mark.parametrize("charger, cp_id, protocol", [("U05", "CP16-U05", "ocpp1.6"),
                                                      ("B05", "CP201-B05", "ocpp2.0.1")])
def test_an_ocpp_rpc_charge_point_runs_a_session(node_modules, tmp_path, charger, cp_id, protocol):
    site = ocpp_site(tmp_path)
    digest = hashlib.sha256(PASSWORD.encode()).hexdigest()
    declared = f'id = "{cp_id}"\n'
    site.write_text(site.read_text().replace(declared, f'{declared}password_sha256 = "{digest}"\n'))
    server = LiveServer(site, f"sqlite:///{tmp_path / 'service.sqlite'}")
    client = server.start()
    proc = None
    try:
        assert client.post("/api/clock/step", json={"slots": 40}, headers=OPERATOR).status_code == 200
        now = server.live.clock.now()
        request = {"charger_id": charger, "battery_kwh": 60, "arrival_soc_pct": 20, "requested_soc_pct": 90,
                   "departure": now.replace(hour=18).isoformat()}
        offer = client.post("/api/arrivals", json=request).json()
        option = offer["options"][0]["option_id"]
        r = client.post(f"/api/sessions/{offer['session_id']}/choice", json={"option_id": option},
                        headers={"Authorization": f"Bearer {offer['driver_token']}"})
        assert r.status_code == 200, r.text
        env = {**os.environ, "NODE_PATH": str(node_modules)}
        proc = subprocess.Popen(["node", str(SCRIPT), server.ws_url, cp_id, protocol, "1", PASSWORD],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        assert proc.stdout is not None
        events = []
        for line in proc.stdout:
            event = json.loads(line) if line.startswith("{") else {"event": "log", "line": line}
            events.append(event)
            if event["event"] == "ready":
                r = client.post("/api/clock/step", json={"slots": 1}, headers=OPERATOR)
                assert r.status_code == 200, r.text
            refused = event["event"] == "boot" and event["status"] != "Accepted"
            if event["event"] in ("done", "error") or refused:
                break
        assert proc.wait(timeout=60) == 0, events
        kinds = [e["event"] for e in events]
        assert "strict-failure" not in kinds, events
        assert kinds[0] == "boot" and events[0]["status"] == "Accepted", events
        purposes = [e["purpose"] for e in events if e["event"] == "profile"]
        assert purposes[0] == "TxDefaultProfile" and "TxProfile" in purposes, events
        done = next(e for e in events if e["event"] == "done")
        slot = client.get("/api/slots", params={"since": 41}, headers=OPERATOR).json()[0]
        planned = slot["power_kw"][charger]
        assert done["limit"] == round(planned * 1000, 1) and done["unit"] == "W"
        body = status(client)
        assert body["ocpp"]["open_transactions"] == [] and body["not_following"] == []
        assert all(c["session_id"] != offer["session_id"] for c in body["connected"])  # it left with the car
        with server.db.session() as s:
            row = s.query(OcppTransactionRow).one()
            assert row.session_id == offer["session_id"] and row.stopped_at is not None
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        server.stop()
