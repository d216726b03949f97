"""Request counting in a subgraph server process: what the tests assert on."""

import json
import threading

from django.http import HttpResponse

_lock = threading.Lock()
_stats = {"graphql_requests": 0, "client_ports": set(), "representations": 0, "traceparents": []}


class CountRequests:
    """Count POSTs to /graphql/ and the client ports (one per TCP connection)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/graphql/" and request.method == "POST":
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = {}
            representations = (body.get("variables") or {}).get("representations") or []
            with _lock:
                _stats["graphql_requests"] += 1
                _stats["representations"] += len(representations)
                _stats["client_ports"].add(request.META.get("REMOTE_PORT"))
                if "traceparent" in request.headers:
                    _stats["traceparents"].append(request.headers["traceparent"])
        return self.get_response(request)


def stats(request):
    with _lock:
        if request.method == "DELETE":
            _stats.update(
                graphql_requests=0, client_ports=set(), representations=0, traceparents=[]
            )
        payload = {**_stats, "client_ports": len(_stats["client_ports"])}
    return HttpResponse(json.dumps(payload), content_type="application/json")
