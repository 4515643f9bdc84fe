import io
import json
import logging

import pytest
import structlog

from civicflow.streams.observability import logs


@pytest.fixture
def json_lines():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    logs.configure(log_format="json", level="INFO").setStream(out)

    def read() -> list[dict]:
        return [json.loads(line) for line in out.getvalue().splitlines()]

    yield read
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    structlog.reset_defaults()


def test_lines_inside_bound_source_name_the_record_and_lines_after_do_not(json_lines):
    log = structlog.get_logger("test")
    with logs.bound_source("intake", 3, 42):
        log.info("inside", request_id="r-1")
        logging.getLogger("faust.test").warning("stdlib inside")
    log.info("after")
    inside, stdlib, after = json_lines()
    assert (inside["topic"], inside["partition"], inside["offset"], inside["request_id"]) == ("intake", 3, 42, "r-1")
    assert (stdlib["topic"], stdlib["partition"], stdlib["offset"]) == ("intake", 3, 42)
    assert not {"topic", "partition", "offset"} & after.keys()


def test_nested_sources_restore_the_outer_one_and_explicit_fields_win(json_lines):
    log = structlog.get_logger("test")
    with logs.bound_source("intake", 0, 1):
        with logs.bound_source("routed", 5, 9):
            log.info("inner", offset=99)
        log.info("outer")
    inner, outer = json_lines()
    assert (inner["topic"], inner["partition"], inner["offset"]) == ("routed", 5, 99)
    assert (outer["topic"], outer["partition"], outer["offset"]) == ("intake", 0, 1)
