"""The remote requests of one page, as django-debug-toolbar's SQL panel shows its queries."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from debug_toolbar.panels import Panel
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from federated_fk.remote.events import repeated
from federated_fk.testing import CaptureRemoteRequests


class RemoteRequestsPanel(Panel):
    """Each remote request of the page, with totals and a warning for likely N+1s.

    It sees the requests made while the toolbar's middleware serves the page,
    in that request's context (sync or async views), whichever thread sends them.
    """

    title = _("Remote requests")
    template = "federated_fk/debug_toolbar/remote_requests.html"
    is_async = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.capture = CaptureRemoteRequests()
        self._stack: ExitStack | None = None

    def enable_instrumentation(self) -> None:
        if self._stack is None:
            self._stack = ExitStack()
            self._stack.enter_context(self.capture)

    def disable_instrumentation(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.close()

    @property
    def nav_subtitle(self) -> str:
        stats = self.get_stats()
        count = stats.get("count", 0)
        text = ngettext("%(count)d request", "%(count)d requests", count) % {"count": count}
        return f"{text} in {stats.get('duration_ms', 0):.1f} ms"

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        self.record_stats(panel_stats(self.capture))

    def generate_server_timing(self, request: HttpRequest, response: HttpResponse) -> None:
        stats = self.get_stats()
        title = f"Remote requests ({stats.get('count', 0)})"
        self.record_server_timing("duration_ms", title, stats.get("duration_ms", 0))


def panel_stats(capture: CaptureRemoteRequests) -> dict[str, Any]:
    """Return what the panel shows of a capture, as plain (JSON-serializable) data."""
    records = sorted(capture.requests, key=lambda r: r.started)
    rows = [r.as_dict() for r in records]
    for row in rows:
        row["duration_ms"] = row["duration"] * 1000
    return {
        "requests": rows,
        "cache_hits": [h.as_dict() for h in capture.cache_hits if not h.requested],
        "count": len(records),
        "duration_ms": sum(r.duration for r in records) * 1000,
        "response_bytes": sum(r.response_bytes for r in records),
        "representations": sum(r.representations for r in records),
        "cached_objects": sum(h.objects for h in capture.cache_hits),
        "retries": sum(r.retries for r in records),
        "errors": sum(1 for r in records if r.outcome == "error"),
        "projects": sorted({r.project for r in records}),
        "repeated": repeated(records),
    }
