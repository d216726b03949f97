"""PartialResult and report_partial, the one channel of partial prefetches, without a network."""

import pytest

from federated_fk.exceptions import RemoteHTTPError, RemoteTimeout
from federated_fk.partial import PartialResult
from federated_fk.prefetch import collect_remote_errors, report_partial

B = RemoteHTTPError("shop_b", "http://b/", 503)
C = RemoteTimeout("shop_c", "http://c/", "no answer within 1 s")


def test_raise_first_raises_the_first_failed_project_by_name():
    with pytest.raises(RemoteHTTPError):
        PartialResult(["x"], {"shop_c": C, "shop_b": B}).raise_first()
    assert PartialResult(["x"]).raise_first() == ["x"]


def test_outside_a_block_the_first_failed_project_is_raised():
    with pytest.raises(RemoteHTTPError):
        report_partial(PartialResult([], {"shop_c": C, "shop_b": B}))
    assert report_partial(PartialResult(["x"])) == ["x"]  # nothing failed: the objects


def test_inside_a_block_failures_are_recorded_by_project():
    with collect_remote_errors() as errors:
        assert report_partial(PartialResult(["b"], {"shop_b": B})) == ["b"]
        report_partial(PartialResult([], {"shop_c": C}))
    assert errors == {"shop_b": B, "shop_c": C}
    with pytest.raises(RemoteHTTPError):  # the block is over
        report_partial(PartialResult([], {"shop_b": B}))


def test_blocks_nest():
    with collect_remote_errors() as outer:
        with collect_remote_errors() as inner:
            report_partial(PartialResult([], {"shop_b": B}))
        report_partial(PartialResult([], {"shop_c": C}))
    assert inner == {"shop_b": B} and outer == {"shop_c": C}
