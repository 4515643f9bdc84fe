"""Schemathesis against the API's own OpenAPI document, in process: every documented operation with generated
parameters and form bodies (POSTs carry a valid demo key, so they get past the key check to the rules), on a read
model holding ordinary and extreme rows. No answer is a 5xx, every status is one the document declares, and every
body matches its documented schema (the error lists included).

The Reliability section of docs/testing-and-reliability.md gives the counts (EXAMPLES per operation; the requests
made are printed)."""

import atexit
import itertools
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                status_code_conformance)

from civicflow.services.api.service import create_app
from civicflow.services.readmodel import db
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import Settings
from tests.services.api.helpers import event_row, insert, rejected_row, request_row

EXAMPLES = 60  # per operation (9 operations)
CLIENT_KEYS = ("demo-web-key", "demo-mobile-key", "demo-callcentre-key")
AGENCY_KEYS = ("demo-dot-agency-key", "demo-nypd-agency-key")

_directory = Path(tempfile.mkdtemp(prefix="civicflow-schemathesis-"))
atexit.register(shutil.rmtree, _directory, ignore_errors=True)
_engine = db.engine_for(f"sqlite:///{_directory / 'readmodel.sqlite3'}")
db.migrate(_engine)
_rows = [request_row(), request_row(agency="DOT", service_code="street-sign-missing"), rejected_row(),
         request_row(requested_at=datetime(1, 1, 1, tzinfo=timezone.utc), lat=float("inf"), long=float("nan"),
                     description="<b>\x00 stored before the bounds</b>")]
insert(_engine, requests_rows=_rows, events_rows=[event_row(_rows[0]["request_id"])])
SENT: dict[str, list] = {"requests": [], "updates": []}
app = create_app(settings=Settings(), jurisdictions=jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir),
                 engine=_engine, submit=SENT["requests"].append, send_update=SENT["updates"].append, post_wait_s=0)
schema = schemathesis.openapi.from_asgi("/open311/v2/openapi.json", app)
_keys = {"requests": itertools.cycle(CLIENT_KEYS), "servicerequestupdates": itertools.cycle(AGENCY_KEYS)}
CALLS = {"requests": 0}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error_or_leaves_its_document(case):
    if case.method == "POST" and isinstance(case.body, dict):
        endpoint = case.path.rsplit("/", 1)[-1].removesuffix(".json")
        case.body["api_key"] = next(_keys[endpoint])
        if endpoint == "servicerequestupdates" and len(SENT["updates"]) % 2 == 0:
            case.body["service_request_id"] = _rows[len(SENT["updates"]) % len(_rows)]["request_id"]
    CALLS["requests"] += 1
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])


def test_the_fuzzing_reached_every_operation():
    """Runs after the fuzzing (same module): say how much it did, for docs/testing-and-reliability.md."""
    operations = sum(1 for _ in schema.get_all_operations())
    print(f"\nschemathesis: {operations} operations, {CALLS['requests']} requests, "
          f"{len(SENT['requests'])} submissions and {len(SENT['updates'])} updates sent")
    assert operations == 9 and CALLS["requests"] >= operations
