"""What the OCPP tests share: the default site with its 15 chargers declared as OCPP charge
points (U01-U10 on 1.6J, B01-B05 on 2.0.1 with discharge), ``v2b serve`` in this process on
a free port, and simulated charge points built from the ``ocpp`` package's client classes,
each with a car that draws exactly the limit of the profile it holds."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

ocpp = pytest.importorskip("ocpp", reason="OCPP needs the [serve] extra (pip install -e '.[serve]')")
websockets = pytest.importorskip("websockets")
uvicorn = pytest.importorskip("uvicorn")

import httpx  # noqa: E402
from ocpp.routing import on  # noqa: E402
from ocpp.v16 import ChargePoint as Client16  # noqa: E402
from ocpp.v16 import call as call16  # noqa: E402
from ocpp.v16 import call_result as result16  # noqa: E402
from ocpp.v201 import ChargePoint as Client201  # noqa: E402
from ocpp.v201 import call as call201  # noqa: E402
from ocpp.v201 import call_result as result201  # noqa: E402

from service_support import OPERATOR, OPERATOR_TOKEN, SPEC, _free_port  # noqa: E402
from v2b.service.app import create_app  # noqa: E402
from v2b.service.db import Database  # noqa: E402
from v2b.service.live import LiveSite, ServiceConfig  # noqa: E402

SLOT_H = 0.25


def ocpp_site(tmp_path: Path, extra: str = "") -> Path:
    """The bundled default site with an ``[ocpp]`` section: ``CP16-Uxx`` (1.6J) for U01-U10,
    ``CP201-Bxx`` (2.0.1, discharge) for B01-B05, one connector each, limits in W."""
    folder = resources.files("v2b.sites")
    text = (folder / f"{SPEC.site}.toml").read_text()
    for name in ("santa-clara-office.menu.toml",):
        shutil.copy(str(folder / name), tmp_path / name)
    lines = ["", "[ocpp]", "response_timeout_s = 5"]
    for k in range(1, 11):
        lines += ["[[ocpp.charge_points]]", f'id = "CP16-U{k:02d}"', 'version = "1.6"',
                  f'connectors = [{{connector_id = 1, charger = "U{k:02d}"}}]']
    for k in range(1, 6):
        lines += ["[[ocpp.charge_points]]", f'id = "CP201-B{k:02d}"', 'version = "2.0.1"',
                  f'connectors = [{{connector_id = 1, charger = "B{k:02d}", discharge = true}}]']
    path = tmp_path / "site.toml"
    path.write_text(text + "\n".join(lines) + "\n" + extra)
    return path


def config_for(site: Path) -> ServiceConfig:
    return ServiceConfig(site=str(site), policy=SPEC.policy, episode=SPEC.episode, seed=SPEC.seed,
                         days=SPEC.days, clock="manual", options=SPEC.options, menu_deadline_s=None)


class LiveServer:
    """``v2b serve`` (the FastAPI app and its OCPP endpoint) under uvicorn in a thread."""

    def __init__(self, site: Path, db_url: str, port: int | None = None):
        self.site, self.db_url = site, db_url
        self.port = port or _free_port()
        self.thread: threading.Thread | None = None
        self.server: Any = None

    def start(self) -> httpx.Client:
        self.db = Database(self.db_url)
        self.live = LiveSite(config_for(self.site), self.db)
        self.app = create_app(self.live, OPERATOR_TOKEN)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws_ping_interval=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            assert self.thread is not None
            self.thread.join(timeout=30)
            self.db.dispose()
            self.server = None


class Loop:
    """An event loop in a thread: the charge points live there, the test drives them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Car:
    """The car on a charger: what it was told (slot -> limit [W]) and what its meter counts."""

    import_wh: float = 0.0
    export_wh: float = 0.0
    tx_id: str | None = None
    seq_no: int = 0


@dataclass
class SimCharger:
    """A simulated charge point of one connector: the ``ocpp`` client class, its connection,
    the profiles it got (``(slot start, limit W)``), its car."""

    cp_id: str
    version: str
    charger_id: str
    reject: bool = False
    profiles: list[dict[str, Any]] = field(default_factory=list)
    default_profiles: list[dict[str, Any]] = field(default_factory=list)
    car: Car | None = None
    meter_wh: float = 0.0
    client: Any = None
    task: Any = None
    got_profile: asyncio.Event | None = None

    async def connect(self, url: str, boot: bool = True) -> None:
        protocol = "ocpp1.6" if self.version == "1.6" else "ocpp2.0.1"
        ws = await websockets.connect(f"{url}/{self.cp_id}", subprotocols=[protocol], ping_interval=None)
        cls = _Sim16 if self.version == "1.6" else _Sim201
        self.client = cls(self.cp_id, ws, self)
        self.task = asyncio.ensure_future(self.client.start())
        if boot:
            answer = await self.client.boot()
            assert answer.status == "Accepted", answer

    async def disconnect(self) -> None:
        await self.client._connection.close()
        self.task.cancel()

    def limit_w(self, slot_start: dt.datetime) -> float | None:
        """The limit of the last TxProfile received for the slot starting at ``slot_start``."""
        for p in reversed(self.profiles):
            if dt.datetime.fromisoformat(p["start"]) == slot_start:
                return float(p["limit"])
        return None


class _SimCommon:
    sim: SimCharger

    def _record(self, profile: dict[str, Any], tx: bool) -> str:
        if self.sim.reject and tx:
            return "Rejected"
        if tx:
            schedule = profile["charging_schedule"]
            schedule = schedule[0] if isinstance(schedule, list) else schedule
            self.sim.profiles.append({"start": schedule["start_schedule"],
                                      "limit": schedule["charging_schedule_period"][0]["limit"],
                                      "valid_to": profile["valid_to"],
                                      "unit": schedule["charging_rate_unit"]})
        else:
            self.sim.default_profiles.append(profile)
        return "Accepted"


class _Sim16(_SimCommon, Client16):
    def __init__(self, cp_id: str, ws: Any, sim: SimCharger):
        Client16.__init__(self, cp_id, ws)
        self.sim = sim

    async def boot(self) -> Any:
        return await self.call(call16.BootNotification(charge_point_model="sim",
                                                       charge_point_vendor="v2b-tests"))

    @on("SetChargingProfile")
    def on_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        tx = cs_charging_profiles["charging_profile_purpose"] == "TxProfile"
        return result16.SetChargingProfile(status=self._record(cs_charging_profiles, tx))

    async def plug_in(self, at: dt.datetime) -> None:
        await self.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"))
        await self.call(call16.Authorize(id_tag="TAG"))
        answer = await self.call(call16.StartTransaction(connector_id=1, id_tag="TAG",
                                                         meter_start=int(self.sim.meter_wh),
                                                         timestamp=at.isoformat()))
        assert self.sim.car is not None
        self.sim.car.tx_id = str(answer.transaction_id)
        self.sim.car.import_wh = self.sim.meter_wh = float(int(self.sim.meter_wh))

    async def report(self, at: dt.datetime) -> None:
        car = self.sim.car
        assert car is not None and car.tx_id is not None
        values = [{"value": repr(car.import_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
        await self.call(call16.MeterValues(connector_id=1, transaction_id=int(car.tx_id), meter_value=[
            {"timestamp": at.isoformat(), "sampled_value": values}]))

    async def unplug(self, at: dt.datetime) -> None:
        car = self.sim.car
        assert car is not None and car.tx_id is not None
        await self.call(call16.StopTransaction(meter_stop=int(car.import_wh), timestamp=at.isoformat(),
                                               transaction_id=int(car.tx_id), reason="EVDisconnected"))
        self.sim.car = None


class _Sim201(_SimCommon, Client201):
    def __init__(self, cp_id: str, ws: Any, sim: SimCharger):
        Client201.__init__(self, cp_id, ws)
        self.sim = sim

    async def boot(self) -> Any:
        return await self.call(call201.BootNotification(
            charging_station={"model": "sim", "vendor_name": "v2b-tests"}, reason="PowerUp"))

    @on("SetChargingProfile")
    def on_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        tx = charging_profile["charging_profile_purpose"] == "TxProfile"
        return result201.SetChargingProfile(status=self._record(charging_profile, tx))

    def _event(self, kind: str, at: dt.datetime, trigger: str, meter: bool = True, **extra: Any) -> Any:
        car = self.sim.car
        assert car is not None and car.tx_id is not None
        car.seq_no += 1
        values = [{"value": car.import_wh, "measurand": "Energy.Active.Import.Register"},
                  {"value": car.export_wh, "measurand": "Energy.Active.Export.Register"}]
        return call201.TransactionEvent(
            event_type=kind, timestamp=at.isoformat(), trigger_reason=trigger, seq_no=car.seq_no,
            transaction_info={"transaction_id": car.tx_id, **extra},
            meter_value=[{"timestamp": at.isoformat(), "sampled_value": values}] if meter else None,
            evse={"id": 1, "connector_id": 1} if kind == "Started" else None,
            id_token={"id_token": "TAG", "type": "ISO14443"} if kind == "Started" else None)

    async def plug_in(self, at: dt.datetime) -> None:
        await self.call(call201.StatusNotification(timestamp=at.isoformat(), connector_status="Occupied",
                                                   evse_id=1, connector_id=1))
        await self.call(call201.Authorize(id_token={"id_token": "TAG", "type": "ISO14443"}))
        car = self.sim.car
        assert car is not None
        car.tx_id = f"{self.sim.cp_id}-{at.strftime('%H%M')}"
        car.import_wh = self.sim.meter_wh
        await self.call(self._event("Started", at, "CablePluggedIn"))

    async def report(self, at: dt.datetime) -> None:
        await self.call(self._event("Updated", at, "MeterValuePeriodic"))

    async def unplug(self, at: dt.datetime) -> None:
        await self.call(self._event("Ended", at, "EVCommunicationLost", stopped_reason="EVDisconnected"))
        self.sim.car = None


def fleet() -> dict[str, SimCharger]:
    """The 15 simulated charge points, by site charger id."""
    out = {}
    for k in range(1, 11):
        out[f"U{k:02d}"] = SimCharger(f"CP16-U{k:02d}", "1.6", f"U{k:02d}")
    for k in range(1, 6):
        out[f"B{k:02d}"] = SimCharger(f"CP201-B{k:02d}", "2.0.1", f"B{k:02d}")
    return out


def charge_slot(sim: SimCharger, start: dt.datetime) -> float:
    """The car draws the slot's limit for 15 minutes (what the charger's meter then counts)."""
    car = sim.car
    assert car is not None
    limit = sim.limit_w(start)
    assert limit is not None, f"{sim.cp_id}: no profile for the slot starting {start.isoformat()}"
    if limit >= 0:
        car.import_wh += limit * SLOT_H
    else:
        car.export_wh += -limit * SLOT_H
    sim.meter_wh = car.import_wh
    return limit


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def status(client: httpx.Client) -> dict[str, Any]:
    r = client.get("/api/status", headers=OPERATOR)
    assert r.status_code == 200, r.text
    return r.json()
