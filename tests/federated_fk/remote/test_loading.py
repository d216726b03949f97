"""Loading remote objects from real subgraph processes: lazily, in batches, cached."""

from decimal import Decimal

import pytest
from django.db import connections

from federated_fk.exceptions import (
    RemoteConnectionError,
    RemoteObjectDoesNotExist,
)
from tests.federated_fk.conftest import stand_in
from tests.remoteshop.models import gadget_id
from tests.testapp.models import Reference

pytestmark = pytest.mark.django_db


def test_a_single_lazy_load_costs_one_request(synced, shop_b):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    ref = Reference.objects.create(content_object=RemoteBook(7))
    ref = Reference.objects.get(pk=ref.pk)
    target = ref.content_object
    assert shop_b.stats()["graphql_requests"] == 0  # lazy: nothing fetched yet
    assert (target.title, target.author, target.price) == ("B Book 7", "Author 0", Decimal("7.50"))
    assert ref.content_object.title == "B Book 7"  # cached on the reference
    assert shop_b.stats()["graphql_requests"] == 1
    assert Decimal(target.price) == Decimal("7.50")


def test_a_missing_remote_object_behaves_like_a_deleted_target(synced):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    ref = Reference.objects.create(content_object=RemoteBook(99999))
    hidden = Reference.objects.create(content_object=RemoteBook(100))  # unpublished: hidden
    with pytest.raises(RemoteBook.DoesNotExist) as raised:
        Reference.objects.get(pk=ref.pk).content_object.title  # noqa: B018
    assert isinstance(raised.value, RemoteObjectDoesNotExist)
    assert str(raised.value) == (
        "remoteshop.Book matching pk=99999 does not exist in project 'shop_b'."
    )
    refs = list(Reference.objects.prefetch_related("content_object"))
    assert [r.content_object for r in refs] == [None, None]
    assert hidden.pk == refs[1].pk


def test_refresh_from_db_fetches_the_object_again(synced, shop_b):
    book = stand_in(synced, "shop_b", "Book")(7)
    assert book.title == "B Book 7"
    book.refresh_from_db()
    assert book.title == "B Book 7"
    assert shop_b.stats()["graphql_requests"] == 2
    gone = stand_in(synced, "shop_b", "Book")(99999, data={"title": "stale"})
    with pytest.raises(RemoteObjectDoesNotExist):
        gone.refresh_from_db()


def test_uuid_ids(synced):
    RemoteGadget = stand_in(synced, "shop_b", "Gadget")
    ref = Reference.objects.create(content_object=RemoteGadget(str(gadget_id(4))))
    fresh = Reference.objects.get(pk=ref.pk)
    assert fresh.content_object.pk == gadget_id(4)
    assert fresh.content_object.name == "B Gadget 4"


def test_get_all_objects_for_this_type_fetches_in_one_request(synced, shop_b):
    ct = synced[("shop_b", "Audiobook")]
    objs = ct.get_all_objects_for_this_type(pk__in=[1, 2, 999])
    assert [(o.pk, o.title, o.duration_minutes) for o in objs] == [
        (1, "B Audiobook 1", 61),
        (2, "B Audiobook 2", 62),
    ]
    assert shop_b.stats()["graphql_requests"] == 1


def test_declared_field_subset(synced, federation, shop_b):
    federation["PROJECTS"]["shop_b"]["FIELDS"] = {"Book": ["title"]}
    book = stand_in(synced, "shop_b", "Book")(5)
    assert book.title == "B Book 5"
    with pytest.raises(AttributeError, match="field 'price' is not fetched"):
        book.price  # noqa: B018


def test_ttl_cache_through_djangos_cache(synced, federation, shop_b, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    federation["PROJECTS"]["shop_b"]["CACHE_TIMEOUT"] = 60
    RemoteBook = stand_in(synced, "shop_b", "Book")
    assert RemoteBook(8).title == "B Book 8"
    assert RemoteBook(8).title == "B Book 8"
    assert shop_b.stats()["graphql_requests"] == 1


def test_missing_and_hidden_objects_are_cached_too(synced, federation, shop_b, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    federation["PROJECTS"]["shop_b"]["CACHE_TIMEOUT"] = 60
    RemoteBook = stand_in(synced, "shop_b", "Book")
    for pk in (99999, 100):  # missing, then unpublished (hidden)
        Reference.objects.create(content_object=RemoteBook(pk))
    for _ in range(3):
        refs = list(Reference.objects.prefetch_related("content_object"))
        assert [r.content_object for r in refs] == [None, None]
    assert shop_b.stats()["graphql_requests"] == 1


def test_the_remote_comes_back_without_a_restart(synced, shop_b):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    assert RemoteBook(1).title == "B Book 1"
    shop_b.stop()
    try:
        with pytest.raises(RemoteConnectionError):
            RemoteBook(2).title  # noqa: B018
    finally:
        shop_b.launch()
    assert RemoteBook(3).title == "B Book 3"


@pytest.mark.django_db(transaction=True)
async def test_async_load_and_prefetch(synced, shop_b):
    from asgiref.sync import sync_to_async

    from federated_fk.prefetch import aprefetch_related_objects
    from federated_fk.remote import afetch_remote_objects

    RemoteBook = stand_in(synced, "shop_b", "Book")
    book = await RemoteBook(11).aload()
    assert book.title == "B Book 11"
    objs = (await afetch_remote_objects({RemoteBook: [12, 13]})).raise_first()
    assert [o.title for o in objs] == ["B Book 12", "B Book 13"]
    await Reference.objects.acreate(content_object=RemoteBook(14))
    refs = [r async for r in Reference.objects.all()]
    await aprefetch_related_objects(refs, "content_object")
    assert refs[0].content_object.title == "B Book 14"
    with pytest.raises(RemoteBook.DoesNotExist):
        await RemoteBook(99999).aload()
    assert (await sync_to_async(shop_b.stats)())["graphql_requests"] == 4
    # The ORM's async calls ran in a worker thread: close its connection, so
    # that the test database can be dropped.
    await sync_to_async(connections.close_all)()


def test_types_whose_fields_clash_share_one_request(synced, shop_b):
    # Book.author is a String, Edition.author a reference: aliased in the one query.
    from federated_fk.remote import fetch_remote_objects
    from tests.sharedapp.models import Author

    Author.objects.create(id=1, name="Frank Herbert")
    Book, Edition = stand_in(synced, "shop_b", "Book"), stand_in(synced, "shop_b", "Edition")
    book, edition = fetch_remote_objects({Book: [7], Edition: [1]}).raise_first()
    assert shop_b.stats()["graphql_requests"] == 1
    assert book.author == "Author 0" and edition.author.name == "Frank Herbert"
