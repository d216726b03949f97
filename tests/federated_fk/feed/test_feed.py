"""The feed: pages by cursor, pruning, and no lost event when transactions commit out of order."""

import random
import threading
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from federated_fk.changes.feed import InvalidCursor, Position, read_page
from federated_fk.changes.models import ChangeEvent, FeedHorizon
from federated_fk.changes.triggers import sync_triggers
from tests.remoteshop.models import Book

pytestmark = pytest.mark.django_db(transaction=True)

BOOKS = ["remoteshop.book"]


@pytest.fixture
def outbox(settings):
    settings.FEDERATION = {"CHANGES": {"MODELS": ["remoteshop.Book"]}}
    sync_triggers("default")
    ChangeEvent.objects.all().delete()
    FeedHorizon.objects.all().delete()
    yield
    settings.FEDERATION = {}
    sync_triggers("default")


def new_book(title="T"):
    return Book.objects.create(title=title, author="A", price=Decimal(1))


def read_all(after=None, limit=2):
    """Every event after ``after``, page by page; and the last cursor."""
    seen = []
    while True:
        page = read_page(after, limit, BOOKS)
        seen += [(e.object_id, e.kind) for e in page.events]
        if not page.events:
            return seen, page.cursor
        after = page.cursor


def test_pages_follow_each_other_without_gap_or_repeat(outbox):
    pks = [new_book(f"B{i}").pk for i in range(5)]
    seen, cursor = read_all()
    assert seen == [(str(pk), "created") for pk in pks]
    assert read_page(cursor, 10, BOOKS).events == []
    assert read_page(cursor, 10, BOOKS).cursor == cursor  # an empty page keeps the place
    Book.objects.filter(pk=pks[0]).delete()
    assert [(e.object_id, e.kind) for e in read_page(cursor, 10, BOOKS).events] == [
        (str(pks[0]), "deleted")
    ]


def test_an_empty_feed_has_no_cursor(outbox):
    page = read_page(None, 10, BOOKS)
    assert (page.events, page.cursor, page.pruned) == ([], None, False)


@pytest.mark.parametrize(
    "cursor",
    ["", "x", "1", "1.2.3", "-1.2", "1." + "9" * 30, "1.2 ", "0.7\n", "\u0663.\u0663", "\uff11.1"],
)
def test_a_cursor_the_feed_did_not_write_is_refused(outbox, cursor):
    with pytest.raises(InvalidCursor):
        read_page(cursor, 10, BOOKS)


def test_pruning_past_a_cursor_is_reported(outbox):
    new_book("old")
    _, behind = read_all()
    new_book("pruned")
    out = StringIO()
    call_command("prune_change_events", retention=0, stdout=out)
    assert "Deleted 2 change event(s)" in out.getvalue()
    kept = new_book("after pruning")
    page = read_page(behind, 10, BOOKS)
    assert page.pruned
    assert [e.object_id for e in page.events] == [str(kept.pk)]
    again = read_page(None, 10, BOOKS)  # a new follower: it missed what was pruned
    assert again.pruned
    assert not read_page(page.cursor, 10, BOOKS).pruned


def test_pruning_keeps_recent_events(outbox):
    new_book()
    call_command("prune_change_events", retention=3600, stdout=StringIO())
    assert ChangeEvent.objects.count() == 1
    assert not read_page(None, 10, BOOKS).pruned


def test_prune_refuses_a_negative_retention(outbox):
    with pytest.raises(CommandError):
        call_command("prune_change_events", retention=-1, stdout=StringIO())


def other_connection():
    """A second connection to the test database, outside Django's, for concurrent writes."""
    raw = connection.get_new_connection(connection.get_connection_params())
    raw.autocommit = False
    return raw


def insert_book(raw, title):
    with raw.cursor() as cursor:
        cursor.execute(
            "INSERT INTO remoteshop_book (title, author, price, published) "
            "VALUES (%s, 'A', 1, true) RETURNING id",
            [title],
        )
        return cursor.fetchone()[0]


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL"
)


@postgres_only
def test_a_higher_id_committed_first_waits_for_the_lower_one(outbox):
    """T1 takes event id 1, T2 event id 2; T2 commits first. A cursor past 2 would lose 1."""
    first, second = other_connection(), other_connection()
    try:
        low = insert_book(first, "T1")
        high = insert_book(second, "T2")
        second.commit()
        assert Book.objects.filter(pk=high).exists()  # committed and visible...
        assert read_page(None, 10, BOOKS).events == []  # ...but not served yet
        first.commit()
        seen, _ = read_all()
        assert seen == [(str(low), "created"), (str(high), "created")]
    finally:
        first.close()
        second.close()


@postgres_only
def test_a_transaction_id_taken_early_is_waited_for(outbox):
    """T1 takes its transaction id first but writes its event last."""
    first, second = other_connection(), other_connection()
    try:
        with first.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
        early = insert_book(second, "T2")
        second.commit()
        assert read_page(None, 10, BOOKS).events == []
        late = insert_book(first, "T1")
        first.commit()
        seen, _ = read_all()
        assert sorted(seen) == sorted([(str(early), "created"), (str(late), "created")])
    finally:
        first.close()
        second.close()


@postgres_only
def test_concurrent_writers_and_a_reader_lose_and_repeat_nothing(outbox):
    """Eight writers commit in any order, some roll back; a reader pages all along."""
    committed: list[int] = []
    lock = threading.Lock()
    done = threading.Event()

    def write(seed):
        rng = random.Random(seed)
        raw = other_connection()
        try:
            for i in range(25):
                pk = insert_book(raw, f"w{seed}-{i}")
                time.sleep(rng.random() / 200)
                if rng.random() < 0.2:
                    raw.rollback()
                else:
                    raw.commit()
                    with lock:
                        committed.append(pk)
        finally:
            raw.close()

    read: list[str] = []

    def follow():
        after = None
        try:
            while True:
                finished = done.is_set()
                page = read_page(after, 7, BOOKS)
                read.extend(e.object_id for e in page.events)
                after = page.cursor
                if finished and not page.events:
                    return
        finally:
            connections.close_all()

    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    reader = threading.Thread(target=follow)
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join(60)
    assert len(committed) > 100
    assert sorted(read) == sorted(str(pk) for pk in committed)  # none lost, none twice
    assert len(read) == len(set(read))


def test_positions_order_by_transaction_then_event():
    assert Position.parse("5.9") < Position.parse("6.1") < Position.parse("6.2")
    assert str(Position.parse("12.34")) == "12.34"
    assert Position.parse(None) is None
