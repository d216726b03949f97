"""Serving a subgraph under ASGI without the thread hops of the project's middleware.

Django's own middleware (security, sessions, common, CSRF, authentication,
messages) is synchronous underneath: under ASGI each one's
``process_request`` and ``process_response`` run in a thread, two hops per
middleware and request (``MiddlewareMixin.__acall__``). A subgraph is called
by other services with a bearer token and reads no session, cookie or
message, so these hops are all it gets from them; with the six of
``startproject`` they are about half of what a small ``_entities`` request
costs.

``SubgraphHandler`` wraps the project's ASGI application as Django's
``ASGIStaticFilesHandler`` wraps it for static files: a request to the
subgraph's path is served by its view, through Django's ASGI handling (the
body, the request signals and so database connections, disconnects, error
responses and their logging), with no middleware; every other request goes
to the application.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, resolve, set_urlconf
from django.utils.log import log_response

from federated_fk.subgraph.views import SubgraphView

#: An ASGI application: ``await application(scope, receive, send)``.
ASGIApp = Any


class SubgraphHandler(ASGIHandler):
    """Serve the subgraph at ``path`` with no middleware; pass every other request on.

    In ``asgi.py``::

        application = SubgraphHandler(get_asgi_application())

    What no middleware does here is done as Django's would: the ``Host``
    header is checked against ``ALLOWED_HOSTS`` (a 400 otherwise) and, with
    ``SECURE_CONTENT_TYPE_NOSNIFF``, the answer says ``nosniff``. A project
    whose own middleware must see subgraph requests does not use this.

    :param application: the project's ASGI application (``get_asgi_application()``)
    :param path: the subgraph's path, as the URLconf routes it to a
        ``SubgraphView`` (``subgraph.view(schema)``)
    :raises ImproperlyConfigured: the URLconf does not route ``path`` to a
        ``SubgraphView``: no other view is served without its middleware
    """

    def __init__(self, application: ASGIApp, path: str = "/graphql/") -> None:
        self.application = application
        self.path = path
        self.match = _subgraph_view(path)
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        """Load nothing: the wrapped application holds the project's middleware."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _path_info(scope) == self.path:
            await super().__call__(scope, receive, send)
        else:
            await self.application(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """Return the view's response, as Django's handler does with an empty middleware chain."""
        set_urlconf(settings.ROOT_URLCONF)
        try:
            request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it
            request.resolver_match = self.match
            response = await self.match.func(request, *self.match.args, **self.match.kwargs)
        except Exception as exc:
            response = await sync_to_async(response_for_exception, thread_sensitive=False)(
                request, exc
            )
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            await sync_to_async(log_response, thread_sensitive=False)(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        return response


def _subgraph_view(path: str) -> ResolverMatch:
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
