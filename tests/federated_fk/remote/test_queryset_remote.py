"""Remote querysets against a real subgraph process: shop_b runs every query.

shop_b holds books 1..500 (``B Book <i>``, ``Author <i % 7>``, price ``<i>.50``),
every 100th unpublished and so hidden, and editions 1..1003 (see
tests/remoteshop/management/commands/seed_remoteshop.py).
"""

import datetime
import uuid
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import FieldError
from django.db import connections
from django.db.models import Q

from federated_fk.exceptions import (
    RemoteNotQueryable,
    RemoteProtocolError,
    RemoteQueryError,
    TooManyRemoteIds,
)
from federated_fk.testing import CaptureRemoteRequests, assertNumRemoteRequests
from tests.federated_fk.conftest import stand_in

pytestmark = pytest.mark.django_db

#: The books shop_b lets others see, by id.
VISIBLE = [i for i in range(1, 501) if i % 100]


@pytest.fixture
def Book(synced):
    return stand_in(synced, "shop_b", "Book")


@pytest.fixture
def Edition(synced):
    return stand_in(synced, "shop_b", "Edition")


def ids(qs):
    return sorted(book.pk for book in qs)


def expected(condition):
    return [i for i in VISIBLE if condition(i)]


@pytest.mark.parametrize(
    ("lookups", "condition"),
    [
        ({"title": "B Book 7"}, lambda i: i == 7),
        ({"title__exact": "B Book 100"}, lambda i: False),  # hidden
        ({"title__iexact": "b book 42"}, lambda i: i == 42),
        ({"title__contains": "Book 49"}, lambda i: str(i).startswith("49")),
        ({"title__icontains": "book 49"}, lambda i: str(i).startswith("49")),
        ({"title__startswith": "B Book 3"}, lambda i: str(i).startswith("3")),
        ({"title__istartswith": "b book 3"}, lambda i: str(i).startswith("3")),
        ({"title__endswith": "99"}, lambda i: str(i).endswith("99")),
        ({"title__iendswith": "K 5"}, lambda i: i == 5),
        ({"title__in": ["B Book 3", "B Book 200", "B Book 9"]}, lambda i: i in (3, 9)),
        ({"title__isnull": True}, lambda i: False),
        ({"title__isnull": False}, lambda i: True),
        ({"price": Decimal("7.50")}, lambda i: i == 7),
        ({"price__in": ["1.50", Decimal("300.50"), 2]}, lambda i: i == 1),
        ({"price__gt": Decimal("490.50")}, lambda i: i > 490),
        ({"price__gte": "490.50"}, lambda i: i >= 490),
        ({"price__lt": 3}, lambda i: i < 3),
        ({"price__lte": Decimal("3.5")}, lambda i: i <= 3),
        ({"author": "Author 3"}, lambda i: i % 7 == 3),
        ({"author__icontains": "or 6"}, lambda i: i % 7 == 6),
        ({"pk": 8}, lambda i: i == 8),
        ({"id__in": [8, 100, 9, 99999]}, lambda i: i in (8, 9)),
        # Across a to-many relation: a book with many matching editions comes once.
        ({"editions__pages__gt": 400}, lambda i: i < 100),
        ({"editions__pages__isnull": True}, lambda i: i > 100),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, dict) else "",
)
def test_each_book_lookup(Book, lookups, condition):
    qs = Book.objects.filter(**lookups)
    pages = max(1, -(-len(expected(condition)) // 100))  # a page holds 100
    with assertNumRemoteRequests(pages, project="shop_b"):
        assert ids(qs) == expected(condition)


def test_each_edition_lookup_across_relations_and_scalars(Edition):
    # Editions 4..1003 copy edition 1's values, with book 1 + i % 99 and author 1 + i % 2.
    generated = list(range(4, 1004))
    cases = [
        ({"book__title": "B Book 1"}, [1] + [i for i in generated if i % 99 == 0]),
        # Book 100 is hidden: edition 3 is never matched through it...
        ({"book__title__icontains": "book 100"}, []),
        # ...and reads as having no book, as edition 2 has none.
        ({"book__title__isnull": True}, [2, 3]),
        ({"author__name": "Ōe Kenzaburō"}, [2] + [i for i in generated if i % 2]),
        ({"author__name__icontains": "herbert"}, [1, 3] + [i for i in generated if i % 2 == 0]),
        ({"published_on__lt": datetime.date(1990, 1, 1)}, [2]),
        ({"published_on__gte": datetime.date(2000, 1, 1), "pages__lte": 99}, [3]),
        ({"printed_at__lte": datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)}, [2, 3]),
        (
            {"printed_at__gt": datetime.datetime(2024, 3, 1, 7, 30, tzinfo=datetime.UTC)},
            [1, *generated],  # 08:30:15+01:00
        ),
        ({"opens_at__isnull": True}, [2]),
        ({"opens_at__lt": datetime.time(1, 0)}, [3]),
        ({"code": uuid.UUID("00000000-0000-4000-8000-000000000002")}, [2]),
        ({"code__in": ["00000000-0000-4000-8000-000000000003"]}, [3]),
        ({"in_print": False}, [2]),
        ({"weight__isnull": True}, [2]),
        ({"weight__gt": 1.0}, [3]),
        ({"pages__in": [0, 99]}, [2, 3]),
        ({"binding": "paperback"}, [2, 3]),
    ]
    for lookups, wanted in cases:
        qs = Edition.objects.filter(**lookups)
        if len(wanted) > 100:
            assert qs.count() == len(wanted), lookups
            assert sorted(qs.values_list("pk", flat=True)) == wanted, lookups
        else:
            assert ids(qs) == wanted, lookups


def test_q_objects_exclude_and_values(Book):
    qs = Book.objects.filter(Q(author="Author 1") | Q(price__lt=3), ~Q(title__endswith="8"))
    wanted = expected(lambda i: (i % 7 == 1 or i < 3) and not str(i).endswith("8"))
    assert ids(qs) == wanted
    qs = Book.objects.exclude(author="Author 1").filter(price__lt=10)
    assert ids(qs) == [2, 3, 4, 5, 6, 7, 9]
    xor = Book.objects.filter(Q(price__lt=5) ^ Q(author="Author 2"))
    assert ids(xor) == expected(lambda i: (i < 5) != (i % 7 == 2))


def test_ordering(Book, Edition):
    with assertNumRemoteRequests(1, project="shop_b"):
        top = Book.objects.order_by("-price")[:3]
        assert [(b.pk, b.title, b.price) for b in top] == [
            (499, "B Book 499", Decimal("499.50")),
            (498, "B Book 498", Decimal("498.50")),
            (497, "B Book 497", Decimal("497.50")),
        ]
    assert [b.pk for b in Book.objects.order_by("title")[:4]] == [1, 10, 101, 102]
    assert [b.pk for b in Book.objects.order_by("author", "-price")[:3]] == [497, 490, 483]
    # Ties are broken by pk: the order is total, so pages never overlap.
    pages = [list(Book.objects.order_by("author")[i : i + 40]) for i in range(0, 120, 40)]
    flat = [b.pk for page in pages for b in page]
    assert len(set(flat)) == 120
    assert flat[:3] == [7, 14, 21]
    # Across a relation: editions by author name, then pk.
    assert [e.pk for e in Edition.objects.order_by("author__name")[:3]] == [1, 3, 4]


def test_slicing_asks_for_the_slice_only(Book):
    with assertNumRemoteRequests(1, project="shop_b"):
        assert [b.pk for b in Book.objects.all()[10:15]] == [11, 12, 13, 14, 15]
    with assertNumRemoteRequests(1, project="shop_b"):
        assert [b.pk for b in Book.objects.all()[10:100][5:8]] == [16, 17, 18]
    with assertNumRemoteRequests(1, project="shop_b"):
        assert [b.pk for b in Book.objects.all()[490:]] == [495, 496, 497, 498, 499]
    with assertNumRemoteRequests(1, project="shop_b"):
        assert Book.objects.order_by("-price")[2].pk == 497
    with assertNumRemoteRequests(1, project="shop_b"), pytest.raises(IndexError):
        Book.objects.all()[495]
    with assertNumRemoteRequests(1, project="shop_b"):
        assert [b.pk for b in Book.objects.all()[0:10:3]] == [1, 4, 7, 10]


def test_iteration_pages_one_request_per_page(Book, shop_b):
    with assertNumRemoteRequests(5, project="shop_b") as made:
        books = list(Book.objects.all())
    assert [b.pk for b in books] == VISIBLE
    assert all(b.is_loaded for b in books) and books[-1].title == "B Book 499"
    assert [r.operation for r in made.requests] == ["queryBook"] * 5
    with assertNumRemoteRequests(3, project="shop_b"):
        assert len(Book.objects.all()[:250]) == 250
    # Exactly one page of matches: the total says there is no other page.
    hundred = Book.objects.filter(price__lt=Decimal("102"))
    with assertNumRemoteRequests(1, project="shop_b"):
        assert len(list(hundred)) == 100
    with assertNumRemoteRequests(5, project="shop_b"):
        assert sum(1 for _ in Book.objects.iterator()) == 495
    # iterator() asks for a page when the previous one is used up, and keeps nothing.
    streamed = Book.objects.order_by("-price").values_list("pk", flat=True)
    pages = streamed.iterator()
    with CaptureRemoteRequests(project="shop_b") as made:
        assert [next(pages) for _ in range(100)] == VISIBLE[::-1][:100]
        assert len(made.requests) == 1
        assert next(pages) == VISIBLE[::-1][100]
        assert len(made.requests) == 2
    assert streamed._result_cache is None
    shop_b.stats(reset=True)
    list(Book.objects.filter(author="Author 0"))
    assert shop_b.stats()["graphql_requests"] == 1  # 71 books: one page


def test_results_are_cached_on_the_queryset(Book):
    qs = Book.objects.filter(title__icontains="book 12")
    with assertNumRemoteRequests(1, project="shop_b"):
        books = list(qs)
        assert len(qs) == len(books) == 11 and bool(qs)
        assert qs.count() == 11 and qs.exists()
        assert qs.first().pk == 12 and qs.last().pk == 129 and qs[3].pk == 122
        assert qs.in_bulk() == {b.pk: b for b in books}
        assert list(qs) == books
    with assertNumRemoteRequests(1, project="shop_b"):
        assert list(qs.all()) == books  # a copy asks again


def test_count_exists_first_last(Book):
    with assertNumRemoteRequests(1, project="shop_b"):
        assert Book.objects.count() == 495
    with assertNumRemoteRequests(1, project="shop_b"):
        assert Book.objects.filter(author="Author 2").count() == 71
    with assertNumRemoteRequests(1, project="shop_b"):
        assert Book.objects.all()[490:].count() == 5
    with assertNumRemoteRequests(1, project="shop_b"):
        assert Book.objects.all()[10:20].count() == 10
    with assertNumRemoteRequests(1, project="shop_b"):
        assert Book.objects.filter(price__gt=1).exists()
    with assertNumRemoteRequests(1, project="shop_b"):
        assert not Book.objects.filter(title="B Book 300").exists()  # hidden
    with assertNumRemoteRequests(1, project="shop_b"):
        first = Book.objects.order_by("-price").first()
        assert (first.pk, first.title) == (499, "B Book 499")
    with assertNumRemoteRequests(2, project="shop_b"):  # the count, then the last one
        assert Book.objects.order_by("author", "price").last().pk == 496
    with assertNumRemoteRequests(1, project="shop_b"):
        assert Book.objects.filter(title="nothing").last() is None
    assert Book.objects.filter(title="nothing").first() is None


def test_get(Book):
    with assertNumRemoteRequests(1, project="shop_b"):
        book = Book.objects.get(title="B Book 17")
        assert (book.pk, book.price, book.is_loaded) == (17, Decimal("17.50"), True)
    with assertNumRemoteRequests(1, project="shop_b"):
        assert Book.objects.filter(author="Author 3").get(price__lt=5).pk == 3
    with pytest.raises(Book.DoesNotExist) as missing:
        Book.objects.get(title="B Book 400")  # hidden: as if missing
    assert str(missing.value) == (
        "remoteshop.Book matching query does not exist in project 'shop_b'."
    )
    with pytest.raises(Book.MultipleObjectsReturned) as many:
        Book.objects.get(author="Author 5")
    assert many.value.count == 71
    assert "get() returned more than one remoteshop.Book -- it returned 71!" in str(many.value)
    with pytest.raises(Book.DoesNotExist):
        Book.objects.all().get(pk=99999)  # a queryset's get() asks
    assert Book.objects.filter(pk__in=[3, 4]).get(pk=4).title == "B Book 4"
    assert Book.objects.values_list("title", flat=True).get(pk=5) == "B Book 5"


def test_values_list_and_in_bulk(Book, synced):
    with assertNumRemoteRequests(1, project="shop_b") as made:
        pks = list(Book.objects.filter(author="Author 4").values_list("pk", flat=True))
    assert pks == expected(lambda i: i % 7 == 4)
    assert made.requests[0].operation == "queryBook"
    assert list(Book.objects.order_by("-price").values_list("pk", "price")[:2]) == [
        (499, Decimal("499.50")),
        (498, Decimal("498.50")),
    ]
    assert list(Book.objects.filter(pk__in=[3, 1]).values_list("title", flat=True)) == [
        "B Book 3",
        "B Book 1",
    ]
    # A relation gives its key, as a foreign key's values_list() does.
    editions = stand_in(synced, "shop_b", "Edition").objects.filter(pages__in=[0, 99])
    assert list(editions.values_list("pk", "author")) == [(2, 2), (3, 1)]
    with assertNumRemoteRequests(1, project="shop_b"):
        bulk = Book.objects.in_bulk([1, 2, 100, 99999])
    assert sorted(bulk) == [1, 2] and bulk[2].title == "B Book 2"
    with assertNumRemoteRequests(1, project="shop_b"):
        bulk = Book.objects.filter(price__lt=10).in_bulk([5, 6, 50])  # id declared: one query
    assert sorted(bulk) == [5, 6]
    assert sorted(Book.objects.filter(price__lt=4).in_bulk()) == [1, 2, 3]


def test_search(Book, Edition):
    with assertNumRemoteRequests(1, project="shop_b"):
        assert ids(Book.objects.search("book 47")) == expected(lambda i: "47" in str(i))
    # Every word must be found; a word may be in the author.
    assert ids(Book.objects.search("author 3").filter(price__lt=20)) == [3, 10, 13, 17]
    assert ids(Book.objects.search('"Book 23"').search("B")) == expected(
        lambda i: str(i).startswith("23")
    )
    assert Edition.objects.search("herbert").count() == 502


def test_pks_pages_and_refuses_to_cut(Book, federation, settings):
    with assertNumRemoteRequests(2, project="shop_b"):
        assert Book.objects.filter(price__lt=150).pks() == expected(lambda i: i < 150)
    settings.FEDERATION = {**federation, "MAX_PUSHDOWN_IDS": 120}
    qs = Book.objects.filter(price__lt=200)
    with assertNumRemoteRequests(1, project="shop_b"), pytest.raises(TooManyRemoteIds) as raised:
        qs.pks()  # the first page's total says so: the others are never asked for
    assert (raised.value.count, raised.value.limit) == (198, 120)
    assert isinstance(raised.value, ValueError)
    assert "narrow the query or raise the setting" in str(raised.value)
    assert len(qs[:120].pks()) == 120


def test_hidden_rows_are_never_matched_counted_or_revealed(Book, Edition):
    hidden = [100, 200, 300, 400, 500]
    assert Book.objects.filter(pk__in=hidden).count() == 0
    assert Book.objects.filter(title__in=[f"B Book {i}" for i in hidden]).count() == 0
    assert Book.objects.filter(price__gte=Decimal("499.50")).pks() == [499]
    assert Book.objects.filter(id__in=hidden, title__startswith="B").count() == 0
    assert not Book.objects.search("book 500").exists()
    assert Book.objects.count() == len(VISIBLE)
    # Through a relation: edition 3's book (100) matches nothing.
    assert not Edition.objects.filter(book__title="B Book 100").exists()
    assert Edition.objects.filter(book__title__icontains="b").count() == 1001


def test_refusals_make_no_request(Book, synced):
    Audiobook = stand_in(synced, "shop_b", "Audiobook")
    with assertNumRemoteRequests(0):
        with pytest.raises(FieldError, match="Cannot resolve keyword 'published'"):
            Book.objects.filter(published=False)
        with pytest.raises(FieldError, match="Unsupported lookup 'lt' for remote"):
            Book.objects.filter(author__lt="B")
        with pytest.raises(FieldError):
            Book.objects.order_by("published")
        with pytest.raises(RemoteNotQueryable, match="declares no filter_fields"):
            Audiobook.objects.filter(title__icontains="a")
    # A type that is not queryable is still read by pk, through _entities.
    with assertNumRemoteRequests(1, project="shop_b") as made:
        found = list(Audiobook.objects.filter(pk__in=[2, 1, 999]))
    assert [(a.pk, a.title) for a in found] == [(2, "B Audiobook 2"), (1, "B Audiobook 1")]
    assert made.requests[0].operation == "_entities"


def test_a_remote_that_fails_raises_the_usual_errors(Book, federation, misbehaving, settings):
    projects = {"shop_b": {"URL": misbehaving.url, "TIMEOUT": 2, "RETRIES": 0}}
    settings.FEDERATION = {**federation, "PROJECTS": projects}
    misbehaving.answer({"errors": [{"message": "boom", "path": ["queryBook"]}], "data": None})
    with pytest.raises(RemoteQueryError, match="boom"):
        Book.objects.filter(title="a").count()
    misbehaving.answer({"data": {"queryBook": {"total": "many"}}})
    with pytest.raises(RemoteProtocolError, match="total 'many' is not a count"):
        Book.objects.count()
    limit_overrun = [{"__typename": "Book", "id": str(i)} for i in range(3)]
    misbehaving.answer({"data": {"queryBook": {"total": 3, "items": limit_overrun}}})
    with pytest.raises(RemoteProtocolError, match="at most 2"):
        list(Book.objects.all()[:2])
    wrong = [{"__typename": "Book", "id": "1", "title": 5, "author": "A", "price": "1"}]
    misbehaving.answer({"data": {"queryBook": {"total": 1, "items": wrong}}})
    with pytest.raises(RemoteProtocolError, match="title is not a String"):
        list(Book.objects.all())
    misbehaving.answer({"data": {"queryBook": {"ids": ["x"], "total": 1}}})
    with pytest.raises(RemoteProtocolError, match="an id that is not one"):
        Book.objects.all().pks()
    assert misbehaving.requests == 5


@pytest.mark.django_db(transaction=True)
async def test_async_twins(synced, shop_b):
    Book = stand_in(synced, "shop_b", "Book")
    qs = Book.objects.filter(author="Author 1", price__lt=55)
    async with CaptureRemoteRequests(project="shop_b") as made:
        assert await qs.acount() == 8
        assert await qs.aexists()
        assert not await Book.objects.filter(title="B Book 100").aexists()
        assert (await qs.afirst()).pk == 1
        assert (await qs.alast()).pk == 50
        assert (await qs.aget(price__gt=49)).title == "B Book 50"
        with pytest.raises(Book.DoesNotExist):
            await qs.aget(price__gt=51)
        with pytest.raises(Book.MultipleObjectsReturned):
            await qs.aget()
        assert sorted(await qs.ain_bulk([1, 8, 9])) == [1, 8]
        assert await qs.apks() == [1, 8, 15, 22, 29, 36, 43, 50]
        assert [b.pk async for b in Book.objects.order_by("-price")[:3]] == [499, 498, 497]
        assert len([b async for b in Book.objects.all()]) == 495
        assert [b.title async for b in Book.objects.filter(pk__in=[4, 3])] == [
            "B Book 4",
            "B Book 3",
        ]
    # acount, aexists x2, afirst, alast (the count, then the last one), aget x3,
    # ain_bulk, apks, a slice, five pages, one _entities fetch.
    assert len(made.requests) == 18, made.describe()
    streamed = Book.objects.values_list("pk", flat=True).aiterator()
    async with CaptureRemoteRequests(project="shop_b") as paging:
        assert [await anext(streamed) for _ in range(100)] == VISIBLE[:100]
        assert len(paging.requests) == 1
        assert [pk async for pk in streamed] == VISIBLE[100:]
        assert len(paging.requests) == 5
    cached = Book.objects.filter(author="Author 5")
    books = [b async for b in cached]
    async with CaptureRemoteRequests(project="shop_b") as again:
        assert await cached.acount() == len(books) == 71
        assert (await cached.alast()).pk == books[-1].pk
    assert not again.requests
    await sync_to_async(connections.close_all)()
