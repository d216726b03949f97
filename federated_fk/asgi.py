"""An ASGI application wrapper that gives the remote client the server's event loop.

By default the client sends its requests from an event loop in a thread of
its own (``federated_fk.remote.loop``): any caller can use it, but an async
view's fetch then hops to that thread and back. An ASGI server that announces
its lifespan (uvicorn, hypercorn, gunicorn's uvicorn worker) runs every
request on one loop that lives as long as the server: ``LifespanHandler``
hands that loop to the client at start-up, so the requests of async views are
sent and read on it with no hop, and closes the client's connections at
shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from federated_fk.remote.loop import leave_running_loop, serve_on_running_loop

__all__ = ["LifespanHandler"]

logger = logging.getLogger("federated_fk")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LifespanHandler:
    """Answer the ASGI lifespan protocol; pass every other connection to ``application``.

    At ``lifespan.startup`` the server's running loop becomes the loop of the
    remote client: requests made from async code on it are sent and read on
    it directly. Requests made from sync code (a sync view, ``prefetch_related``
    in ``sync_to_async``) run on it too, from their own threads. At
    ``lifespan.shutdown`` the client's connections are closed, and a later
    fetch gets a loop in a thread of its own again.

    Wrap the outermost application: the lifespan scope is answered here and not
    passed on (Django's handlers do not take it). Under a server that does not
    announce its lifespan (``uvicorn --lifespan off``, for one) the client keeps
    its own thread, as without this wrapper.

    Sync code on the server's loop thread cannot wait for a request sent on
    that same loop: such a call raises ``SynchronousOnlyOperation``, as Django
    raises it for a query made there.
    """

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.application(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await serve_on_running_loop()
                logger.info("Remote requests are sent on the server's event loop.")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await leave_running_loop()
                await send({"type": "lifespan.shutdown.complete"})
                return
