"""The requests and their event history.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("jurisdiction_id", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(128)),
        sa.Column("service_code", sa.String(128), nullable=False),
        sa.Column("service_name", sa.String(256)),
        sa.Column("service_group", sa.String(256)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("open311_status", sa.String(16), nullable=False),
        sa.Column("status_notes", sa.Text),
        sa.Column("agency", sa.String(64)),
        sa.Column("queue", sa.String(128)),
        sa.Column("channel", sa.String(32)),
        sa.Column("language", sa.String(35)),
        sa.Column("priority", sa.String(32)),
        sa.Column("description", sa.Text),
        sa.Column("lat", sa.Float),
        sa.Column("long", sa.Float),
        sa.Column("address", sa.Text),
        sa.Column("address_id", sa.String(128)),
        sa.Column("zipcode", sa.String(16)),
        sa.Column("media_url", sa.Text),
        sa.Column("districts", sa.Text),
        sa.Column("duplicate_of", sa.String(64)),
        sa.Column("rejection_reasons", sa.Text),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("last_event_at", sa.DateTime(timezone=True)),
        sa.Column("routed", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("requests_requested_at", "requests", ["requested_at"])
    op.create_index("requests_updated_at", "requests", ["updated_at"])
    op.create_index("requests_service_code", "requests", ["service_code"])
    op.create_table(
        "request_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32)),
        sa.Column("open311_status", sa.String(16)),
        sa.Column("agency", sa.String(64)),
        sa.Column("note", sa.Text),
        sa.Column("goal", sa.String(64)),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("request_events_request", "request_events", ["request_id", "occurred_at"])
    op.create_index("request_events_occurred", "request_events", ["occurred_at"])


def downgrade() -> None:
    op.drop_table("request_events")
    op.drop_table("requests")
