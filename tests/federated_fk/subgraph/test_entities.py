"""``with_keys``: a batch's keys reach the database as one parameter, with pk__in's rows."""

import uuid

import pytest
from django.db import connection, connections

from federated_fk.subgraph.entities import with_keys
from tests.remoteshop.models import Book, Gadget

pytestmark = pytest.mark.django_db

#: The databases that read the keys from one parameter.
ONE_PARAMETER = connection.vendor in ("sqlite", "postgresql")


def parameters(queryset):
    return queryset.query.get_compiler(queryset.db).as_sql()[1]


@pytest.fixture
def books():
    Book.objects.bulk_create(
        Book(id=i, title=f"Book {i}", author="A", price=i, published=i % 3 != 0)
        for i in range(1, 601)
    )


@pytest.mark.usefixtures("books")
@pytest.mark.parametrize(
    "keys",
    [
        list(range(1, 501)),
        [7, 7, 3, 600, 601, 0, -5, 2**31 - 1, -(2**31)],
        [1],
        [],
    ],
    ids=["a batch", "repeated, missing and extreme", "one", "none"],
)
def test_the_rows_are_those_of_pk_in(keys):
    got = with_keys(Book.objects.all(), keys)
    assert sorted(got.values_list("pk", flat=True)) == sorted(
        Book.objects.filter(pk__in=keys).values_list("pk", flat=True)
    )


@pytest.mark.usefixtures("books")
def test_the_visible_rows_stay_filtered():
    published = Book.objects.filter(published=True)
    got = list(with_keys(published, [1, 2, 3, 6, 9]).order_by("pk").values_list("pk", flat=True))
    assert got == [1, 2]


@pytest.mark.skipif(not ONE_PARAMETER, reason="only SQLite and PostgreSQL take one parameter")
def test_integer_keys_are_one_parameter():
    assert len(parameters(with_keys(Book.objects.all(), list(range(1, 501))))) == 1


@pytest.mark.parametrize(
    "keys",
    [[True, 2], [1, "2"], [1.0, 2]],
    ids=["a bool", "a string", "a float"],
)
def test_keys_that_are_not_all_int_take_pk_in(keys):
    assert len(parameters(with_keys(Book.objects.all(), keys))) == len(keys)


def test_a_key_that_is_not_an_integer_field_takes_pk_in():
    keys = [uuid.uuid4() for _ in range(3)]
    assert len(parameters(with_keys(Gadget.objects.all(), keys))) == 3
    assert list(with_keys(Gadget.objects.all(), keys)) == []


@pytest.mark.usefixtures("books")
def test_a_database_without_the_one_parameter_form_reads_the_keys_one_by_one(monkeypatch):
    # with_keys chose the one-parameter form; the query then runs on a database
    # vendor it has no form for: each key gets its placeholder, as pk__in's.
    queryset = with_keys(Book.objects.values_list("pk"), [1, 2, 700])
    monkeypatch.setattr(type(connections[queryset.db]), "vendor", "another")
    sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    monkeypatch.undo()
    assert params == (1, 2, 700) or params == [1, 2, 700]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert sorted(row[0] for row in cursor.fetchall()) == [1, 2]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's JSON functions")
def test_sqlite_without_json_functions_takes_pk_in(monkeypatch):
    monkeypatch.setattr(connection.features, "supports_json_field", False)
    assert len(parameters(with_keys(Book.objects.all(), [1, 2, 3]))) == 3
