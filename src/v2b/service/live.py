"""The live site: the offline engine (:class:`v2b.sim.Simulator`) driven by a clock and by the
API's events, every state change written to the database before it is answered.

Time and the engine (``docs/service.md``, "The clock"): at each slot's start the engine
decides that slot (the policy's set-points for the 15 minutes ahead, then the simulated
meter) and lets the cars whose stay ends leave. A car that arrives between two decisions
gets the next slot as its arrival slot: its menu is priced on the state of that decision and
it charges from then on. ``engine.slot`` is therefore always the next slot to decide.

Nothing lost (``docs/service.md``, "Restart"): every offer, answer and decided slot is an
event row; on start the engine is rebuilt by applying the stored events in order to a new
engine (the policy and the drivers' streams are seeded, so it reaches the same state), then
caught up with the clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as DbSession

from v2b.control.registry import make_policy
from v2b.episode import Episode, Session
from v2b.errors import UserError
from v2b.experiments.runner import episode_for, scaled_site
from v2b.interface import Menu, Option
from v2b.scenarios import site_scenarios
from v2b.service.clock import SLOT, Clock, check_clock, midnight
from v2b.service.db import Database
from v2b.service.models import EventRow, PaymentRow, ServiceRow, SessionRow, SlotRow
from v2b.sim import PendingOffer, Simulator
from v2b.sim.billing import bill
from v2b.sim.engine import load_info_mode
from v2b.sim.trace import Trace
from v2b.site import Site, load_site
from v2b.timegrid import SLOTS_PER_DAY, clip_departure_slot
from v2b.users.choice import Choice, deviation

log = logging.getLogger("v2b.service")

#: What an unanswered menu turns into (``--on-expiry``).
ON_EXPIRY = ("reject", "request")

#: Engine events that come from the chargers (OCPP, ``docs/ocpp.md``): a charger that does not
#: follow the controller (``fault``: its assumed power, or ``null`` when it follows again), a
#: measured battery energy that differs from the engine's (``meter``), a car that left before
#: its negotiated departure (``leave``).
CHARGER_EVENTS = ("fault", "meter", "leave")

#: The largest building load a meter reading may state [kW] (a guard against unit mistakes).
MAX_BUILDING_KW = 100_000.0

#: The bill's money figures reported by the status.
MONEY = ("energy_cost_usd", "demand_charge_usd", "soc_penalty_usd", "degradation_usd",
         "user_payments_usd", "building_cost_usd")


#: The default time to answer an arrival [s] (the service's latency target is 0.3 s).
DEFAULT_MENU_DEADLINE_S = 0.25


class ServiceConfig(BaseModel):
    """What ``v2b serve`` runs. The first seven fields are fixed when the database is created
    (a restart with other values is refused); the last three may change between starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = "santa-clara-office"
    policy: str = "consent"
    episode: int = Field(default=0, ge=0)
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    days: int | None = Field(default=None, ge=1, le=31)
    clock: str = "realtime"
    options: dict[str, Any] = Field(default_factory=dict)
    menu_minutes: float = Field(default=5.0, gt=0, le=24 * 60)
    on_expiry: str = "reject"
    #: Seconds from receiving an arrival to answering it: a menu not priced by then is the
    #: policy's fallback menu (``docs/service.md``, "Menus on time"); ``None``: no limit.
    menu_deadline_s: float | None = Field(default=DEFAULT_MENU_DEADLINE_S, gt=0, le=600)


class ServiceError(Exception):
    """A request the service refuses: an HTTP status and a message naming the field and value."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ServiceSetupError(UserError):
    """The service cannot start with these options on this database."""


@dataclass(frozen=True)
class ArrivalRequest:
    """A driver's request as the API takes it: SoC in percent as the client wrote it (a
    decimal, so that ``arrival_soc_pct / 100`` is the fraction the client meant, to the last
    bit), times aware."""

    charger_id: str
    battery_kwh: float
    arrival_soc_pct: Decimal
    requested_soc_pct: Decimal
    departure: dt.datetime
    #: the car's own limits (``docs/model.md``, "Vehicle limits"); ``None``: the charger's
    max_charge_kw: float | None = None
    max_discharge_kw: float | None = None
    v2b_allowed: bool = True

    @property
    def vehicle_limits(self) -> dict[str, Any]:
        """The car's limits as given (only those given: a request without them hashes and
        stores as before they existed)."""
        out: dict[str, Any] = {}
        if self.max_charge_kw is not None:
            out["max_charge_kw"] = float(self.max_charge_kw)
        if self.max_discharge_kw is not None:
            out["max_discharge_kw"] = float(self.max_discharge_kw)
        if not self.v2b_allowed:
            out["v2b_allowed"] = False
        return out

    @property
    def soc_arrival(self) -> float:
        return float(self.arrival_soc_pct / 100)

    @property
    def soc_requested(self) -> float:
        return float(self.requested_soc_pct / 100)

    def sha256(self) -> str:
        body = {"charger_id": self.charger_id, "battery_kwh": self.battery_kwh,
                "arrival_soc_pct": str(self.arrival_soc_pct),
                "requested_soc_pct": str(self.requested_soc_pct),
                "departure": self.departure.astimezone(dt.UTC).isoformat(), **self.vehicle_limits}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _site_sha256(site: Site) -> str:
    return hashlib.sha256(site.model_dump_json(exclude={"base_dir"}).encode()).hexdigest()


def _pct(fraction: float) -> float:
    return round(100.0 * fraction, 6)


class LiveSite:
    """One site's negotiation and controller, advanced by a clock and API events.

    Every public method takes the lock: one request at a time changes the engine, and
    its database transaction commits before the method returns.
    """

    def __init__(self, config: ServiceConfig, db: Database, wall: Callable[[], float] = time.time):
        self.config = config
        self.db = db
        self._wall = wall
        self.lock = threading.RLock()
        #: Arrival requests waiting for the engine (their own small lock: they cannot take the engine's)
        self._waiting_lock = threading.Lock()
        self._arrivals_waiting = 0
        check_clock(config.clock)
        if config.on_expiry not in ON_EXPIRY:
            raise ServiceSetupError(f"--on-expiry {config.on_expiry!r} is not one of {', '.join(ON_EXPIRY)}")
        load_info_mode(config.options)
        if not make_policy(config.policy).serves_evs:
            raise ServiceSetupError(f"--policy {config.policy!r} admits no EV; "
                                    "the service needs one that does")
        # ``arrival_scale`` (as in ``v2b experiment figure2``): more chargers and arrivals, same building
        self.site = scaled_site(load_site(config.site), config.options.get("arrival_scale"))
        self.full_episode = episode_for(self.site, config.episode, days=config.days)
        # The live engine plays the episode's building load (the simulated meter) and none of
        # its sessions: the drivers come through the API.
        self.episode: Episode = dataclasses.replace(self.full_episode, sessions=())
        self.futures = site_scenarios(self.site).future_sampler()
        self.charger_ids = list(self.site.charger_arrays.ids)
        self.charger_index = {c: i for i, c in enumerate(self.charger_ids)}
        db.migrate()
        row = self._service_row()
        self.token_secret = bytes.fromhex(row.token_secret)
        origin = dt.datetime.fromisoformat(row.origin_at).astimezone(self._zone())
        self.clock = Clock(config.clock, origin, row.wall_origin_s, wall=wall)
        self.replay_mismatches = 0
        self.started_wall_s = wall()
        #: Called (under the lock) after each slot decided live, not on replay (``--demo``).
        self.slot_listeners: list[Callable[[], None]] = []
        #: The OCPP charge points' state for the status (set by :mod:`v2b.service.ocpp`).
        self.ocpp_status: Callable[[], dict[str, Any]] | None = None
        self._rebuild()
        self.tick()

    # ---- set-up and rebuilding ----------------------------------------------------------------

    def _service_row(self) -> ServiceRow:
        c = self.config
        wanted = {"site_name": self.site.name, "site_sha256": _site_sha256(self.site), "policy": c.policy,
                  "episode": c.episode, "seed": c.seed, "days": c.days, "clock": c.clock,
                  "options": dict(c.options)}
        with self.db.session() as s, s.begin():
            row = s.get(ServiceRow, 1)
            if row is None:
                zone = self._zone()
                now_s = self._wall()
                if c.clock == "realtime":
                    today = dt.datetime.fromtimestamp(now_s, zone).date()
                    origin, wall_origin = midnight(today, zone), midnight(today, zone).timestamp()
                else:
                    origin, wall_origin = midnight(self.episode.dates[0], zone), now_s
                row = ServiceRow(id=1, **wanted, origin_at=iso(origin), wall_origin_s=wall_origin,
                                 token_secret=secrets.token_hex(32),
                                 created_at=iso(dt.datetime.fromtimestamp(now_s, zone)))
                s.add(row)
                return row
            stored = {k: getattr(row, k) for k in wanted}
            differ = [f"{k}: database {stored[k]!r}, now {wanted[k]!r}"
                      for k in wanted if stored[k] != wanted[k]]
            if differ:
                raise ServiceSetupError(
                    f"--db {self.db.display_url} was created for another run ({'; '.join(differ)}); "
                    "start with the same options, or give a new --db"
                )
            return row

    def _zone(self) -> dt.tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.site.timezone)

    def _new_engine(self) -> Simulator:
        sim = Simulator(self.site, self.episode, make_policy(self.config.policy), self.config.seed,
                        self.futures, policy_options=dict(self.config.options))
        sim.begin_slot()
        return sim

    def _new_reference(self) -> Simulator:
        """The uncontrolled reference: the same cars, each charging its request at full power
        from plug-in (``references`` in the status)."""
        sim = Simulator(self.site, self.episode, make_policy("uncontrolled"), self.config.seed, None,
                        policy_options=dict(self.config.options))
        sim.begin_slot()
        return sim

    def _rebuild(self) -> None:
        """A new engine with every stored event applied in order (no database writes)."""
        self.sim = self._new_engine()
        self.reference = self._new_reference()
        self.pending: dict[str, PendingOffer] = {}
        self.expires: dict[str, dt.datetime] = {}
        self.record_of: dict[str, int] = {}
        #: chargers that do not follow the controller (OCPP: a rejected profile, a charger that
        #: stopped answering): charger index -> the power assumed [kW] and why
        self.fixed_kw: dict[int, float] = {}
        self.fixed_reason: dict[int, str] = {}
        with self.db.session() as s:
            menus = {r.id: r.menu for r in s.scalars(select(SessionRow))}
            for ev in s.scalars(select(EventRow).order_by(EventRow.id)):
                if ev.kind == "offer":
                    assert ev.session_id is not None
                    menu = self._apply_offer(ev.session_id, ev.payload)
                    if menu != menus.get(ev.session_id):
                        self.replay_mismatches += 1
                        log.warning("replay: the menu of session %s differs from the stored one",
                                    ev.session_id)
                elif ev.kind == "choice":
                    assert ev.session_id is not None
                    self._apply_choice(ev.session_id, ev.payload["option_id"])
                elif ev.kind == "slot":
                    self._apply_slot()
                elif ev.kind in CHARGER_EVENTS:
                    self._apply_charger_event(ev.kind, ev.payload)
                elif ev.kind == "building":
                    self._apply_building(int(ev.payload["slot"]), float(ev.payload["building_kw"]))
                else:
                    raise ServiceSetupError(f"event {ev.id} has an unknown kind {ev.kind!r}")
        if self.clock.kind == "manual":
            self.clock.manual_slot = max(self.sim.slot - 1, 0)

    # ---- engine events (shared by live operation and replay) ------------------------------------

    def _apply_offer(self, session_id: str, p: dict[str, Any], respond_by_s: float | None = None
                     ) -> dict[str, Any]:
        """Price an offer. Live, ``respond_by_s`` is its deadline; on replay, an offer recorded as
        past its deadline gets the fallback menu again (after the same random draws)."""
        s = Session(session_id, int(p["arrival_slot"]), int(p["departure_slot"]), float(p["battery_kwh"]),
                    float(p["soc_arrival"]), float(p["soc_requested"]),
                    max_charge_kw=p.get("max_charge_kw"), max_discharge_kw=p.get("max_discharge_kw"),
                    v2b_allowed=bool(p.get("v2b_allowed", True)))
        if p.get("menu_fallback") == "deadline":
            respond_by_s = -math.inf
        pending = self.sim.offer(s, int(p["charger_index"]), respond_by_s)
        if pending is None:  # the API checks first; a stored offer always had its charger
            raise ServiceSetupError(f"session {session_id}: charger {p['charger_index']} was not free")
        self.pending[session_id] = pending
        self.record_of[session_id] = pending.record_index
        self.expires[session_id] = dt.datetime.fromisoformat(p["expires_at"]).astimezone(dt.UTC)
        return self._menu_json(pending)

    def _apply_choice(self, session_id: str, option_id: str) -> None:
        pending = self.pending.pop(session_id)
        self.expires.pop(session_id, None)
        record = self.sim.choose(pending, Choice(self._option(pending.menu, option_id)))
        if not record.rejected:
            self._reference_arrival(pending)

    def _reference_arrival(self, pending: PendingOffer) -> None:
        ref, s = self.reference, pending.request.session
        request = ref.request_for(s, pending.request.charger_index) or ref.request_for(s)
        if request is None:
            return
        offer = ref.offer(s, request.charger_index)
        if offer is not None:
            ref.choose(offer, Choice(offer.menu.options[0]))

    def _apply_slot(self) -> tuple[int, list[int]]:
        """Decide the engine's current slot; returns it and the records that left after it."""
        sim = self.sim
        before = set(np.flatnonzero(sim.plugged.occupied).tolist())
        records_before = {int(sim.plugged.record[i]) for i in before}
        t = sim.slot
        for engine in (sim, self.reference):
            engine.end_slot(self.fixed_kw if engine is sim else None)
            if engine.done:
                engine.finish()
            else:
                engine.begin_slot()
        still = {int(r) for r in sim.plugged.record.tolist() if r >= 0}
        return t, sorted(records_before - still)

    def _apply_charger_event(self, kind: str, p: dict[str, Any]) -> int | None:
        """Apply a charger event (:data:`CHARGER_EVENTS`); returns the record of a car that left."""
        i = int(p["charger_index"])
        if kind == "fault":
            if p["fixed_kw"] is None:
                self.fixed_kw.pop(i, None)
                self.fixed_reason.pop(i, None)
            else:
                self.fixed_kw[i] = float(p["fixed_kw"])
                self.fixed_reason[i] = str(p.get("reason", ""))
            return None
        if kind == "meter":
            self.sim.set_energy(i, float(p["energy_kwh"]))
            return None
        record = int(self.sim.plugged.record[i])
        self.sim.depart(i)
        return record

    def _apply_building(self, slot: int, building_kw: float) -> None:
        """A meter reading, in the engine and in the uncontrolled reference beside it."""
        for engine in (self.sim, self.reference):
            engine.set_building_load(slot, building_kw)

    def building_reading(self, at: dt.datetime, building_kw: float) -> dict[str, Any]:
        """The site meter's mean building load over the slot that contains ``at`` (ended and
        decided): it replaces the load the engine played in that slot, in the bill and in what
        the controller sees next (``docs/service.md``, "The site meter")."""
        with self.lock:
            self._advance_to(self.clock.now())
            slot = self.clock.slot_at(at)
            if slot < 0 or slot >= self.episode.n_slots:
                raise ServiceError(422, f"slot_start {iso(at)} is outside the billing period "
                                        f"{iso(self.clock.slot_start(0))} .. "
                                        f"{iso(self.clock.slot_start(self.episode.n_slots))}")
            if self.clock.now() < self.clock.slot_start(slot + 1) or slot >= self.sim.slot:
                raise ServiceError(409, f"the slot starting {iso(self.clock.slot_start(slot))} has not ended "
                                        f"(site time is {iso(self.clock.now())}); send its reading after it")
            if not math.isfinite(building_kw) or abs(building_kw) > MAX_BUILDING_KW:
                raise ServiceError(422, f"building_kw {building_kw!r} must be a finite number of kW "
                                        f"within +-{MAX_BUILDING_KW:g}")
            self._apply_building(slot, building_kw)
            try:
                with self.db.session() as s, s.begin():
                    s.add(EventRow(kind="building", slot=slot, session_id=None,
                                   payload={"slot": slot, "building_kw": float(building_kw)},
                                   created_at=self._wall_iso()))
                    row = s.get(SlotRow, slot)
                    if row is not None:
                        row.building_kw = float(building_kw)
                        row.total_kw = float(building_kw) + row.ev_kw
            except SQLAlchemyError as err:
                self._failed(err)
            return {"slot": slot, "slot_start": iso(self.clock.slot_start(slot)),
                    "building_kw": float(building_kw), "peak_kw_so_far": self.sim.peak_kw}

    def charger_event(self, kind: str, charger_id: str, **payload: Any) -> None:
        """Apply and store a charger event (OCPP) at the engine's present: ``fault``
        (``fixed_kw``: the power assumed of a charger that does not follow, or ``None``;
        ``reason``), ``meter`` (``energy_kwh`` measured in the battery), ``leave`` (the car on
        the charger left before its negotiated departure and pays for what it got)."""
        if kind not in CHARGER_EVENTS:
            raise ValueError(f"charger event kind {kind!r} is not one of {', '.join(CHARGER_EVENTS)}")
        with self.lock:
            i = self.charger_index[charger_id]
            body = {"charger_index": i, **payload}
            left = self._apply_charger_event(kind, body)
            try:
                with self.db.session() as s, s.begin():
                    s.add(EventRow(kind=kind, slot=self.sim.slot, session_id=None, payload=body,
                                   created_at=self._wall_iso()))
                    if left is not None:
                        self._write_departure(s, left, self.sim.slot, iso(self.clock.now()))
            except SQLAlchemyError as err:
                self._failed(err)

    def connected_on(self, charger_id: str) -> str | None:
        """The session whose car the engine has on ``charger_id`` (``None``: none)."""
        record = int(self.sim.plugged.record[self.charger_index[charger_id]])
        return self.sim.trace.sessions[record].session_id if record >= 0 else None

    @staticmethod
    def _option(menu: Menu, option_id: str) -> Option | None:
        if option_id == "reject":
            return None
        for o in menu.options:
            if o.name == option_id:
                return o
        raise KeyError(option_id)

    # ---- views -----------------------------------------------------------------------------------

    def _menu_json(self, pending: PendingOffer) -> dict[str, Any]:
        s = pending.request.session
        options = []
        for o in pending.menu.options:
            departure = clip_departure_slot(s.arrival_slot, o.departure_slot)
            target = min(max(o.soc_target, 0.0), 1.0)
            clipped = dataclasses.replace(o, departure_slot=departure, soc_target=target)
            energy, price = clipped.promised_kwh(s), clipped.price_usd(s)
            soc_given_up, delay = deviation(clipped, pending.request)
            options.append({
                "option_id": o.name,
                "level": o.level,
                "target_soc_pct": _pct(target),
                "departure": iso(self.clock.slot_start(departure)),
                "energy_kwh": round(energy, 6),
                "price_usd": round(price, 6),
                "price_usd_per_kwh": round(price / energy, 6) if energy > 1e-9 else None,
                "gives_up": {"soc_pct": round(soc_given_up, 6), "minutes_later": delay},
            })
        reject = None
        if pending.menu.reject_allowed:
            reject = {"price_usd_per_kwh": pending.menu.reject_price_per_kwh}
        out: dict[str, Any] = {"options": options, "reject": reject}
        if pending.menu.fallback is not None:
            out["fallback"] = pending.menu.fallback
        return out

    def _token(self, session_id: str) -> str:
        return hmac.new(self.token_secret, session_id.encode(), hashlib.sha256).hexdigest()

    def _check_token(self, session_id: str, token: str | None, operator: bool) -> None:
        if operator:
            return
        if not token:
            raise ServiceError(401, "the driver token is missing: "
                                    "send 'Authorization: Bearer <driver_token>'")
        if not hmac.compare_digest(self._token(session_id), token):
            raise ServiceError(403, f"the token given is not the driver token of session {session_id}")

    def _arrival_json(self, row: SessionRow) -> dict[str, Any]:
        return {
            "session_id": row.id,
            "driver_token": self._token(row.id),
            "charger_id": row.charger_id,
            "arrival": row.arrival_at,
            "charging_from": iso(self.clock.slot_start(row.arrival_slot)),
            "options": row.menu["options"],
            "reject": row.menu["reject"],
            "fallback": row.menu.get("fallback"),
            "expires_at": row.expires_at,
        }

    def _session_json(self, row: SessionRow) -> dict[str, Any]:
        out: dict[str, Any] = {
            "session_id": row.id,
            "state": row.state,
            "charger_id": row.charger_id,
            "arrival": row.arrival_at,
            "requested": {"arrival_soc_pct": row.arrival_soc_pct, "requested_soc_pct": row.requested_soc_pct,
                          "departure": row.requested_departure_at, "battery_kwh": row.battery_kwh},
            "options": row.menu["options"],
            "reject": row.menu["reject"],
            "fallback": row.menu.get("fallback"),
            "expires_at": row.expires_at,
            "option_id": row.option_id,
            "choice_source": row.choice_source,
            "price_usd": row.price_usd,
            "target_soc_pct": row.target_soc_pct,
            "departure": (None if row.departure_slot is None
                          else iso(self.clock.slot_start(row.departure_slot))),
        }
        record = self.record_of.get(row.id)
        if row.state == "connected" and record is not None:
            i = int(np.flatnonzero(self.sim.plugged.record == record)[0])
            p = self.sim.plugged
            arrival_kwh = row.arrival_soc_pct / 100.0 * row.battery_kwh
            out["soc_pct"] = _pct(p.energy_kwh[i] / p.battery_kwh[i])
            out["energy_so_far_kwh"] = round(float(p.energy_kwh[i] - arrival_kwh), 6)
            out["expected_energy_at_departure_kwh"] = round(self._expected_kwh(i) - arrival_kwh, 6)
            out["set_point_kw"] = self._current_kw(i)
        elif row.state == "departed":
            out["soc_pct"] = row.departure_soc_pct
            out["energy_so_far_kwh"] = row.delivered_kwh
            out["expected_energy_at_departure_kwh"] = row.delivered_kwh
            out["payment_usd"] = row.payment_usd
        else:
            out["energy_so_far_kwh"] = 0.0
            out["expected_energy_at_departure_kwh"] = 0.0 if row.state != "offered" else None
        return out

    def _expected_kwh(self, i: int) -> float:
        """Energy in the battery at departure if the charger gave its full power until then,
        capped at the negotiated target (an upper estimate; the plan may lend V2B energy)."""
        p, sim = self.sim.plugged, self.sim
        slots_left = max(int(p.departure_slot[i]) - sim.slot, 0)
        rating_kw = min(float(sim.chargers.max_kw[i]), float(p.ev_max_kw[i]))
        reachable = p.energy_kwh[i] + slots_left * SLOT.total_seconds() / 3600.0 * rating_kw
        return float(min(max(p.target_kwh[i], p.energy_kwh[i]), reachable))

    def _current_kw(self, i: int) -> float:
        t = self.sim.slot - 1
        return round(float(self.sim.trace.power_kw[t, i]), 6) if t >= 0 else 0.0

    # ---- time --------------------------------------------------------------------------------

    def tick(self) -> None:
        """Bring the engine up to the clock: expire unanswered menus, decide every slot that
        has started."""
        with self.lock:
            self._advance_to(self.clock.now())

    def _advance_to(self, now: dt.datetime) -> None:
        while not self.sim.done:
            boundary = self.clock.slot_start(self.sim.slot)
            self._expire_due(min(now.astimezone(dt.UTC), boundary.astimezone(dt.UTC)))
            if now.astimezone(dt.UTC) < boundary.astimezone(dt.UTC):
                break
            self._decide_slot()
        if self.sim.done and self.expires:  # the billing period ended with menus unanswered
            self._expire_due(max(self.expires.values()), period_over=True)

    def _expire_due(self, until: dt.datetime, period_over: bool = False) -> None:
        due = sorted((at, self.record_of[sid], sid) for sid, at in self.expires.items() if at <= until)
        for at, _, sid in due:
            pending = self.pending[sid]
            menu = pending.menu
            if period_over or self.config.on_expiry == "reject" and menu.reject_allowed or not menu.options:
                option_id = "reject"
            else:
                option_id = menu.options[0].name
            self._commit_choice(sid, option_id, "expiry", at)

    def _decide_slot(self) -> None:
        sim = self.sim
        started = time.perf_counter()
        n_decisions = len(sim.decision_seconds)
        try:
            t, departed = self._apply_slot()
            decision_s = sim.decision_seconds[-1] if len(sim.decision_seconds) > n_decisions else None
            start = self.clock.slot_start(t)
            with self.db.session() as s, s.begin():
                s.add(EventRow(kind="slot", slot=t, session_id=None, payload={"slot": t},
                               created_at=self._wall_iso()))
                building = float(sim.trace.building_kw[t])
                ev = float(sim.trace.power_kw[t].sum())
                ids = [sim.trace.sessions[r].session_id if r >= 0 else "" for r in
                       sim.trace.session_index[t].tolist()]
                s.add(SlotRow(slot=t, start_at=iso(start), building_kw=building, ev_kw=ev,
                              total_kw=building + ev, peak_kw=sim.peak_kw,
                              price_usd_per_kwh=float(sim.trace.price_per_kwh[t]),
                              power_kw=[float(x) for x in sim.trace.power_kw[t]], session_ids=ids,
                              decision_seconds=decision_s, decided_at=self._wall_iso()))
                leave_at = iso(self.clock.slot_start(t + 1))
                for r in departed:
                    self._write_departure(s, r, t + 1, leave_at)
        except SQLAlchemyError as err:
            self._failed(err)
        log.debug("slot %d decided in %.3f s", self.sim.slot - 1, time.perf_counter() - started)
        for listener in self.slot_listeners:
            listener()

    def _write_departure(self, s: DbSession, record: int, slot: int, at: str) -> None:
        rec = self.sim.trace.sessions[record]
        row = s.get(SessionRow, rec.session_id)
        if row is None:
            raise ServiceSetupError(f"session {rec.session_id} is in the engine but not in the database")
        row.state = "departed"
        row.departure_soc_pct = _pct(rec.soc_departure)
        row.delivered_kwh = rec.delivered_kwh
        row.payment_usd = rec.payment_usd
        row.departed_at = at
        s.add(PaymentRow(session_id=row.id, amount_usd=rec.payment_usd, delivered_kwh=rec.delivered_kwh,
                         slot=slot, paid_at=at))

    def _failed(self, err: SQLAlchemyError) -> None:
        """A write that did not commit: the engine is ahead of the database, so rebuild it
        from the database (the source of truth) and refuse the request."""
        log.error("database write failed (%s); rebuilding the engine from the database", err)
        self._rebuild()
        raise ServiceError(503, f"the database did not take the change ({err.__class__.__name__}); "
                                "nothing was recorded, retry the request") from None

    def _wall_iso(self) -> str:
        return iso(dt.datetime.fromtimestamp(self._wall(), self.clock.zone))

    # ---- the API's operations -----------------------------------------------------------------

    def arrive(self, req: ArrivalRequest, idempotency_key: str | None,
               received_s: float | None = None) -> tuple[dict[str, Any], bool]:
        """A driver at a charger asks for a menu. Returns the answer and whether it is new
        (``False``: a retry of an earlier request with the same idempotency key).
        ``received_s``: when the request came in (``time.monotonic()``, default now); the menu
        is due ``menu_deadline_s`` later."""
        received_s = time.monotonic() if received_s is None else received_s
        with self._waiting_lock:
            self._arrivals_waiting += 1
        with self.lock:
            with self._waiting_lock:
                self._arrivals_waiting -= 1
            self._advance_to(self.clock.now())
            with self._waiting_lock:
                others_waiting = self._arrivals_waiting > 0
            # With others waiting behind it, a menu that prices would make them late: it takes
            # the fallback at once (docs/service.md, "Menus on time").
            return self.arrive_now(req, idempotency_key, -math.inf if others_waiting else received_s)

    def arrive_now(self, req: ArrivalRequest, idempotency_key: str | None,
                   received_s: float | None = None) -> tuple[dict[str, Any], bool]:
        """:meth:`arrive` at the engine's present, without moving it to the clock first."""
        deadline = self.config.menu_deadline_s
        respond_by = None if deadline is None else (
            time.monotonic() if received_s is None else received_s) + deadline
        with self.lock:
            if idempotency_key is not None:
                with self.db.session() as s:
                    row = s.scalar(select(SessionRow).where(SessionRow.idempotency_key == idempotency_key))
                if row is not None:
                    if row.request_sha256 != req.sha256():
                        raise ServiceError(422, f"Idempotency-Key {idempotency_key!r} was already used for a "
                                                "different request; use a new key for a new arrival")
                    return self._arrival_json(row), False
            session, charger = self._check_arrival(req)
            now = self.clock.now()
            expires = (now.astimezone(dt.UTC) + dt.timedelta(minutes=self.config.menu_minutes)).astimezone(
                self.clock.zone)
            payload = {"charger_index": charger, "arrival_slot": session.arrival_slot,
                       "departure_slot": session.departure_slot, "battery_kwh": session.battery_kwh,
                       "soc_arrival": session.soc_arrival, "soc_requested": session.soc_requested,
                       "expires_at": iso(expires), **req.vehicle_limits}
            menu = self._apply_offer(session.session_id, payload, respond_by)
            fallback = self.pending[session.session_id].menu.fallback
            if fallback is not None:
                payload["menu_fallback"] = fallback
            try:
                with self.db.session() as s, s.begin():
                    seq = self.record_of[session.session_id]
                    s.add(EventRow(kind="offer", slot=session.arrival_slot, session_id=session.session_id,
                                   payload=payload, created_at=self._wall_iso()))
                    row = SessionRow(
                        id=session.session_id, seq=seq, idempotency_key=idempotency_key,
                        request_sha256=req.sha256(), charger_id=req.charger_id, battery_kwh=req.battery_kwh,
                        arrival_soc_pct=float(req.arrival_soc_pct),
                        requested_soc_pct=float(req.requested_soc_pct),
                        arrival_at=iso(now), arrival_slot=session.arrival_slot,
                        requested_departure_at=iso(req.departure.astimezone(self.clock.zone)),
                        requested_departure_slot=session.departure_slot, expires_at=iso(expires),
                        menu=menu, state="offered",
                    )
                    s.add(row)
            except SQLAlchemyError as err:
                self._failed(err)
            return self._arrival_json(row), True

    def _check_arrival(self, req: ArrivalRequest) -> tuple[Session, int]:
        sim = self.sim
        if sim.done:
            end = iso(self.clock.slot_start(self.episode.n_slots))
            raise ServiceError(409, f"the billing period ended at {end}; no more arrivals are taken")
        charger = self.charger_index.get(req.charger_id)
        if charger is None:
            known = ", ".join(self.charger_ids)
            raise ServiceError(422, f"charger_id {req.charger_id!r} is not a charger of site "
                                    f"{self.site.name!r} (chargers: {known})")
        next_decision = self.clock.slot_start(sim.slot)
        departure = req.departure
        if departure <= self.clock.now():
            raise ServiceError(422, f"departure {iso(departure)} is in the past (site time is "
                                    f"{iso(self.clock.now())})")
        if departure <= next_decision:
            raise ServiceError(422, f"departure {iso(departure)} is before the next charging slot starts "
                                    f"at {iso(next_decision)}; nothing could be charged")
        session = Session(uuid.uuid4().hex, sim.slot, self.clock.slot_ending_by(departure), req.battery_kwh,
                          req.soc_arrival, req.soc_requested, **req.vehicle_limits)
        if sim.request_for(session, charger) is None:
            raise ServiceError(409, f"charger {req.charger_id} is in use; choose a free charger")
        return session, charger

    def choose(self, session_id: str, option_id: str, token: str | None,
               operator: bool = False) -> dict[str, Any]:
        """The driver's answer to the menu (an option id, or ``reject``)."""
        with self.lock:
            self._advance_to(self.clock.now())
            return self.choose_now(session_id, option_id, token, operator)

    def choose_now(self, session_id: str, option_id: str, token: str | None,
                   operator: bool = False) -> dict[str, Any]:
        """:meth:`choose` at the engine's present, without moving it to the clock first."""
        with self.lock:
            row = self._row(session_id)
            self._check_token(session_id, token, operator)
            if row.state != "offered":
                if row.option_id == option_id and row.choice_source == "driver":
                    return self._session_json(row)  # a retried answer
                raise ServiceError(409, f"session {session_id} was already answered "
                                        f"({row.option_id!r}, by {row.choice_source}); it is {row.state}")
            menu = self.pending[session_id].menu
            offered = [o.name for o in menu.options] + (["reject"] if menu.reject_allowed else [])
            if option_id not in offered:
                raise ServiceError(422, f"option_id {option_id!r} is not on the menu of session {session_id} "
                                        f"(offered: {', '.join(offered)})")
            row = self._commit_choice(session_id, option_id, "driver", self.clock.now())
            return self._session_json(row)

    def _commit_choice(self, session_id: str, option_id: str, source: str, at: dt.datetime) -> SessionRow:
        self._apply_choice(session_id, option_id)
        rec = self.sim.trace.sessions[self.record_of[session_id]]
        try:
            with self.db.session() as s, s.begin():
                s.add(EventRow(kind="choice", slot=self.sim.slot, session_id=session_id,
                               payload={"option_id": option_id, "source": source},
                               created_at=self._wall_iso()))
                row = s.get(SessionRow, session_id)
                assert row is not None
                row.state = "declined" if rec.rejected else "connected"
                row.option_id = option_id
                row.choice_source = source
                row.chosen_at = iso(at.astimezone(self.clock.zone))
                if not rec.rejected:
                    row.departure_slot = rec.departure_slot
                    row.target_soc_pct = _pct(rec.soc_target)
                    row.price_usd = rec.price_usd
                    row.promised_kwh = rec.promised_kwh
        except SQLAlchemyError as err:
            self._failed(err)
        return row

    def _row(self, session_id: str) -> SessionRow:
        with self.db.session() as s:
            row = s.get(SessionRow, session_id)
        if row is None:
            raise ServiceError(404, f"session {session_id!r} does not exist")
        return row

    def session(self, session_id: str, token: str | None, operator: bool = False) -> dict[str, Any]:
        with self.lock:
            self._advance_to(self.clock.now())
            row = self._row(session_id)
            self._check_token(session_id, token, operator)
            return self._session_json(row)

    def step(self, slots: int) -> dict[str, Any]:
        """Move a manual clock on by ``slots`` slots (deciding each)."""
        with self.lock:
            if self.clock.kind != "manual":
                raise ServiceError(409, f"the clock is {self.clock.kind!r}; only a manual clock is stepped")
            if self.sim.done:
                raise ServiceError(409, "the billing period has ended; the clock does not step further")
            target = min(self.clock.manual_slot + slots, self.episode.n_slots - 1)
            while self.clock.manual_slot < target:
                self.clock.manual_slot += 1
                self._advance_to(self.clock.now())
            return self._status()

    def status(self) -> dict[str, Any]:
        with self.lock:
            self._advance_to(self.clock.now())
            return self._status()

    def _status(self) -> dict[str, Any]:
        sim = self.sim
        p = sim.plugged
        connected = []
        for i in np.flatnonzero(p.occupied).tolist():
            rec = sim.trace.sessions[int(p.record[i])]
            connected.append({
                "session_id": rec.session_id, "charger_id": self.charger_ids[i],
                "set_point_kw": self._current_kw(i), "soc_pct": _pct(p.energy_kwh[i] / p.battery_kwh[i]),
                "target_soc_pct": _pct(rec.soc_target),
                "departure": iso(self.clock.slot_start(rec.departure_slot)),
                "option_id": rec.option,
            })
        return {
            "site": self.site.name,
            "policy": self.config.policy,
            "clock": self.clock.kind,
            "now": iso(self.clock.now()),
            "slot": sim.slot,
            "next_decision_at": None if sim.done else iso(self.clock.slot_start(sim.slot)),
            "billing_period": {"start": iso(self.clock.slot_start(0)),
                               "end": iso(self.clock.slot_start(self.episode.n_slots)), "ended": sim.done},
            "peak_kw_so_far": sim.peak_kw,
            "connected": connected,
            "waiting_for_answer": sorted(self.pending),
            "bill_to_date": self.bill_to_date(),
            "references": {"building_only": self._bill_of(self.sim, building_only=True),
                           "uncontrolled": self._bill_of(self.reference)},
            "replay_mismatches": self.replay_mismatches,
            "not_following": [{"charger_id": self.charger_ids[i], "assumed_kw": kw,
                               "reason": self.fixed_reason.get(i, "")}
                              for i, kw in sorted(self.fixed_kw.items())],
            **({"ocpp": self.ocpp_status()} if self.ocpp_status is not None else {}),
            "solver": {"decisions": len(sim.decision_seconds),
                       "decision_seconds_last": sim.decision_seconds[-1] if sim.decision_seconds else None,
                       **{k: v for k, v in sim.policy.stats().items() if isinstance(v, int | float | str)}},
        }

    def bill_to_date(self) -> dict[str, Any]:
        """The bill of the decided slots and of the sessions that have left (payments are made
        at departure; a connected car's payment and missing SoC count when it leaves)."""
        return self._bill_of(self.sim)

    def _bill_of(self, sim: Simulator, building_only: bool = False) -> dict[str, Any]:
        t = sim.slot
        power = sim.trace.power_kw[:t]
        trace = Trace(dates=sim.trace.dates, chargers=sim.trace.chargers,
                      building_kw=sim.trace.building_kw[:t], price_per_kwh=sim.trace.price_per_kwh[:t],
                      power_kw=np.zeros_like(power) if building_only else power,
                      session_index=sim.trace.session_index[:t])
        occupied = {int(r) for r in sim.plugged.record.tolist() if r >= 0}
        held = {o.record_index for o in sim.offers.values()}
        if not building_only:
            trace.sessions = [r for k, r in enumerate(sim.trace.sessions)
                              if k not in occupied and k not in held]
        figures = bill(trace, self.site)
        return {k: figures[k] for k in (*MONEY, "peak_kw", "energy_delivered_kwh", "unmet_kwh")} | {
            "slots": t, "sessions_settled": len(trace.sessions)}

    def slots(self, since: int = 0) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(SlotRow).where(SlotRow.slot >= since).order_by(SlotRow.slot)).all()
        return [{"slot": r.slot, "start": r.start_at, "building_kw": r.building_kw, "ev_kw": r.ev_kw,
                 "total_kw": r.total_kw, "peak_kw": r.peak_kw, "price_usd_per_kwh": r.price_usd_per_kwh,
                 "power_kw": dict(zip(self.charger_ids, r.power_kw, strict=True)),
                 "session_ids": dict(zip(self.charger_ids, r.session_ids, strict=True)),
                 "decision_seconds": r.decision_seconds} for r in rows]

    def sessions(self) -> list[dict[str, Any]]:
        with self.lock, self.db.session() as s:
            rows = s.scalars(select(SessionRow).order_by(SessionRow.seq)).all()
            return [self._session_json(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Rows per table (tests check that a refused request stored nothing)."""
        with self.db.session() as s:
            return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                    for m in (EventRow, SessionRow, SlotRow, PaymentRow)}

    def day_of(self, slot: int) -> int:
        return slot // SLOTS_PER_DAY

    def seconds_to_next_decision(self) -> float:
        if self.sim.done:
            return math.inf
        return self.clock.wall_seconds_until(self.clock.slot_start(self.sim.slot))
