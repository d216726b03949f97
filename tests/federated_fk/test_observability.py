"""Seeing remote requests: the assertion helpers, records, signals, logs, traceparent.

Against real subgraph processes (shop_b, and shop_c behind a token).
"""

import itertools
import logging
import re

import pytest
from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.test import RequestFactory

from federated_fk.exceptions import RemoteCircuitOpen, RemoteConnectionError
from federated_fk.observability import (
    TraceparentMiddleware,
    remote_cache_hit,
    remote_request_finished,
    remote_request_started,
    traceparent,
)
from federated_fk.remote import afetch_remote_objects, fetch_remote_objects
from federated_fk.remote.client import fetch_sdl
from federated_fk.remote.loop import get_loop, run
from federated_fk.testing import (
    CaptureRemoteRequests,
    RemoteRequestsTestMixin,
    assertNumRemoteRequests,
)
from tests.federated_fk.conftest import stand_in
from tests.servers import free_port
from tests.testapp.models import Reference

pytestmark = pytest.mark.django_db

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
_caches = itertools.count()


def use_a_fresh_cache(settings):
    # Local-memory caches outlive the settings that made them: a location of its own.
    backend = "django.core.cache.backends.locmem.LocMemCache"
    location = f"observability-{next(_caches)}"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": location}}


@pytest.fixture
def references(synced):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    CBook = stand_in(synced, "shop_c", "Book")
    for pk in (1, 2, 3):
        Reference.objects.create(content_object=RemoteBook(pk))
    Reference.objects.create(content_object=CBook(4))
    return RemoteBook, CBook


def test_a_prefetch_is_one_request_per_project(references):
    with assertNumRemoteRequests(2):
        refs = list(Reference.objects.prefetch_related("content_object"))
    with assertNumRemoteRequests(1, project="shop_b") as captured:
        refs = list(Reference.objects.prefetch_related("content_object"))
    titles = [r.content_object.title for r in refs]
    assert titles == ["B Book 1", "B Book 2", "B Book 3", "C Book 4"]
    (request,) = captured.requests
    assert (request.project, request.operation, request.entity_types) == (
        "shop_b",
        "_entities",
        ("Book",),
    )
    assert (request.representations, request.outcome, request.error) == (3, "ok", "")
    assert request.response_bytes > 50 and request.duration > 0
    assert (request.retries, request.breaker, request.traceparent) == (0, "closed", False)
    assert captured.repeated() == []


def test_the_failure_lists_the_requests_made(references):
    with pytest.raises(AssertionError) as failure:
        with assertNumRemoteRequests(1, project="shop_b"):
            # The N+1: each reference loads its own target.
            titles = [r.content_object.title for r in Reference.objects.all()]
    assert titles[:3] == ["B Book 1", "B Book 2", "B Book 3"]
    message = str(failure.value)
    assert message.startswith("3 != 1 : 3 remote requests to shop_b were made, 1 expected.\n")
    lines = message.splitlines()[1:]
    assert len(lines) == 3
    assert re.fullmatch(r"1\. shop_b _entities Book: 1 ids, \d+\.\d ms, ok", lines[0])


def test_repeated_questions_are_flagged_and_chunks_are_not(references, federation):
    RemoteBook, _ = references
    with CaptureRemoteRequests() as captured:
        for pk in (1, 2, 3):
            RemoteBook(pk).title  # noqa: B018
    assert captured.repeated() == [
        {
            "project": "shop_b",
            "operation": "_entities",
            "entity_types": ["Book"],
            "times": 3,
            "representations": 3,
        }
    ]
    federation["PROJECTS"]["shop_b"]["BATCH_SIZE"] = 2
    with CaptureRemoteRequests("shop_b") as captured:
        assert len(fetch_remote_objects({RemoteBook: [1, 2, 3, 4, 5]}).raise_first()) == 5
    assert [r.representations for r in captured.requests] == [2, 2, 1]
    assert len({r.fetch for r in captured.requests}) == 1  # one fetch, three chunks
    assert captured.repeated() == []


async def test_async_callers_are_captured_too(references):
    RemoteBook, CBook = references
    async with assertNumRemoteRequests(2) as captured:
        objects = (await afetch_remote_objects({RemoteBook: [1, 2], CBook: [3]})).raise_first()
    assert sorted(o.title for o in objects) == ["B Book 1", "B Book 2", "C Book 3"]
    assert sorted(r.project for r in captured.requests) == ["shop_b", "shop_c"]
    # What runs through sync_to_async belongs to the same capture.
    async with assertNumRemoteRequests(1):
        await sync_to_async(lambda w: fetch_remote_objects(w).raise_first())({RemoteBook: [1]})


def test_captures_of_other_threads_see_nothing(references):
    import threading

    RemoteBook, _ = references
    seen = {}

    def other_thread():
        with CaptureRemoteRequests() as captured:
            seen["inside"] = captured
            started.set()
            done.wait(10)

    started, done = threading.Event(), threading.Event()
    thread = threading.Thread(target=other_thread)
    thread.start()
    started.wait(10)
    with CaptureRemoteRequests(all_threads=True) as everything:
        fetch_remote_objects({RemoteBook: [1]}).raise_first()
    done.set()
    thread.join()
    assert len(seen["inside"]) == 0
    assert len(everything) == 1


class TestMixin(RemoteRequestsTestMixin):
    def test_the_mixin_method(self, references):
        RemoteBook, _ = references
        with self.assertNumRemoteRequests(1, project="shop_b"):
            fetch_remote_objects({RemoteBook: [1, 2]}).raise_first()


def test_cache_hits_are_recorded_without_a_request(references, federation, settings):
    use_a_fresh_cache(settings)
    federation["PROJECTS"]["shop_b"]["CACHE_TIMEOUT"] = 60
    RemoteBook, _ = references
    hits = []

    def on_hit(sender, cache_hit, **kwargs):
        hits.append(cache_hit)

    remote_cache_hit.connect(on_hit)
    try:
        with assertNumRemoteRequests(1):
            fetch_remote_objects({RemoteBook: [1, 2]}).raise_first()
        with assertNumRemoteRequests(1) as captured:
            fetch_remote_objects({RemoteBook: [1, 2, 3]}).raise_first()
        assert captured.requests[0].cache_hits == 2
        assert captured.requests[0].representations == 1
        with assertNumRemoteRequests(0) as captured:
            fetch_remote_objects({RemoteBook: [1, 2, 3]}).raise_first()
    finally:
        remote_cache_hit.disconnect(on_hit)
    (hit,) = captured.cache_hits
    assert (hit.project, hit.entity_types, hit.objects, hit.requested) == (
        "shop_b",
        ("Book",),
        3,
        False,
    )
    assert [h.objects for h in hits] == [2, 3]


def test_signals_carry_project_duration_size_and_outcome(references):
    RemoteBook, _ = references
    started, finished = [], []

    def on_started(sender, remote_request, **kwargs):
        started.append((remote_request.project, remote_request.outcome))

    def on_finished(sender, remote_request, **kwargs):
        finished.append(remote_request)

    remote_request_started.connect(on_started)
    remote_request_finished.connect(on_finished)
    try:
        fetch_remote_objects({RemoteBook: [1]}).raise_first()
    finally:
        remote_request_started.disconnect(on_started)
        remote_request_finished.disconnect(on_finished)
    assert started == [("shop_b", "pending")]
    (done,) = finished
    assert done.outcome == "ok" and done.duration > 0 and done.response_bytes > 0
    data = done.as_dict()
    assert data["entity_types"] == ["Book"] and data["representations"] == 1


def test_a_failing_receiver_does_not_fail_the_fetch(references, caplog):
    RemoteBook, _ = references

    def broken(**kwargs):
        raise RuntimeError("metrics are down")

    remote_request_finished.connect(broken)
    try:
        assert fetch_remote_objects({RemoteBook: [1]}).raise_first()[0].title == "B Book 1"
    finally:
        remote_request_finished.disconnect(broken)
    assert "receiver of a federated_fk signal failed" in caplog.text


def test_one_log_line_per_request_without_token_or_ids(references, caplog, shop_c):
    RemoteBook, CBook = references
    caplog.set_level(logging.DEBUG, logger="federated_fk.remote")
    fetch_remote_objects({RemoteBook: [11, 12, 13], CBook: [14]}).raise_first()
    fetch_sdl("shop_c")
    lines = [r for r in caplog.records if r.getMessage().startswith("remote request ")]
    assert len(lines) == 3
    assert all(r.levelno == logging.DEBUG for r in lines)
    text = "\n".join(r.getMessage() for r in lines)
    assert "project=shop_b operation=_entities types=Book representations=3" in text
    assert "project=shop_c operation=_service types=- representations=0" in text
    assert shop_c.token not in caplog.text and "Bearer" not in caplog.text
    # No ids: what is left once the measured figures are taken out holds none of 11 to 14.
    figures = re.sub(r"\b(bytes|duration_ms)=\S+", "", text)
    assert not re.search(r"\b1[1-4]\b", figures)
    assert lines[0].remote_request["project"] in ("shop_b", "shop_c")


def test_failures_are_logged_at_warning_with_retries(references, federation, caplog):
    RemoteBook, _ = references
    federation["PROJECTS"]["shop_b"].update(
        URL=f"http://127.0.0.1:{free_port()}/graphql/", RETRIES=2, RETRY_BACKOFF=0.01
    )
    caplog.set_level(logging.DEBUG, logger="federated_fk.remote")
    with CaptureRemoteRequests() as captured:
        with pytest.raises(RemoteConnectionError):
            fetch_remote_objects({RemoteBook: [1]}).raise_first()
    (request,) = captured.requests
    assert (request.outcome, request.error, request.retries) == (
        "error",
        "RemoteConnectionError",
        2,
    )
    (line,) = [r for r in caplog.records if r.getMessage().startswith("remote request ")]
    assert line.levelno == logging.WARNING
    assert "outcome=error error=RemoteConnectionError" in line.getMessage()


def test_an_open_breaker_is_recorded(references, federation):
    RemoteBook, _ = references
    federation["PROJECTS"]["shop_b"].update(
        URL=f"http://127.0.0.1:{free_port()}/graphql/",
        RETRIES=0,
        BREAKER_THRESHOLD=1,
        BREAKER_COOLDOWN=60,
    )
    try:
        with CaptureRemoteRequests() as captured:
            with pytest.raises(RemoteConnectionError):
                fetch_remote_objects({RemoteBook: [1]}).raise_first()
            with pytest.raises(RemoteCircuitOpen):
                fetch_remote_objects({RemoteBook: [1]}).raise_first()
    finally:
        run(get_loop().close_all(), timeout=5)  # drop the session and its open breaker
    assert [(r.breaker, r.error) for r in captured.requests] == [
        ("closed", "RemoteConnectionError"),
        ("open", "RemoteCircuitOpen"),
    ]


def test_traceparent_reaches_the_remote_beside_the_token(references, shop_b, shop_c):
    RemoteBook, CBook = references
    shop_b.stats(reset=True)
    shop_c.stats(reset=True)
    with traceparent(TRACE), CaptureRemoteRequests() as captured:
        objects = fetch_remote_objects({RemoteBook: [1], CBook: [2]}).raise_first()
    assert sorted(o.title for o in objects) == ["B Book 1", "C Book 2"]  # the token still went
    assert shop_b.stats()["traceparents"] == [TRACE]
    assert shop_c.stats()["traceparents"] == [TRACE]
    assert all(r.traceparent for r in captured.requests)
    fetch_remote_objects({RemoteBook: [3]}).raise_first()  # outside: none
    with traceparent("not-a-trace\r\nX-Evil: 1"):
        fetch_remote_objects({RemoteBook: [4]}).raise_first()
    assert shop_b.stats()["traceparents"] == [TRACE]


def test_the_middleware_forwards_the_incoming_header(references, shop_b):
    RemoteBook, _ = references
    shop_b.stats(reset=True)

    def view(request):
        return HttpResponse(fetch_remote_objects({RemoteBook: [5]}).raise_first()[0].title)

    response = TraceparentMiddleware(view)(RequestFactory().get("/", HTTP_TRACEPARENT=TRACE))
    assert response.content == b"B Book 5"
    assert shop_b.stats()["traceparents"] == [TRACE]


async def test_the_async_middleware_forwards_the_incoming_header(references, shop_b):
    RemoteBook, _ = references
    await sync_to_async(shop_b.stats)(reset=True)

    async def view(request):
        objects = (await afetch_remote_objects({RemoteBook: [6]})).raise_first()
        return HttpResponse(objects[0].title)

    middleware = TraceparentMiddleware(view)
    response = await middleware(RequestFactory().get("/", HTTP_TRACEPARENT=TRACE))
    assert response.content == b"B Book 6"
    assert (await sync_to_async(shop_b.stats)())["traceparents"] == [TRACE]


def test_the_panel_warns_of_a_likely_n_plus_1_and_shows_cache_hits(
    references, federation, settings
):
    from django.template.loader import render_to_string

    from federated_fk.debug_toolbar.panel import RemoteRequestsPanel, panel_stats

    use_a_fresh_cache(settings)
    federation["PROJECTS"]["shop_b"]["CACHE_TIMEOUT"] = 60
    RemoteBook, _ = references
    with CaptureRemoteRequests() as captured:
        for pk in (1, 2, 3, 1):
            RemoteBook(pk).title  # noqa: B018
    stats = panel_stats(captured)
    assert (stats["count"], stats["representations"], stats["cached_objects"]) == (3, 3, 1)
    html = " ".join(render_to_string(RemoteRequestsPanel.template, stats).split())
    assert "Likely N+1: shop_b was asked _entities for Book by 3 separate fetches" in html
    assert "Served from the cache, no request" in html
    assert html.count('<tr class="federated-fk-ok">') == 3
