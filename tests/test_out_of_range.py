"""Out-of-range and malformed numbers fail only their own item, never with a 500."""

import pytest
from django.db.models import prefetch_related_objects

from federated_fk.prefetch import collect_remote_errors
from tests.federated_fk.conftest import federation, stand_in, synced  # noqa: F401
from tests.test_malformed_requests import send
from tests.testapp.models import Reference


@pytest.mark.parametrize(
    ("page", "status"),
    [
        ("9" * 19, 400),
        ("18446744073709551617", 400),
        ("9" * 400, 400),
        ("0", 400),
        ("-1", 400),
        ("1.5", 400),
        ("%201", 400),
        ("%EF%BC%91", 400),  # a full-width digit one
        ("abc", 400),
        ("1", 200),
        ("2", 200),
        ("1000", 200),  # past the end: an empty page
    ],
)
def test_books_page_number(shops, page, status):
    answer, body = send(f"{shops.url}/books/?page={page}", None)
    assert answer == status, body[:200]


@pytest.mark.parametrize("offset", [2**31, 2**40])
def test_gateway_offset_beyond_graphql_int_is_an_error(shops, offset):
    status, body = shops.query(
        "query ($o: Int!) { books(offset: $o) { totalCount } }", {"o": offset}
    )
    assert status == 200 and body["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["99999999999999999999", "-9223372036854775809", "1.5", " 7 ", "x"])
def test_a_bad_remote_object_id_leaves_the_other_remote_targets_alone(synced, bad):  # noqa: F811
    RemoteBook = stand_in(synced, "shop_b", "Book")
    good = Reference.objects.create(content_object=RemoteBook(5))
    broken = Reference.objects.create(content_type=good.content_type, object_id=bad)
    other = Reference.objects.create(content_object=RemoteBook(6))
    refs = list(Reference.objects.filter(pk__in=[good.pk, broken.pk, other.pk]))
    with collect_remote_errors() as errors:
        prefetch_related_objects(refs, "content_object")
    assert errors == {}
    assert [r.content_object and r.content_object.title for r in refs] == [
        "B Book 5",
        None,
        "B Book 6",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["99999999999999999999", "-9223372036854775809", "1.5", "x", " 1"])
def test_a_bad_local_object_id_leaves_the_other_local_targets_alone(bad):
    from tests.testapp.models import Book

    kept = Book.objects.create(title="Kept")
    good = Reference.objects.create(content_object=kept)
    Reference.objects.create(content_type=good.content_type, object_id=bad)
    refs = list(Reference.objects.all())
    prefetch_related_objects(refs, "content_object")
    assert [r.content_object for r in refs] == [kept, None]
