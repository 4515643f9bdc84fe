"""Dead letters: input that cannot be decoded or processed, kept with its raw bytes and the reason (intake and
lifecycle alike)."""

from datetime import datetime

from civicflow.streams.events import ids


def dead_letter(*, source: tuple[str, int, int], key: bytes | None, value: bytes | None,
                code: str, reason: str, now: datetime | int) -> dict:
    """A DeadLetter record keeping the raw input bytes; `now` an aware datetime or epoch milliseconds (the
    contract's timestamp-millis: the same bytes)."""
    topic, partition, offset = source
    return {
        "event_id": ids.for_input(topic=topic, partition=partition, offset=offset, kind="dead_letter"),
        "source_topic": topic, "source_partition": partition, "source_offset": offset,
        "dead_lettered_at": now,
        "reason_code": code,
        "reason": reason,
        "key": key, "value": value,
    }
