"""SubgraphHandler: the subgraph's path without the middleware, every other path as before."""

import asyncio
import json
import re
import sqlite3
import threading
import urllib.error
import urllib.request

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished, request_started
from django.db import connections
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path as route

from federated_fk.subgraph import SubgraphHandler, SubgraphView
from federated_fk.subgraph.handler import SubgraphThreads
from tests.remoteshop.schema import schema

TYPENAME = json.dumps({"query": "{ __typename }"}).encode()

#: Django's middleware the handler applies in-line, and some it does not.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


class RenderedLater(SubgraphView):
    """A subgraph view that answers a response rendered after the view returns."""

    async def dispatch(self, request, *args, **kwargs):
        template = engines["django"].from_string("rendered {{ word }}")
        return TemplateResponse(request, template, {"word": "later"})


#: The URLconf of the tests that set ROOT_URLCONF to this module.
urlpatterns = [route("graphql/", RenderedLater.as_view(schema=schema))]


class Recorder:
    """An ASGI application that answers 204 and records the paths it was given."""

    def __init__(self):
        self.paths = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def http_scope(path, host=b"testserver", root_path="", method="POST", headers=()):
    """An ASGI HTTP scope for ``root_path + path``, of JSON, with ``headers`` besides."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", host), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


async def call(
    app, path, body=TYPENAME, host=b"testserver", root_path="", method="POST", headers=()
):
    """Send ``body`` to ``app``; return the status, the headers (a dict) and the body."""
    length = (b"content-length", str(len(body)).encode())
    scope = http_scope(path, host, root_path, method, [length, *headers])
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(10)
    answer = b""
    while True:
        message = await communicator.receive_output(10)
        answer += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(10)
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, answer


async def test_the_subgraph_is_served_by_its_view_and_the_application_gets_nothing_of_it(
    settings,
):
    settings.MIDDLEWARE = MIDDLEWARE
    inner = Recorder()
    handler = SubgraphHandler(inner)
    status, headers, body = await call(handler, "/graphql/")
    assert status == 200
    assert json.loads(body) == {"data": {"__typename": "Query"}}
    assert inner.paths == []
    # The session, CSRF, authentication and messages middleware did not run:
    # none set a cookie or said the answer varies by one.
    assert "set-cookie" not in headers and "vary" not in headers
    # Security, common and clickjacking did, in-line.
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert headers["content-length"] == str(len(body))


async def test_without_those_middleware_in_the_settings_none_is_applied(settings):
    settings.MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
    status, headers, _ = await call(SubgraphHandler(Recorder()), "/graphql/")
    assert status == 200
    assert not {"x-content-type-options", "x-frame-options", "set-cookie"} & set(headers)


async def test_the_in_line_middleware_answer_as_they_would_in_the_chain(settings):
    settings.MIDDLEWARE = MIDDLEWARE
    settings.SECURE_SSL_REDIRECT = True
    status, headers, _ = await call(SubgraphHandler(Recorder()), "/graphql/")
    assert (status, headers["location"]) == (301, "https://testserver/graphql/")
    settings.SECURE_SSL_REDIRECT = False
    settings.DISALLOWED_USER_AGENTS = [re.compile("^bad-bot")]
    status, headers, _ = await call(
        SubgraphHandler(Recorder()), "/graphql/", headers=[(b"user-agent", b"bad-bot/1")]
    )
    assert status == 403
    # The refusal of an inner middleware still gets the outer one's headers.
    assert headers["x-content-type-options"] == "nosniff"


async def test_a_response_rendered_later_is_rendered_as_django_renders_it(settings):
    settings.ROOT_URLCONF = __name__
    status, _, body = await call(SubgraphHandler(Recorder()), "/graphql/")
    assert (status, body) == (200, b"rendered later")


async def test_atomic_requests_are_refused_for_the_async_view_as_django_refuses_them(monkeypatch):
    monkeypatch.setitem(connections["default"].settings_dict, "ATOMIC_REQUESTS", True)
    status, _, _ = await call(SubgraphHandler(Recorder()), "/graphql/")
    assert status == 500  # "You cannot use ATOMIC_REQUESTS with async views."


async def test_every_other_path_goes_to_the_application():
    inner = Recorder()
    handler = SubgraphHandler(inner)
    for path in ("/graphql", "/graphql/x", "/admin/", "/"):
        status, _, _ = await call(handler, path)
        assert status == 204
    assert inner.paths == ["/graphql", "/graphql/x", "/admin/", "/"]


async def test_below_a_root_path_the_path_is_read_as_django_reads_it():
    inner = Recorder()
    handler = SubgraphHandler(inner)
    status, _, body = await call(handler, "/graphql/", root_path="/shop")
    assert (status, inner.paths) == (200, [])
    assert json.loads(body) == {"data": {"__typename": "Query"}}


async def test_the_project_middleware_still_runs_for_the_other_paths(settings):
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ]
    handler = SubgraphHandler(get_asgi_application())
    status, _, _ = await call(handler, "/admin/login/", body=b"")
    assert status == 403  # CSRF refused the POST: the middleware ran
    status, headers, _ = await call(handler, "/graphql/")
    assert status == 200
    assert "set-cookie" not in headers


async def test_a_host_outside_allowed_hosts_is_refused_as_django_refuses_it():
    inner = Recorder()
    status, _, body = await call(SubgraphHandler(inner), "/graphql/", host=b"evil.example")
    assert status == 400
    assert b"__typename" not in body
    assert inner.paths == []


async def test_the_request_signals_are_sent_as_for_any_request():
    """They open and close the database connections of the request."""
    sent = []

    def started(**kwargs):
        sent.append("started")

    def finished(**kwargs):
        sent.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        status, _, _ = await call(SubgraphHandler(Recorder()), "/graphql/")
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert status == 200
    assert sent == ["started", "finished"]


class OnStarted:
    """A receiver of ``request_started``, run in the request's thread for its synchronous work."""

    def __init__(self, work):
        self.work = work

    def __enter__(self):
        request_started.connect(self.receive)
        return self

    def __exit__(self, *exc):
        request_started.disconnect(self.receive)

    def receive(self, **kwargs):
        self.work()


async def test_subgraph_requests_take_turns_on_a_long_lived_thread():
    threads = []
    with OnStarted(lambda: threads.append(threading.current_thread())):
        handler = SubgraphHandler(Recorder(), threads=1)
        for _ in range(3):
            assert (await call(handler, "/graphql/"))[0] == 200
        without = SubgraphHandler(Recorder(), threads=0)
        for _ in range(2):
            assert (await call(without, "/graphql/"))[0] == 200
    pooled, own = threads[:3], threads[3:]
    assert pooled[0].name.startswith("subgraph")
    assert pooled == [pooled[0]] * 3
    # With no thread kept, each request gets one of its own, as under Django's handler.
    assert len(set(own) | {pooled[0]}) == 3


@pytest.fixture
def kept_database(monkeypatch, tmp_path, django_db_blocker):
    """Return a function that adds the database alias "kept", of ``CONN_MAX_AGE`` ``age``.

    A database file of its own: Django never closes an in-memory SQLite database.
    """

    def add(age):
        given = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "kept.sqlite3")}
        configured = connections.configure_settings({"default": {**given, "CONN_MAX_AGE": age}})
        monkeypatch.setitem(connections.settings, "kept", configured["default"])

    with django_db_blocker.unblock():
        yield add


def connect_kept(used):
    """Open the "kept" database in this thread; add its connection to ``used``."""
    connections["kept"].ensure_connection()
    used.append(connections["kept"].connection)


def is_open(connection):
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
        return False
    return True


@pytest.mark.parametrize(
    ("threads", "max_age", "connections_made", "last_open"),
    [(2, 60, 1, True), (2, 0, 3, False), (0, 60, 3, False)],
)
async def test_conn_max_age_keeps_a_connection_between_subgraph_requests_as_under_wsgi(
    kept_database, threads, max_age, connections_made, last_open
):
    """The request signals close it, or keep it, in the thread that used it; a
    thread of a request's own closes it when the request ends."""
    kept_database(max_age)
    used = []
    handler = SubgraphHandler(Recorder(), threads=threads)
    with OnStarted(lambda: connect_kept(used)):
        for _ in range(3):
            assert (await call(handler, "/graphql/"))[0] == 200
    assert len(used) == 3
    assert len({id(c) for c in used}) == connections_made
    assert is_open(used[-1]) is last_open


async def test_a_request_that_finds_every_thread_busy_gets_one_of_its_own():
    """It is not queued behind the busy one: both requests wait for each other here."""
    both = threading.Barrier(2, timeout=10)
    handler = SubgraphHandler(Recorder(), threads=1)
    with OnStarted(both.wait):
        answers = await asyncio.gather(call(handler, "/graphql/"), call(handler, "/graphql/"))
    assert [status for status, _, _ in answers] == [200, 200]
    # The one kept thread is idle again; no other was kept.
    assert (len(handler.threads._idle), handler.threads._made) == (1, 1)


async def test_a_thread_left_running_by_a_cancelled_request_serves_no_other(kept_database):
    """The server cancelled the request (shutting down, or its timeout for the
    application) while its query ran: the query runs on, on a thread that then
    closes its connections and ends."""
    kept_database(60)
    threads = SubgraphThreads(1)
    release, blocked = threading.Event(), threading.Event()
    used, ran_on = [], []

    def query():
        connect_kept(used)
        ran_on.append(threading.current_thread())
        blocked.set()
        release.wait(30)

    async def request():
        async with threads.context():
            await sync_to_async(query)()

    cancelled = asyncio.create_task(request())
    assert await asyncio.to_thread(blocked.wait, 10)
    (left_running,) = ran_on
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    try:
        async with threads.context():
            other = await asyncio.wait_for(sync_to_async(threading.current_thread)(), 5)
    finally:
        release.set()
    assert other.name.startswith("subgraph")
    assert other is not left_running
    async with threads.context():
        assert await sync_to_async(threading.current_thread)() is other
    left_running.join(10)
    assert not left_running.is_alive()
    assert not is_open(used[0])


def test_a_negative_number_of_threads_is_refused():
    with pytest.raises(ImproperlyConfigured, match="threads must be 0 or more, got -1"):
        SubgraphHandler(Recorder(), threads=-1)


async def test_an_error_in_the_view_is_django_s_500_and_its_text_stays_inside(monkeypatch):
    async def broken(self, request, *args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(SubgraphView, "dispatch", broken)
    status, _, body = await call(SubgraphHandler(Recorder()), "/graphql/")
    assert status == 500
    assert b"secret detail" not in body


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/nothing/", "routes no view at '/nothing/'"),
        ("/admin/", "not by a SubgraphView"),
        ("graphql/", "a path starts with '/'"),
    ],
)
def test_only_a_subgraph_view_is_served_without_middleware(path, says):
    with pytest.raises(ImproperlyConfigured, match=says):
        SubgraphHandler(Recorder(), path=path)


def test_the_demo_subgraph_answers_without_the_middleware_and_the_admin_keeps_it(shops):
    """shop_b's asgi.py wraps its application: a real uvicorn process."""
    base = f"http://127.0.0.1:{shops.shop_b.port}"
    request = urllib.request.Request(
        f"{base}/graphql/",
        data=TYPENAME,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {shops.token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert json.load(response) == {"data": {"__typename": "Query"}}
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers.get("Set-Cookie") is None
    # The token is still required: the view checks it, not a middleware.
    anonymous = urllib.request.Request(
        f"{base}/graphql/", data=TYPENAME, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=30)
    assert refused.value.code == 401
    # The server decodes the path before either handler sees it, as Django resolves it.
    encoded = urllib.request.Request(
        f"{base}/%67raphql/", data=TYPENAME, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(encoded, timeout=30)
    assert refused.value.code == 401
    # The admin's login page still gets its CSRF cookie from the middleware.
    with urllib.request.urlopen(f"{base}/admin/login/", timeout=30) as response:
        assert "csrftoken=" in (response.headers.get("Set-Cookie") or "")


async def send_unread(app, headers):
    """POST to /graphql/ with ``headers``; return the status, the body, and whether the
    application asked for the request's body at all."""
    scope = http_scope("/graphql/", headers=headers)
    asked = []
    sent = []

    async def receive():
        asked.append(True)
        if len(asked) == 1:
            return {"type": "http.request", "body": TYPENAME, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, bool(asked)


@pytest.fixture
def token(settings):
    settings.FEDERATION = {**settings.FEDERATION, "SUBGRAPH_TOKEN": "handler-token-1"}
    return "handler-token-1"


async def test_a_caller_without_the_token_is_refused_before_its_body_is_read(token):
    handler = SubgraphHandler(Recorder())
    length = (b"content-length", str(len(TYPENAME)).encode())
    status, body, read = await send_unread(handler, [length])
    assert (status, read) == (401, False)
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    wrong = [length, (b"authorization", b"Bearer not-the-token")]
    assert (await send_unread(handler, wrong))[::2] == (401, False)
    right = [length, (b"authorization", f"Bearer {token}".encode())]
    status, body, read = await send_unread(handler, right)
    assert (status, read) == (200, True)
    assert json.loads(body) == {"data": {"__typename": "Query"}}


async def test_a_body_declared_too_large_is_refused_before_it_is_read(token, settings):
    handler = SubgraphHandler(Recorder())
    too_large = str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1).encode()
    headers = [(b"content-length", too_large), (b"authorization", f"Bearer {token}".encode())]
    status, _, read = await send_unread(handler, headers)
    assert (status, read) == (413, False)
