"""OCPP transactions and accepted charge points (``docs/ocpp.md``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ocpp_transactions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tx_id", sa.String(64), nullable=False),
        sa.Column("charge_point_id", sa.String(48), nullable=False, index=True),
        sa.Column("connector_id", sa.Integer, nullable=False),
        sa.Column("charger_id", sa.String(64), nullable=False, index=True),
        sa.Column("id_tag", sa.String(64), nullable=True),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("start_slot", sa.Integer, nullable=False),
        sa.Column("meter_start_wh", sa.Float, nullable=False),
        sa.Column("meter_base_wh", sa.Float, nullable=True),
        sa.Column("session_id", sa.String(32), nullable=True, index=True),
        sa.Column("import_wh", sa.Float, nullable=True),
        sa.Column("export_wh", sa.Float, nullable=True),
        sa.Column("power_w", sa.Float, nullable=True),
        sa.Column("soc_pct", sa.Float, nullable=True),
        sa.Column("meter_at", sa.String(40), nullable=True),
        sa.Column("stopped_at", sa.String(40), nullable=True),
        sa.Column("meter_stop_wh", sa.Float, nullable=True),
        sa.Column("stop_reason", sa.String(64), nullable=True),
    )
    op.create_table(
        "ocpp_charge_points",
        sa.Column("id", sa.String(48), primary_key=True),
        sa.Column("version", sa.String(8), nullable=False),
        sa.Column("vendor", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("booted_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ocpp_charge_points")
    op.drop_table("ocpp_transactions")
