"""Prefetching remote targets from real subgraph processes: one request per project."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from federated_fk.exceptions import (
    RemoteConnectionError,
)
from federated_fk.models import GenericContentType
from federated_fk.prefetch import FederatedPrefetch
from tests.federated_fk.conftest import stand_in
from tests.remoteshop.models import gadget_id
from tests.servers import free_port
from tests.testapp.models import Book, Reference

pytestmark = pytest.mark.django_db


def test_prefetch_of_a_thousand_mixed_references_costs_one_request_per_project_and_chunk(
    synced, federation, shop_b, shop_c
):
    federation["PROJECTS"]["shop_b"]["BATCH_SIZE"] = 200
    RemoteBook = stand_in(synced, "shop_b", "Book")
    RemoteGadget = stand_in(synced, "shop_b", "Gadget")
    CBook = stand_in(synced, "shop_c", "Book")
    local = Book.objects.bulk_create(Book(title=f"Local {i}") for i in range(500))
    book_ct = GenericContentType.objects.get_for_model(Book)
    targets = (
        [(book_ct, b.pk) for b in local]
        + [(synced[("shop_b", "Book")], i) for i in range(1, 401)]
        + [(synced[("shop_b", "Gadget")], gadget_id(i % 10 + 1)) for i in range(50)]
        + [(synced[("shop_c", "Book")], i) for i in range(1, 51)]
    )
    Reference.objects.bulk_create(
        Reference(content_type=ct, object_id=str(pk)) for ct, pk in targets
    )
    assert Reference.objects.count() == 1000
    for ct in synced.values():  # a warm content-type cache, as in a running service
        GenericContentType.objects.get_for_id(ct.pk)
    with CaptureQueriesContext(connection) as queries:
        refs = list(Reference.objects.prefetch_related("content_object"))
    assert len(queries) == 2  # the references, then the local books
    b_stats, c_stats = shop_b.stats(), shop_c.stats()
    # shop_b: 400 books + 10 distinct gadgets = 410 representations, in chunks of 200.
    assert (b_stats["graphql_requests"], b_stats["representations"]) == (3, 410)
    assert b_stats["client_ports"] == 1  # one pooled connection
    assert (c_stats["graphql_requests"], c_stats["representations"]) == (1, 50)
    objects = [r.content_object for r in refs]
    assert [o.title for o in objects[:500]] == [f"Local {i}" for i in range(500)]
    remote_books = objects[500:900]
    assert all(isinstance(o, RemoteBook) for o in remote_books if o is not None)
    assert [o and o.title for o in remote_books] == [
        None if i % 100 == 0 else f"B Book {i}" for i in range(1, 401)
    ]
    assert all(
        isinstance(o, RemoteGadget) and o.name.startswith("B Gadget") for o in objects[900:950]
    )
    assert [o.title for o in objects[950:]] == [f"C Book {i}" for i in range(1, 51)]
    assert all(isinstance(o, CBook) for o in objects[950:])
    # Reading the fields costs nothing more.
    assert shop_b.stats()["graphql_requests"] == 3


def test_federated_prefetch_and_prefetch_related_objects(synced, shop_b):
    from django.db.models import prefetch_related_objects

    RemoteBook = stand_in(synced, "shop_b", "Book")
    local = Book.objects.create(title="Local")
    Reference.objects.create(content_object=local)
    Reference.objects.create(content_object=RemoteBook(3))
    refs = list(
        Reference.objects.prefetch_related(
            FederatedPrefetch("content_object", [Book.objects.only("title")])
        )
    )
    assert [r.content_object.title for r in refs] == ["Local", "B Book 3"]
    instances = list(Reference.objects.all())
    prefetch_related_objects(instances, "content_object")
    assert instances[1].content_object.title == "B Book 3"
    assert shop_b.stats()["graphql_requests"] == 2


def test_collect_remote_errors_makes_a_prefetch_partial(synced, federation):
    from federated_fk.prefetch import collect_remote_errors

    local = Book.objects.create(title="Local")
    for target in (
        local,
        stand_in(synced, "shop_b", "Book")(1),
        stand_in(synced, "shop_c", "Book")(1),
    ):
        Reference.objects.create(content_object=target)
    federation["PROJECTS"]["shop_c"]["URL"] = f"http://127.0.0.1:{free_port()}/graphql/"
    with collect_remote_errors() as errors:
        refs = list(Reference.objects.prefetch_related("content_object"))
    assert [r.content_object and r.content_object.title for r in refs] == [
        "Local",
        "B Book 1",
        None,
    ]
    assert list(errors) == ["shop_c"] and isinstance(errors["shop_c"], RemoteConnectionError)
    with pytest.raises(RemoteConnectionError):  # outside the block, a failure raises
        list(Reference.objects.prefetch_related("content_object"))


def test_batches_of_one_project_in_flight_together(synced, federation, shop_b):
    from federated_fk.prefetch import collect_remote_errors

    RemoteBook = stand_in(synced, "shop_b", "Book")
    federation["PROJECTS"]["shop_b"].update(BATCH_SIZE=40, CONCURRENT_BATCHES=3)
    Reference.objects.bulk_create(
        Reference(content_type=synced[("shop_b", "Book")], object_id=str(i)) for i in range(1, 201)
    )
    refs = list(Reference.objects.prefetch_related("content_object"))
    # Five chunks, three at a time: each answer goes to its own references.
    assert shop_b.stats()["graphql_requests"] == 5
    assert [r.content_object and r.content_object.title for r in refs] == [
        None if i % 100 == 0 else f"B Book {i}" for i in range(1, 201)
    ]
    assert all(isinstance(r.content_object, RemoteBook | None) for r in refs)
    # A project that fails fails whole: none of its chunks is used.
    federation["PROJECTS"]["shop_b"]["URL"] = f"http://127.0.0.1:{free_port()}/graphql/"
    with collect_remote_errors() as errors:
        refs = list(Reference.objects.prefetch_related("content_object"))
    assert [r.content_object for r in refs] == [None] * 200
    assert list(errors) == ["shop_b"] and isinstance(errors["shop_b"], RemoteConnectionError)
