"""Serving a subgraph under ASGI without the thread hops of the project's middleware.

Django's own middleware (security, sessions, common, CSRF, authentication,
messages, clickjacking) is synchronous underneath: under ASGI each one's
``process_request`` and ``process_response`` run in a thread, two hops per
middleware and request (``MiddlewareMixin.__acall__``). A subgraph is called
by other services with a bearer token and reads no session, cookie or
message, so these hops are all it gets from them; with the seven of
``startproject`` they are about half of what a small ``_entities`` request
costs.

``SubgraphHandler`` wraps the project's ASGI application as Django's
``ASGIStaticFilesHandler`` wraps it for static files: a request to the
subgraph's path is served by its view, through Django's ASGI handling (the
body, the request signals and so database connections, disconnects, error
responses and their logging), without the middleware's thread hops; every
other request goes to the application. Of the project's middleware, Django's
``SecurityMiddleware``, ``CommonMiddleware`` and ``XFrameOptionsMiddleware`` do
only in-memory work (headers, redirects, the ``Host`` and user-agent checks,
``Content-Length``): where ``MIDDLEWARE`` lists them they are applied in-line,
in its order, with no hop.

Django's handler gives each request a thread of its own for its synchronous
work (a ``ThreadSensitiveContext``), so under ASGI a database connection lives
one request: ``CONN_MAX_AGE`` cannot keep it, and Django's documentation
advises turning persistent connections off. ``SubgraphHandler`` runs each
subgraph request's synchronous work on one of a few long-lived threads, one
request at a time per thread, as a WSGI server's worker threads do: with
``CONN_MAX_AGE`` set, the next request on that thread reuses the connection,
and the request signals close it as they would under WSGI.
"""

from __future__ import annotations

import io
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import response_for_exception
from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, resolve, set_script_prefix, set_urlconf
from django.utils.log import log_response
from django.utils.module_loading import import_string

from federated_fk.subgraph.views import SubgraphView, authorized, unauthenticated

#: An ASGI application: ``await application(scope, receive, send)``.
ASGIApp = Any

#: Django's middleware that reads and writes only the request and the response
#: (no database, session or file): applied in-line where ``MIDDLEWARE`` lists them.
INLINE_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


class SubgraphHandler(ASGIHandler):
    """Serve the subgraph at ``path`` without the middleware's hops; pass every other request on.

    In ``asgi.py``::

        application = SubgraphHandler(get_asgi_application())

    The ``Host`` header is checked against ``ALLOWED_HOSTS`` (a 400
    otherwise), and Django's ``SecurityMiddleware``, ``CommonMiddleware``
    and ``XFrameOptionsMiddleware`` are applied in-line where ``MIDDLEWARE``
    lists them (``INLINE_MIDDLEWARE``); no other middleware
    runs, so ``request.user``, ``request.session`` and messages are absent,
    and a middleware that sets ``request.urlconf`` or picks a database is
    not consulted. A project whose own middleware must see subgraph requests
    does not use this.

    :param application: the project's ASGI application (``get_asgi_application()``)
    :param path: the subgraph's path, as the URLconf routes it to a
        ``SubgraphView`` (``subgraph.view(schema)``)
    :param threads: how many long-lived threads serve the subgraph's
        requests, one request at a time each, so that a database connection
        kept by ``CONN_MAX_AGE`` serves the next request on its thread; a
        request that finds them all busy gets a thread of its own, as under
        Django's handler
    :raises ImproperlyConfigured: the URLconf does not route ``path`` to a
        ``SubgraphView`` (no other view is served without its middleware), or
        ``threads`` is negative
    """

    def __init__(self, application: ASGIApp, path: str = "/graphql/", threads: int = 4) -> None:
        self.application = application
        self.path = path
        self.threads = SubgraphThreads(threads)
        self.match = _subgraph_view(path)
        self.inline = [
            import_string(name)(_no_response)
            for name in settings.MIDDLEWARE
            if name in INLINE_MIDDLEWARE
        ]
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        """Load nothing: the wrapped application holds the project's middleware."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _path_info(scope) == self.path:
            # As ASGIHandler.__call__, on a long-lived thread rather than a new one.
            async with self.threads.context():
                await self.handle(scope, receive, send)
        else:
            await self.application(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve one request; refuse it before reading its body if it cannot be served.

        A caller without the subgraph's token, or a body that says it is larger
        than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, is answered at once (401, 413):
        Django's handler would first read the whole body, to a temporary file.
        """
        refusal = _refusal(scope)
        if refusal is None:
            await super().handle(scope, receive, send)
            return
        set_script_prefix(get_script_prefix(scope))
        request = self.request_class(scope, io.BytesIO())

        async def refuse(request: HttpRequest) -> HttpResponseBase:
            return refusal

        response = await self._answer(request, refuse)
        await self.send_response(response, send)
        await sync_to_async(response.close)()

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """Return the answer, as Django's handler would with only the in-line middleware."""
        return await self._answer(request, self._view)

    async def _answer(
        self, request: HttpRequest, view: Callable[[HttpRequest], Awaitable[HttpResponseBase]]
    ) -> HttpResponseBase:
        set_urlconf(settings.ROOT_URLCONF)
        response = await self._through(request, 0, view)
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            await sync_to_async(log_response, thread_sensitive=False)(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        return response

    async def _through(
        self,
        request: HttpRequest,
        index: int,
        view: Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> HttpResponseBase:
        """The answer of the in-line middleware from ``index`` on, then of ``view``.

        As in Django's chain, an exception becomes a response at the level it
        was raised, which the middleware before it still process.
        """
        try:
            if index == len(self.inline):
                request.get_host()  # ALLOWED_HOSTS, whatever MIDDLEWARE lists
                return await view(request)
            middleware = self.inline[index]
            response = None
            if hasattr(middleware, "process_request"):
                response = middleware.process_request(request)
            if response is None:
                response = await self._through(request, index + 1, view)
            if hasattr(middleware, "process_response"):
                response = middleware.process_response(request, response)
            return response
        except Exception as exc:
            return await sync_to_async(response_for_exception, thread_sensitive=False)(request, exc)

    async def _view(self, request: HttpRequest) -> HttpResponseBase:
        """Call the view as ``BaseHandler._get_response_async`` calls it, and render its answer."""
        match = request.resolver_match = self.match
        callback = self.make_view_atomic(match.func)  # refuses ATOMIC_REQUESTS, as Django does
        if not iscoroutinefunction(callback):
            callback = sync_to_async(callback, thread_sensitive=True)
        response = await callback(request, *match.args, **match.kwargs)
        self.check_response(response, match.func)
        render = getattr(response, "render", None)
        if callable(render):
            if iscoroutinefunction(render):
                response = await render()
            else:
                response = await sync_to_async(render, thread_sensitive=True)()
        return response


class SubgraphThreads:
    """Long-lived threads for the synchronous work of requests, one request at a time each.

    A request takes an idle thread for its whole handling (the request signals,
    the view's database work, closing the response) and gives it back at the
    end; a thread's database connections are its own, so one that
    ``CONN_MAX_AGE`` keeps open serves the next request on that thread. A
    request that finds every thread busy gets a new thread for itself alone,
    as Django's handler gives every request, and that thread's connections are
    closed when the request ends. A thread whose request was cancelled while
    work it had started was still running (the server shutting down, or its
    timeout for the application) is not given to another request: it closes
    its connections and ends once that work is done.

    :param size: how many threads are kept; 0 keeps none
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ImproperlyConfigured(f"SubgraphHandler: threads must be 0 or more, got {size}.")
        self.size = size
        self._idle: list[_Worker] = []
        self._made = 0
        # One event loop takes and gives back; a lock, should loops in several threads share it.
        self._lock = threading.Lock()

    @asynccontextmanager
    async def context(self) -> AsyncIterator[None]:
        """Run the thread-sensitive calls of the block on one thread of the pool."""
        worker = self._take()
        if worker is None:
            async with ThreadSensitiveContext():
                try:
                    yield
                finally:
                    if _kept_connections():
                        # The thread ends with the block: what CONN_MAX_AGE kept
                        # would stay open until the garbage collector frees it.
                        await sync_to_async(connections.close_all)()
            return
        try:
            async with ThreadSensitiveContext(executor=worker):
                yield
        finally:
            self._give_back(worker)

    def _take(self) -> _Worker | None:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._made >= self.size:
                return None
            self._made += 1
        return _Worker()

    def _give_back(self, worker: _Worker) -> None:
        if worker.busy():
            # Work of the ended request still runs on it: retire it, make another
            # later. Its connections are closed once that work is done.
            worker.submit(connections.close_all)
            worker.shutdown(wait=False)
            with self._lock:
                self._made -= 1
        else:
            with self._lock:
                self._idle.append(worker)


class _Worker(ThreadPoolExecutor):
    """One thread, which knows whether a call it was given has not finished yet."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="subgraph")
        self._lock = threading.Lock()
        self._running = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self._running += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future[Any] | None) -> None:
        with self._lock:
            self._running -= 1

    def busy(self) -> bool:
        """Whether a call given to the thread has not finished."""
        with self._lock:
            return self._running > 0


def _kept_connections() -> bool:
    """Whether a database's connections outlive a request (``CONN_MAX_AGE`` not 0)."""
    return any(db.get("CONN_MAX_AGE", 0) != 0 for db in connections.settings.values())


def _subgraph_view(path: str) -> ResolverMatch:
    if not path.startswith("/"):
        raise ImproperlyConfigured(
            f"SubgraphHandler: {path!r} is no path; a path starts with '/' (\"/graphql/\")."
        )
    try:
        match = resolve(path)
    except Resolver404:
        raise ImproperlyConfigured(
            f"SubgraphHandler: the URLconf routes no view at {path!r}; "
            "give the path of subgraph.view(schema)."
        ) from None
    view_class = getattr(match.func, "view_class", None)
    if not (isinstance(view_class, type) and issubclass(view_class, SubgraphView)):
        raise ImproperlyConfigured(
            f"SubgraphHandler: {path!r} is served by {match.view_name or match.func!r}, "
            "not by a SubgraphView; only a subgraph is served without the middleware."
        )
    return match


def _path_info(scope: dict[str, Any]) -> str:
    """The request's path below the application's root, as ``ASGIRequest`` reads it."""
    return scope["path"].removeprefix(get_script_prefix(scope))


def _no_response(request: HttpRequest) -> HttpResponseBase:
    """The in-line middleware's ``get_response``: never called (the handler calls the view)."""
    raise AssertionError("the in-line middleware calls only process_request and process_response")


def _refusal(scope: dict[str, Any]) -> HttpResponseBase | None:
    """The answer to a request that cannot be served, known from its headers alone."""
    headers = dict(scope.get("headers") or [])
    if not authorized(headers.get(b"authorization", b"").decode("latin-1")):
        return unauthenticated()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    length = headers.get(b"content-length", b"")
    if limit is not None and length.isdigit() and int(length) > limit:
        return HttpResponse("413 Payload too large", status=413)
    return None
