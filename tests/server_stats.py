"""Request counting in a subgraph server process: what the tests assert on."""

import json
import threading
from inspect import iscoroutinefunction

from django.http import HttpResponse
from django.utils.decorators import sync_and_async_middleware

_lock = threading.Lock()
_stats = {
    "graphql_requests": 0,
    "limit_requests": 0,
    "client_ports": set(),
    "representations": 0,
    "traceparents": [],
}
#: The counter of each path counted.
COUNTED = {"/graphql/": "graphql_requests", "/limit/": "limit_requests"}


@sync_and_async_middleware
def CountRequests(get_response):
    """Count POSTs to /graphql/ (and /limit/) and the client ports (one per TCP connection).

    Sync and async, so that an async view is not moved to a thread for it;
    the benchmark's minimal endpoint is counted the same way, so that both
    pay the same for being counted.
    """
    if iscoroutinefunction(get_response):

        async def middleware(request):
            _count(request)
            return await get_response(request)

    else:

        def middleware(request):
            _count(request)
            return get_response(request)

    return middleware


def _count(request):
    counter = COUNTED.get(request.path)
    if counter is None or request.method != "POST":
        return
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    representations = (body.get("variables") or {}).get("representations") or []
    with _lock:
        _stats[counter] += 1
        if counter == "graphql_requests":
            _stats["representations"] += len(representations)
            _stats["client_ports"].add(request.META.get("REMOTE_PORT"))
            if "traceparent" in request.headers:
                _stats["traceparents"].append(request.headers["traceparent"])


def stats(request):
    with _lock:
        if request.method == "DELETE":
            _stats.update(
                graphql_requests=0,
                limit_requests=0,
                client_ports=set(),
                representations=0,
                traceparents=[],
            )
        payload = {**_stats, "client_ports": len(_stats["client_ports"])}
    return HttpResponse(json.dumps(payload), content_type="application/json")
