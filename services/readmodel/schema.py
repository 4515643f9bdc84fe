"""The read model's tables (SQLAlchemy Core). Migrations in migrations/ create them; both SQLite and
PostgreSQL run the same code. Times are stored in UTC. No personal contact details are stored here.
"""

from sqlalchemy import Boolean, Column, DateTime, Float, Index, MetaData, String, Table, Text, false

metadata = MetaData()

requests = Table(
    "requests", metadata,
    Column("request_id", String(64), primary_key=True),
    Column("jurisdiction_id", String(64), nullable=False),
    Column("external_id", String(128)),
    Column("service_code", String(128), nullable=False),
    Column("service_name", String(256)),
    Column("service_group", String(256)),
    Column("status", String(32), nullable=False),            # detailed: triage, open, acknowledged, ... rejected
    Column("open311_status", String(16), nullable=False),    # open or closed
    Column("status_notes", Text),
    Column("agency", String(64)),                            # agency code (agency_responsible shows its name)
    Column("queue", String(128)),
    Column("channel", String(32)),
    Column("language", String(35)),
    Column("priority", String(32)),
    Column("description", Text),
    Column("lat", Float),
    Column("long", Float),
    Column("address", Text),
    Column("address_id", String(128)),
    Column("zipcode", String(16)),
    Column("media_url", Text),
    Column("districts", Text),                               # JSON object {layer: district}
    Column("duplicate_of", String(64)),
    Column("rejection_reasons", Text),                       # JSON array [{code, message, field}] when rejected
    Column("import_warnings", Text),                         # JSON array [{code, message, field}]: an import's
                                                             # warnings (what live intake would have refused)
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("expected_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("last_event_at", DateTime(timezone=True)),        # occurred_at of the newest lifecycle event applied
    Column("routed", Boolean, nullable=False, default=False, server_default=false()),  # routed record applied
)
Index("requests_requested_at", requests.c.requested_at)
Index("requests_updated_at", requests.c.updated_at)
Index("requests_service_code", requests.c.service_code)

events = Table(
    "request_events", metadata,
    Column("event_id", String(64), primary_key=True),        # the platform's deterministic event id
    Column("request_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),  # routed, rejected, update_rejected, or a lifecycle kind (opened, ...)
    Column("status", String(32)),
    Column("open311_status", String(16)),
    Column("agency", String(64)),
    Column("note", Text),
    Column("goal", String(64)),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
Index("request_events_request", events.c.request_id, events.c.occurred_at)
Index("request_events_occurred", events.c.occurred_at)
