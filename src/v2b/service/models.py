"""The service's tables (SQLAlchemy 2.0). ``docs/service.md``, "Data model".

``events`` is the log the engine is rebuilt from on start (every arrival's offer, every
answer, every decided slot, in order); ``sessions``, ``slots`` and ``payments`` are what the
API and the operator read, written in the same transaction as the event they follow from.
Times are ISO 8601 text with the site's UTC offset (the same in SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ServiceRow(Base):
    """The one row that says what this database runs: site, policy, episode, seed, clock."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_name: Mapped[str] = mapped_column(String(200))
    site_sha256: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(64))
    episode: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    clock: Mapped[str] = mapped_column(String(16))
    origin_at: Mapped[str] = mapped_column(String(40))
    wall_origin_s: Mapped[float] = mapped_column(Float)
    token_secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[str] = mapped_column(String(40))


class EventRow(Base):
    """One engine event, in the order applied: ``offer``, ``choice`` or ``slot``."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    slot: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[str] = mapped_column(String(40))


class SessionRow(Base):
    """One arrival: the request, the menu offered, the answer, and the outcome."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    charger_id: Mapped[str] = mapped_column(String(64), index=True)
    battery_kwh: Mapped[float] = mapped_column(Float)
    arrival_soc_pct: Mapped[float] = mapped_column(Float)
    requested_soc_pct: Mapped[float] = mapped_column(Float)
    arrival_at: Mapped[str] = mapped_column(String(40))
    arrival_slot: Mapped[int] = mapped_column(Integer)
    requested_departure_at: Mapped[str] = mapped_column(String(40))
    requested_departure_slot: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[str] = mapped_column(String(40))
    menu: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: offered (waiting for an answer), connected, declined, departed
    state: Mapped[str] = mapped_column(String(16), index=True)
    option_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    choice_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    chosen_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    departure_slot: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target_soc_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    price_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    promised_kwh: Mapped[float | None] = mapped_column(Float, nullable=True)
    departure_soc_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    delivered_kwh: Mapped[float | None] = mapped_column(Float, nullable=True)
    payment_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    departed_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class SlotRow(Base):
    """One decided 15-minute slot: the meter reading and every charger's set-point."""

    __tablename__ = "slots"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start_at: Mapped[str] = mapped_column(String(40))
    building_kw: Mapped[float] = mapped_column(Float)
    ev_kw: Mapped[float] = mapped_column(Float)
    total_kw: Mapped[float] = mapped_column(Float)
    peak_kw: Mapped[float] = mapped_column(Float)
    price_usd_per_kwh: Mapped[float] = mapped_column(Float)
    power_kw: Mapped[list[float]] = mapped_column(JSON)
    session_ids: Mapped[list[str]] = mapped_column(JSON)
    decision_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    decided_at: Mapped[str] = mapped_column(String(40))


class PaymentRow(Base):
    """What a driver paid at departure (on the energy delivered, ``docs/model.md``, "Settlement")."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(32), ForeignKey("sessions.id"), unique=True)
    amount_usd: Mapped[float] = mapped_column(Float)
    delivered_kwh: Mapped[float] = mapped_column(Float)
    slot: Mapped[int] = mapped_column(Integer)
    paid_at: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")


class OcppTransactionRow(Base):
    """One OCPP transaction (``docs/ocpp.md``): the charger that started it, the v2b session it
    is linked to (the driver's request on the same charger), its meter, how it ended. ``id``
    is the OCPP 1.6 ``transactionId`` v2b hands out; 2.0.1 chargers name theirs (``tx_id``)."""

    __tablename__ = "ocpp_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tx_id: Mapped[str] = mapped_column(String(64))
    charge_point_id: Mapped[str] = mapped_column(String(48), index=True)
    connector_id: Mapped[int] = mapped_column(Integer)
    charger_id: Mapped[str] = mapped_column(String(64), index=True)
    id_tag: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[str] = mapped_column(String(40))
    start_slot: Mapped[int] = mapped_column(Integer)
    meter_start_wh: Mapped[float] = mapped_column(Float)
    #: the import register when the session was linked (energy counts from there)
    meter_base_wh: Mapped[float | None] = mapped_column(Float, nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    import_wh: Mapped[float | None] = mapped_column(Float, nullable=True)
    export_wh: Mapped[float | None] = mapped_column(Float, nullable=True)
    power_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    soc_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    meter_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    stopped_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    meter_stop_wh: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OcppChargePointRow(Base):
    """A declared charge point that v2b accepted at BootNotification (it may then reconnect
    without booting again, also after v2b restarts)."""

    __tablename__ = "ocpp_charge_points"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    version: Mapped[str] = mapped_column(String(8))
    vendor: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    booted_at: Mapped[str] = mapped_column(String(40))
