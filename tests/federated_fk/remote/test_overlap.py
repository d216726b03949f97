"""A fetch's requests overlap: the next batch is under way while an answer is converted.

Proved by order, not by time: a gate in front of a subgraph holds requests
until the test lets them through (``Gate``, from ``test_shared_fetches``), and
the request-started signal and a recording wrapper of the conversion write one
log on the client loop, in the order things happen there.
"""

from __future__ import annotations

import concurrent.futures

import pytest

from federated_fk.exceptions import RemoteProtocolError
from federated_fk.remote import entities, events, fetch_remote_objects
from tests.federated_fk.conftest import async_ready_stand_in
from tests.federated_fk.remote.test_shared_fetches import (
    TIMEOUT,
    Gate,
    book_titles,
    requests,
    titles,
    wait_until,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(synced):
    return async_ready_stand_in(synced, "shop_b", "Book")


@pytest.fixture
def c_book(synced):
    return async_ready_stand_in(synced, "shop_c", "Book")


@pytest.fixture
def gates(federation, shop_b, shop_c):
    """shop_b and shop_c, each reached through a gate."""
    made = {}
    for project, server in (("shop_b", shop_b), ("shop_c", shop_c)):
        made[project] = Gate(server.url).start()
        federation["PROJECTS"][project].update(URL=made[project].url, TIMEOUT=TIMEOUT)
    yield made
    for gate in made.values():
        gate.open()
        gate.stop()


@pytest.fixture
def log(monkeypatch):
    """What happens on the client loop, in order: requests started, entities converted."""
    happened: list[tuple[str, object]] = []

    def started(sender, remote_request, **kwargs) -> None:
        happened.append(("request", remote_request.project))

    def converting(session, entity_type, representation, entity, reads):
        happened.append(("converted", int(representation["id"])))
        return fields(session, entity_type, representation, entity, reads)

    fields = entities._fields
    monkeypatch.setattr(entities, "_fields", converting)  # records, then does the work
    events.remote_request_started.connect(started, weak=False)
    yield happened
    events.remote_request_started.disconnect(started)


def run_in_thread(fetch):
    """Start ``fetch`` on a thread of its own; return what to call for its result."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(fetch)
    pool.shutdown(wait=False)
    return lambda: future.result(TIMEOUT)


def test_next_batch_is_sent_before_the_answer_is_converted(book, federation, shop_b, log):
    federation["PROJECTS"]["shop_b"].update(BATCH_SIZE=120, CONCURRENT_BATCHES=1)
    ids = list(range(1, 361))
    fetched = fetch_remote_objects({book: ids})
    assert fetched.errors == {}
    assert titles(fetched.objects) == book_titles(ids)
    assert requests(shop_b) == (3, 360)  # one request per BATCH_SIZE, as before
    # The second request starts as soon as the first answer (ids 1-120) is
    # read, before it is converted; the third as soon as the second is read.
    order = [what if what == "request" else n for what, n in log]
    assert order.count("request") == 3
    _, second, third = [i for i, what in enumerate(order) if what == "request"]
    assert order.index(1) > second and order.index(121) > third
    assert order.index(241) > third


def test_one_batch_at_the_remote_when_concurrent_batches_is_one(book, federation, gates, shop_b):
    federation["PROJECTS"]["shop_b"].update(BATCH_SIZE=100, CONCURRENT_BATCHES=1)
    gate = gates["shop_b"]
    result = run_in_thread(lambda: fetch_remote_objects({book: list(range(1, 301))}))
    wait_until(lambda: len(gate.credentials) == 1, "the first request at the gate")
    assert len(gate.credentials) == 1  # the second waits for the first answer
    gate.open()
    fetched = result()
    assert titles(fetched.objects) == book_titles(range(1, 301))
    assert requests(shop_b) == (3, 300)


def test_two_batches_reach_the_remote_before_either_is_answered(book, federation, gates, shop_b):
    federation["PROJECTS"]["shop_b"].update(BATCH_SIZE=100, CONCURRENT_BATCHES=2)
    gate = gates["shop_b"]
    result = run_in_thread(lambda: fetch_remote_objects({book: list(range(1, 301))}))
    wait_until(lambda: len(gate.credentials) == 2, "two requests held at the gate")
    gate.release(1)  # the first answer lets the third batch go
    wait_until(lambda: len(gate.credentials) == 3, "the third request at the gate")
    gate.open()
    fetched = result()
    assert titles(fetched.objects) == book_titles(range(1, 301))
    assert requests(shop_b) == (3, 300)


def test_projects_batches_reach_their_remotes_together(
    book, c_book, federation, gates, shop_b, shop_c
):
    for project in ("shop_b", "shop_c"):
        federation["PROJECTS"][project].update(BATCH_SIZE=100, CONCURRENT_BATCHES=1)
    wanted = {book: list(range(1, 201)), c_book: list(range(1, 201))}
    result = run_in_thread(lambda: fetch_remote_objects(wanted))
    for project in ("shop_b", "shop_c"):
        wait_until(lambda g=gates[project]: len(g.credentials) == 1, f"{project}'s first request")
    for gate in gates.values():
        gate.open()
    fetched = result()
    assert fetched.errors == {}
    b_books = [o for o in fetched.objects if isinstance(o, book)]
    assert titles(b_books) == book_titles(range(1, 201))
    assert requests(shop_b) == requests(shop_c) == (2, 200)


def test_a_failed_answer_cancels_the_batch_sent_after_it(book, federation, shop_b, monkeypatch):
    federation["PROJECTS"]["shop_b"].update(BATCH_SIZE=100, CONCURRENT_BATCHES=1)
    fields = entities._fields

    def refuse_the_first_batch(session, entity_type, representation, entity, reads):
        if representation["id"] == "80":  # a fault: the answer does not match
            raise RemoteProtocolError(session.project, session.endpoint, "injected")
        return fields(session, entity_type, representation, entity, reads)

    monkeypatch.setattr(entities, "_fields", refuse_the_first_batch)
    fetched = fetch_remote_objects({book: list(range(1, 301))})
    # The project fails whole; the batch sent meanwhile is not used.
    assert fetched.objects == []
    assert isinstance(fetched.errors["shop_b"], RemoteProtocolError)
    # The next fetch is not held up by what was cancelled.
    monkeypatch.setattr(entities, "_fields", fields)
    fetched = fetch_remote_objects({book: list(range(1, 301))})
    assert fetched.errors == {}
    assert titles(fetched.objects) == book_titles(range(1, 301))
