"""What the service tests share: the offline day to compare with, a client that plays it
through the API, the databases to run on (SQLite always, PostgreSQL when reachable)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from v2b.control.registry import make_policy
from v2b.experiments.runner import RunSpec, chooser_for, episode_for, run
from v2b.interface import ArrivalRequest, Menu
from v2b.scenarios import site_scenarios
from v2b.sim import SimResult, simulate
from v2b.sim.assignment import arrival_order
from v2b.site import load_site
from v2b.users.choice import Choice, Chooser

SITE = "santa-clara-office"
#: What ``v2b simulate --policy consent --days 1`` runs (its defaults: episode 0, seed 1).
SPEC = RunSpec(site=SITE, policy="consent", episode=0, seed=1, days=1, options={"load_info": "measured"})
MONEY = ("energy_cost_usd", "demand_charge_usd", "soc_penalty_usd", "degradation_usd", "user_payments_usd",
         "building_cost_usd")
OPERATOR_TOKEN = "operator-test-token"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}

POSTGRES_URL = os.environ.get("V2B_TEST_POSTGRES_URL")


@dataclass
class Answer:
    """One offline arrival as the engine met it: the charger FCFS gave it, the menu and the choice."""

    charger_index: int
    menu: Menu
    choice: Choice


@dataclass
class _Recorder:
    inner: Chooser
    answers: dict[str, Answer] = field(default_factory=dict)

    def __call__(self, menu: Menu, request: ArrivalRequest, rng: np.random.Generator) -> Choice:
        choice = self.inner(menu, request, rng)
        self.answers[request.session.session_id] = Answer(request.charger_index, menu, choice)
        return choice


@dataclass
class OfflineDay:
    result: SimResult
    answers: dict[str, Answer]
    sessions: list  # the episode's sessions in service order

    @property
    def summary(self) -> dict[str, Any]:
        return self.result.summary


_OFFLINE: OfflineDay | None = None


def offline_day() -> OfflineDay:
    """Day 0 of test episode 0 under consent, as ``v2b simulate --policy consent --days 1``,
    with every driver's charger, menu and choice recorded (computed once per test process)."""
    global _OFFLINE
    if _OFFLINE is None:
        site = load_site(SITE)
        episode = episode_for(site, SPEC.episode, days=SPEC.days)
        recorder = _Recorder(chooser_for(site, SPEC.options))
        result = simulate(site, episode, make_policy(SPEC.policy), seed=SPEC.seed,
                          futures=site_scenarios(site).future_sampler(), chooser=recorder,
                          policy_options=SPEC.options)
        reference = run(SPEC).summary  # the command's own code path gives the same bill
        for key in MONEY:
            assert result.summary[key] == reference[key], key
        _OFFLINE = OfflineDay(result, recorder.answers, arrival_order(episode.sessions))
    return _OFFLINE


def pct_for(fraction: float) -> Decimal:
    """``fraction`` in percent with every digit a float needs (``repr`` with the point moved):
    the service reads it as a decimal, so its engine sees the simulator's very number."""
    return Decimal(repr(fraction)).scaleb(2)


def slot_time(start: str, slot: int) -> str:
    """ISO time of ``slot``'s start, given the billing period's start."""
    origin = dt.datetime.fromisoformat(start)
    moment = (origin.astimezone(dt.UTC) + dt.timedelta(minutes=15 * slot)).astimezone(origin.tzinfo)
    return moment.isoformat()


def exact_json(body: dict[str, Any]) -> bytes:
    """``body`` as JSON, decimals written digit for digit (what a careful client sends)."""
    digits = {}
    plain = {}
    for key, value in body.items():
        if isinstance(value, Decimal):
            digits[f"@{key}@"] = format(value, "f")
            value = f"@{key}@"
        plain[key] = value
    text = json.dumps(plain)
    for mark, number in digits.items():
        text = text.replace(f'"{mark}"', number)
    return text.encode()


def arrival_body(s, charger_id: str, start: str) -> dict[str, Any]:
    return {"charger_id": charger_id, "battery_kwh": s.battery_kwh, "arrival_soc_pct": pct_for(s.soc_arrival),
            "requested_soc_pct": pct_for(s.soc_requested), "departure": slot_time(start, s.departure_slot)}


def play_day(client: Any, offline: OfflineDay, charger_ids: list[str],
             before_slot: Callable[[int], Any] | None = None, idempotency: bool = True) -> dict[str, str]:
    """Play the offline day through the API on a manual clock: each arrival of slot ``a`` is
    posted while the clock is in slot ``a - 1`` (the engine's next decision is ``a``), on the
    charger FCFS gave it, and answered as the simulated driver answered. ``before_slot(k)``
    is called before the clock moves into slot ``k`` (it may return a new client). Returns
    offline session id -> service session id."""
    status = client.get("/api/status", headers=OPERATOR).json()
    start = status["billing_period"]["start"]
    n_slots = 96
    by_slot: dict[int, list] = {}
    for s in offline.sessions:
        by_slot.setdefault(s.arrival_slot, []).append(s)
    ids: dict[str, str] = {}
    clock = status["slot"] - 1  # the manual clock's slot
    for k in range(clock, n_slots):
        for s in by_slot.get(k + 1, []):
            answer = offline.answers.get(s.session_id)
            if answer is None:  # offline: no charger was free; nothing to post
                continue
            headers = {"Idempotency-Key": f"offline-{s.session_id}"} if idempotency else {}
            body = arrival_body(s, charger_ids[answer.charger_index], start)
            r = client.post("/api/arrivals", content=exact_json(body),
                            headers={**headers, "Content-Type": "application/json"})
            assert r.status_code == 201, r.text
            body = r.json()
            assert [o["option_id"] for o in body["options"]] == [o.name for o in answer.menu.options]
            for o, want in zip(body["options"], answer.menu.options, strict=True):
                assert o["price_usd"] == pytest.approx(want.price_usd(s), abs=1e-6)
            option = "reject" if answer.choice.option is None else answer.choice.option.name
            r = client.post(f"/api/sessions/{body['session_id']}/choice", json={"option_id": option},
                            headers={"Authorization": f"Bearer {body['driver_token']}"})
            assert r.status_code == 200, r.text
            ids[s.session_id] = body["session_id"]
        if k + 1 < n_slots:
            if before_slot is not None:
                client = before_slot(k + 1) or client
            r = client.post("/api/clock/step", json={"slots": 1}, headers=OPERATOR)
            assert r.status_code == 200, r.text
    return ids


def assert_same_as_offline(client: Any, offline: OfflineDay, ids: dict[str, str]) -> dict[str, Any]:
    """The service's records give the offline run's set-points, payments and bill."""
    status = client.get("/api/status", headers=OPERATOR).json()
    assert status["billing_period"]["ended"]
    slots = client.get("/api/slots", headers=OPERATOR).json()
    assert [s["slot"] for s in slots] == list(range(96))
    charger_ids = list(slots[0]["power_kw"])
    live_power = np.array([[s["power_kw"][c] for c in charger_ids] for s in slots])
    np.testing.assert_allclose(live_power, offline.result.trace.power_kw, rtol=0, atol=1e-9)
    np.testing.assert_allclose([s["building_kw"] for s in slots], offline.result.trace.building_kw,
                               rtol=0, atol=1e-9)
    sessions = {s["session_id"]: s for s in client.get("/api/sessions", headers=OPERATOR).json()}
    for rec in offline.result.trace.sessions:
        if rec.session_id not in ids:
            assert rec.reject_reason == "no charger"
            continue
        live = sessions[ids[rec.session_id]]
        if rec.rejected:
            assert live["state"] == "declined"
        else:
            assert live["state"] == "departed"
            assert live["payment_usd"] == pytest.approx(rec.payment_usd, abs=1e-9)
    bill = status["bill_to_date"]
    for key in MONEY:
        assert bill[key] == pytest.approx(offline.summary[key], rel=1e-12, abs=1e-9), key
    return status


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on ``V2B_TEST_POSTGRES_URL``'s server, dropped after."""
    if not POSTGRES_URL:
        pytest.skip("V2B_TEST_POSTGRES_URL is not set: no PostgreSQL server to test on "
                    "(.ci/run starts one and sets it)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from v2b.service.db import normalise_url

    base = make_url(normalise_url(POSTGRES_URL))
    name = f"v2b_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base.render_as_string(hide_password=True)} is not reachable: "
                    f"{str(err).splitlines()[0]}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database_url(kind: str, tmp_path) -> Iterator[str]:
    """A fresh database of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.sqlite'}"
    else:
        with postgres_database() as url:
            yield url


SRC = Path(__file__).resolve().parents[1] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``v2b serve`` in a subprocess on a free port."""

    def __init__(self, db_url: str, log: Path, *extra: str):
        self.db_url, self.log, self.extra = db_url, log, extra
        self.clock = "manual"
        #: ``--menu-deadline-s``: no deadline unless set (menus equal the offline run's);
        #: ``None``: the service's default
        self.menu_deadline_s: str | None = "0"
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Any:
        import httpx

        env = {**os.environ, "V2B_OPERATOR_TOKEN": OPERATOR_TOKEN,
               "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "v2b", "serve", "--site", SPEC.site, "--policy", SPEC.policy,
               "--episode", str(SPEC.episode), "--seed", str(SPEC.seed), "--days", str(SPEC.days),
               "--clock", self.clock, "--db", self.db_url, "--port", str(self.port), *self.extra]
        if self.menu_deadline_s is not None:
            cmd += ["--menu-deadline-s", self.menu_deadline_s]
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        client = httpx.Client(base_url=self.base_url, timeout=60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"v2b serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if client.get("/api/health").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"v2b serve did not answer in 120 s:\n{self.log.read_text()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
