"""The outbox: database triggers record every write to a published table, in its transaction."""

import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, models, transaction

from federated_fk.changes.models import ChangeEvent
from federated_fk.changes.triggers import installed_tables, sync_triggers
from tests.remoteshop.models import Audiobook, Book, Gadget

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outbox(settings):
    settings.FEDERATION = {"CHANGES": {"MODELS": ["remoteshop.Book", "remoteshop.Gadget"]}}
    assert sync_triggers("default") == ["remoteshop_book", "remoteshop_gadget"]
    ChangeEvent.objects.all().delete()
    yield
    settings.FEDERATION = {}
    sync_triggers("default")


def events():
    return [
        (e.model, e.object_id, e.kind, e.columns)
        for e in ChangeEvent.objects.order_by("transaction", "id")
    ]


def new_book(title="T", price="1.00", **kwargs):
    return Book.objects.create(title=title, author="A", price=Decimal(price), **kwargs)


def test_save_and_delete_record_created_updated_deleted(outbox):
    book = new_book()
    book.price = Decimal("2.50")
    book.save()
    pk = book.pk
    book.delete()
    assert events() == [
        ("remoteshop.book", str(pk), "created", ""),
        ("remoteshop.book", str(pk), "updated", "price"),
        ("remoteshop.book", str(pk), "deleted", ""),
    ]


def test_what_signals_miss_is_recorded_too(outbox):
    """QuerySet.update() and delete(), bulk_create() and bulk_update(): no signal, an event."""
    books = Book.objects.bulk_create(
        [Book(title=f"B{i}", author="A", price=Decimal(1)) for i in range(3)]
    )
    pks = sorted(Book.objects.values_list("pk", flat=True))
    assert [e[2] for e in events()] == ["created"] * 3
    ChangeEvent.objects.all().delete()

    Book.objects.filter(pk=pks[0]).update(title="renamed")
    for book in books:
        book.author = "B"
    Book.objects.bulk_update(books, ["author"])
    Book.objects.filter(pk__in=pks[1:]).delete()
    recorded = events()  # one statement's rows come in the order the database visits them
    assert recorded[0] == ("remoteshop.book", str(pks[0]), "updated", "title")
    updated = [("remoteshop.book", str(pk), "updated", "author") for pk in pks]
    assert sorted(recorded[1:4]) == updated
    assert sorted(recorded[4:]) == [("remoteshop.book", str(pk), "deleted", "") for pk in pks[1:]]


def test_raw_sql_is_recorded(outbox):
    book = new_book()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE remoteshop_book SET published = %s WHERE id = %s", [False, book.pk])
    assert events()[-1] == ("remoteshop.book", str(book.pk), "updated", "published")


def test_an_update_that_changes_nothing_records_nothing(outbox):
    book = new_book()
    book.save()
    Book.objects.filter(pk=book.pk).update(title="T")
    assert [e[2] for e in events()] == ["created"]


def test_a_rolled_back_transaction_gives_no_event(outbox):
    kept = new_book("kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        new_book("rolled back")
        Book.objects.filter(pk=kept.pk).update(price=Decimal(9))
        Book.objects.filter(pk=kept.pk).delete()
        raise RuntimeError
    with transaction.atomic():
        new_book("savepoint kept")
        with pytest.raises(RuntimeError), transaction.atomic():
            new_book("savepoint rolled back")
            raise RuntimeError
    titles = dict(Book.objects.values_list("pk", "title"))
    assert [(e[1], e[2]) for e in events()] == [
        (str(pk), "created") for pk in sorted(titles) if titles[pk] != "rolled back"
    ]
    assert len(events()) == 2


def test_models_not_listed_record_nothing(outbox):
    Audiobook.objects.create(title="A", narrator="N", duration_minutes=3)
    assert events() == []


def test_uuid_keys(outbox):
    gadget = Gadget.objects.create(name="G")
    assert uuid.UUID(ChangeEvent.objects.get().object_id.replace("-", "")) == gadget.pk


def test_triggers_follow_the_setting(outbox, settings):
    assert installed_tables() == ["remoteshop_book", "remoteshop_gadget"]
    settings.FEDERATION = {"CHANGES": {"MODELS": ["remoteshop.Gadget"]}}
    sync_triggers("default")
    assert installed_tables() == ["remoteshop_gadget"]
    new_book()
    assert events() == []


def test_migrate_installs_the_triggers(outbox, settings):
    settings.FEDERATION = {"CHANGES": {"MODELS": ["remoteshop.Book"]}}
    call_command("migrate", "federated_fk", verbosity=0, stdout=StringIO())
    assert installed_tables() == ["remoteshop_book"]


def test_triggers_come_back_after_a_table_rebuild(outbox):
    """Django's SQLite schema editor rebuilds a table to alter a field, dropping its
    triggers; migrate installs them again. PostgreSQL keeps them."""
    field = models.CharField(max_length=300)
    field.set_attributes_from_name("title")
    old = Book._meta.get_field("title")
    with connection.schema_editor() as editor:
        editor.alter_field(Book, old, field)
    assert ("remoteshop_book" in installed_tables()) == (connection.vendor == "postgresql")
    sync_triggers("default")  # what post_migrate does after every migrate
    with connection.schema_editor() as editor:
        editor.alter_field(Book, field, old)
    sync_triggers("default")
    new_book()
    assert [e[2] for e in events()] == ["created"]
