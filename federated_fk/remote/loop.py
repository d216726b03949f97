"""The client's event loop: one daemon thread that owns every project session.

A gql session belongs to the event loop that opened it, and Django's
``async_to_sync`` makes a new loop per call, so the sessions live on one
long-lived loop in a background thread: sync callers wait on it with
``run_coroutine_threadsafe``, async callers await ``wrap_future``.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import hashlib
import os
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from federated_fk import conf
from federated_fk.remote import events
from federated_fk.remote.breaker import Clock
from federated_fk.remote.session import ProjectSession

T = TypeVar("T")


class ClientLoop:
    """An event loop in a daemon thread that owns every project session."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.pid = os.getpid()
        #: The clock of the sessions' circuit breakers (tests set their own).
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self.sessions: dict[tuple[str, ...], ProjectSession] = {}
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="federated-fk-client", daemon=True
        )
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on this loop; return a future any thread may wait on."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def session(self, project: str) -> ProjectSession:
        """Return the session of ``project`` (call on the loop thread only)."""
        settings = conf.project_settings(project)
        # Settings may change (tests override them): other settings get
        # another session. The token is part of the key by digest only.
        token = hashlib.sha256(settings["TOKEN"].encode()).hexdigest()
        key = (project, token, *(repr(v) for k, v in sorted(settings.items()) if k != "TOKEN"))
        if key not in self.sessions:
            self.sessions[key] = ProjectSession(project, settings, self.clock)
        return self.sessions[key]

    async def close_all(self) -> None:
        """Close every session (on this loop)."""
        sessions, self.sessions = list(self.sessions.values()), {}
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


_loop: ClientLoop | None = None
_loop_lock = threading.Lock()


def get_loop() -> ClientLoop:
    """Return this process's client loop, starting it on first use."""
    global _loop
    with _loop_lock:
        # A forked child (a server worker) cannot use its parent's thread.
        if _loop is None or _loop.pid != os.getpid():
            _loop = ClientLoop()
        return _loop


def close_sessions() -> None:
    """Close every open session (at exit, or to drop pooled connections)."""
    if _loop is not None and _loop.pid == os.getpid():
        _loop.submit(_loop.close_all()).result(timeout=5)


atexit.register(close_sessions)


def run(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run ``coro`` on the client loop and wait for it from sync code.

    What the caller's context holds for the requests (captures, trace header)
    goes with it: context variables do not cross to the loop's thread.
    """
    future = get_loop().submit(events.carried(events.caller(), coro))
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise


async def arun(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the client loop and await it from another loop."""
    return await asyncio.wrap_future(get_loop().submit(events.carried(events.caller(), coro)))
