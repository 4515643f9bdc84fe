"""The synthetic year of `civicflow bench --year`: new ids, creations spread over 2011, three events a request in
the replay's order, and a small year replayed into a read model with every request in it."""

import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from civicflow.services.bench import year
from civicflow.services.demo import nyc311
from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import Settings

pytestmark = pytest.mark.skipif(not nyc311.SAMPLE.exists(), reason="the shared NYC files are not here")


@pytest.fixture(scope="module")
def reader():
    mapping = replay_mapping.load(format_name=year.API_FORMAT)
    jurisdictions = jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)
    return replay_rows.RowReader(mapping=mapping, jurisdiction=jurisdictions[mapping.jurisdiction_id])


@pytest.fixture(scope="module")
def templates(reader):
    return year.templates(reader=reader, jurisdiction=reader.jurisdiction)


def test_templates_come_from_every_file_and_all_close(templates):
    rows_in_files = sum(1 for path, _ in nyc311.FILES for _ in replay_rows.read(path))
    assert len(templates) == rows_in_files  # every row of the three files is readable
    assert all(delay is not None and delay.total_seconds() >= 0 for _, delay in templates)
    assert {"unique_key", "created_date", "closed_date"}.isdisjoint(templates[0][0])


def test_a_small_year_has_new_ids_three_events_a_request_in_order_and_spans_2011(reader, templates):
    requests = 600
    made = list(year.events(reader=reader, rows=year.rows(requests=requests, templates=templates,
                                                          columns=reader.mapping.columns)))
    assert len(made) == 3 * requests
    submissions = [e for e in made if e.kind == "submission"]
    ids = [e.row["unique_key"] for e in submissions]
    assert sorted(ids, key=int) == [str(year.FIRST_ID + n) for n in range(requests)]
    assert len({e.request_id for e in submissions}) == requests
    assert [(e.at, e.order, e.request_id) for e in made] == sorted((e.at, e.order, e.request_id) for e in made)
    created = [e.at for e in submissions]
    assert min(created) == datetime(2011, 1, 1, 5, tzinfo=timezone.utc)  # midnight in New York
    assert max(created) < datetime(2012, 1, 1, 5, tzinfo=timezone.utc)
    months = {at.astimezone(year.NEW_YORK).month for at in created}
    assert months == set(range(1, 13))
    per_request = {}
    for event in made:
        per_request.setdefault(event.request_id, []).append(event.kind)
    assert set(map(tuple, per_request.values())) == {("submission", "resolved", "closed")}


def test_a_small_year_replays_into_a_read_model_holding_every_request(tmp_path, capsys):
    assert year.main(events_target=900, data_dir=tmp_path, progress=False) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["year_events"] == 900 and result["year_requests"] == 300
    assert result["year_records"]["routed"] + result["year_records"].get("rejected", 0) == 300
    assert result["year_dead_lettered"] == 0
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'year.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from requests")).scalar() == 300
        assert conn.execute(sa.text("select count(*) from requests where open311_status = 'closed'")).scalar() \
            == result["year_records"]["routed"]
    engine.dispose()
