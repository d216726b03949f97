"""FederatedManyToManyField with remote targets, against real subgraph processes."""

import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from federated_fk.exceptions import RemoteProjectNotConfigured, RemoteTypeNotInSchema
from federated_fk.ids import InvalidId
from federated_fk.models import GenericContentType
from federated_fk.prefetch import collect_remote_errors
from tests.gm2mapp.models import Movie, User
from tests.remoteshop.models import gadget_id
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(federation, shop_b, shop_c, tmp_path):
    call_command("sync_remote_contenttypes", schema_dir=tmp_path, stdout=StringIO())
    shop_b.stats(reset=True)
    shop_c.stats(reset=True)
    cts = GenericContentType.objects.filter(project__in=["shop_b", "shop_c"])
    return {(ct.project, ct.type_name): ct.model_class() for ct in cts}


def test_local_and_remote_targets_side_by_side(synced, shop_b, shop_c):
    RemoteBook, CBook = synced["shop_b", "Book"], synced["shop_c", "Book"]
    me = User.objects.create(name="Me")
    vendetta = Movie.objects.create(title="V for Vendetta")
    me.preferred_videos.add(vendetta, RemoteBook(3), CBook(4))
    assert shop_b.stats()["graphql_requests"] == 0  # adding costs no request
    with CaptureQueriesContext(connection) as queries:
        targets = list(me.preferred_videos.all())
    assert len(queries) == 2  # the through rows, the movies
    assert targets == [vendetta, RemoteBook(3), CBook(4)]
    assert [t.title for t in targets] == ["V for Vendetta", "B Book 3", "C Book 4"]
    assert shop_b.stats()["graphql_requests"] == 1 and shop_c.stats()["graphql_requests"] == 1
    assert [t.title for t in me.preferred_videos.filter(Model=RemoteBook)] == ["B Book 3"]
    me.preferred_videos.remove(RemoteBook(3))
    assert me.preferred_videos.count() == 2
    assert list(User.objects.filter(preferred_videos=CBook(4))) == [me]
    me.preferred_videos.set([RemoteBook(99999)])  # a target that does not exist is skipped
    assert list(me.preferred_videos.all()) == []
    assert me.preferred_videos.count() == 1
    me.delete()  # remote targets are never deleted: nothing is sent
    assert shop_b.stats()["graphql_requests"] == 3


def test_an_unreachable_project_is_reported_not_hidden(synced, federation):
    RemoteBook = synced["shop_b", "Book"]
    me = User.objects.create(name="Me")
    vendetta = Movie.objects.create(title="V for Vendetta")
    me.preferred_videos.add(vendetta, RemoteBook(3))
    federation["PROJECTS"]["shop_b"]["URL"] = "http://127.0.0.1:9/graphql/"
    with collect_remote_errors() as errors:
        users = list(User.objects.prefetch_related("preferred_videos"))
    assert list(users[0].preferred_videos.all()) == [vendetta]
    assert set(errors) == {"shop_b"}


def test_prefetch_of_a_thousand_links_costs_one_request_per_project_and_chunk(
    synced, federation, shop_b, shop_c, django_assert_num_queries
):
    """N = 1,000 links: 100 users with 10 targets each, half local, half remote."""
    federation["PROJECTS"]["shop_b"]["BATCH_SIZE"] = 200
    RemoteBook, Gadget = synced["shop_b", "Book"], synced["shop_b", "Gadget"]
    CBook = synced["shop_c", "Book"]
    books = Book.objects.bulk_create(Book(title=f"Book {i}") for i in range(300))
    movies = [Movie.objects.create(title=f"Movie {i}") for i in range(200)]
    targets = [
        *books,
        *movies,
        *(RemoteBook(i) for i in range(1, 401)),
        *(Gadget(gadget_id(i % 10 + 1)) for i in range(50)),
        *(CBook(i) for i in range(1, 51)),
    ]
    users = User.objects.bulk_create(User(name=f"User {i}") for i in range(100))
    through = User.preferred_videos.field.through
    cts = {type(t): GenericContentType.objects.get_for_model(t) for t in targets}
    through.objects.bulk_create(
        through(user=users[i % 100], content_type=cts[type(t)], object_id=str(t.pk))
        for i, t in enumerate(targets)
    )
    # 50 gadget links repeat 10 gadgets: the 1,000 links name 960 distinct objects.
    assert through.objects.count() == 1000
    started = time.perf_counter()
    # users, through rows, books, movies (content types are cached)
    with django_assert_num_queries(4):
        fetched = list(User.objects.order_by("pk").prefetch_related("preferred_videos"))
    elapsed = time.perf_counter() - started
    b_stats, c_stats = shop_b.stats(), shop_c.stats()
    # shop_b: 400 books + 10 distinct gadgets = 410 representations, in chunks of 200.
    assert (b_stats["graphql_requests"], b_stats["representations"]) == (3, 410)
    assert b_stats["client_ports"] == 1
    assert (c_stats["graphql_requests"], c_stats["representations"]) == (1, 50)
    with django_assert_num_queries(0):
        linked = [list(u.preferred_videos.all()) for u in fetched]
    assert sum(map(len, linked)) == 1000 - 4  # books 100, 200, 300, 400 are unpublished
    first = linked[0]
    assert [type(t) for t in first[:5]] == [Book] * 3 + [Movie] * 2
    assert first[5].title == "B Book 1" and isinstance(first[5], RemoteBook)
    assert shop_b.stats()["graphql_requests"] == 3  # reading fields costs nothing more
    print(f"\nprefetch of 1,000 links (100 users): {elapsed * 1000:.0f} ms")


def test_filtering_by_remote_targets(synced, shop_b):
    RemoteBook = synced["shop_b", "Book"]
    me = User.objects.create(name="Me")
    me.preferred_videos.add(RemoteBook(3))
    assert list(User.objects.filter(preferred_videos__in=[RemoteBook(3), RemoteBook(5)])) == [me]
    assert list(User.objects.filter(preferred_videos=RemoteBook(99999))) == []
    assert list(User.objects.exclude(preferred_videos=RemoteBook(3))) == []
    assert shop_b.stats()["graphql_requests"] == 0  # filtering by stand-ins loads nothing


def test_find_dangling_references_covers_the_through_table(synced, shop_b):
    RemoteBook = synced["shop_b", "Book"]
    me = User.objects.create(name="Me")
    me.preferred_videos.add(RemoteBook(3), RemoteBook(99999))
    out = StringIO()
    call_command("find_dangling_references", "--delete", stdout=out)
    assert "object_id='99999'" in out.getvalue()
    assert list(me.preferred_videos.all()) == [RemoteBook(3)]


def test_writes_refuse_what_reads_refuse_and_the_list_keeps_reading(synced, shop_b):
    RemoteBook = synced["shop_b", "Book"]
    me = User.objects.create(name="Me")
    me.preferred_videos.add(RemoteBook(3))
    pamphlet = GenericContentType.objects.create(
        project="shop_b", app_label="books", model="pamphlet", type_name="Pamphlet"
    )  # described once, no longer in shop_b's schema
    nowhere = GenericContentType.objects.create(
        project="shop_z", app_label="books", model="book", type_name="Book", in_schema=True
    )
    for bad, error in (
        (pamphlet.model_class()(1), RemoteTypeNotInSchema),
        (nowhere.model_class()(1), RemoteProjectNotConfigured),
        (RemoteBook(1.5), InvalidId),
        (RemoteBook(" 1 "), InvalidId),
    ):
        with pytest.raises(error):
            me.preferred_videos.add(RemoteBook(5), bad)
    assert shop_b.stats()["graphql_requests"] == 0
    assert [b.title for b in me.preferred_videos.all()] == ["B Book 3"]
    (fetched,) = User.objects.prefetch_related("preferred_videos")
    assert [b.title for b in fetched.preferred_videos.all()] == ["B Book 3"]
    assert shop_b.stats()["graphql_requests"] == 2
