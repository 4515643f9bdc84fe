"""Access to the local databases of a Faust table on the RocksDB store, for the lifecycle table's own store.

Faust's RocksDB store reads and writes through the partition of the *current event*: its `_set` asserts that
there is one. The lifecycle agent writes states when SLA timers fire, from a Faust timer where there is no
current event, and it writes a state only once the changelog has acknowledged it (so the local database never
holds what the changelog does not). It therefore writes to the partition's database itself, the one Faust's
recovery and standby replicas write to, through the store's `_db_for_partition` (private: the only way to get
the database handle Faust holds open; RocksDB lets one handle per directory).
"""

from collections.abc import Callable, Iterable
from collections import Counter

from faust.types import TP


def partition_db(table) -> Callable[[int], object]:
    """A function giving the open rocksdict database of one partition of the table (opened if needed)."""
    store = table.data
    return store._db_for_partition  # private: see the module's docstring


def offset_key(table) -> bytes:
    """The key under which Faust keeps the partition's persisted changelog offset in its database."""
    return table.data.offset_key


def set_persisted_offset(table, *, topic: str, partition: int, offset: int) -> None:
    """Remember that the local database holds the changelog up to `offset`: recovery starts after it."""
    table.data.set_persisted_offset(TP(topic, partition), offset)


def count_recovered(table, *, standby: Callable[[object], bool]) -> Counter:
    """Count the changelog records Faust's recovery ("active") and standby replicas ("standby") apply to the
    table; `standby(tp)` tells a standby partition.

    Faust applies each batch it reads from a changelog through the store's public `apply_changelog_batch`; the
    store object's method is wrapped (not the class: other tables are left alone) to count what it is given."""
    counts: Counter = Counter()
    store = table.data
    original = store.apply_changelog_batch

    def apply_changelog_batch(batch: Iterable, to_key, to_value) -> None:
        batch = list(batch)
        for event in batch:
            counts["standby" if standby(event.message.tp) else "active"] += 1
        original(batch, to_key, to_value)

    store.apply_changelog_batch = apply_changelog_batch
    return counts
