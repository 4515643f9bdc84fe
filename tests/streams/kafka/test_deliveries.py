"""Each record of a partition is handed to the streams once between two seeks, and each input is in a batch once."""

from types import SimpleNamespace

from aiokafka import TopicPartition
from faust.types import TP

from civicflow.streams.kafka import deliveries


def test_a_record_at_or_before_the_last_one_handed_over_is_not_new_until_its_partition_is_sought():
    handed, tp = deliveries.Deliveries(), TP("intake", 3)
    assert handed.first(tp, 1047) and handed.first(tp, 1048)
    assert not handed.first(tp, 1048), "the last record again"
    assert not handed.first(tp, 1000)
    assert handed.first(TP("intake", 2), 1000), "partitions are apart"

    handed.sought([TopicPartition("intake", 3)])  # aiokafka's partitions name the same ones
    assert handed.first(tp, 1000)
    assert not handed.first(TP("intake", 2), 1000)
    handed.sought()
    assert handed.first(TP("intake", 2), 1000)


def _event(offset: int, partition: int = 3):
    return SimpleNamespace(message=SimpleNamespace(topic="intake", partition=partition, offset=offset))


def test_a_batch_keeps_the_first_copy_of_an_input_handed_over_twice():
    first, again, other = _event(1048), _event(1048), _event(1048, partition=2)
    batch = [_event(1047), first, again, other]
    assert deliveries.once_each(batch) == [batch[0], first, other]
