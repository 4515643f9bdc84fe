"""The API in process: the real NYC jurisdiction, a real SQLite read model, submit/send_update as lists."""

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from civicflow.services.api.service import create_app
from civicflow.services.readmodel import db
from civicflow.services.readmodel.schema import events, requests
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import Settings


class Sent:
    """What the API handed to the platform."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.updates: list[dict] = []
        self.on_submit = None  # optional callable(record): the "pipeline" reacting to a submission
        self.on_update = None  # optional callable(record): the "lifecycle" deciding on an update

    def submit(self, record: dict) -> None:
        self.requests.append(record)
        if self.on_submit is not None:
            self.on_submit(record)

    def send_update(self, record: dict) -> None:
        self.updates.append(record)
        if self.on_update is not None:
            self.on_update(record)


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("readmodel") / "readmodel.sqlite3"
    engine = db.engine_for(f"sqlite:///{path}")
    db.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def empty_read_model(request):
    """Every test starts on an empty read model (when it uses one)."""
    if "engine" in request.fixturenames:
        engine = request.getfixturevalue("engine")
        with engine.begin() as conn:
            conn.execute(sa.delete(events))
            conn.execute(sa.delete(requests))


@pytest.fixture
def sent():
    return Sent()


@pytest.fixture
def make_client(jurisdictions, engine, sent):
    def make(post_wait_s: float = 0.2, read_model_complete=None) -> TestClient:
        app = create_app(settings=Settings(), jurisdictions=jurisdictions, engine=engine, submit=sent.submit,
                         send_update=sent.send_update, post_wait_s=post_wait_s,
                         read_model_complete=read_model_complete)
        return TestClient(app)

    return make


@pytest.fixture
def client(make_client):
    return make_client()
