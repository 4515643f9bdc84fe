"""Where a topic reader starts and when it has read to the end: plain functions of the offsets."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicflow.services.sdk.consumer import finished, start_positions


@pytest.mark.parametrize("offset,expected", [("beginning", {0: 2, 1: 0}), ("end", {0: 7, 1: 0}),
                                             (5, {0: 5, 1: 0}), (1, {0: 2, 1: 0}), (99, {0: 7, 1: 0}),
                                             (-3, {0: 4, 1: 0}), (-30, {0: 2, 1: 0})])
def test_start_positions(offset, expected):
    assert start_positions(offset, beginnings={0: 2, 1: 0}, ends={0: 7, 1: 0}) == expected


def test_finished_needs_every_partition_at_its_stop():
    assert finished({0: 7, 1: 0}, {0: 7, 1: 0}) and not finished({0: 6, 1: 3}, {0: 7, 1: 0})


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(-(10**7), 10**7))
def test_a_start_is_always_within_the_partition(low, extra, offset):
    high = low + extra
    [position] = start_positions(offset, beginnings={0: low}, ends={0: high}).values()
    assert low <= position <= high
