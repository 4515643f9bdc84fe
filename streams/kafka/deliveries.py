"""Which records the consumer hands to the streams: each offset of a partition once between two seeks, and each
input once in an agent's batch.

Faust's consumer drops a record older than the last one it handed over for its partition, but not the record at
that very offset: its read offset is the next one to read after a seek and the last one handed over after that, so
its test is `offset >= read offset`. A record handed over again at the last offset reached the agent twice; with
exactly_once both copies were processed into the same transaction, which committed both (see patches).
"""


class Deliveries:
    """The last offset handed to the streams per partition, since the partition was last sought."""

    def __init__(self) -> None:
        self._last: dict = {}

    def first(self, tp, offset: int) -> bool:
        """Whether the record at `offset` is past the last one handed over for `tp` (then it is the last one now);
        False for a record handed over already."""
        key = (tp.topic, tp.partition)  # Faust's TP or aiokafka's TopicPartition alike
        last = self._last.get(key)
        if last is not None and offset <= last:
            return False
        self._last[key] = offset
        return True

    def sought(self, tps=None) -> None:
        """Forget the last offsets of these partitions (every partition's by default): a seek hands records over
        again from where it went."""
        if tps is None:
            self._last.clear()
        for tp in tps or ():
            self._last.pop((tp.topic, tp.partition), None)


def once_each(events: list) -> list:
    """A batch's events with each input (topic, partition, offset) once, in order: the first copy of one handed
    over twice."""
    seen, kept = set(), []
    for event in events:
        message = event.message
        where = (message.topic, message.partition, message.offset)
        if where not in seen:
            seen.add(where)
            kept.append(event)
    return kept
