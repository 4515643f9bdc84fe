"""Event ids are standard version-5 UUIDs, stable across runs."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from civicflow.streams.events import ids


@given(st.text(max_size=200))
def test_ids_are_the_rfc4122_version5_uuid_of_the_name(name):
    assert ids.uuid5(name) == str(uuid.uuid5(ids.NAMESPACE, name))


def test_an_id_depends_on_request_and_kind_only():
    assert ids.for_request(request_id="r-1", kind="routed") == ids.for_request(request_id="r-1", kind="routed")
    assert ids.for_request(request_id="r-1", kind="routed") != ids.for_request(request_id="r-1", kind="rejected")
