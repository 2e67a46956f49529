"""A day with the site's 15 chargers on OCPP (10 on 1.6J, 5 on 2.0.1): day 0 of test episode 0
played through the API and the charge points on the manual clock. Every session's transaction
opens and closes, every slot's profile reaches its charger with the offline set-point, the
energy the cars report is what the profiles allowed, and the bill is ``v2b simulate``'s."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ocpp_support import Car, LiveServer, Loop, SimCharger, charge_slot, fleet, ocpp_site, status, wait_for
from service_support import OPERATOR, assert_same_as_offline, offline_day, play_day
from v2b.service.models import EventRow, OcppTransactionRow


class DayDriver:
    """Plays the cars of the offline day on the simulated charge points, slot by slot, as the
    hook ``before_slot`` of :func:`service_support.play_day`; ``restart_at``: the server stops
    before the clock moves into that slot, a new one starts on the same database and port, and
    the charge points reconnect (without booting again, as a 1.6 charger does)."""

    def __init__(self, server: LiveServer, loop: Loop, chargers: dict[str, SimCharger], offline: Any,
                 restart_at: int | None = None):
        self.server, self.loop, self.chargers, self.offline = server, loop, chargers, offline
        self.restart_at = restart_at
        self.records = {r.session_id: r for r in offline.result.trace.sessions}
        self.by_arrival: dict[int, list] = {}
        for s in offline.sessions:
            rec = self.records[s.session_id]
            if not rec.rejected:
                self.by_arrival.setdefault(s.arrival_slot, []).append(rec)
        self.plugged: dict[str, Any] = {}  # charger id -> offline record
        self.charged: dict[str, list[tuple[int, float]]] = {}  # session -> (slot, limit W)
        self.opened: list[str] = []
        self.closed: list[str] = []
        self.client: Any = None
        self.restarted = False

    def start(self, slot: int) -> dt.datetime:
        return self.server.live.clock.slot_start(slot)

    def __call__(self, k: int) -> Any:
        """Before the clock moves into slot ``k`` (the engine has decided ``k - 1``)."""
        client = None
        if k == self.restart_at:
            client = self.restart(k - 1)
        self.finish_slot(k - 1)
        for rec in self.by_arrival.get(k, []):
            sim = self.chargers[rec.charger_id]
            sim.car = Car()
            self.loop.run(sim.client.plug_in(self.start(k - 1) + dt.timedelta(minutes=1)))
            self.plugged[rec.charger_id] = rec
            self.opened.append(rec.session_id)
        return client

    def restart(self, t: int) -> Any:
        before = status(self.client_of())
        sent = {c: len(self.chargers[c].profiles) for c in self.plugged}
        self.server.stop()
        self.server = LiveServer(self.server.site, self.server.db_url, port=self.server.port)
        self.client = self.server.start()
        after = status(self.client)
        for key in ("slot", "connected", "bill_to_date", "peak_kw_so_far"):
            assert after[key] == before[key], key
        assert after["ocpp"]["open_transactions"] == before["ocpp"]["open_transactions"]
        connect_all(self.loop, self.server, self.chargers, boot=False)
        for c, n in sent.items():  # reconnected: the present slot's profile again
            sim = self.chargers[c]
            wait_for(lambda sim=sim, n=n: len(sim.profiles) > n, f"{sim.cp_id}'s profile after the restart")
            assert sim.profiles[-1]["start"] == self.start(t).isoformat()
        self.restarted = True
        return self.client

    def client_of(self) -> Any:
        assert self.client is not None
        return self.client

    def finish_slot(self, t: int) -> None:
        """Slot ``t`` was decided: each car gets its profile, charges the slot and reports at its
        end; the cars whose stay ends then leave."""
        start, end = self.start(t), self.start(t + 1)
        for charger, rec in list(self.plugged.items()):
            sim = self.chargers[charger]
            if rec.arrival_slot <= t < rec.departure_slot:
                wait_for(lambda sim=sim: sim.limit_w(start) is not None, f"{sim.cp_id}'s profile of slot {t}")
                limit = charge_slot(sim, start)
                self.charged.setdefault(rec.session_id, []).append((t, limit))
                self.loop.run(sim.client.report(end))
            if rec.departure_slot <= t + 1:
                self.loop.run(sim.client.unplug(end))
                del self.plugged[charger]
                self.closed.append(rec.session_id)


def connect_all(loop: Loop, server: LiveServer, chargers: dict[str, SimCharger], boot: bool = True) -> None:
    async def go() -> None:
        for sim in chargers.values():
            await sim.connect(server.ws_url, boot=boot)

    loop.run(go())


def check_day(server: LiveServer, client: Any, driver: DayDriver, ids: dict[str, str]) -> None:
    offline = driver.offline
    driver.finish_slot(95)
    accepted = [r.session_id for r in offline.result.trace.sessions if r.session_id in ids and not r.rejected]
    assert sorted(driver.opened) == sorted(accepted)
    assert sorted(driver.closed) == sorted(accepted)
    power = offline.result.trace.power_kw
    index = {c: i for i, c in enumerate(server.live.charger_ids)}
    for sid in accepted:
        rec = driver.records[sid]
        got = dict(driver.charged[sid])
        assert sorted(got) == list(range(rec.arrival_slot, rec.departure_slot)), sid
        for t, limit in got.items():  # every slot's profile, with the offline set-point (0.1 W steps)
            assert limit == pytest.approx(power[t, index[rec.charger_id]] * 1000, abs=0.051), (sid, t)
    with server.db.session() as s:
        rows = {r.session_id: r for r in s.query(OcppTransactionRow)}
        kinds = {e.kind for e in s.query(EventRow)}
    assert {ids[sid] for sid in accepted} == set(rows)
    for sid in accepted:
        row = rows[ids[sid]]
        assert row.stopped_at is not None
        i = index[row.charger_id]
        window = power[:, i][driver.records[sid].arrival_slot:driver.records[sid].departure_slot]
        planned_wh = 250.0 * window[window > 0].sum()  # kW x 0.25 h in Wh
        tolerance = 1.0 + 0.0125 * window.size  # the 1.6 register in whole Wh, limits in 0.1 W
        assert row.meter_stop_wh - row.meter_base_wh == pytest.approx(planned_wh, abs=tolerance)
    assert kinds <= {"offer", "choice", "slot"}, "no charger fault or meter correction expected"
    final = status(client)
    assert final["not_following"] == []
    assert final["ocpp"]["open_transactions"] == []
    assert_same_as_offline(client, offline, ids)


def run_day(tmp_path, restart_at: int | None = None) -> None:
    offline = offline_day()
    server = LiveServer(ocpp_site(tmp_path), f"sqlite:///{tmp_path / 'service.sqlite'}")
    client = server.start()
    loop = Loop()
    chargers = fleet()
    driver = DayDriver(server, loop, chargers, offline, restart_at)
    driver.client = client
    try:
        connect_all(loop, server, chargers)
        wait_for(lambda: all(len(c.default_profiles) == 1 for c in chargers.values()), "the default profiles")
        ids = play_day(client, offline, server.live.charger_ids, before_slot=driver)
        assert driver.restarted == (restart_at is not None)
        check_day(driver.server, driver.client, driver, ids)
    finally:
        loop.close()
        driver.server.stop()


def test_a_day_of_15_ocpp_chargers_equals_the_offline_run(tmp_path):
    run_day(tmp_path)


def test_a_server_restart_mid_day_loses_nothing_and_the_chargers_carry_on(tmp_path):
    """Stopped at 12:30 with cars charging, started again on the same database; the chargers
    reconnect, get the present slot's profile again, and the day ends as the offline run."""
    run_day(tmp_path, restart_at=50)


def test_operator_status_lists_the_charge_points(tmp_path):
    site = ocpp_site(tmp_path)
    server = LiveServer(site, f"sqlite:///{tmp_path / 'service.sqlite'}")
    client = server.start()
    loop = Loop()
    chargers = fleet()
    try:
        connect_all(loop, server, chargers)
        body = client.get("/api/status", headers=OPERATOR).json()
        cps = {cp["id"]: cp for cp in body["ocpp"]["charge_points"]}
        assert len(cps) == 15 and all(cp["connected"] for cp in cps.values())
        assert cps["CP16-U01"]["version"] == "1.6" and cps["CP201-B01"]["version"] == "2.0.1"
        assert body["not_following"] == []
        page = client.get("/operator").text
        assert "id='chargepoints'" in page and "not_following" in page  # the operator page shows both
    finally:
        loop.close()
        server.stop()
