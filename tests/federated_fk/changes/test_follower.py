"""The follower in this process, against a real publishing subgraph.

What one batch does to the cache and the signals, and what it refuses to do:
apply a page it could not check, or deletions it could not confirm.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import caches
from django.core.management import CommandError, call_command

from federated_fk.changes.follower import CursorMoved, Follower
from federated_fk.changes.models import FollowCursor
from federated_fk.changes.signals import remote_object_changed, remote_object_deleted
from federated_fk.changes.sources import Change, ChangePage, ChangeSource, MalformedChangePage
from federated_fk.exceptions import RemoteConnectionError
from federated_fk.models import GenericContentType
from tests.servers import MisbehavingServer, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def federation(settings, feed_server, tmp_path):
    """shop_a following shop_f, with a cache that keeps objects for an hour."""
    settings.CACHES = {
        **settings.CACHES,
        "follow": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "federated-fk-follower",
        },
    }
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "CACHE": "follow",
        "PROJECTS": {"shop_f": {"URL": feed_server.url, "TIMEOUT": 5, "CACHE_TIMEOUT": 3600}},
    }
    caches["follow"].clear()
    call_command("sync_remote_contenttypes", "shop_f", schema_dir=tmp_path, stdout=StringIO())
    yield settings.FEDERATION
    caches["follow"].clear()


@pytest.fixture
def follower(federation):
    """A follower that has applied the feed so far."""
    follower = Follower("shop_f")
    follower.drain()
    return follower


@pytest.fixture
def received():
    """The signals sent, as (signal, model, object id, kind, fields)."""
    seen: list[tuple] = []

    def changed(sender, content_type, object_id, kind, fields, **kwargs):
        assert sender is content_type.model_class()
        seen.append(("changed", content_type.model, object_id, kind, fields))

    def deleted(sender, content_type, object_id, **kwargs):
        assert sender is content_type.model_class()
        seen.append(("deleted", content_type.model, object_id))

    remote_object_changed.connect(changed)
    remote_object_deleted.connect(deleted)
    yield seen
    remote_object_changed.disconnect(changed)
    remote_object_deleted.disconnect(deleted)


def book(pk):
    ct = GenericContentType.objects.get(project="shop_f", model="book")
    return ct.model_class()(pk)


def requests(server):
    return server.stats()["graphql_requests"]


class Pages(ChangeSource):
    """A source that serves the pages a test gives it: a transport other than HTTP."""

    def __init__(self, project: str, *pages: ChangePage) -> None:
        super().__init__(project)
        self.pages = list(pages)
        self.asked: list[str | None] = []

    def read(self, after: str | None, limit: int) -> ChangePage:
        self.asked.append(after)
        return self.pages.pop(0)


def test_the_first_pass_reads_the_whole_feed_and_keeps_its_cursor(federation, remote, received):
    result = Follower("shop_f").drain()
    state = FollowCursor.objects.get(project="shop_f")
    assert state.applied == sum(r.events for r in result) == remote.events()
    assert state.cursor and result[-1].drained
    assert ("changed", "book", 1, "created", []) in received
    received.clear()
    assert Follower("shop_f").step().events == 0  # from the cursor: nothing new
    assert received == []


def test_a_change_drops_the_cached_object(follower, remote, feed_server, received):
    assert book(5).title == "F Book 5"
    remote.retitle(5, "F Book 5, second edition")
    before = requests(feed_server)
    assert book(5).title == "F Book 5"  # the cache still says so, for an hour
    assert requests(feed_server) == before

    result = follower.step()
    assert (result.events, result.changed, result.deleted) == (1, 1, 0)
    assert received == [("changed", "book", 5, "updated", ["title"])]
    assert book(5).title == "F Book 5, second edition"  # read again from the remote
    assert requests(feed_server) == before + 2  # the feed page and the object


def test_a_book_hidden_by_the_remote_is_deleted_here(follower, remote, received):
    assert book(6).title == "F Book 6"  # cached
    remote.execute("UPDATE remoteshop_book SET published = 0 WHERE id = 6")
    result = follower.step()
    assert (result.events, result.deleted, result.revived) == (1, 1, 0)
    assert received == [("deleted", "book", 6)]
    with pytest.raises(book(6).DoesNotExist):
        book(6).title  # noqa: B018  (the cached entry is gone: the remote is asked)
    remote.execute("UPDATE remoteshop_book SET published = 1 WHERE id = 6")
    received.clear()
    follower.step()
    # Back: a change; ``published`` is not a field the type publishes, so none is named.
    assert received == [("changed", "book", 6, "updated", [])]
    assert book(6).title == "F Book 6"


def test_a_deletion_the_remote_denies_counts_as_a_change(federation, received):
    """The page says deleted; asked past the cache, the remote still has it."""
    page = ChangePage("0.900", False, (Change("Book", "7", "deleted"),))
    follower = Follower("shop_f", source=Pages("shop_f", page))
    result = follower.step()
    assert (result.deleted, result.revived, result.changed) == (0, 1, 1)
    assert received == [("changed", "book", 7, "updated", [])]
    assert FollowCursor.objects.get(project="shop_f").cursor == "0.900"


def test_events_of_one_object_are_merged_and_unknown_types_passed_over(federation, received):
    page = ChangePage(
        "0.901",
        False,
        (
            Change("Book", "8", "created"),
            Change("Book", "8", "updated", ("title",)),
            Change("Book", "8", "updated", ("price", "title")),
            Change("Spaceship", "1", "deleted"),
        ),
    )
    result = Follower("shop_f", source=Pages("shop_f", page)).step()
    assert (result.events, result.changed, result.ignored) == (4, 1, 1)
    assert received == [("changed", "book", 8, "created", ["title", "price"])]
    assert FollowCursor.objects.get(project="shop_f").applied == 4


class Racing(Pages):
    """Serves its page while another follower of the project moves the cursor."""

    def read(self, after: str | None, limit: int) -> ChangePage:
        FollowCursor.objects.filter(project=self.project).update(cursor="0.950", applied=3)
        return super().read(after, limit)


def test_a_batch_read_while_another_follower_moved_the_cursor_is_not_applied(federation, received):
    FollowCursor.objects.create(project="shop_f", cursor="0.900", applied=2)
    page = ChangePage("0.950", False, (Change("Book", "9", "updated", ("title",)),))
    with pytest.raises(CursorMoved, match="another follower runs"):
        Follower("shop_f", source=Racing("shop_f", page)).step()
    assert received == []
    state = FollowCursor.objects.get(project="shop_f")
    assert (state.cursor, state.applied) == ("0.950", 3)  # as the other follower left it


def test_changes_of_a_type_the_last_sync_lost_are_passed_over_and_said(
    federation, received, caplog
):
    GenericContentType.objects.filter(project="shop_f", model="book").update(in_schema=False)
    page = ChangePage("0.902", False, (Change("Book", "3", "deleted"),))
    with caplog.at_level("WARNING", logger="federated_fk.changes"):
        result = Follower("shop_f", source=Pages("shop_f", page)).step()
    assert (result.ignored, result.unsynced, result.deleted) == (1, ["Book"], 0)
    assert received == []
    assert "sync_remote_contenttypes shop_f" in caplog.text
    assert FollowCursor.objects.get(project="shop_f").cursor == "0.902"


def test_when_deletions_cannot_be_confirmed_nothing_is_applied(federation, settings, received):
    state = FollowCursor.objects.create(project="shop_f", cursor="0.5", applied=5)
    dead = f"http://127.0.0.1:{free_port()}/graphql/"
    settings.FEDERATION = {
        **federation,
        "PROJECTS": {"shop_f": {**federation["PROJECTS"]["shop_f"], "URL": dead, "RETRIES": 0}},
    }
    page = ChangePage(
        "0.9", False, (Change("Book", "9", "updated"), Change("Book", "10", "deleted"))
    )
    source = Pages("shop_f", page)
    with pytest.raises(RemoteConnectionError):
        Follower("shop_f", source=source).step()
    assert source.asked == ["0.5"]
    assert received == []
    state.refresh_from_db()
    assert (state.cursor, state.applied) == ("0.5", 5)


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ({"cursor": "0.1", "pruned": "no", "changes": []}, "pruned is 'no'"),
        ({"cursor": 5, "pruned": False, "changes": []}, "the cursor 5 is not a string"),
        ({"cursor": "x" * 201, "pruned": False, "changes": []}, "1 to 200 characters"),
        ({"cursor": "0.1\n2", "pruned": False, "changes": []}, "is not a string"),
        ({"cursor": None, "pruned": False, "changes": []}, "null after a cursor"),
        (
            {"cursor": "0.1", "pruned": False, "changes": [{"typename": "Book", "id": 5}]},
            "id 5 is not a string",
        ),
        (
            {
                "cursor": "0.1",
                "pruned": False,
                "changes": [{"typename": "Book", "id": "5", "kind": "GONE", "fields": []}],
            },
            "kind 'GONE' is not one of",
        ),
        (
            {
                "cursor": "0.1",
                "pruned": False,
                "changes": [{"typename": "Bo ok", "id": "5", "kind": "DELETED", "fields": []}],
            },
            "is not a GraphQL name",
        ),
        (
            {
                "cursor": "0.1",
                "pruned": False,
                "changes": [{"typename": "Book", "id": "5", "kind": "UPDATED", "fields": [1]}],
            },
            "field 1 is not a GraphQL name",
        ),
        (
            {
                "cursor": "0.1",
                "pruned": False,
                "changes": [{"typename": "Book", "id": "x", "kind": "DELETED", "fields": []}],
            },
            "'x'",  # not a key of the type: refused by the follower
        ),
        (
            {
                "cursor": "0.1",
                "pruned": False,
                "changes": [{"typename": "Book", "id": "1", "kind": "DELETED", "fields": []}] * 3,
            },
            "not a list of at most 2",
        ),
        ({"pruned": False}, "changes is not a list"),
    ],
)
def test_a_malformed_page_is_refused_whole(federation, settings, page, problem, received):
    """Over HTTP, from a server whose answer the test sets; the follower asks for 2."""
    state = FollowCursor.objects.create(project="shop_f", cursor="0.1", applied=1)
    server = MisbehavingServer().start()
    try:
        project = {**federation["PROJECTS"]["shop_f"], "URL": server.url, "FOLLOW_BATCH": 2}
        settings.FEDERATION = {**federation, "PROJECTS": {"shop_f": project}}
        server.answer({"data": {"federatedChanges": page}})
        with pytest.raises(MalformedChangePage) as caught:
            Follower("shop_f").step()
    finally:
        server.stop()
    assert problem in str(caught.value)
    assert received == []
    state.refresh_from_db()
    assert (state.cursor, state.applied) == ("0.1", 1)


def test_backoff_doubles_from_the_interval_to_the_ceiling_with_jitter(federation, settings):
    project = {**federation["PROJECTS"]["shop_f"], "FOLLOW_INTERVAL": 0.5}
    project["FOLLOW_MAX_BACKOFF"] = 4.0
    settings.FEDERATION = {**federation, "PROJECTS": {"shop_f": project}}
    draws = iter([0.999999, 0.999999, 0.999999, 0.999999, 0.0])
    follower = Follower("shop_f", random=lambda: next(draws))
    assert follower.delay(drained=False) == 0.0  # events are waiting: at once
    assert follower.delay(drained=True) == 0.5
    delays = [follower.failed(RuntimeError("down")) for _ in range(5)]
    assert [round(d, 2) for d in delays] == [1.0, 2.0, 4.0, 4.0, 2.0]  # the last: half, jittered
    follower.succeeded()
    assert follower.delay() == 0.5


def test_the_token_is_sent_and_never_shown_in_errors(federation, settings, caplog):
    """A remote that echoes the Authorization header into a malformed page."""
    token = "feed-token-3e8b1f"
    server = MisbehavingServer().start()
    try:
        project = {**federation["PROJECTS"]["shop_f"], "URL": server.url, "TOKEN": token}
        settings.FEDERATION = {**federation, "PROJECTS": {"shop_f": project}}
        change = {"typename": "Book", "id": "5", "kind": server.ECHO, "fields": []}
        page = {"cursor": "0.1", "pruned": False, "changes": [change]}
        server.answer({"data": {"federatedChanges": page}})
        out, err = StringIO(), StringIO()
        with caplog.at_level("INFO", logger="federated_fk"), pytest.raises(CommandError) as caught:
            call_command("follow_remote_changes", "--once", stdout=out, stderr=err)
    finally:
        server.stop()
    assert caught.value.returncode == 1
    assert b'"after": null' in server.bodies[0] or b'"after":null' in server.bodies[0]
    assert "shop_f: failed: MalformedChangePage" in err.getvalue()
    assert "kind 'Bearer [redacted]' is not one of" in err.getvalue()  # it was sent, and hidden
    for text in (err.getvalue(), out.getvalue(), caplog.text, str(caught.value)):
        assert token not in text
    assert "shop_f: 0 event(s) applied" in out.getvalue()
    assert not FollowCursor.objects.filter(project="shop_f", applied__gt=0).exists()
