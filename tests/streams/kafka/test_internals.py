"""Third-party internals behind one door: no module outside streams/kafka touches a private attribute of Faust,
aiokafka or kafka-python, and the door's accessors work on the installed versions."""

import ast
import uuid

import faust
import pytest

from civicflow.streams.kafka import internals as kafka_internals
from civicflow.streams.settings import REPO_ROOT

CLIENTS = ("faust", "aiokafka", "kafka", "mode")
DOOR = REPO_ROOT / "streams" / "kafka"


def private_accesses(source: str) -> list[str]:
    """'line: expression' for each private attribute read or written on something other than self or cls, in a
    module that imports one of the client libraries (elsewhere a private attribute is the project's own)."""
    tree = ast.parse(source)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    if not imported & set(CLIENTS):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "getattr", "setattr", "hasattr") and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                and str(node.args[1].value).startswith("_"):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_finds_a_private_access():
    assert private_accesses("import faust\nproducer = app.producer._ensure_producer()\n") == \
        ["2: app.producer._ensure_producer"]
    assert private_accesses("from aiokafka import X\ngetattr(consumer, '_fetcher')\n") != []
    assert private_accesses("import faust\nself._own = 1\n") == []
    assert private_accesses("spec._target_days = 3\n") == []  # no client imported: the project's own object


def test_no_private_access_to_the_clients_outside_streams_kafka():
    offenders = {}
    for root in ("streams", "services"):
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            if DOOR in path.parents:
                continue
            found = private_accesses(path.read_text(encoding="utf-8"))
            if found:
                offenders[str(path.relative_to(REPO_ROOT))] = found
    assert offenders == {}


def test_table_dict_is_the_memory_stores_own_dict(tmp_path):
    app = faust.App(f"door-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1", store="memory://",
                    datadir=str(tmp_path))
    table = app.Table("t", default=None, partitions=1)
    data = kafka_internals.table_dict(table)
    assert type(data) is dict
    data["k"] = "v"
    assert table.data["k"] == "v"  # the store reads what was written to the dict


def test_the_aiokafka_producer_accessor_reaches_fausts_producer(tmp_path):
    """Before the app starts Faust's producer has no aiokafka producer and says so: the private method the door
    calls exists on the installed Faust (tests/streams/pipeline/test_sink_integration.py sends through it)."""
    from faust.exceptions import NotReady

    app = faust.App(f"door-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    with pytest.raises(NotReady):
        kafka_internals.aiokafka_producer(app)
