from aiokafka.partitioner import murmur2
from hypothesis import given
from hypothesis import strategies as st

from civicflow.streams.kafka import partitioner


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=1000))
def test_the_partition_is_the_one_kafkas_default_partitioner_chooses(key, partitions):
    assert partitioner.partition_for(key, partitions) == (murmur2(key) & 0x7FFFFFFF) % partitions


def test_hashes_match_the_java_clients_murmur2():
    # expected values of Kafka's UtilsTest.testMurmur2 (signed 32-bit), made positive as the partitioner does
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
             b"a-little-bit-longer-string": -1486304829, b"abc": 479470107, b"": 275646681}
    for key, java in cases.items():
        assert partitioner.key_hash(key) == java & 0x7FFFFFFF, key
