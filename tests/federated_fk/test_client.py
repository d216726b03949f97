"""Remote resolution against real subgraph processes (tests/servers.py)."""

import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from federated_fk.exceptions import (
    RemoteAuthenticationError,
    RemoteConnectionError,
    RemoteObjectDoesNotExist,
    RemoteProjectNotConfigured,
    RemoteProtocolError,
    RemoteQueryError,
    RemoteTimeout,
)
from federated_fk.models import GenericContentType
from federated_fk.prefetch import FederatedPrefetch
from tests.remoteshop.models import gadget_id
from tests.servers import free_port
from tests.testapp.models import Book, Reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def federation(settings, shop_b, shop_c):
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "PROJECTS": {
            "shop_b": {"URL": shop_b.url, "TIMEOUT": 5},
            "shop_c": {"URL": shop_c.url, "TOKEN": shop_c.token, "TIMEOUT": 5},
        },
    }
    return settings.FEDERATION


@pytest.fixture
def synced(federation, shop_b, shop_c, tmp_path):
    """Remote content types made by the sync command from the real SDL."""
    call_command("sync_remote_contenttypes", schema_dir=tmp_path, stdout=StringIO())
    shop_b.stats(reset=True)
    shop_c.stats(reset=True)
    cts = GenericContentType.objects.filter(project__in=["shop_b", "shop_c"])
    return {(ct.project, ct.type_name): ct for ct in cts}


def stand_in(synced, project, type_name):
    return synced[(project, type_name)].model_class()


def test_sync_command_creates_content_types_and_stores_the_sdl(federation, shop_b, tmp_path):
    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=out)
    output = out.getvalue()
    assert "created shop_b | remoteshop.book (Book): title, author, price" in output
    assert "shop_b: 3 created, 0 updated, 0 unchanged, 0 left alone." in output
    gadget = GenericContentType.objects.get(project="shop_b", model="gadget")
    assert (gadget.type_name, gadget.pk_type, gadget.fields) == ("Gadget", "uuid", ["name"])
    audiobook = GenericContentType.objects.get(project="shop_b", model="audiobook")
    assert audiobook.fields == ["title", "narrator", "durationMinutes"]
    sdl = (tmp_path / "shop_b.graphql").read_text()
    assert "type Book @djangoModel" in sdl

    GenericContentType.objects.filter(pk=gadget.pk).update(fields=["old"])
    GenericContentType.objects.create(project="shop_b", app_label="remoteshop", model="gone")
    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=out)
    output = out.getvalue()
    assert "updated shop_b | remoteshop.gadget (Gadget): fields" in output
    assert "left alone shop_b | remoteshop.gone" in output
    assert "shop_b: 0 created, 1 updated, 2 unchanged, 1 left alone." in output


def test_a_single_lazy_load_costs_one_request(synced, shop_b):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    ref = Reference.objects.create(content_object=RemoteBook(7))
    ref = Reference.objects.get(pk=ref.pk)
    target = ref.content_object
    assert shop_b.stats()["graphql_requests"] == 0  # lazy: nothing fetched yet
    assert (target.title, target.author, target.price) == ("B Book 7", "Author 0", "7.50")
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
    with pytest.raises(AttributeError, match="has no field 'price'"):
        book.price  # noqa: B018


def test_ttl_cache_through_djangos_cache(synced, federation, shop_b, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    federation["PROJECTS"]["shop_b"]["CACHE_TIMEOUT"] = 60
    RemoteBook = stand_in(synced, "shop_b", "Book")
    assert RemoteBook(8).title == "B Book 8"
    assert RemoteBook(8).title == "B Book 8"
    assert shop_b.stats()["graphql_requests"] == 1


def test_wrong_token_is_refused_and_never_shown(synced, federation, shop_c):
    federation["PROJECTS"]["shop_c"]["TOKEN"] = "wrong-token-91b2"
    with pytest.raises(RemoteAuthenticationError) as raised:
        stand_in(synced, "shop_c", "Book")(1).title  # noqa: B018
    error = raised.value
    assert error.status == 401
    assert str(error) == f"Project 'shop_c' at {shop_c.url} is unavailable: HTTP 401"
    for text in (str(error), repr(error)):
        assert "wrong-token" not in text and shop_c.token not in text


def test_remote_down_names_project_and_endpoint(synced, federation):
    url = f"http://127.0.0.1:{free_port()}/graphql/"
    federation["PROJECTS"]["shop_b"]["URL"] = url
    started = time.monotonic()
    with pytest.raises(RemoteConnectionError) as raised:
        list(Reference.objects.prefetch_related("content_object"))  # nothing remote yet
        Reference.objects.create(content_object=stand_in(synced, "shop_b", "Book")(1))
        list(Reference.objects.prefetch_related("content_object"))
    assert str(raised.value) == f"Project 'shop_b' at {url} is unavailable: connection refused"
    assert time.monotonic() - started < 5


def test_remote_slower_than_the_timeout(synced, federation, misbehaving):
    misbehaving.answer({"data": {"_entities": [None]}}, delay=3)
    federation["PROJECTS"]["shop_b"].update(URL=misbehaving.url, TIMEOUT=0.5)
    started = time.monotonic()
    with pytest.raises(RemoteTimeout, match=r"no answer within 0\.5 s"):
        stand_in(synced, "shop_b", "Book")(1).title  # noqa: B018
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("body", "status", "error", "reason"),
    [
        (
            b"<html>not json</html>",
            200,
            RemoteProtocolError,
            "the answer is not a GraphQL response",
        ),
        ({"data": {"_entities": []}}, 200, RemoteProtocolError, "0 entities for 1 representations"),
        ({"data": {"nothing": 1}}, 200, RemoteProtocolError, "no _entities list"),
        (
            {"data": {"_entities": [{"__typename": "Gadget", "id": "1", "name": "x"}]}},
            200,
            RemoteProtocolError,
            "asked for a Book, got 'Gadget'",
        ),
        (
            {"data": {"_entities": [{"__typename": "Book", "id": "1", "title": "t"}]}},
            200,
            RemoteProtocolError,
            "Book '1' lacks author, price",
        ),
        ({"errors": [{"message": "boom"}]}, 200, RemoteQueryError, "GraphQL errors: boom"),
        (b"oops", 502, None, "HTTP 502"),
    ],
)
def test_remote_returning_garbage(synced, federation, misbehaving, body, status, error, reason):
    from federated_fk.exceptions import RemoteHTTPError

    misbehaving.answer(body, status=status)
    federation["PROJECTS"]["shop_b"]["URL"] = misbehaving.url
    with pytest.raises(error or RemoteHTTPError) as raised:
        stand_in(synced, "shop_b", "Book")(1).title  # noqa: B018
    assert str(raised.value) == (
        f"Project 'shop_b' at {misbehaving.url} is unavailable: " + reason
        if error is not RemoteProtocolError
        or "asked" in reason
        or "lacks" in reason
        or "entities" in reason
        else str(raised.value)
    )
    assert reason in str(raised.value)


def test_a_project_without_endpoint_says_how_to_configure_it(synced):
    ct = GenericContentType.objects.create(project="shop_z", app_label="x", model="thing")
    with pytest.raises(RemoteProjectNotConfigured) as raised:
        ct.model_class()(1).name  # noqa: B018
    assert "No GraphQL endpoint is configured for project 'shop_z'." in str(raised.value)
    assert str(raised.value).endswith(
        "FEDERATION = {'PROJECTS': {'shop_z': {'URL': 'https://…/graphql/', "
        "'TOKEN': os.environ[…]}}}."
    )


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
    from federated_fk.remote import aload_remote_objects

    RemoteBook = stand_in(synced, "shop_b", "Book")
    book = await RemoteBook(11).aload()
    assert book.title == "B Book 11"
    objs = await aload_remote_objects({RemoteBook: [12, 13]})
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


def test_errors_can_be_collected_per_project_instead_of_raised(synced, federation):
    from federated_fk.remote import load_remote_objects

    url = f"http://127.0.0.1:{free_port()}/graphql/"
    federation["PROJECTS"]["shop_c"]["URL"] = url
    errors = {}
    objects = load_remote_objects(
        {stand_in(synced, "shop_b", "Book"): [1, 2], stand_in(synced, "shop_c", "Book"): [1]},
        errors=errors,
    )
    assert [o.title for o in objects] == ["B Book 1", "B Book 2"]
    assert list(errors) == ["shop_c"]
    assert isinstance(errors["shop_c"], RemoteConnectionError)


def test_list_ids_of_a_listable_remote_type(federation):
    from federated_fk.client import list_ids

    assert list_ids("shop_b", "Book", 94, 6) == (["95", "96", "97", "98", "99", "101"], 495)


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


def test_sync_records_which_types_are_listable(synced):
    assert synced[("shop_b", "Book")].listable
    assert not synced[("shop_b", "Gadget")].listable
