"""Identical fetches in flight share one request, against real subgraph processes.

A gate in front of a subgraph (``Gate``: an HTTP proxy that holds every
request until the test opens it) keeps the first request in flight while the
other fetches start, so that "concurrent" is certain rather than likely. The
subgraph behind it counts the requests that reach it (``stats()``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web
from asgiref.sync import ThreadSensitiveContext
from django.core.cache import caches
from django.db import connections

from federated_fk import conf
from federated_fk.exceptions import RemoteAuthenticationError
from federated_fk.partial import PartialResult
from federated_fk.prefetch import aprefetch_related_objects
from federated_fk.remote import afetch_remote_objects, fetch_remote_objects
from federated_fk.remote.cache import (
    _generation_key,
    credential_identity,
    forget_project,
    fresh,
    invalidate,
)
from federated_fk.remote.inflight import in_flight
from federated_fk.remote.loop import get_loop, run
from tests.federated_fk.conftest import async_ready_stand_in
from tests.servers import free_port
from tests.testapp.models import Reference

pytestmark = pytest.mark.django_db

#: Longer than any wait below, so that a held request never times out.
TIMEOUT = 20


class Gate:
    """An HTTP proxy in front of a subgraph that holds every request until opened.

    :param upstream: the subgraph's URL
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql/"
        #: The Authorization header of each request, in arrival order.
        self.credentials: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> Gate:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)
        return self

    async def _serve(self) -> None:
        self.passes = asyncio.Semaphore(0)
        self.opened = False
        app = web.Application()
        app.router.add_post("/graphql/", self._forward)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.session = aiohttp.ClientSession()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        credential = request.headers.get("Authorization", "")
        self.credentials.append(credential)
        if not self.opened:
            await self.passes.acquire()  # in arrival order
        headers = {"Content-Type": "application/json"}
        if credential:
            headers["Authorization"] = credential
        async with self.session.post(self.upstream, data=body, headers=headers) as answer:
            return web.Response(
                status=answer.status, body=await answer.read(), content_type="application/json"
            )

    def release(self, count: int) -> None:
        """Let the first ``count`` requests held through (in arrival order)."""
        for _ in range(count):
            self.loop.call_soon_threadsafe(self.passes.release)

    def open(self) -> None:
        """Let every request through, from now on."""

        def open_all() -> None:
            self.opened = True
            for _ in range(len(self.credentials)):
                self.passes.release()

        self.loop.call_soon_threadsafe(open_all)

    def stop(self) -> None:
        async def close() -> None:
            await self.session.close()
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def gate(federation, shop_b):
    """shop_b, reached through a gate."""
    gate = Gate(shop_b.url).start()
    federation["PROJECTS"]["shop_b"].update(URL=gate.url, TIMEOUT=TIMEOUT)
    yield gate
    gate.open()
    gate.stop()


@pytest.fixture
def c_gate(federation, shop_c):
    """shop_c, reached through a gate."""
    gate = Gate(shop_c.url).start()
    federation["PROJECTS"]["shop_c"].update(URL=gate.url, TIMEOUT=TIMEOUT)
    yield gate
    gate.open()
    gate.stop()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.005)


async def await_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.005)


def waiting(project: str = "shop_b") -> int:
    """How many fetches wait for requests in flight to ``project``."""
    return in_flight().waiting(project)


def requests(server) -> tuple[int, int]:
    stats = server.stats()
    return stats["graphql_requests"], stats["representations"]


def titles(objects) -> list[str]:
    return sorted((o.title for o in objects), key=lambda t: int(t.rsplit(" ", 1)[1]))


def book_titles(ids) -> list[str]:
    return [f"B Book {i}" for i in ids if i % 100]  # every hundredth book is hidden


@pytest.fixture
def book(synced):
    return async_ready_stand_in(synced, "shop_b", "Book")


# One request for many fetches.


@pytest.mark.django_db(transaction=True)
def test_concurrent_prefetches_in_threads_make_one_request(synced, gate, shop_b):
    ct = synced[("shop_b", "Book")]
    ids = list(range(1, 21))
    Reference.objects.bulk_create(Reference(content_type=ct, object_id=str(i)) for i in ids)
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def page(n: int) -> None:
        try:
            refs = list(Reference.objects.order_by("pk").prefetch_related("content_object"))
            results[n] = [r.content_object for r in refs]
        except BaseException as exc:  # recorded; the test fails on it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=page, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    wait_until(lambda: waiting() == 8, "eight prefetches waiting")
    gate.open()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert requests(shop_b) == (1, 20)
    assert len(gate.credentials) == 1
    for objects in results.values():
        assert [o and o.title for o in objects] == [f"B Book {i}" for i in ids]
    # Each page has objects of its own, with field values of its own.
    every = [o for objects in results.values() for o in objects]
    assert len({id(o) for o in every}) == len(every) == 160
    assert len({id(o._data) for o in every}) == 160


def test_concurrent_async_fetches_make_one_request(book, gate, shop_b):
    ids = list(range(1, 31))

    async def main():
        tasks = [asyncio.ensure_future(afetch_remote_objects({book: ids})) for _ in range(8)]
        await await_until(lambda: waiting() == 8, "eight fetches waiting")
        gate.open()
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert requests(shop_b) == (1, 30)
    for result in results:
        assert result.errors == {}
        assert titles(result.objects) == book_titles(ids)
    every = [o for result in results for o in result.objects]
    assert len({id(o._data) for o in every}) == len(every) == 8 * 30


@pytest.mark.django_db(transaction=True)
def test_concurrent_async_prefetches_make_one_request(synced, gate, shop_b):
    ct = synced[("shop_b", "Book")]
    Reference.objects.bulk_create(Reference(content_type=ct, object_id=str(i)) for i in (4, 5))
    pages = [list(Reference.objects.order_by("pk")) for _ in range(5)]
    for page in pages:  # the content types, read in sync code
        for ref in page:
            ref.content_type  # noqa: B018

    async def prefetch(page):
        # One context per page, as Django's ASGI handler gives each request.
        async with ThreadSensitiveContext():
            await aprefetch_related_objects(page, "content_object")

    async def main():
        tasks = [asyncio.ensure_future(prefetch(page)) for page in pages]
        await await_until(lambda: waiting() == 5, "five prefetches waiting")
        gate.open()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert requests(shop_b) == (1, 2)
    assert [[r.content_object.title for r in page] for page in pages] == [
        ["B Book 4", "B Book 5"]
    ] * 5


def test_overlapping_fetches_ask_only_for_what_is_not_in_flight(book, gate, shop_b):
    async def main():
        first = asyncio.ensure_future(afetch_remote_objects({book: range(1, 11)}))
        await await_until(lambda: waiting() == 1, "the first fetch in flight")
        # 5-10 are in flight: joined; 11-15 are asked for.
        second = asyncio.ensure_future(afetch_remote_objects({book: range(5, 16)}))
        await await_until(lambda: waiting() == 3, "the second fetch joining")
        # All of 1-15 is in flight, in two requests: nothing is asked for.
        third = asyncio.ensure_future(afetch_remote_objects({book: range(1, 16)}))
        await await_until(lambda: waiting() == 5, "the third fetch joining both")
        assert len(gate.credentials) == 2
        gate.open()
        return await asyncio.gather(first, second, third)

    first, second, third = asyncio.run(main())
    assert requests(shop_b) == (2, 10 + 5)
    assert titles(first.objects) == book_titles(range(1, 11))
    assert titles(second.objects) == book_titles(range(5, 16))
    assert titles(third.objects) == book_titles(range(1, 16))


def test_a_request_for_two_types_is_shared_type_by_type(book, synced, gate, shop_b):
    audiobook = async_ready_stand_in(synced, "shop_b", "Audiobook")

    async def main():
        # One request for both types: books 1-5 and audiobooks 1-3.
        first = asyncio.ensure_future(
            afetch_remote_objects({book: range(1, 6), audiobook: [1, 2, 3]})
        )
        await await_until(lambda: waiting() == 1, "the first fetch in flight")
        # Books 3-5 are joined, 6-7 asked for; audiobooks 2-3 are joined, 4 asked for.
        second = asyncio.ensure_future(
            afetch_remote_objects({audiobook: [2, 3, 4], book: range(3, 8)})
        )
        await await_until(lambda: waiting() == 3, "the second fetch joining and sending")
        assert len(gate.credentials) == 2
        gate.open()
        return await asyncio.gather(first, second)

    first, second = asyncio.run(main())
    assert requests(shop_b) == (2, 8 + 3)
    # Every object of both requests has left the table: a later fetch joins nothing.
    later = asyncio.run(afetch_remote_objects({book: [3, 6], audiobook: [2, 4]}))
    assert requests(shop_b) == (3, 8 + 3 + 4)
    assert len(later.objects) == 4
    assert sorted(o.title for o in first.objects) == sorted(
        book_titles(range(1, 6)) + [f"B Audiobook {i}" for i in (1, 2, 3)]
    )
    assert sorted(o.title for o in second.objects) == sorted(
        book_titles(range(3, 8)) + [f"B Audiobook {i}" for i in (2, 3, 4)]
    )


def test_a_later_chunk_joins_what_another_fetch_has_in_flight(book, federation, gate, shop_b):
    federation["PROJECTS"]["shop_b"]["BATCH_SIZE"] = 2

    async def main():
        # Chunks [1, 2] and [3, 4], one after the other: [1, 2] is sent.
        first = asyncio.ensure_future(afetch_remote_objects({book: [1, 2, 3, 4]}))
        await await_until(lambda: len(gate.credentials) == 1, "the first chunk sent")
        # [1, 2] is joined; [3, 4] is not in flight yet: sent.
        second = asyncio.ensure_future(afetch_remote_objects({book: [1, 2, 3, 4]}))
        await await_until(lambda: waiting() == 3, "the second fetch joining and sending")
        gate.release(1)  # [1, 2] answered: the first fetch's [3, 4] is in flight already
        await await_until(lambda: waiting() == 2, "the first fetch joining [3, 4]")
        gate.open()
        return await asyncio.gather(first, second)

    first, second = asyncio.run(main())
    assert requests(shop_b) == (2, 4)
    assert titles(first.objects) == titles(second.objects) == book_titles([1, 2, 3, 4])


def test_a_fetch_of_several_projects_shares_per_project(book, synced, gate, c_gate, shop_b, shop_c):
    c_book = async_ready_stand_in(synced, "shop_c", "Book")

    async def main():
        tasks = [
            asyncio.ensure_future(afetch_remote_objects({book: [1, 2], c_book: [3]}))
            for _ in range(4)
        ]
        await await_until(
            lambda: waiting("shop_b") == 4 and waiting("shop_c") == 4, "four fetches waiting"
        )
        gate.open()
        c_gate.open()
        return await asyncio.gather(*tasks)

    for result in asyncio.run(main()):
        assert sorted(o.title for o in result.objects) == ["B Book 1", "B Book 2", "C Book 3"]
    assert requests(shop_b) == (1, 2)
    assert requests(shop_c) == (1, 1)


# Never across credentials, never past freshness.


def test_two_credentials_make_two_requests(book, federation, gate, shop_b):
    project = federation["PROJECTS"]["shop_b"]
    project["TOKEN"] = "first-credential"

    async def main():
        first = asyncio.ensure_future(afetch_remote_objects({book: [1, 2, 3]}))
        await await_until(lambda: waiting() == 1, "the first fetch in flight")
        project["TOKEN"] = "second-credential"
        second = asyncio.ensure_future(afetch_remote_objects({book: [1, 2, 3]}))
        await await_until(lambda: len(gate.credentials) == 2, "the second request")
        gate.open()
        return await asyncio.gather(first, second)

    first, second = asyncio.run(main())
    assert gate.credentials == ["Bearer first-credential", "Bearer second-credential"]
    assert requests(shop_b) == (2, 6)
    assert titles(first.objects) == titles(second.objects) == book_titles([1, 2, 3])


def test_inside_fresh_a_fetch_joins_nothing_and_later_fetches_join_it(book, gate, shop_b):
    async def fetch_fresh():
        with fresh():
            return await afetch_remote_objects({book: [1, 2]})

    async def main():
        older = asyncio.ensure_future(afetch_remote_objects({book: [1, 2]}))
        await await_until(lambda: waiting() == 1, "a fetch in flight")
        confirming = asyncio.ensure_future(fetch_fresh())
        await await_until(lambda: len(gate.credentials) == 2, "the fresh fetch's own request")
        # A later fetch joins the newer request, the fresh one.
        later = asyncio.ensure_future(afetch_remote_objects({book: [1, 2]}))
        await await_until(lambda: waiting() == 2, "the later fetch joining")
        gate.open()
        return await asyncio.gather(older, confirming, later)

    for result in asyncio.run(main()):
        assert titles(result.objects) == ["B Book 1", "B Book 2"]
    assert requests(shop_b) == (2, 4)


@pytest.fixture
def cached(federation):
    """shop_b's objects are kept in the cache (so fetches read its generation)."""
    federation["PROJECTS"]["shop_b"]["CACHE_TIMEOUT"] = 300
    caches["default"].clear()
    yield
    caches["default"].clear()


def test_after_a_generation_change_a_fetch_joins_nothing(book, cached, federation, gate, shop_b):
    identity = credential_identity(conf.project_settings("shop_b"))

    async def main():
        first = asyncio.ensure_future(afetch_remote_objects({book: [1, 2]}))
        await await_until(lambda: waiting() == 1, "a fetch in flight")
        # Another process's follower dropped the project's cached objects:
        # only the generation in the shared cache says so.
        caches["default"].set(_generation_key(identity), "another-generation", None)
        second = asyncio.ensure_future(afetch_remote_objects({book: [1, 2]}))
        await await_until(lambda: len(gate.credentials) == 2, "the second request")
        # This process's own forget_project closes what is in flight at once.
        forget_project("shop_b")
        third = asyncio.ensure_future(afetch_remote_objects({book: [1, 2]}))
        await await_until(lambda: len(gate.credentials) == 3, "the third request")
        gate.open()
        return await asyncio.gather(first, second, third)

    for result in asyncio.run(main()):
        assert titles(result.objects) == ["B Book 1", "B Book 2"]
    assert requests(shop_b) == (3, 6)


def test_after_an_invalidation_a_fetch_asks_again_for_those_ids(book, gate, shop_b):
    entity_type = book._meta.entity_type()

    async def main():
        first = asyncio.ensure_future(afetch_remote_objects({book: range(1, 11)}))
        await await_until(lambda: waiting() == 1, "a fetch in flight")
        await asyncio.to_thread(invalidate, {entity_type: [3, 4]})  # as the follower does
        second = asyncio.ensure_future(afetch_remote_objects({book: range(1, 11)}))
        await await_until(lambda: len(gate.credentials) == 2, "the second request")
        gate.open()
        return await asyncio.gather(first, second)

    first, second = asyncio.run(main())
    assert titles(first.objects) == titles(second.objects) == book_titles(range(1, 11))
    assert requests(shop_b) == (2, 10 + 2)


def test_sharing_can_be_switched_off(book, federation, gate, shop_b):
    federation["PROJECTS"]["shop_b"]["SHARE_FETCHES"] = False

    async def main():
        tasks = [asyncio.ensure_future(afetch_remote_objects({book: [1]})) for _ in range(3)]
        await await_until(lambda: len(gate.credentials) == 3, "three requests")
        gate.open()
        return await asyncio.gather(*tasks)

    for result in asyncio.run(main()):
        assert titles(result.objects) == ["B Book 1"]
    assert requests(shop_b) == (3, 3)


# Failures and cancellations.


def test_a_failing_shared_request_fails_every_joiner(
    book, synced, federation, c_gate, shop_b, shop_c
):
    federation["PROJECTS"]["shop_c"]["TOKEN"] = "not-shop-c-s-token"
    c_book = async_ready_stand_in(synced, "shop_c", "Book")

    async def main():
        tasks = [
            asyncio.ensure_future(afetch_remote_objects({book: [1], c_book: [1, 2]}))
            for _ in range(5)
        ]
        await await_until(lambda: waiting("shop_c") == 5, "five fetches waiting")
        c_gate.open()
        return await asyncio.gather(*tasks)

    results: list[PartialResult] = asyncio.run(main())
    assert requests(shop_c) == (1, 2)
    errors = [result.errors["shop_c"] for result in results]
    assert all(type(error) is RemoteAuthenticationError for error in errors)
    assert len({id(error) for error in errors}) == 5  # each fetch its own error
    assert {str(error) for error in errors} == {str(errors[0])}
    assert "shop_c" in str(errors[0]) and "not-shop-c-s-token" not in str(errors[0])
    for result in results:  # the other project's objects are there (a partial result)
        assert [o.title for o in result.objects] == ["B Book 1"]
        with pytest.raises(RemoteAuthenticationError):
            result.raise_first()


def test_a_joiner_that_gives_up_leaves_the_request_to_the_others(book, gate, shop_b):
    async def main():
        owner = asyncio.ensure_future(afetch_remote_objects({book: [1, 2]}))
        await await_until(lambda: waiting() == 1, "a fetch in flight")
        quitter = asyncio.ensure_future(afetch_remote_objects({book: [1, 2]}))
        stayer = asyncio.ensure_future(afetch_remote_objects({book: [2]}))
        await await_until(lambda: waiting() == 3, "two fetches joining")
        quitter.cancel()
        await asyncio.sleep(0.05)
        gate.open()
        return await asyncio.gather(owner, stayer, quitter, return_exceptions=True)

    owner, stayer, quitter = asyncio.run(main())
    assert isinstance(quitter, asyncio.CancelledError)
    assert titles(owner.objects) == ["B Book 1", "B Book 2"]
    assert titles(stayer.objects) == ["B Book 2"]
    assert requests(shop_b) == (1, 2)


def test_a_sync_joiner_that_times_out_leaves_the_request_to_the_owner(book, gate, shop_b):
    """A sync caller's wait ends (``run``'s timeout cancels its part); the request goes on."""
    future = get_loop().submit(_afetch(book, [7]))
    wait_until(lambda: waiting() == 1, "a fetch in flight")
    with pytest.raises(TimeoutError):
        run(_afetch(book, [7]), timeout=0.2)
    wait_until(lambda: waiting() == 1, "the joiner gone")
    gate.open()
    assert titles(future.result(30).objects) == ["B Book 7"]
    assert requests(shop_b) == (1, 1)


async def _afetch(book, ids):
    return await afetch_remote_objects({book: ids})


def test_a_sync_fetch_joins_an_async_one(book, gate, shop_b):
    async def main():
        task = asyncio.ensure_future(afetch_remote_objects({book: [8, 9]}))
        await await_until(lambda: waiting() == 1, "a fetch in flight")
        joiner = asyncio.ensure_future(asyncio.to_thread(fetch_remote_objects, {book: [9]}))
        await await_until(lambda: waiting() == 2, "the sync fetch joining")
        gate.open()
        return await asyncio.gather(task, joiner)

    first, second = asyncio.run(main())
    assert titles(first.objects) == ["B Book 8", "B Book 9"]
    assert titles(second.objects) == ["B Book 9"]
    assert requests(shop_b) == (1, 2)
