"""LifespanHandler: the remote client on the server's event loop.

In-process through the ASGI lifespan protocol, fetching from a real subgraph
process; and the demo's shop_a under uvicorn.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import SynchronousOnlyOperation

from federated_fk.asgi import LifespanHandler
from federated_fk.observability import remote_request_started
from federated_fk.remote import afetch_remote_objects, fetch_remote_objects
from federated_fk.remote import loop as client_loop
from tests.federated_fk.conftest import async_ready_stand_in

pytestmark = pytest.mark.django_db


class Lifespan:
    """Drives the ASGI lifespan of ``application`` on the running loop, as a server does."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[str] = []
        self.task: asyncio.Task[None] | None = None

    async def _send(self, message: dict[str, Any]) -> None:
        self.sent.append(message["type"])

    async def _until(self, sent: str) -> None:
        for _ in range(500):
            if sent in self.sent:
                return
            assert self.task is not None and not self.task.done(), self.task
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {sent}: sent {self.sent}")

    async def start(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        self.task = asyncio.ensure_future(self.application(scope, self.inbox.get, self._send))
        await self.inbox.put({"type": "lifespan.startup"})
        await self._until("lifespan.startup.complete")
        return self

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self._until("lifespan.shutdown.complete")
        assert self.task is not None
        await asyncio.wait_for(self.task, 5)  # the handler returns after shutdown


async def no_application(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError(f"the lifespan reached the application: {scope}")


@pytest.fixture
def book(synced):
    return async_ready_stand_in(synced, "shop_b", "Book")


@pytest.fixture
def senders():
    """The thread that sent each remote request, in order."""
    threads: list[threading.Thread] = []

    def started(sender: Any, **kwargs: Any) -> None:
        threads.append(threading.current_thread())

    remote_request_started.connect(started)
    yield threads
    remote_request_started.disconnect(started)


def titles(objects: Any) -> list[str]:
    return sorted(o.title for o in objects)


def test_async_and_sync_fetches_are_sent_on_the_servers_loop(book, shop_b, senders):
    earlier = client_loop.get_loop()  # a client loop in its own thread, as before start-up
    fetch_remote_objects({book: [9]})  # it has a session open
    assert earlier.sessions and earlier.thread.name == "federated-fk-client"
    senders.clear()

    async def main() -> tuple[Any, Any, Any]:
        lifespan = await Lifespan(LifespanHandler(no_application)).start()
        try:
            adopted = client_loop.get_loop()
            assert adopted.loop is asyncio.get_running_loop() and adopted.runs_here()
            found = await afetch_remote_objects({book: [1, 2]})
            # Sync code in a worker thread: its request is sent on this loop too.
            in_thread = await sync_to_async(fetch_remote_objects, thread_sensitive=False)(
                {book: [3]}
            )
        finally:
            await lifespan.stop()
        return adopted, found, in_thread

    adopted, found, in_thread = asyncio.run(main())
    assert senders == [threading.main_thread(), threading.main_thread()]
    assert titles(found.objects) == ["B Book 1", "B Book 2"]
    assert titles(in_thread.objects) == ["B Book 3"]
    # The earlier loop's sessions were closed and its thread ended.
    earlier.thread.join(5)
    assert not earlier.thread.is_alive() and earlier.sessions == {}
    # Shutdown closed the adopted loop's sessions and let it go.
    assert adopted.sessions == {} and client_loop._loop is None


def test_after_shutdown_a_fetch_gets_a_loop_of_its_own_again(book, shop_b, senders):
    async def main() -> None:
        lifespan = await Lifespan(LifespanHandler(no_application)).start()
        await afetch_remote_objects({book: [1]})
        await lifespan.stop()

    asyncio.run(main())
    found = fetch_remote_objects({book: [4]})
    assert titles(found.objects) == ["B Book 4"]
    assert senders[-1].name == "federated-fk-client"
    assert client_loop.get_loop().thread is senders[-1]


def test_sync_code_on_the_loops_thread_is_refused_not_left_waiting(book, shop_b, senders):
    async def main() -> float:
        lifespan = await Lifespan(LifespanHandler(no_application)).start()
        started = time.monotonic()
        try:
            with pytest.raises(SynchronousOnlyOperation, match="wait for that loop"):
                client_loop.run(afetch_remote_objects({book: [1]}), timeout=10)
            with pytest.raises(SynchronousOnlyOperation, match="wait for that loop"):
                client_loop.close_sessions()
            with pytest.raises(SynchronousOnlyOperation, match="wait for that loop"):
                book(5).title  # noqa: B018  a field not fetched yet: one request, from sync code
            return time.monotonic() - started
        finally:
            await lifespan.stop()

    assert asyncio.run(main()) < 1  # refused at once, not after the 10 s timeout
    assert senders == []  # nothing was sent


def test_a_second_start_up_on_the_same_loop_keeps_its_sessions(book, shop_b):
    async def main() -> tuple[bool, int]:
        first = await Lifespan(LifespanHandler(no_application)).start()
        await afetch_remote_objects({book: [1]})
        adopted = client_loop.get_loop()
        second = await Lifespan(LifespanHandler(no_application)).start()
        kept = client_loop.get_loop() is adopted, len(adopted.sessions)
        await second.stop()
        await first.stop()
        return kept

    assert asyncio.run(main()) == (True, 1)  # the same client loop, its session still open
    assert client_loop._loop is None  # the shutdowns let it go


def test_a_servers_loop_that_closed_without_shutdown_is_not_used_again(book, shop_b):
    async def main() -> Any:
        await Lifespan(LifespanHandler(no_application)).start()  # never shut down
        return client_loop.get_loop()

    adopted = asyncio.run(main())  # closes the loop
    assert adopted.loop.is_closed()
    found = fetch_remote_objects({book: [2]})
    assert titles(found.objects) == ["B Book 2"]
    assert client_loop.get_loop() is not adopted
    assert client_loop.get_loop().thread.name == "federated-fk-client"


def test_other_connections_go_to_the_application():
    seen: list[Any] = []

    async def application(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    scope = {"type": "http", "path": "/"}
    asyncio.run(LifespanHandler(application)(scope, receive, send))
    assert seen == [(scope, receive, send)]


@pytest.mark.django_db(databases=[])
def test_the_demos_shop_a_answers_its_lifespan_and_serves_remote_books(shops):
    log = shops.shop_a.log.read_text()
    assert "Application startup complete." in log
    assert "lifespan" not in log.lower()  # no "protocol appears unsupported"
    status, answer = shops.query("{ books(limit: 9) { items { __typename } } }")
    assert status == 200 and "errors" not in answer, answer
    types = {item["__typename"] for item in answer["data"]["books"]["items"]}
    assert {"ShopABook", "ShopBBook"} <= types, types
