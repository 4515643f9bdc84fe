"""One codebase, two engines: a replay through the local engine (the stage code in process, no broker) and
through the Kafka engine (event-time workers on the real broker) gives byte-identical --json output, identical
summary figures and identical read-model rows, for each shared NYC file."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.services.replay import service as replay_service
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.integration

NYC = SHARED_DATA / "nyc311"
COLUMNS = ("request_id", "external_id", "service_code", "status", "open311_status", "agency", "districts",
           "expected_at", "closed_at", "import_warnings", "rejection_reasons")


def _slice(source: Path, target: Path, rows: int) -> Path:
    """The first `rows` rows of an export (its header kept), for the largest file."""
    with source.open(encoding="utf-8-sig") as handle, target.open("w", encoding="utf-8") as out:
        for n, line in enumerate(handle):
            if n > rows:
                break
            out.write(line)
    return target


def _read_model_rows(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT {', '.join(COLUMNS)} FROM requests ORDER BY request_id")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _replay(settings, path, fmt, tmp_path, engine):
    out = tmp_path / f"{engine}.jsonl"
    done = replay_service.run(settings=settings, path=path, mapping=replay_mapping.load(format_name=fmt),
                              json_path=out, progress=False, engine=engine,
                              read_model=str(tmp_path / f"{engine}.sqlite3"))
    figures = {k: v for k, v in done.figures.items()}
    return out.read_bytes(), figures, done


@pytest.mark.parametrize("name, fmt, rows", [
    ("nyc311_sample_2011.csv", "nyc311", None),
    ("nyc311_2018-10-21.csv", "nyc311", None),
    ("nyc311_2026-08_week.csv", "nyc311-api", 4000),  # the week whole: about 2 minutes more of make test
], ids=["2011", "2018", "2026-first-4000"])
def test_local_and_kafka_engines_agree_byte_for_byte(platform_settings, tmp_path, name, fmt, rows):
    path = NYC / name if rows is None else _slice(NYC / name, tmp_path / name, rows)
    settings = platform_settings()
    local_json, local_figures, local = _replay(settings, path, fmt, tmp_path, "local")
    kafka_json, kafka_figures, kafka = _replay(settings, path, fmt, tmp_path, "kafka")
    assert local_json == kafka_json
    assert local_figures == kafka_figures
    lines = local_json.decode().splitlines()
    assert len(lines) == sum(1 for _ in replay_rows.read(path)) == local_figures["requests"]
    assert not [line for line in map(json.loads, lines) if line["status"] in ("rejected", "missing")]
    assert local_figures["update_rejections"] == [], "every update of a replay finds its request"
    assert _read_model_rows(local.read_model_url) == _read_model_rows(kafka.read_model_url)
    assert len(_read_model_rows(local.read_model_url)) == local_figures["requests"]
