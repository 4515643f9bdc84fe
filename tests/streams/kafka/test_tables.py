"""Faust's RocksDB table store as the lifecycle table uses it: the partition databases recovery writes to, the
persisted changelog offset recovery starts after, and the count of changelog records recovery applies."""

from types import SimpleNamespace

import faust
import pytest
from faust.types import TP

from civicflow.streams.kafka import tables as kafka_tables

CHANGELOG = "t-lifecycle_state-changelog"


@pytest.fixture
def table(tmp_path):
    app = faust.App("t", broker="kafka://127.0.0.1:1", store="rocksdb://", datadir=str(tmp_path), autodiscover=False)
    table = app.Table("lifecycle_state", partitions=2, options={"block_cache_size": 1 << 20})
    yield table
    table.data.reset_state()


def _event(partition: int, offset: int, key: bytes, value: bytes | None):
    message = SimpleNamespace(tp=TP(CHANGELOG, partition), partition=partition, offset=offset, key=key, value=value)
    return SimpleNamespace(message=message)


def test_recovered_records_land_in_the_partition_databases_and_are_counted_by_kind(table):
    counts = kafka_tables.count_recovered(table, standby=lambda tp: tp.partition == 1)
    table.data.apply_changelog_batch([_event(0, 7, b'"a"', b"[1]"), _event(1, 3, b'"b"', b"[2]"),
                                      _event(0, 8, b'"a"', b"[3]")], to_key=None, to_value=None)
    assert counts == {"active": 2, "standby": 1}
    db_for = kafka_tables.partition_db(table)
    assert db_for(0).get(b'"a"') == b"[3]" and db_for(1).get(b'"b"') == b"[2]" and db_for(1).get(b'"a"') is None
    assert table.data.persisted_offset(TP(CHANGELOG, 0)) == 8


def test_a_persisted_offset_is_where_recovery_starts_after(table):
    kafka_tables.set_persisted_offset(table, topic=CHANGELOG, partition=1, offset=41)
    assert table.data.persisted_offset(TP(CHANGELOG, 1)) == 41
    assert kafka_tables.partition_db(table)(1).get(kafka_tables.offset_key(table)) == b"41"
