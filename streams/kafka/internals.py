"""The one door to Faust's, aiokafka's and kafka-python's internals: every private attribute of theirs the platform
touches is touched here (or in patches.py and groups.py), each with why, and tests/streams/kafka/test_internals.py
fails when one is touched anywhere else. `install` is called once at worker start.
"""

from collections.abc import MutableMapping

from faust.stores import memory as memory_store

from civicflow.streams.kafka import patches as kafka_patches
from civicflow.streams.kafka import versions as kafka_versions


def install(settings) -> None:
    """Check the client versions against the tested ones (refusing on others unless accepted), then install the
    corrections the settings' broker needs (patches.py). Called once at worker start, before the app runs."""
    kafka_versions.check(accept_untested=settings.accept_untested_clients)
    kafka_patches.apply(settings)


def aiokafka_producer(app):
    """The aiokafka producer under Faust's: Faust has no public accessor, and the intake's batch sink builds record
    batches with aiokafka's public create_batch/send_batch, which Faust's producer does not expose."""
    return app.producer._ensure_producer()


def table_dict(table) -> MutableMapping:
    """The plain dict that holds a table's data in the app's memory store, where Faust's recovery writes too.

    The store itself is a Mapping whose `get` of a missing key raises and catches KeyError (about 0.5 µs, against
    0.04 for the dict); the intake index reads about six keys per request, most of them missing. The memory store
    keeps the dict in its `data` attribute, which is not part of Faust's documented API.
    """
    store = table.data
    return store.data if isinstance(store, memory_store.Store) else store
