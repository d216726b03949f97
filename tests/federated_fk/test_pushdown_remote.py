"""Local rows filtered by remote querysets, against real shop_b and shop_c processes.

shop_b holds books 1..500 titled "B Book <i>", priced "<i>.50", by
"Author <i % 7>"; every hundredth is unpublished, so hidden from other
services. shop_c holds 100 such books, "C Book <i>".
"""

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import FieldError
from django.db import connection, connections
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from federated_fk.exceptions import RemoteUnavailable, TooManyRemoteIds
from federated_fk.fields import partial_targets_q
from tests.deferredapp.models import Review
from tests.federated_fk.conftest import stand_in
from tests.gm2mapp.models import Movie, User
from tests.testapp.models import Book, Reference

pytestmark = pytest.mark.django_db


def notes(queryset):
    return sorted(r.note for r in queryset)


@pytest.fixture
def refs(synced):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    CBook = stand_in(synced, "shop_c", "Book")
    dune = Book.objects.create(title="Dune")
    for note, target in [
        ("b2", RemoteBook(2)),
        ("b3", RemoteBook(3)),
        ("b7", RemoteBook(7)),
        ("b100", RemoteBook(100)),  # hidden: never matched
        ("c2", CBook(2)),  # the same id in another project: another object
        ("dune", dune),
        ("none", None),
    ]:
        Reference.objects.create(note=note, content_object=target)
    return RemoteBook, CBook


def test_remote_queryset_costs_one_request_and_one_query(refs, shop_b, shop_c):
    RemoteBook, _ = refs
    cheap = RemoteBook.objects.filter(price__lt=5)  # books 1..4
    queryset = Reference.objects.filter(content_object__in=cheap)
    assert shop_b.stats()["graphql_requests"] == 0  # nothing is asked before the query runs
    with CaptureQueriesContext(connection) as queries:
        assert notes(queryset) == ["b2", "b3"]
    assert len(queries) == 1
    assert shop_b.stats()["graphql_requests"] == 1
    assert shop_c.stats()["graphql_requests"] == 0


def test_hidden_rows_are_never_matched(refs):
    RemoteBook, _ = refs
    assert notes(
        Reference.objects.filter(content_object__in=RemoteBook.objects.filter(pk__in=[7, 100]))
    ) == ["b7"]
    assert notes(
        Reference.objects.filter(content_object__in=RemoteBook.objects.filter(price__lt=101))
    ) == ["b2", "b3", "b7"]


def test_exclude_a_remote_queryset(refs):
    RemoteBook, _ = refs
    cheap = RemoteBook.objects.filter(price__lt=5)
    assert notes(Reference.objects.exclude(content_object__in=cheap)) == [
        "b100",
        "b7",
        "c2",
        "dune",
        "none",
    ]


def test_mixed_remote_and_local_querysets(refs, shop_b, shop_c):
    RemoteBook, CBook = refs
    targets = [
        RemoteBook.objects.filter(title="B Book 7"),
        CBook.objects.filter(price__lt=3),
        Book.objects.filter(title__startswith="Du"),
    ]
    assert notes(Reference.objects.filter(content_object__in=targets)) == ["b7", "c2", "dune"]
    assert shop_b.stats()["graphql_requests"] == 1 and shop_c.stats()["graphql_requests"] == 1
    either = Q(content_object__in=targets[:2]) | Q(note="none")
    assert notes(Reference.objects.filter(either)) == ["b7", "c2", "none"]
    assert notes(Reference.objects.exclude(content_object__in=targets)) == [
        "b100",
        "b2",
        "b3",
        "none",
    ]


def test_past_the_cap_a_clear_error_not_a_cut(refs, settings, shop_b):
    RemoteBook, _ = refs
    settings.FEDERATION = {**settings.FEDERATION, "MAX_PUSHDOWN_IDS": 3}
    queryset = Reference.objects.filter(content_object__in=RemoteBook.objects.filter(price__lt=9))
    with pytest.raises(TooManyRemoteIds) as raised:
        list(queryset)
    assert (raised.value.count, raised.value.limit) == (8, 3)
    assert shop_b.stats()["graphql_requests"] == 1  # known from the first page
    settings.FEDERATION = {**settings.FEDERATION, "MAX_PUSHDOWN_IDS": 8}
    assert notes(queryset) == ["b2", "b3", "b7"]


def test_many_to_many_in_remote_and_mixed_querysets(synced, shop_b):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    vendetta = Movie.objects.create(title="V for Vendetta")
    ann, bob, _cy = (User.objects.create(name=n) for n in ("ann", "bob", "cy"))
    ann.preferred_videos.add(vendetta, RemoteBook(1))
    bob.preferred_videos.add(RemoteBook(2), RemoteBook(100))
    shop_b.stats(reset=True)
    cheap = RemoteBook.objects.filter(price__lt=2)  # book 1
    assert [u.name for u in User.objects.filter(preferred_videos__in=cheap)] == ["ann"]
    assert shop_b.stats()["graphql_requests"] == 1
    mixed = [RemoteBook.objects.filter(title__icontains="book 2"), Movie.objects.all()]
    found = User.objects.filter(preferred_videos__in=mixed).distinct().order_by("name")
    assert [u.name for u in found] == ["ann", "bob"]
    hidden = RemoteBook.objects.filter(pk__in=[100])
    assert list(User.objects.filter(preferred_videos__in=hidden)) == []
    assert [u.name for u in User.objects.exclude(preferred_videos__in=cheap)] == ["bob", "cy"]


@pytest.fixture
def reviews(synced):
    for book in (2, 7, 14, 100, None):
        Review.objects.create(book=book)


def books(queryset):
    return sorted(r.book_id or 0 for r in queryset)


def test_remote_key_lookups_are_pushed_down(reviews, shop_b):
    queryset = Review.objects.filter(book__title__icontains="b book 7")
    assert shop_b.stats()["graphql_requests"] == 0
    with CaptureQueriesContext(connection) as queries:
        assert books(queryset) == [7]
    assert len(queries) == 1 and shop_b.stats()["graphql_requests"] == 1
    assert books(Review.objects.filter(book__price__lt=10)) == [2, 7]
    assert books(Review.objects.filter(book__author="Author 0")) == [7, 14]  # 7 % 7, 14 % 7
    assert books(Review.objects.filter(book__pk__in=[7, 100])) == [7]  # 100 is hidden
    # exclude keeps the reviews without a book, as Django does across a key.
    assert books(Review.objects.exclude(book__price__lt=10)) == [0, 14, 100]


def test_remote_key_path_across_a_remote_relation(reviews, synced):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    expected = set(RemoteBook.objects.filter(editions__pages__gt=0).pks()) & {2, 7, 14}
    found = Review.objects.filter(book__editions__pages__gt=0)
    assert expected and books(found) == sorted(expected)


def test_remote_key_in_a_remote_queryset(reviews, synced):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    assert books(Review.objects.filter(book__in=RemoteBook.objects.filter(price__lt=8))) == [2, 7]


def test_undeclared_remote_field_is_refused_before_any_request(reviews, shop_b):
    with pytest.raises(FieldError) as raised:
        Review.objects.filter(book__published=True)
    assert "title" in str(raised.value)  # it names what may be filtered on
    assert shop_b.stats()["graphql_requests"] == 0


@pytest.mark.django_db(transaction=True)
async def test_async_evaluation(synced, shop_b):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    await Reference.objects.acreate(note="b2", content_object=RemoteBook(2))
    await Reference.objects.acreate(note="b9", content_object=RemoteBook(9))
    cheap = RemoteBook.objects.filter(price__lt=5)
    assert await Reference.objects.filter(content_object__in=cheap).acount() == 1
    found = [r.note async for r in Reference.objects.exclude(content_object__in=cheap)]
    assert found == ["b9"]
    assert await Review.objects.filter(book__price__lt=5).aexists() is False
    await sync_to_async(connections.close_all)()


def test_an_unreachable_remote_raises_never_matches_nothing(refs, federation):
    RemoteBook, _ = refs
    queryset = Reference.objects.filter(content_object__in=RemoteBook.objects.filter(price__lt=5))
    federation["PROJECTS"]["shop_b"]["URL"] = "http://127.0.0.1:9/graphql/"
    with pytest.raises(RemoteUnavailable):
        list(queryset)
    with pytest.raises(RemoteUnavailable):
        Review.objects.filter(book__price__lt=5).count()


def test_partial_targets_q_reports_a_project_that_cannot_answer(refs, federation, shop_b):
    """The rest still filters: local and reachable targets match, the failed project is named."""
    RemoteBook, CBook = refs
    federation["PROJECTS"]["shop_c"]["URL"] = "http://127.0.0.1:9/graphql/"
    key = Reference._meta.get_field("content_object")
    found = partial_targets_q(
        key,
        [
            Book.objects.filter(title="Dune"),
            RemoteBook.objects.filter(price__lt=5),
            CBook.objects.filter(price__lt=5),
        ],
    )
    assert list(found.errors) == ["shop_c"]
    assert isinstance(found.errors["shop_c"], RemoteUnavailable)
    assert notes(Reference.objects.filter(found.objects)) == ["b2", "b3", "dune"]
    with pytest.raises(RemoteUnavailable):
        found.raise_first()
