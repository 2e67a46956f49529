"""The first schema: service, events, sessions, slots, payments.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_name", sa.String(200), nullable=False),
        sa.Column("site_sha256", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("days", sa.Integer, nullable=True),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("clock", sa.String(16), nullable=False),
        sa.Column("origin_at", sa.String(40), nullable=False),
        sa.Column("wall_origin_s", sa.Float, nullable=False),
        sa.Column("token_secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("charger_id", sa.String(64), nullable=False, index=True),
        sa.Column("battery_kwh", sa.Float, nullable=False),
        sa.Column("arrival_soc_pct", sa.Float, nullable=False),
        sa.Column("requested_soc_pct", sa.Float, nullable=False),
        sa.Column("arrival_at", sa.String(40), nullable=False),
        sa.Column("arrival_slot", sa.Integer, nullable=False),
        sa.Column("requested_departure_at", sa.String(40), nullable=False),
        sa.Column("requested_departure_slot", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("menu", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("option_id", sa.String(64), nullable=True),
        sa.Column("choice_source", sa.String(16), nullable=True),
        sa.Column("chosen_at", sa.String(40), nullable=True),
        sa.Column("departure_slot", sa.Integer, nullable=True),
        sa.Column("target_soc_pct", sa.Float, nullable=True),
        sa.Column("price_usd", sa.Float, nullable=True),
        sa.Column("promised_kwh", sa.Float, nullable=True),
        sa.Column("departure_soc_pct", sa.Float, nullable=True),
        sa.Column("delivered_kwh", sa.Float, nullable=True),
        sa.Column("payment_usd", sa.Float, nullable=True),
        sa.Column("departed_at", sa.String(40), nullable=True),
    )
    op.create_table(
        "slots",
        sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("start_at", sa.String(40), nullable=False),
        sa.Column("building_kw", sa.Float, nullable=False),
        sa.Column("ev_kw", sa.Float, nullable=False),
        sa.Column("total_kw", sa.Float, nullable=False),
        sa.Column("peak_kw", sa.Float, nullable=False),
        sa.Column("price_usd_per_kwh", sa.Float, nullable=False),
        sa.Column("power_kw", sa.JSON, nullable=False),
        sa.Column("session_ids", sa.JSON, nullable=False),
        sa.Column("decision_seconds", sa.Float, nullable=True),
        sa.Column("decided_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id"), nullable=False, unique=True),
        sa.Column("amount_usd", sa.Float, nullable=False),
        sa.Column("delivered_kwh", sa.Float, nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("paid_at", sa.String(40), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    for table in ("payments", "slots", "sessions", "events", "service"):
        op.drop_table(table)
