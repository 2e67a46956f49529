"""OCPP: ``v2b serve`` as the charging station management system of the site's chargers
(``docs/ocpp.md``).

A charge point declared in the site (:class:`v2b.site.OcppChargePoint`) opens a WebSocket at
``/ocpp/{id}`` with the subprotocol ``ocpp1.6`` or ``ocpp2.0.1``; the ``ocpp`` package's
``ChargePoint`` classes speak the protocol, on the service's own event loop. What the
chargers say becomes engine events of :class:`v2b.service.live.LiveSite` (stored, replayed on
restart); what the controller decides goes back to them as charging profiles:

- a transaction (1.6 StartTransaction, 2.0.1 TransactionEvent Started) is linked to the
  session the engine has on the same charger (the driver's request comes through the API or
  the driver page; on 2.0.1 NotifyEVChargingNeeds makes the request itself);
- after each decided slot, every open transaction gets a TxProfile with the slot's set-point
  (0 where no negotiated session is connected), valid to the slot's end plus
  :data:`PROFILE_GRACE`; a charger that loses v2b falls back to the TxDefaultProfile sent at
  boot (``fallback_kw``);
- a profile rejected, or not answered, makes the charger one the controller does not steer
  (``fault`` event: it is assumed to run ``fallback_kw``) until it accepts one again;
- the clock-aligned meter reading at a slot boundary is compared with the engine's battery
  energy; a difference above the meter's resolution corrects the engine (``meter`` event);
- a transaction that ends while its session is connected ends the session (``leave``).

Nothing is sent to a charger from inside a message handler: replies go first, calls are made
from the library's ``after`` hooks, from the connection's own task or from the control loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ocpp.exceptions import (
    FormatViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    SecurityError,
)
from ocpp.messages import CallError, MessageType, unpack
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect

from v2b.service.clock import SLOT
from v2b.service.live import ArrivalRequest, LiveSite, ServiceError, iso
from v2b.service.models import OcppChargePointRow, OcppTransactionRow
from v2b.site import OcppChargePoint

log = logging.getLogger("v2b.service.ocpp")

#: The WebSocket subprotocols taken, and the OCPP version each speaks.
SUBPROTOCOLS = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1"}

#: A TxProfile stays valid this long past its slot's end (the next slot's profile replaces it).
PROFILE_GRACE = dt.timedelta(minutes=5)

#: A meter reading counts as the one at a slot boundary within this much of it.
ALIGNED_WITHIN = dt.timedelta(seconds=60)

#: Below this difference [kWh] a metered battery energy is taken as the engine's (a meter's
#: resolution, 1 Wh), on top of what rounding each slot's limit to 0.1 W or 0.1 A can add up to.
METER_TOLERANCE_KWH = 0.001

#: chargingProfileId of the default profile sent at boot (TxProfiles use the transaction's row id
#: plus this, so the two never collide).
DEFAULT_PROFILE_ID = 1
TX_PROFILE_ID_BASE = 1000


@dataclass
class _Reading:
    at: dt.datetime
    import_wh: float | None = None
    export_wh: float | None = None
    power_w: float | None = None
    soc_pct: float | None = None


@dataclass
class _Profile:
    """What was last sent to a connector, and what came of it."""

    slot: int
    limit: float
    unit: str
    status: str = "sending"


@dataclass
class _State:
    """A charge point as v2b sees it now (not stored: chargers say it again when they connect)."""

    declared: OcppChargePoint | None
    connected: bool = False
    version: str | None = None
    last_seen: str | None = None
    connector_status: dict[int, str] = field(default_factory=dict)
    profiles: dict[int, _Profile] = field(default_factory=dict)


def _parse_time(text: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FormatViolationError(details={"cause": f"{name} {text!r} is not an ISO 8601 time"}) from None
    if moment.tzinfo is None:
        raise FormatViolationError(details={"cause": f"{name} {text!r} has no UTC offset"})
    return moment


_SCALE = {"Wh": 1.0, "kWh": 1000.0, "W": 1.0, "kW": 1000.0, "Percent": 1.0}


def _readings(meter_value: list[dict[str, Any]]) -> list[_Reading]:
    """The totals of OCPP meter values (1.6 and 2.0.1 shapes, snake_case): energy imported
    and exported [Wh], power [W], SoC [%]; per-phase values are left out."""
    out = []
    for mv in meter_value:
        r = _Reading(_parse_time(mv["timestamp"], "meterValue.timestamp"))
        for sv in mv.get("sampled_value", []):
            if sv.get("phase"):
                continue
            measurand = sv.get("measurand", "Energy.Active.Import.Register")
            unit = sv.get("unit") or (sv.get("unit_of_measure") or {}).get("unit")
            multiplier = 10.0 ** (sv.get("unit_of_measure") or {}).get("multiplier", 0)
            try:
                value = float(sv["value"]) * multiplier
            except ValueError:
                raise FormatViolationError(
                    details={"cause": f"sampledValue.value {sv['value']!r} is not a number"}) from None
            if measurand == "Energy.Active.Import.Register":
                r.import_wh = value * _SCALE.get(unit or "Wh", 1.0)
            elif measurand == "Energy.Active.Export.Register":
                r.export_wh = value * _SCALE.get(unit or "Wh", 1.0)
            elif measurand == "Power.Active.Import":
                r.power_w = value * _SCALE.get(unit or "W", 1.0)
            elif measurand == "SoC":
                r.soc_pct = value
        out.append(r)
    return out


class OcppHub:
    """Every charge point of ``live``'s site: connections, transactions, profiles."""

    def __init__(self, live: LiveSite):
        self.live = live
        self.config = live.site.ocpp
        self.declared = {cp.id: cp for cp in self.config.charge_points} if self.config else {}
        self.states: dict[str, _State] = {cp: _State(d) for cp, d in self.declared.items()}
        self.connections: dict[str, _Cp16 | _Cp201] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        #: called after each profile's outcome is known (tests wait on it)
        self.profile_listeners: list[Callable[[str, int, _Profile], None]] = []
        live.ocpp_status = self.status
        live.slot_listeners.append(self.on_slot)

    # ---- the WebSocket ---------------------------------------------------------------------------

    async def serve(self, websocket: WebSocket, cp_id: str) -> None:
        """One charge point's connection, from the handshake to the close."""
        self.loop = asyncio.get_running_loop()
        offered = websocket.scope.get("subprotocols") or []
        declared = self.declared.get(cp_id)
        wanted = [p for p in offered if p in SUBPROTOCOLS and (
            declared is None or SUBPROTOCOLS[p] == declared.version)]
        if not wanted:
            log.warning("charge point %s offered subprotocols %s; v2b takes %s", cp_id, offered,
                        f"ocpp{declared.version}" if declared else ", ".join(SUBPROTOCOLS))
            await websocket.close(code=1002)
            return
        if declared is not None and declared.password_sha256 is not None and not self._authorised(
                websocket, declared):
            log.warning("charge point %s: basic auth missing or wrong", cp_id)
            await websocket.close(code=1008)
            return
        await websocket.accept(subprotocol=wanted[0])
        version = SUBPROTOCOLS[wanted[0]]
        cls = _Cp16 if version == "1.6" else _Cp201
        cp = cls(cp_id, _Connection(websocket), self)
        if self.config is not None:
            cp._response_timeout = self.config.response_timeout_s
        previous = self.connections.get(cp_id)
        self.connections[cp_id] = cp
        state = self.states.setdefault(cp_id, _State(declared))
        state.connected, state.version, state.last_seen = True, version, self._now_iso()
        log.info("charge point %s connected (OCPP %s)", cp_id, version)
        if previous is not None:
            previous.closed = True
        if declared is not None and await asyncio.to_thread(self._booted, cp_id):
            cp.accepted = True
            self._spawn(self.send_current(cp_id))  # a charger back after a drop: its profiles again
        try:
            await cp.start()
        except WebSocketDisconnect:
            pass
        finally:
            cp.closed = True
            if self.connections.get(cp_id) is cp:
                del self.connections[cp_id]
                state.connected = False
            log.info("charge point %s disconnected", cp_id)

    @staticmethod
    def _authorised(websocket: WebSocket, declared: OcppChargePoint) -> bool:
        """OCPP security profile 1: HTTP basic auth, user the charge point's id."""
        header = websocket.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        digest = hashlib.sha256(password.encode()).hexdigest()
        assert declared.password_sha256 is not None
        return user == declared.id and hmac.compare_digest(digest, declared.password_sha256)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _now_iso(self) -> str:
        return iso(self.live.clock.now())

    # ---- database (called in a worker thread) --------------------------------------------------

    def _booted(self, cp_id: str) -> bool:
        with self.live.db.session() as s:
            return s.get(OcppChargePointRow, cp_id) is not None

    def record_boot(self, cp_id: str, version: str, vendor: str, model: str) -> None:
        with self.live.lock, self.live.db.session() as s, s.begin():
            row = s.get(OcppChargePointRow, cp_id)
            if row is None:
                s.add(OcppChargePointRow(id=cp_id, version=version, vendor=vendor[:64], model=model[:64],
                                         booted_at=self._now_iso()))
            else:
                row.version, row.vendor, row.model, row.booted_at = version, vendor[:64], model[:64], \
                    self._now_iso()

    def _connector(self, cp_id: str, connector_id: int | None) -> str:
        """The site charger on ``connector_id`` of ``cp_id`` (an OCPP error if none)."""
        declared = self.declared[cp_id]
        for c in declared.connectors:
            if c.connector_id == connector_id:
                return c.charger
        known = ", ".join(str(c.connector_id) for c in declared.connectors)
        raise PropertyConstraintViolationError(
            details={"cause": f"connector/EVSE {connector_id} is not declared for charge point {cp_id} "
                              f"(declared: {known})"})

    def open_transaction(self, cp_id: str, connector_id: int | None, tx_id: str | None, id_tag: str | None,
                         meter_start_wh: float, started: dt.datetime) -> int:
        """A transaction starts (a repeat of the same start returns the same one)."""
        charger = self._connector(cp_id, connector_id)
        live = self.live
        with live.lock, live.db.session() as s, s.begin():
            open_rows = s.scalars(select(OcppTransactionRow).where(
                OcppTransactionRow.charger_id == charger, OcppTransactionRow.stopped_at.is_(None))).all()
            for row in open_rows:
                if (tx_id is not None and row.tx_id == tx_id) or (
                        tx_id is None and row.started_at == iso(started)
                        and row.meter_start_wh == meter_start_wh):
                    return row.id  # the charger retried a start it did not see answered
            if open_rows:
                raise PropertyConstraintViolationError(details={
                    "cause": f"connector/EVSE {connector_id} of {cp_id} already has transaction "
                             f"{open_rows[0].tx_id} open"})
            row = OcppTransactionRow(tx_id=tx_id or "", charge_point_id=cp_id, connector_id=connector_id or 0,
                                     charger_id=charger, id_tag=id_tag, started_at=iso(started),
                                     start_slot=live.sim.slot, meter_start_wh=meter_start_wh,
                                     import_wh=meter_start_wh)
            s.add(row)
            s.flush()
            if tx_id is None:
                row.tx_id = str(row.id)
            return row.id

    def _open_row(self, s: Any, cp_id: str, tx_id: str) -> OcppTransactionRow:
        row = s.scalar(select(OcppTransactionRow).where(OcppTransactionRow.charge_point_id == cp_id,
                                                        OcppTransactionRow.tx_id == tx_id))
        if row is None:
            raise PropertyConstraintViolationError(
                details={"cause": f"transaction {tx_id} is not a transaction of charge point {cp_id}"})
        return row

    def meter(self, cp_id: str, tx_id: str | None, connector_id: int | None,
              readings: list[_Reading]) -> None:
        """Meter values of an open transaction (by id, or the one open on the connector)."""
        live = self.live
        with live.lock, live.db.session() as s, s.begin():
            if tx_id is None:
                if not readings:
                    return
                charger = self._connector(cp_id, connector_id)
                row = s.scalar(select(OcppTransactionRow).where(
                    OcppTransactionRow.charger_id == charger, OcppTransactionRow.stopped_at.is_(None)))
                if row is None:
                    return  # meter values between transactions: nothing to update
            else:
                row = self._open_row(s, cp_id, tx_id)
                if row.stopped_at is not None:
                    raise PropertyConstraintViolationError(
                        details={"cause": f"transaction {tx_id} of {cp_id} ended at {row.stopped_at}"})
            for r in sorted(readings, key=lambda r: r.at):
                row.import_wh = r.import_wh if r.import_wh is not None else row.import_wh
                row.export_wh = r.export_wh if r.export_wh is not None else row.export_wh
                row.power_w = r.power_w if r.power_w is not None else row.power_w
                row.soc_pct = r.soc_pct if r.soc_pct is not None else row.soc_pct
                row.meter_at = iso(r.at.astimezone(live.clock.zone))
                self._compare(row, r)

    def _compare(self, row: OcppTransactionRow, r: _Reading) -> None:
        """A reading at the boundary of the engine's next decision: the battery energy it
        implies against the engine's; a difference beyond the meter's resolution corrects it."""
        live = self.live
        boundary = live.clock.slot_start(live.sim.slot)
        if abs(r.at - boundary) > ALIGNED_WITHIN or row.session_id is None:
            return
        if live.connected_on(row.charger_id) != row.session_id:
            return
        i = live.charger_index[row.charger_id]
        p, chargers = live.sim.plugged, live.sim.chargers
        rec = live.sim.trace.sessions[int(p.record[i])]
        if r.soc_pct is not None:
            measured = r.soc_pct / 100.0 * p.battery_kwh[i]
        elif row.import_wh is not None and row.meter_base_wh is not None:
            imported = (row.import_wh - row.meter_base_wh) / 1000.0
            exported = (row.export_wh or 0.0) / 1000.0  # the export register counts from the start
            measured = (rec.soc_arrival * rec.battery_kwh + imported * chargers.charge_efficiency[i]
                        - exported / chargers.discharge_efficiency[i])
        else:
            return
        declared, _ = self._declared_of(row.charger_id)
        quantum_kw = 1e-4 if declared.limit_unit == "W" else 0.1 * declared.voltage_v * declared.phases / 1000
        slots = max(live.sim.slot - row.start_slot, 1)  # rounding the limit can add up slot by slot
        tolerance = METER_TOLERANCE_KWH + slots * quantum_kw / 2 * SLOT.total_seconds() / 3600.0
        if abs(measured - float(p.energy_kwh[i])) > tolerance:
            log.info("charger %s: metered battery energy %.3f kWh, engine %.3f kWh; corrected",
                     row.charger_id, measured, float(p.energy_kwh[i]))
            live.charger_event("meter", row.charger_id, energy_kwh=float(measured))

    def _declared_of(self, charger_id: str) -> tuple[OcppChargePoint, int]:
        assert self.config is not None
        found = self.config.connector_of(charger_id)
        assert found is not None
        return found[0], found[1].connector_id

    def close_transaction(self, cp_id: str, tx_id: str, meter_stop_wh: float | None, stopped: dt.datetime,
                          reason: str | None) -> None:
        """A transaction ends: the car is gone; a session still connected on the charger leaves."""
        live = self.live
        with live.lock:
            with live.db.session() as s, s.begin():
                row = self._open_row(s, cp_id, tx_id)
                if row.stopped_at is not None:
                    return  # a repeated stop changes nothing
                row.stopped_at = iso(stopped.astimezone(live.clock.zone))
                row.meter_stop_wh = meter_stop_wh
                if meter_stop_wh is not None:
                    row.import_wh = meter_stop_wh
                row.stop_reason = reason
                charger, session = row.charger_id, row.session_id
            on_charger = live.connected_on(charger)
            if on_charger is not None and on_charger == session:
                live.charger_event("leave", charger)
            elif on_charger is not None and session is None:
                log.warning("charger %s: transaction %s ended before the engine linked session %s to it",
                            charger, tx_id, on_charger)
            if live.fixed_kw.get(live.charger_index[charger]) is not None:
                live.charger_event("fault", charger, fixed_kw=None, reason="transaction ended")

    def charging_needs(self, cp_id: str, evse_id: int, needs: dict[str, Any]) -> str:
        """OCPP 2.0.1 NotifyEVChargingNeeds (ISO 15118): the car's capacity, SoC, energy and
        departure make the driver's request; the menu is answered by the driver page or by the
        site's expiry rule. ``Accepted``, or ``Rejected`` when the car did not say enough."""
        charger = self._connector(cp_id, evse_id)
        dc = needs.get("dc_charging_parameters") or {}
        capacity_wh, soc, departure = dc.get("ev_energy_capacity"), dc.get("state_of_charge"), \
            needs.get("departure_time")
        if not capacity_wh or soc is None or not departure:
            log.info("charger %s: charging needs without capacity, SoC or departure; the driver asks",
                     charger)
            return "Rejected"
        if dc.get("energy_amount") is not None:
            wanted = min(100.0, soc + 100.0 * dc["energy_amount"] / capacity_wh)
        else:
            wanted = float(dc.get("full_soc", 100))
        request = ArrivalRequest(charger, capacity_wh / 1000.0, Decimal(str(soc)), Decimal(repr(wanted)),
                                 _parse_time(departure, "departureTime"))
        try:
            self.live.arrive(request, f"ocpp-{cp_id}-{evse_id}-{departure}-{soc}")
        except ServiceError as err:
            log.info("charger %s: charging needs refused: %s", charger, err.message)
            return "Rejected"
        return "Accepted"

    # ---- profiles ------------------------------------------------------------------------------

    def on_slot(self) -> None:
        """Slot listener (under the engine's lock, after each slot decided live): the slot's
        profiles go out from the event loop."""
        if self.loop is None or not self.declared:
            return
        batch = self._profiles_now()
        if batch:
            self.loop.call_soon_threadsafe(self._spawn, self._send_all(batch))

    def _profiles_now(self, cp_id: str | None = None) -> list[tuple[str, int, str, int, float, int]]:
        """(charge point, connector, tx id, tx row id, kW, slot) for every open transaction
        (of ``cp_id``), linking each to the session the engine has on its charger."""
        live = self.live
        t = live.sim.slot - 1
        if t < 0:
            return []
        out = []
        with live.lock, live.db.session() as s, s.begin():
            query = select(OcppTransactionRow).where(OcppTransactionRow.stopped_at.is_(None))
            if cp_id is not None:
                query = query.where(OcppTransactionRow.charge_point_id == cp_id)
            for row in s.scalars(query.order_by(OcppTransactionRow.id)):
                i = live.charger_index[row.charger_id]
                record = int(live.sim.trace.session_index[t, i])  # the car charged in slot t
                session = live.sim.trace.sessions[record].session_id if record >= 0 else None
                if session is not None and row.session_id is None:
                    row.session_id = session
                    row.meter_base_wh = row.import_wh if row.import_wh is not None else row.meter_start_wh
                kw = 0.0
                if session is not None and session == row.session_id:
                    kw = float(live.sim.trace.power_kw[t, i])
                out.append((row.charge_point_id, row.connector_id, row.tx_id, row.id, kw, t))
        return out

    async def send_current(self, cp_id: str) -> None:
        """The profiles of the present slot to one charge point (after its boot or reconnection)."""
        batch = await asyncio.to_thread(self._profiles_now, cp_id)
        await self._send_all(batch)

    async def _send_all(self, batch: list[tuple[str, int, str, int, float, int]]) -> None:
        await asyncio.gather(*(self._send_profile(*item) for item in batch))

    def _limit(self, declared: OcppChargePoint, kw: float) -> float:
        if declared.version == "1.6":
            kw = max(kw, 0.0)
        if declared.limit_unit == "W":
            return round(kw * 1000.0, 1)
        return round(kw * 1000.0 / (declared.voltage_v * declared.phases), 1)

    async def _send_profile(self, cp_id: str, connector_id: int, tx_id: str, row_id: int, kw: float,
                            slot: int) -> None:
        declared = self.declared[cp_id]
        start = self.live.clock.slot_start(slot)
        limit = self._limit(declared, kw)
        profile = _Profile(slot, limit, declared.limit_unit)
        self.states[cp_id].profiles[connector_id] = profile
        cp = self.connections.get(cp_id)
        outcome = "not connected"
        if cp is not None and not cp.closed:
            try:
                outcome = await cp.send_tx_profile(connector_id, tx_id, TX_PROFILE_ID_BASE + row_id, start,
                                                   limit, declared)
            except TimeoutError:
                outcome = "no answer"
            except OCPPError as err:
                outcome = f"error {err.code}"
            except (WebSocketDisconnect, OSError, RuntimeError) as err:
                # RuntimeError: Starlette's "send once a close message has been sent"
                outcome = f"connection lost ({err.__class__.__name__})"
        profile.status = outcome
        await asyncio.to_thread(self._outcome, cp_id, connector_id, outcome)
        for listener in self.profile_listeners:
            listener(cp_id, connector_id, profile)

    def _outcome(self, cp_id: str, connector_id: int, outcome: str) -> None:
        """A profile accepted clears a charger's fault; any other outcome, where a session is
        connected, makes the controller assume the charger runs its fallback limit."""
        live = self.live
        declared = self.declared[cp_id]
        charger = next(c.charger for c in declared.connectors if c.connector_id == connector_id)
        i = live.charger_index[charger]
        with live.lock:
            faulted = i in live.fixed_kw
            if outcome == "Accepted":
                if faulted:
                    live.charger_event("fault", charger, fixed_kw=None, reason="accepted")
            elif live.connected_on(charger) is not None and live.fixed_reason.get(i) != outcome:
                log.warning("charger %s (%s connector %d): profile %s; planned at its fallback %.1f kW",
                            charger, cp_id, connector_id, outcome, declared.fallback_kw)
                live.charger_event("fault", charger, fixed_kw=declared.fallback_kw, reason=outcome)

    # ---- status ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """For ``/api/status`` (``ocpp``): every charge point, its connectors and open transactions."""
        with self.live.db.session() as s:
            open_rows = s.scalars(select(OcppTransactionRow).where(
                OcppTransactionRow.stopped_at.is_(None)).order_by(OcppTransactionRow.id)).all()
        out = []
        for cp_id, state in sorted(self.states.items()):
            d = state.declared
            out.append({
                "id": cp_id, "declared": d is not None, "version": d.version if d else state.version,
                "connected": state.connected, "last_seen": state.last_seen,
                "connectors": [{
                    "connector_id": c.connector_id, "charger_id": c.charger,
                    "status": state.connector_status.get(c.connector_id),
                    "last_profile": (None if c.connector_id not in state.profiles else {
                        "slot": state.profiles[c.connector_id].slot,
                        "limit": state.profiles[c.connector_id].limit,
                        "unit": state.profiles[c.connector_id].unit,
                        "status": state.profiles[c.connector_id].status}),
                } for c in (d.connectors if d else ())],
            })
        return {"charge_points": out, "open_transactions": [{
            "charge_point_id": r.charge_point_id, "connector_id": r.connector_id, "tx_id": r.tx_id,
            "charger_id": r.charger_id, "session_id": r.session_id, "started_at": r.started_at,
            "import_wh": r.import_wh, "power_w": r.power_w, "soc_pct": r.soc_pct, "meter_at": r.meter_at,
        } for r in open_rows]}


class _Connection:
    """A Starlette WebSocket as the ``ocpp`` package's connection (``recv``/``send``)."""

    def __init__(self, websocket: WebSocket):
        self.websocket = websocket

    async def recv(self) -> str:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("text") is not None:
            return str(message["text"])
        return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")

    async def send(self, text: str) -> None:
        await self.websocket.send_text(text)


class _Common:
    """What both versions' server-side charge points share."""

    hub: OcppHub
    version: str
    accepted: bool
    closed: bool
    id: str

    def _setup(self, hub: OcppHub) -> None:
        self.hub, self.accepted, self.closed = hub, False, False

    async def route_message(self, raw_msg: str) -> None:
        """As the library, but a message that is not OCPP-J at all gets a CALLERROR (id ``-1``
        when none can be read) instead of silence, and nothing from a charge point that has not
        booted is handled but its BootNotification."""
        try:
            msg = unpack(raw_msg)
        except OCPPError as err:
            unique_id = "-1"
            try:
                parsed = json.loads(raw_msg)
                if isinstance(parsed, list) and len(parsed) > 1 and isinstance(parsed[1], str):
                    unique_id = parsed[1]
            except json.JSONDecodeError:
                pass
            log.info("charge point %s: malformed message %r: %s", self.id, raw_msg[:200], err)
            error = CallError(unique_id, err.code, err.description, err.details)
            await self._send(error.to_json())  # type: ignore[attr-defined]
            return
        self.hub.states[self.id].last_seen = self.hub._now_iso()
        if msg.message_type_id == MessageType.Call and not self.accepted and msg.action != "BootNotification":
            error = msg.create_call_error(SecurityError(details={
                "cause": f"{msg.action} before an accepted BootNotification"}))
            await self._send(error.to_json())  # type: ignore[attr-defined]
            return
        await super().route_message(raw_msg)  # type: ignore[misc]

    async def _boot(self, vendor: str, model: str) -> str:
        if self.id not in self.hub.declared:
            log.warning("charge point %r is not declared in the site: BootNotification rejected", self.id)
            return "Rejected"
        await asyncio.to_thread(self.hub.record_boot, self.id, self.version, vendor, model)
        self.accepted = True
        return "Accepted"

    def _interval(self) -> int:
        return self.hub.config.heartbeat_s if self.hub.config else 300

    async def _after_boot(self) -> None:
        if not self.accepted:
            return
        await self._send_default_profile()
        await self.hub.send_current(self.id)

    async def _send_default_profile(self) -> None:
        declared = self.hub.declared[self.id]
        limit = self.hub._limit(declared, declared.fallback_kw)
        try:
            await self.send_default_profile(limit, declared)  # type: ignore[attr-defined]
        except (TimeoutError, OCPPError, WebSocketDisconnect, OSError, RuntimeError) as err:
            log.warning("charge point %s: default profile not set (%s)", self.id, err.__class__.__name__)

    async def _run(self, work: Callable[..., Any], *args: Any) -> Any:
        """Engine and database work off the event loop."""
        try:
            return await asyncio.to_thread(work, *args)
        except SQLAlchemyError:
            from ocpp.exceptions import InternalError

            raise InternalError(details={"cause": "the database did not take the change; retry"}) from None


def _period(limit: float, declared: OcppChargePoint) -> dict[str, Any]:
    period: dict[str, Any] = {"start_period": 0, "limit": limit}
    if declared.limit_unit == "A":
        period["number_phases"] = declared.phases
    return period


class _Cp16(_Common, ChargePoint16):
    """OCPP 1.6J, server side."""

    version = "1.6"

    def __init__(self, cp_id: str, connection: _Connection, hub: OcppHub):
        ChargePoint16.__init__(self, cp_id, connection)
        self._setup(hub)

    @on("BootNotification")
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        status = await self._boot(charge_point_vendor, charge_point_model)
        return result16.BootNotification(current_time=self.hub._now_iso(), interval=self._interval(),
                                         status=status)

    @after("BootNotification")
    async def after_boot(self, **_: Any) -> None:
        await self._after_boot()

    @on("Heartbeat")
    def on_heartbeat(self) -> Any:
        return result16.Heartbeat(current_time=self.hub._now_iso())

    @on("StatusNotification")
    def on_status(self, connector_id: int, error_code: str, status: str, **_: Any) -> Any:
        self.hub.states[self.id].connector_status[connector_id] = status
        return result16.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str) -> Any:
        return result16.Authorize(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    async def on_start(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str,
                       **_: Any) -> Any:
        row_id = await self._run(self.hub.open_transaction, self.id, connector_id, None, id_tag,
                                 float(meter_start), _parse_time(timestamp, "timestamp"))
        return result16.StartTransaction(transaction_id=row_id, id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    async def on_meter(self, connector_id: int, meter_value: list[dict[str, Any]],
                       transaction_id: int | None = None) -> Any:
        tx = None if transaction_id is None else str(transaction_id)
        await self._run(self.hub.meter, self.id, tx, connector_id, _readings(meter_value))
        return result16.MeterValues()

    @on("StopTransaction")
    async def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, reason: str | None = None,
                      transaction_data: list[dict[str, Any]] | None = None, **_: Any) -> Any:
        if transaction_data:
            await self._run(self.hub.meter, self.id, str(transaction_id), None, _readings(transaction_data))
        await self._run(self.hub.close_transaction, self.id, str(transaction_id), float(meter_stop),
                        _parse_time(timestamp, "timestamp"), reason)
        return result16.StopTransaction(id_tag_info={"status": "Accepted"})

    async def send_tx_profile(self, connector_id: int, tx_id: str, profile_id: int, start: dt.datetime,
                              limit: float, declared: OcppChargePoint) -> str:
        profile = {
            "charging_profile_id": profile_id, "transaction_id": int(tx_id), "stack_level": 1,
            "charging_profile_purpose": "TxProfile", "charging_profile_kind": "Absolute",
            "valid_from": iso(start), "valid_to": iso(start + SLOT + PROFILE_GRACE),
            "charging_schedule": {"charging_rate_unit": declared.limit_unit, "start_schedule": iso(start),
                                  "duration": int((SLOT + PROFILE_GRACE).total_seconds()),
                                  "charging_schedule_period": [_period(limit, declared)]},
        }
        answer = await self.call(call16.SetChargingProfile(connector_id=connector_id,
                                                           cs_charging_profiles=profile), suppress=False)
        return str(answer.status)

    async def send_default_profile(self, limit: float, declared: OcppChargePoint) -> str:
        profile = {
            "charging_profile_id": DEFAULT_PROFILE_ID, "stack_level": 0,
            "charging_profile_purpose": "TxDefaultProfile", "charging_profile_kind": "Relative",
            "charging_schedule": {"charging_rate_unit": declared.limit_unit,
                                  "charging_schedule_period": [_period(limit, declared)]},
        }
        answer = await self.call(call16.SetChargingProfile(connector_id=0, cs_charging_profiles=profile),
                                 suppress=False)
        return str(answer.status)


class _Cp201(_Common, ChargePoint201):
    """OCPP 2.0.1, server side."""

    version = "2.0.1"

    def __init__(self, cp_id: str, connection: _Connection, hub: OcppHub):
        ChargePoint201.__init__(self, cp_id, connection)
        self._setup(hub)

    @on("BootNotification")
    async def on_boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
        status = await self._boot(str(charging_station.get("vendor_name", "")),
                                  str(charging_station.get("model", "")))
        return result201.BootNotification(current_time=self.hub._now_iso(), interval=self._interval(),
                                          status=status)

    @after("BootNotification")
    async def after_boot(self, **_: Any) -> None:
        await self._after_boot()

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return result201.Heartbeat(current_time=self.hub._now_iso())

    @on("StatusNotification")
    def on_status(self, timestamp: str, connector_status: str, evse_id: int, connector_id: int,
                  **_: Any) -> Any:
        self.hub.states[self.id].connector_status[evse_id] = connector_status
        return result201.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        return result201.Authorize(id_token_info={"status": "Accepted"})

    @on("TransactionEvent")
    async def on_transaction(self, event_type: str, timestamp: str, trigger_reason: str, seq_no: int,
                             transaction_info: dict[str, Any],
                             meter_value: list[dict[str, Any]] | None = None,
                             evse: dict[str, Any] | None = None, id_token: dict[str, Any] | None = None,
                             **_: Any) -> Any:
        tx_id = str(transaction_info["transaction_id"])
        readings = _readings(meter_value or [])
        at = _parse_time(timestamp, "timestamp")
        if event_type == "Started":
            if evse is None:
                raise PropertyConstraintViolationError(
                    details={"cause": "TransactionEvent Started without evse: which EVSE?"})
            start_wh = next((r.import_wh for r in readings if r.import_wh is not None), 0.0)
            await self._run(self.hub.open_transaction, self.id, int(evse["id"]), tx_id,
                            (id_token or {}).get("id_token"), float(start_wh), at)
        if readings:
            await self._run(self.hub.meter, self.id, tx_id, None, readings)
        if event_type == "Ended":
            stop_wh = next((r.import_wh for r in reversed(readings) if r.import_wh is not None), None)
            await self._run(self.hub.close_transaction, self.id, tx_id, stop_wh, at,
                            transaction_info.get("stopped_reason"))
        if event_type not in ("Started", "Ended") and not readings:
            await self._run(self.hub.meter, self.id, tx_id, None, [])  # unknown transaction: an error
        info = {"id_token_info": {"status": "Accepted"}} if id_token else {}
        return result201.TransactionEvent(**info)

    @on("MeterValues")
    async def on_meter(self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any) -> Any:
        await self._run(self.hub.meter, self.id, None, evse_id, _readings(meter_value))
        return result201.MeterValues()

    @on("NotifyEVChargingNeeds")
    async def on_needs(self, charging_needs: dict[str, Any], evse_id: int, **_: Any) -> Any:
        status = await self._run(self.hub.charging_needs, self.id, evse_id, charging_needs)
        return result201.NotifyEVChargingNeeds(status=status)

    def _profile(self, profile_id: int, purpose: str, limit: float, declared: OcppChargePoint,
                 start: dt.datetime | None = None, tx_id: str | None = None) -> dict[str, Any]:
        schedule: dict[str, Any] = {"id": profile_id, "charging_rate_unit": declared.limit_unit,
                                    "charging_schedule_period": [_period(limit, declared)]}
        profile: dict[str, Any] = {"id": profile_id, "stack_level": 1 if tx_id else 0,
                                   "charging_profile_purpose": purpose,
                                   "charging_profile_kind": "Absolute" if start else "Relative",
                                   "charging_schedule": [schedule]}
        if start is not None:
            schedule["start_schedule"] = iso(start)
            schedule["duration"] = int((SLOT + PROFILE_GRACE).total_seconds())
            profile["valid_from"] = iso(start)
            profile["valid_to"] = iso(start + SLOT + PROFILE_GRACE)
        if tx_id is not None:
            profile["transaction_id"] = tx_id
        return profile

    async def send_tx_profile(self, connector_id: int, tx_id: str, profile_id: int, start: dt.datetime,
                              limit: float, declared: OcppChargePoint) -> str:
        answer = await self.call(call201.SetChargingProfile(
            evse_id=connector_id,
            charging_profile=self._profile(profile_id, "TxProfile", limit, declared, start, tx_id)),
            suppress=False)
        return str(answer.status)

    async def send_default_profile(self, limit: float, declared: OcppChargePoint) -> str:
        answer = await self.call(call201.SetChargingProfile(
            evse_id=0,
            charging_profile=self._profile(DEFAULT_PROFILE_ID, "TxDefaultProfile", limit, declared)),
            suppress=False)
        return str(answer.status)
