"""Whether the read model holds every request submitted so far, from the consumer groups' committed offsets: the
intake workers' group has committed the end of the intake topic, and then the projection's group the ends of the
routed and rejected topics (read after, so they hold the outcome of every submission intake had taken). A request
the read model then lacks was never submitted before the question was asked: POST servicerequestupdates answers
404 for it instead of a token."""

import time
from collections.abc import Callable

from civicflow.services.sdk import progress as sdk_progress
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import Settings

CACHE_S = 0.5  # a "yes" is good for this long: a burst of updates about unknown ids asks the broker once


def checker(settings: Settings) -> Callable[[], bool]:
    """A function answering the question for this platform's topics and groups (raises when Kafka cannot be
    asked; the API then cannot know)."""
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    bootstrap = settings.bootstrap_servers
    security = kafka_security.from_settings(settings)
    last_yes = [float("-inf")]

    def caught_up(group: str, names: list[str]) -> bool:
        ends = sdk_progress.end_offsets(bootstrap_servers=bootstrap, security=security, topics=names)
        done = sdk_progress.committed(bootstrap_servers=bootstrap, security=security, group=group)
        return all(done.get(key, -1) >= end for key, end in ends.items() if end > 0)

    def complete() -> bool:
        if time.monotonic() - last_yes[0] < CACHE_S:
            return True
        answer = caught_up(settings.app_id, [topics.intake]) and \
            caught_up(f"{settings.app_id}-readmodel", [topics.routed, topics.rejected])
        if answer:
            last_yes[0] = time.monotonic()
        return answer

    return complete
