"""The lifecycle table's changelog values: RequestState as a JSON list, decoded straight into objects.

Faust decodes changelog records with the changelog topic's value serializer while it recovers the table, so
the recovered store holds compact RequestState objects, not JSON lists.
"""

import orjson
from faust.serializers import codecs

from civicflow.streams.lifecycle.models import RequestState, StoredState

NAME = "civicflow_lifecycle_state"


class StateCodec(codecs.Codec):
    """RequestState ⇄ JSON list bytes."""

    def _loads(self, data: bytes) -> RequestState:
        return loads(data)

    def _dumps(self, state: RequestState) -> bytes:
        return dumps(state)


def loads(data: bytes) -> RequestState:
    return RequestState.from_list(orjson.loads(data))


def stored(data: bytes) -> StoredState:
    """The timers' and counts' view of a stored state, read without building it."""
    return StoredState(orjson.loads(data))


def dumps(state: RequestState) -> bytes:
    return orjson.dumps(state.as_list(work_as_json=True))


codecs.register(NAME, StateCodec())
