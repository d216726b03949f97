"""The change feed over a Redis Stream: the relay and its readers, against real servers.

The Redis server is the machine's (``FEDERATED_FK_TEST_REDIS``, default
``redis://127.0.0.1:6379/0``); each test's keys share a prefix of its own and
are deleted at its end. The publishing side is the package's ``shop_f``
subgraph process; books 20 to 39 are this module's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from io import StringIO

import pytest
import redis
from django.core.cache import caches
from django.core.management import CommandError, call_command

from federated_fk.changes.follower import Follower
from federated_fk.changes.models import FollowCursor
from federated_fk.changes.redis_stream import (
    ChangeRelay,
    ChangeStreamUnavailable,
    RedisStreamSource,
    RelayCursorMoved,
    relay_cursor_key,
)
from federated_fk.changes.signals import remote_object_changed, remote_object_deleted
from federated_fk.changes.sources import (
    Change,
    ChangePage,
    ChangeSource,
    HttpFeedSource,
    MalformedChangePage,
)
from tests.federated_fk.changes.conftest import FollowerSide, stop, wait_for
from tests.servers import ROOT, free_port

REDIS_URL = os.environ.get("FEDERATED_FK_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def client():
    connection = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield connection
    connection.close()


@pytest.fixture
def stream(client):
    """A stream key no other test uses; every key of its prefix is deleted at the end."""
    prefix = f"federated_fk_test:{uuid.uuid4().hex}:"
    yield f"{prefix}changes"
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


@pytest.fixture
def federation(settings, feed_server, tmp_path, db):
    """shop_a following shop_f, in pages of 16, with a cache that keeps objects for an hour."""
    settings.CACHES = {
        **settings.CACHES,
        "follow": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "federated-fk-follower-redis",
        },
    }
    project = {"URL": feed_server.url, "TIMEOUT": 5, "CACHE_TIMEOUT": 3600}
    project.update(FOLLOW_BATCH=16, FOLLOW_INTERVAL=0.1)
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "CACHE": "follow",
        "PROJECTS": {"shop_f": project},
    }
    caches["follow"].clear()
    call_command("sync_remote_contenttypes", "shop_f", schema_dir=tmp_path, stdout=StringIO())
    yield settings.FEDERATION
    caches["follow"].clear()


@pytest.fixture
def received():
    """The signals sent, as (signal, object id, kind, fields)."""
    seen: list[tuple] = []

    def changed(sender, content_type, object_id, kind, fields, **kwargs):
        seen.append(("changed", object_id, kind, fields))

    def deleted(sender, content_type, object_id, **kwargs):
        seen.append(("deleted", object_id))

    remote_object_changed.connect(changed)
    remote_object_deleted.connect(deleted)
    yield seen
    remote_object_changed.disconnect(changed)
    remote_object_deleted.disconnect(deleted)


def read_all(source, limit: int) -> tuple[list[Change], str | None, int]:
    """Read a source to its end; return its changes, its last cursor and the pages read."""
    changes: list[Change] = []
    cursor, pages = None, 0
    while True:
        page = source.read(cursor, limit)
        pages += 1
        assert not page.pruned
        changes.extend(page.changes)
        if page.cursor in (None, cursor):
            return changes, cursor, pages
        cursor = page.cursor


def relay_all(relay: ChangeRelay) -> int:
    """Step a relay until the feed is drained; return the changes it appended."""
    appended = 0
    while True:
        result = relay.step()
        appended += result.events
        if result.drained:
            return appended


def last_id(client, stream: str) -> str:
    [(entry_id, _)] = client.xrevrange(stream, count=1)
    return entry_id


def test_every_change_reaches_the_stream_in_feed_order(federation, client, stream):
    out = StringIO()
    call_command(
        *("relay_change_feed", "--project", "shop_f", "--redis", REDIS_URL),
        *("--stream", stream, "--once"),
        stdout=out,
    )
    fed, feed_cursor, _ = read_all(HttpFeedSource("shop_f"), 16)
    assert len(fed) >= 40  # the seeded books, and what the package's other tests changed
    assert f"shop_f: {len(fed)} change(s) relayed to stream {stream}; 0 pruned" in out.getvalue()

    source = RedisStreamSource("shop_f", REDIS_URL, stream=stream, block=0)
    streamed, cursor, pages = read_all(source, 7)
    assert streamed == fed  # the same changes, in the same order
    assert pages == -(-len(fed) // 7) + 1  # pages of 7, then one that moves nothing
    assert cursor == last_id(client, stream)
    # The relay's cursor is the feed's, and the last entry carries it too.
    assert client.get(relay_cursor_key(stream)) == feed_cursor
    [(_, entry)] = client.xrevrange(stream, count=1)
    assert entry["cursor"] == feed_cursor
    assert set(entry) == {"prev", "typename", "id", "kind", "fields", "cursor"}


def test_a_follower_applies_the_stream(federation, remote, client, stream, received):
    relay = ChangeRelay("shop_f", REDIS_URL, stream=stream)
    appended = relay_all(relay)
    follower = Follower("shop_f", source=RedisStreamSource("shop_f", REDIS_URL, stream, block=0))
    follower.drain()
    state = FollowCursor.objects.get(project="shop_f")
    assert state.applied == appended == client.xlen(stream)
    assert state.cursor == last_id(client, stream)  # its cursor is a stream entry id

    received.clear()
    remote.retitle(20, "F Book 20, revised")
    remote.delete(21)
    assert relay_all(relay) == 2
    result = follower.step()
    assert (result.events, result.changed, result.deleted) == (2, 1, 1)
    assert received == [("deleted", 21), ("changed", 20, "updated", ["title"])]
    assert follower.step().drained


def test_a_waiting_reader_wakes_when_the_relay_appends(federation, remote, client, stream):
    relay = ChangeRelay("shop_f", REDIS_URL, stream=stream)
    relay_all(relay)
    after = last_id(client, stream)

    idle = RedisStreamSource("shop_f", REDIS_URL, stream=stream, block=0.3)
    started = time.monotonic()
    page = idle.read(after, 10)
    assert time.monotonic() - started >= 0.25  # it waited for an entry
    assert (page.cursor, page.changes, page.pruned) == (after, (), False)

    waiting = RedisStreamSource("shop_f", REDIS_URL, stream=stream, block=20)
    read: list = []
    reader = threading.Thread(
        target=lambda: read.append((waiting.read(after, 10), time.monotonic()))
    )
    reader.start()
    time.sleep(0.3)
    remote.retitle(22, "F Book 22, revised")
    appended_at = time.monotonic()
    relay_all(relay)
    reader.join(20)
    [(page, woke_at)] = read
    assert page.changes == (Change("Book", "22", "updated", ("title",)),)
    assert woke_at - appended_at < 2  # woken by the entry, not by the 20 s timeout


class Pages(ChangeSource):
    """A source that serves the pages a test gives it, to a relay."""

    def __init__(self, project: str, *pages: ChangePage) -> None:
        super().__init__(project)
        self.pages = list(pages)

    def read(self, after: str | None, limit: int) -> ChangePage:
        return self.pages.pop(0)


def updates(*pks: int) -> tuple[Change, ...]:
    return tuple(Change("Book", str(pk), "updated") for pk in pks)


def test_pages_of_a_trimmed_stream_say_pruned(federation, client, stream):
    source = RedisStreamSource("shop_f", REDIS_URL, stream=stream, block=0)
    page = source.read(None, 10)
    assert (page.cursor, page.pruned, page.changes) == (None, False, ())  # no stream yet
    pages = Pages("shop_f", ChangePage("0.1", False, updates(1, 2, 3, 4, 5, 6)))
    assert ChangeRelay("shop_f", REDIS_URL, stream=stream, source=pages).step().events == 6
    ids = [entry_id for entry_id, _ in client.xrange(stream)]

    page = source.read(ids[1], 10)
    assert not page.pruned and [c.id for c in page.changes] == ["3", "4", "5", "6"]

    client.xtrim(stream, maxlen=3, approximate=False)  # entries 1 to 3 are gone
    for after in (None, ids[0], ids[1]):
        page = source.read(after, 10)
        assert page.pruned, after
        assert [c.id for c in page.changes] == ["4", "5", "6"]
        assert page.cursor == ids[5]
    page = source.read(ids[2], 10)  # 3 was read before it was trimmed: nothing lost
    assert not page.pruned and [c.id for c in page.changes] == ["4", "5", "6"]
    page = source.read(ids[1], 2)  # pruned, and a short page
    assert page.pruned and [c.id for c in page.changes] == ["4", "5"]
    assert source.read(page.cursor, 2).pruned is False

    client.xdel(stream, ids[4])  # a gap inside the stream
    assert source.read(ids[3], 10).pruned
    assert not source.read(ids[2], 1).pruned  # the gap is after this page
    # Cursors this stream never issued: another source's, or past its last id.
    for foreign in ("0.123", "99999999999999-0"):
        page = source.read(foreign, 10)
        assert page.pruned and [c.id for c in page.changes] == ["4", "6"]
    client.xtrim(stream, maxlen=0, approximate=False)
    page = source.read(ids[5], 10)  # everything read, then trimmed: nothing lost
    assert (page.pruned, page.cursor) == (False, ids[5])
    page = source.read(ids[3], 10)
    assert (page.pruned, page.cursor, page.changes) == (True, ids[5], ())
    assert source.read(page.cursor, 10).pruned is False


def test_a_pruned_feed_reaches_readers_as_a_marker(federation, client, stream):
    pages = Pages(
        "shop_f",
        ChangePage("0.8", False, updates(1)),
        ChangePage("0.9", True, (Change("Book", "3", "deleted"),)),
    )
    relay = ChangeRelay("shop_f", REDIS_URL, stream=stream, source=pages)
    assert not relay.step().pruned
    result = relay.step()
    assert (result.pruned, result.events, result.cursor) == (True, 1, "0.9")
    assert relay.cursor() == "0.9"
    [first, marker, _] = [entry_id for entry_id, _ in client.xrange(stream)]
    source = RedisStreamSource("shop_f", REDIS_URL, stream=stream, block=0)
    page = source.read(first, 10)
    assert page.pruned and page.changes == (Change("Book", "3", "deleted"),)
    page = source.read(marker, 10)  # past the marker: not pruned any more
    assert not page.pruned and len(page.changes) == 1


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"typename": "Book", "id": "1", "kind": "GONE", "fields": "[]"}, "kind 'GONE'"),
        ({"typename": "Bo ok", "id": "1", "kind": "CREATED", "fields": "[]"}, "GraphQL name"),
        ({"typename": "Book", "kind": "CREATED", "fields": "[]"}, "id None is not a string"),
        ({"typename": "Book", "id": "1", "kind": "UPDATED", "fields": "{"}, "fields is not"),
        ({"typename": "Book", "id": "1", "kind": "UPDATED", "fields": "[1]"}, "field 1 is"),
        ({"something": "else"}, "typename None"),
    ],
)
def test_an_entry_a_relay_did_not_write_is_refused(federation, client, stream, entry, problem):
    client.xadd(stream, {"prev": "0-0", **entry})
    source = RedisStreamSource("shop_f", REDIS_URL, stream=stream, block=0)
    with pytest.raises(MalformedChangePage) as caught:
        source.read(None, 10)
    assert problem in str(caught.value)
    assert f"stream {stream}" in str(caught.value)
    client.xadd(stream, entry)
    first = client.xrange(stream)[0][0]
    with pytest.raises(MalformedChangePage, match="has no prev id"):
        source.read(first, 10)


class Racing(HttpFeedSource):
    """Reads its page while another relay of the stream relays the same page first."""

    other: ChangeRelay

    def read(self, after, limit):
        if self.other is not None:
            self.other.step()
            self.other = None
        return super().read(after, limit)


def test_a_second_relay_of_the_stream_appends_nothing(federation, client, stream):
    racing = Racing("shop_f")
    racing.other = ChangeRelay("shop_f", REDIS_URL, stream=stream)
    relay = ChangeRelay("shop_f", REDIS_URL, stream=stream, source=racing)
    with pytest.raises(RelayCursorMoved, match="another relay of the stream runs"):
        relay.step()
    assert client.xlen(stream) == 16  # the other relay's page, once
    relay_all(relay)
    fed, _, _ = read_all(HttpFeedSource("shop_f"), 16)
    source = RedisStreamSource("shop_f", REDIS_URL, stream=stream, block=0)
    assert read_all(source, 100)[0] == fed


def test_the_relay_command_exit_statuses(federation, client, stream):
    def relay(*args):
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError) as caught:
            call_command("relay_change_feed", *args, "--once", stdout=out, stderr=err)
        return caught.value, out.getvalue() + err.getvalue()

    unknown, _ = relay("--project", "shop_x", "--redis", REDIS_URL)
    assert unknown.returncode == 2 and "Unknown project 'shop_x'" in str(unknown)
    own, _ = relay("--project", "shop_a", "--redis", REDIS_URL)
    assert own.returncode == 2
    not_redis, _ = relay("--project", "shop_f", "--redis", "http://127.0.0.1:6379/0")
    assert not_redis.returncode == 2 and "is not a Redis URL" in str(not_redis)
    no_length, _ = relay("--project", "shop_f", "--redis", REDIS_URL, "--maxlen", "0")
    assert no_length.returncode == 2

    down = f"redis://:sekret-pw@127.0.0.1:{free_port()}/0"
    failed, said = relay("--project", "shop_f", "--redis", down, "--stream", stream)
    assert failed.returncode == 1
    assert "shop_f: failed: ChangeStreamUnavailable" in said
    assert f"redis://127.0.0.1:{down.rsplit(':', 1)[1]}" in said
    assert "sekret-pw" not in said + str(failed)

    source = RedisStreamSource("shop_f", down, stream=stream, block=0)
    with pytest.raises(ChangeStreamUnavailable, match="Connection refused"):
        source.read(None, 10)


def test_the_follower_command_options(federation):
    with pytest.raises(CommandError, match="--stream needs --source"):
        call_command("follow_remote_changes", "--once", "--stream", "key")
    with pytest.raises(CommandError, match="is not a Redis URL"):
        call_command("follow_remote_changes", "--once", "--source", "http://127.0.0.1:6379/")


# -- Processes: the relay and the follower as manage.py commands ----------------


class HoldingProxy:
    """A TCP proxy to Redis that holds back one client's ``hold``-th EXEC: a fault injected.

    Everything before that EXEC reaches Redis (``MULTI`` and the queued
    commands); the EXEC never does. ``held`` is set then; when the client
    goes away, the proxy closes its connection to Redis.
    """

    EXEC = b"*1\r\n$4\r\nEXEC\r\n"

    def __init__(self, target: tuple[str, int], hold: int, port: int = 0) -> None:
        self.target = target
        self.hold = hold
        self.execs = 0
        self.held = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]

    def start(self) -> HoldingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()

    def _forward(self, client: socket.socket, upstream: socket.socket) -> None:
        holding = False
        while data := _recv(client):
            if holding:
                continue
            at = data.find(self.EXEC)
            if at != -1:
                self.execs += data.count(self.EXEC)
                if self.execs >= self.hold:
                    upstream.sendall(data[:at])
                    holding = True
                    self.held.set()
                    continue
            upstream.sendall(data)
        upstream.close()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        while data := _recv(source):
            try:
                target.sendall(data)
            except OSError:
                return


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


class Processes:
    """``relay_change_feed`` and ``follow_remote_changes --source`` as processes of shop_a."""

    def __init__(self, side: FollowerSide, stream: str) -> None:
        self.side = side
        self.stream = stream

    def relay(self, *args: str, url: str = REDIS_URL) -> subprocess.CompletedProcess:
        return self.side.manage(*self._relay_args(url), "--once", *args)

    def start_relay(self, url: str = REDIS_URL) -> subprocess.Popen:
        return self._start(*self._relay_args(url))

    def follow(self) -> subprocess.CompletedProcess:
        return self.side.manage("follow_remote_changes", "--once", *self._source())

    def start_follower(self) -> subprocess.Popen:
        return self._start("follow_remote_changes", "-v", "2", *self._source())

    def _relay_args(self, url: str) -> tuple[str, ...]:
        return ("relay_change_feed", "--project", "shop_f", "--redis", url, "--stream", self.stream)

    def _source(self) -> tuple[str, ...]:
        return ("--source", REDIS_URL, "--stream", self.stream)

    def _start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "django", *args],
            cwd=ROOT,
            env=self.side.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def entries(client, stream: str, after: str = "-") -> list[tuple[str, str, str, list]]:
    start = f"({after}" if after != "-" else after
    return [
        (e["typename"], e["id"], e["kind"], json.loads(e["fields"]))
        for _, e in client.xrange(stream, start, "+")
    ]


def test_the_relay_killed_before_its_transaction_commits_loses_nothing(
    tmp_path, feed_server, remote, client, stream
):
    side = FollowerSide(tmp_path, feed_server, batch=2).set_up()
    run = Processes(side, stream)
    assert run.relay().returncode == 0
    assert run.follow().returncode == 0
    side.mention(23, 24, 25, 26)
    before = last_id(client, stream)
    seen = len(side.signals())
    # Two pages of two: [title of 23, 24 deleted], [25 deleted, title of 26].
    remote.retitle(23, "F Book 23, revised")
    remote.delete(24)
    remote.delete(25)
    remote.retitle(26, "F Book 26, revised")

    proxy = HoldingProxy(("127.0.0.1", 6379), hold=2).start()
    relay = run.start_relay(f"redis://127.0.0.1:{proxy.port}/0")
    try:
        wait_for(proxy.held.is_set, what="the second page's EXEC")
        # MULTI, the page's XADDs and the cursor's SET have reached Redis; not the EXEC.
        status, _out, _err = stop(relay, signal.SIGKILL)
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()
        proxy.stop()
    assert status == -signal.SIGKILL
    first = [("Book", "23", "UPDATED", ["title"]), ("Book", "24", "DELETED", [])]
    wait_for(lambda: entries(client, stream, before) == first, what="the first page only")
    [(_, last)] = client.xrevrange(stream, count=1)
    assert client.get(relay_cursor_key(stream)) == last["cursor"]  # after the first page

    again = run.relay()  # restarted: the second page, from the relay's cursor
    assert again.returncode == 0, again.stderr
    assert "shop_f: 2 change(s) relayed" in again.stdout
    assert entries(client, stream, before) == [
        *first,
        ("Book", "25", "DELETED", []),
        ("Book", "26", "UPDATED", ["title"]),
    ]

    done = run.follow()
    assert done.returncode == 0, done.stderr
    assert side.mentioned() == [23, 26]
    assert sorted(side.signals()[seen:]) == [
        ("changed", "23", "updated", "title"),
        ("changed", "26", "updated", "title"),
        ("deleted", "24", "", ""),
        ("deleted", "25", "", ""),
    ]
    assert side.cursor()[0] == last_id(client, stream)


def test_running_processes_a_deletion_reaches_the_follower_through_the_stream(
    tmp_path, feed_server, remote, client, stream
):
    side = FollowerSide(tmp_path, feed_server).set_up()
    run = Processes(side, stream)
    side.mention(27, 28)
    relay, follower = run.start_relay(), run.start_follower()
    try:
        wait_for(lambda: side.cursor()[1] > 0, what="the first batch")
        remote.delete(27)
        deleted_at = time.monotonic()
        wait_for(lambda: side.mentioned() == [28], what="the cascade")
        lag = time.monotonic() - deleted_at
    finally:
        relay_status, relay_out, relay_err = stop(relay)
        status, out, err = stop(follower)
    assert relay_status == 0, relay_err
    assert status == 0, err
    assert lag < 5, lag
    assert "Stopped." in relay_out and "Stopped." in out
    assert "shop_f: 1 event(s): 0 changed, 1 deleted" in out
    assert side.cursor()[0] == last_id(client, stream)


def test_the_relay_process_backs_off_while_redis_is_down_then_catches_up(
    tmp_path, feed_server, client, stream
):
    side = FollowerSide(tmp_path, feed_server).set_up()
    port = free_port()
    relay = Processes(side, stream).start_relay(f"redis://127.0.0.1:{port}/0")
    proxy, failures = None, []
    try:
        reader = threading.Thread(target=lambda: failures.append(relay.stderr.readline()))
        reader.start()
        reader.join(30)
        assert relay.poll() is None and not client.exists(stream)
        proxy = HoldingProxy(("127.0.0.1", 6379), hold=10**9, port=port).start()
        wait_for(lambda: client.exists(relay_cursor_key(stream)), what="catching up")
    finally:
        status, out, err = stop(relay)
        if proxy:
            proxy.stop()
    assert status == 0, err
    [failure] = failures
    assert failure.startswith("shop_f: failed: ChangeStreamUnavailable")
    assert "Connection refused" in failure and "next try in" in failure
    assert "shop_f: relaying again." in out and "Stopped." in out
    assert client.xlen(stream) >= 40


def test_a_stream_trimmed_past_a_follower_makes_it_reconcile(
    tmp_path, feed_server, remote, client, stream
):
    side = FollowerSide(tmp_path, feed_server).set_up()
    run = Processes(side, stream)
    assert run.relay("--maxlen", "10").returncode == 0
    assert run.follow().returncode == 0
    position = side.cursor()[0]
    side.mention(29, 30)
    remote.delete(29)
    for n in range(250):  # enough for MAXLEN ~ 10 to drop whole nodes of the stream
        remote.retitle(30, f"F Book 30, edition {n}")

    relayed = run.relay("--maxlen", "10")
    assert relayed.returncode == 0, relayed.stderr
    assert "shop_f: 251 change(s) relayed" in relayed.stdout
    assert client.xlen(stream) < 251
    assert ("Book", "29", "DELETED", []) not in entries(client, stream)  # trimmed away
    [(_, first)] = client.xrange(stream, count=1)
    assert first["prev"] != position

    done = run.follow()
    assert done.returncode == 0, done.stderr
    assert "shop_f: the change feed was pruned past the cursor; reconciled" in done.stdout
    assert "followapp.Mention.target: CASCADE: deleted 1" in done.stdout
    assert side.mentioned() == [30]
    assert side.cursor()[0] == last_id(client, stream) and side.cursor()[2] is not None
    again = run.follow()
    assert "0 reconciliation(s)" in again.stdout


def test_the_relay_backs_off_as_the_follower_does(federation, settings, stream):
    project = {**federation["PROJECTS"]["shop_f"], "FOLLOW_INTERVAL": 0.5}
    project["FOLLOW_MAX_BACKOFF"] = 4.0
    settings.FEDERATION = {**federation, "PROJECTS": {"shop_f": project}}
    draws = iter([0.999999, 0.999999, 0.999999, 0.999999, 0.0])
    relay = ChangeRelay("shop_f", REDIS_URL, stream=stream, random=lambda: next(draws))
    assert relay.delay(drained=False) == 0.0  # the feed has more: at once
    assert relay.delay(drained=True) == 0.5
    delays = [relay.failed() for _ in range(5)]
    assert [round(d, 2) for d in delays] == [1.0, 2.0, 4.0, 4.0, 2.0]
    relay.succeeded()
    assert relay.delay() == 0.5
