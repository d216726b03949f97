"""Faults of a remote: retries, the circuit breaker, caps, redirects, wrong types."""

import time

import pytest

from federated_fk.exceptions import (
    RemoteCircuitOpen,
    RemoteConnectionError,
    RemoteHTTPError,
    RemoteProtocolError,
)
from federated_fk.models import GenericContentType
from federated_fk.remote.loop import get_loop, run
from tests.servers import MisbehavingServer, free_port

pytestmark = pytest.mark.django_db

BOOK = {"__typename": "Book", "id": "1", "title": "Dune", "price": "9.50", "pages": 412}
OK = {"data": {"_entities": [BOOK]}}


@pytest.fixture
def book_type(db):
    return GenericContentType.objects.create(
        project="shop_b",
        app_label="shop",
        model="book",
        type_name="Book",
        in_schema=True,
        fields=["title", "price", "pages"],
        field_types={"title": "String!", "price": "Decimal!", "pages": "Int"},
    )


@pytest.fixture
def remote(settings, misbehaving):
    """shop_b, served by the misbehaving server; returns its settings to adjust."""
    project = {"URL": misbehaving.url, "TIMEOUT": 3, "RETRY_BACKOFF": 0.01}
    settings.FEDERATION = {**settings.FEDERATION, "PROJECTS": {"shop_b": project}}
    return project


def load(book_type, pk=1):
    return book_type.model_class()(pk).title


def test_failed_reads_are_retried(book_type, remote, misbehaving):
    misbehaving.answer(OK)
    misbehaving.queue(({}, 503), ({}, 502))
    assert load(book_type) == "Dune"
    assert misbehaving.requests == 3


def test_the_query_is_posted_as_its_text(book_type, remote, misbehaving):
    import json

    from federated_fk.remote.entities import ENTITIES_QUERY

    misbehaving.answer(OK)
    assert load(book_type) == "Dune"
    (body,) = [json.loads(b) for b in misbehaving.bodies]
    fragment = book_type.model_class()._meta.entity_type().fragment(frozenset())
    assert body == {
        # As built, not parsed and printed again.
        "query": ENTITIES_QUERY.format(fragments=fragment),
        "variables": {"representations": [{"__typename": "Book", "id": "1"}]},
    }


def test_retries_are_bounded_in_count(book_type, remote, misbehaving):
    remote["RETRIES"] = 1
    misbehaving.answer({}, status=503)
    with pytest.raises(RemoteHTTPError, match="HTTP 503"):
        load(book_type)
    assert misbehaving.requests == 2


def test_client_errors_are_not_retried(book_type, remote, misbehaving):
    misbehaving.answer({}, status=400)
    with pytest.raises(RemoteHTTPError, match="HTTP 400"):
        load(book_type)
    assert misbehaving.requests == 1


def test_retries_stay_within_the_timeout(book_type, remote, misbehaving):
    remote.update(TIMEOUT=0.5, RETRY_BACKOFF=2.0)  # a backoff longer than what is left
    misbehaving.answer({}, status=503)
    started = time.monotonic()
    with pytest.raises(RemoteHTTPError):
        load(book_type)
    assert misbehaving.requests == 1
    assert time.monotonic() - started < 0.5


class FakeClock:
    """A clock the test moves by hand: the breaker's cooldowns pass without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    """Sessions made during the test read this clock; they are dropped afterwards."""
    client_loop = get_loop()
    fake = client_loop.clock = FakeClock()
    yield fake
    client_loop.clock = time.monotonic
    run(client_loop.close_all(), timeout=5)


def test_a_dead_remote_opens_the_circuit_then_is_tried_again(book_type, remote, misbehaving, clock):
    remote.update(BREAKER_THRESHOLD=3, BREAKER_COOLDOWN=30, RETRIES=0)
    misbehaving.answer({}, status=502)
    for _ in range(3):
        with pytest.raises(RemoteHTTPError):
            load(book_type)
    with pytest.raises(RemoteCircuitOpen, match="not tried: 3 calls in a row failed"):
        load(book_type)
    assert misbehaving.requests == 3  # a failure without a request
    misbehaving.answer(OK)  # the remote comes back...
    clock.now += 29.9
    with pytest.raises(RemoteCircuitOpen, match=r"next try in 0\.1 s"):
        load(book_type)  # ...but the cooldown is not over
    clock.now += 0.1
    assert load(book_type) == "Dune"
    assert load(book_type) == "Dune"  # closed again
    assert misbehaving.requests == 5


def test_refused_connections_are_retried_then_reported(book_type, remote):
    remote.update(URL=f"http://127.0.0.1:{free_port()}/graphql/", RETRIES=2)
    started = time.monotonic()
    with pytest.raises(RemoteConnectionError, match="connection refused"):
        load(book_type)
    assert time.monotonic() - started < 1


def test_answers_larger_than_the_cap_are_refused(book_type, remote, misbehaving):
    remote["MAX_RESPONSE_BYTES"] = 1000
    misbehaving.answer({"data": {"_entities": [{**BOOK, "title": "x" * 5000}]}})
    with pytest.raises(RemoteProtocolError, match="more than 1000 bytes"):
        load(book_type)


def test_redirects_to_another_host_are_not_followed(book_type, remote, misbehaving):
    other = MisbehavingServer().start()
    try:
        other.answer(OK)
        elsewhere = other.url.replace("127.0.0.1", "localhost")
        misbehaving.answer(b"", status=307, headers={"Location": elsewhere})
        with pytest.raises(RemoteProtocolError, match="redirect to localhost refused"):
            load(book_type)
        assert other.requests == 0
    finally:
        other.stop()


@pytest.mark.parametrize(
    ("entity", "reason"),
    [
        ({**BOOK, "title": 5}, "title is not a String!"),
        ({**BOOK, "pages": "many"}, "pages is not a Int"),
        ({**BOOK, "title": None}, "title is not a String!"),
        ({**BOOK, "price": {"amount": 1}}, "price is not a Decimal!"),
    ],
)
def test_fields_of_the_wrong_type_are_refused(book_type, remote, misbehaving, entity, reason):
    misbehaving.answer({"data": {"_entities": [entity]}})
    with pytest.raises(RemoteProtocolError) as raised:
        load(book_type)
    assert str(raised.value).endswith(f"Book '1': {reason}")


def test_a_nullable_field_may_be_null(book_type, remote, misbehaving):
    misbehaving.answer({"data": {"_entities": [{**BOOK, "pages": None}]}})
    assert book_type.model_class()(1).pages is None


def test_a_reset_connection_is_reported(book_type, remote):
    """A server that accepts, then resets the connection (RST) before answering."""
    import socket
    import struct
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []

    def reset_every_connection() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.recv(65536)
            # Linger 0: close() sends RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=reset_every_connection, daemon=True).start()
    remote.update(URL=f"http://127.0.0.1:{listener.getsockname()[1]}/graphql/", RETRIES=1)
    try:
        with pytest.raises(RemoteConnectionError) as raised:
            load(book_type)
    finally:
        listener.close()
    assert str(raised.value).endswith("is unavailable: connection reset")
    assert len(accepted) == 2  # tried, then retried once
