"""collect_remote_errors and record_remote_errors, without a network."""

import pytest

from federated_fk.exceptions import RemoteHTTPError, RemoteTimeout
from federated_fk.prefetch import collect_remote_errors, record_remote_errors

B = RemoteHTTPError("shop_b", "http://b/", 503)
C = RemoteTimeout("shop_c", "http://c/", "no answer within 1 s")


def test_outside_a_block_the_first_failed_project_is_raised():
    with pytest.raises(RemoteHTTPError):
        record_remote_errors({"shop_c": C, "shop_b": B})
    record_remote_errors({})  # nothing failed: nothing raised


def test_inside_a_block_failures_are_recorded_by_project():
    with collect_remote_errors() as errors:
        record_remote_errors({"shop_b": B})
        record_remote_errors({"shop_c": C})
    assert errors == {"shop_b": B, "shop_c": C}
    with pytest.raises(RemoteHTTPError):  # the block is over
        record_remote_errors({"shop_b": B})


def test_blocks_nest():
    with collect_remote_errors() as outer:
        with collect_remote_errors() as inner:
            record_remote_errors({"shop_b": B})
        record_remote_errors({"shop_c": C})
    assert inner == {"shop_b": B} and outer == {"shop_c": C}
