"""kafka-python group consumers, built here with one correction to kafka-python's group join (every broker).

The platform's own readers (projection, notifier), the demo agencies and the agency SDK read with kafka-python
consumer groups. kafka-python 3.0.12 drives a join (JoinGroup, then SyncGroup) as a task that outlives one
`poll(timeout_ms)`: when the poll's time runs out first, the task is left to finish and the next poll awaits it.
But the next poll only looks when the coordinator still "needs a rejoin", and a rejoin that the consumer's own
checks asked for (the metadata of a subscribed topic changed: a topic created after the consumer subscribed, or
partitions added; the subscription changed) stops needing one as soon as the leader has computed the assignment.
A SyncGroup answered after the poll's time ran out is then never applied: the consumer keeps no partition, its
heartbeats stay off (they are off during a join), the broker drops it from the group after its session timeout,
and it reads nothing until it is restarted, silently. Found by an agency consumer that subscribed while its work
topic's metadata had not reached it yet (it received nothing for 90 s; tests/streams/kafka/test_groups.py makes
that happen every time).

The correction, two private methods of kafka-python's ConsumerCoordinator (and its private `_join_task`):
`need_rejoin` also answers yes while a join attempt the coordinator started is unfinished with, so the next poll
looks; `join_group_async` first applies a join that ended unseen, with the steps kafka-python's own loop takes
after a join it saw end (state stable, heartbeats on, the assignment applied); a join that ended in an error is
dropped and the loop joins again, as kafka-python does after such an error.
"""

from kafka import KafkaConsumer
from kafka.coordinator import consumer as kafka_coordinator
from kafka.structs import MemberState

from civicflow.streams.kafka import security as kafka_security

_KEPT = "_civicflow_original_join_group_async"


def finish_interrupted_joins() -> None:
    """Install the correction above; a second call changes nothing."""
    cls = kafka_coordinator.ConsumerCoordinator
    if hasattr(cls, _KEPT):
        return
    need_rejoin, join_group_async = cls.need_rejoin, cls.join_group_async
    setattr(cls, _KEPT, join_group_async)

    def need_rejoin_or_unfinished(self) -> bool:
        return self._join_task is not None or need_rejoin(self)

    async def join_group_or_finish(self, timeout_ms=None):
        task = self._join_task
        if task is not None and task.is_done:
            self._join_task = None
            if task.succeeded():
                await _complete(self, assignment_bytes=task.value)
                if not self.need_rejoin():
                    return True
        return await join_group_async(self, timeout_ms=timeout_ms)

    cls.need_rejoin = need_rejoin_or_unfinished
    cls.join_group_async = join_group_or_finish


async def _complete(coordinator, *, assignment_bytes: bytes) -> None:
    """What kafka-python's join_group_async does after a join it saw succeed (kafka-python 3.0.12)."""
    with coordinator._lock:
        coordinator.rejoining = False
        coordinator.rejoin_needed = False
        coordinator.state = MemberState.STABLE
        coordinator._enable_heartbeat()
    generation = coordinator._generation
    await coordinator._on_join_complete_async(generation.generation_id, generation.member_id, generation.protocol,
                                              assignment_bytes)


def group_consumer(*topics: str, bootstrap_servers: str, security: kafka_security.ClientSecurity,
                   **config) -> KafkaConsumer:
    """kafka-python's KafkaConsumer of `topics` on the cluster, with `security` and `config` (group_id among it),
    its group joins corrected."""
    finish_interrupted_joins()
    return KafkaConsumer(*topics, bootstrap_servers=bootstrap_servers, **config, **security.kafka_python())
