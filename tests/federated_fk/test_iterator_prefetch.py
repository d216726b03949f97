"""Prefetching under ``QuerySet.iterator(chunk_size)``: requests per chunk and flat memory.

Django runs ``prefetch_related_objects`` on each chunk of an iterator. These
tests stream 20,000 rows through each kind of relation against real subgraph
processes and check, per chunk, the requests each remote project received
(the servers count them), that every object is the right one, and that
memory does not grow from chunk to chunk.

Memory is Python's own allocations as ``tracemalloc`` traces them, in every
thread (the client loop's too). It is deterministic for a given run, is not
moved by other processes or by how the allocator returns pages (RSS is), and
counts what the library could hold: Python objects. Two figures:

- **retained**: traced memory at the start of the last chunk minus at the
  start of the second, each after a full collection. At both points exactly
  one chunk is alive, so anything kept across chunks (a memo, a cache, a list
  of errors or records) shows up here, growing with the rows read.
- **peak growth**: the highest traced memory during the iteration minus the
  traced memory before it: what one chunk costs (Django holds the previous
  chunk while it reads the next), whatever the number of rows.

Times are not measured here: ``tests/bench/iterator.py`` times the same
iteration at N = 1,000,000.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from federated_fk.models import GenericContentType
from federated_fk.prefetch import collect_remote_errors
from tests.bench.iterator import KINDS, Scenario, expected_requests, run_scenario, stream
from tests.deferredapp.models import Review
from tests.gm2mapp.models import User
from tests.testapp.models import Reference, Shelf

pytestmark = pytest.mark.django_db

N = 20_000
CHUNK = 2_000
#: Retained growth allowed over 18,000 rows read after the first chunk: about
#: 58 bytes a row. Holding the rows, their targets or their fetched fields
#: would take several hundred bytes a row.
RETAINED_MIB = 1.0


def title_of(label: str, kind: str, pk: Any) -> str | None:
    """The seeded title of a remote object; None for the books the remote hides (and no pk)."""
    if pk is None or (kind == "Book" and pk % 100 == 0):
        return None  # every 100th book is unpublished
    return f"{label} {kind} {pk}"


# -- FederatedForeignKey ---------------------------------------------------------


@pytest.fixture
def references(synced, federation):
    """N references, in pk order: per four, a shop_b book, the same book again (or, one
    time in ten, a shop_b audiobook), a shop_c book and a local shelf.

    Each chunk of 2,000 names 500 books and 10 audiobooks of shop_b, 100 books of
    shop_c and 100 shelves.
    """
    federation["PROJECTS"]["shop_b"]["BATCH_SIZE"] = 200
    cts = {
        "B Book": synced["shop_b", "Book"],
        "B Audiobook": synced["shop_b", "Audiobook"],
        "C Book": synced["shop_c", "Book"],
        "shelf": GenericContentType.objects.get_for_model(Shelf),
    }
    Shelf.objects.bulk_create(Shelf(code=f"s{i}") for i in range(100))
    targets = []
    for i in range(N):
        if i % 4 == 0:
            targets.append(("B Book", i // 4 % 500 + 1))
        elif i % 40 == 1:
            targets.append(("B Audiobook", i // 40 % 10 + 1))
        elif i % 4 == 1:
            targets.append(("B Book", i // 4 % 500 + 1))  # the same book again
        elif i % 4 == 2:
            targets.append(("C Book", i // 4 % 100 + 1))
        else:
            targets.append(("shelf", f"s{i // 4 % 100}"))
    Reference.objects.bulk_create(
        (Reference(content_type=cts[kind], object_id=str(pk)) for kind, pk in targets),
        batch_size=2000,
    )
    return targets


def check_reference(targets: list[tuple[str, Any]]) -> Callable[[Reference], None]:
    position = iter(targets)

    def check(ref: Reference) -> None:
        kind, pk = next(position)
        obj = ref.content_object
        if kind == "shelf":
            assert isinstance(obj, Shelf) and obj.pk == pk
            return
        label, type_name = kind.split()
        expected = title_of(label, type_name, pk)
        assert (obj and obj.title) == expected, (ref.pk, kind, pk)

    return check


def test_federated_foreign_key_one_request_per_project_and_batch_per_chunk(
    references, shop_b, shop_c
):
    """shop_b: 200 a request (its BATCH_SIZE), books and audiobooks together; shop_c: 500."""
    servers = {"shop_b": shop_b, "shop_c": shop_c}
    queryset = Reference.objects.order_by("pk").prefetch_related("content_object")
    streamed = stream(
        lambda: queryset.iterator(chunk_size=CHUNK), CHUNK, servers, check_reference(references)
    )
    assert streamed.rows == N
    b_ids = [(k, pk) if k.startswith("B ") else None for k, pk in references]
    expected_b = expected_requests(b_ids, CHUNK, 200)
    assert expected_b == [3] * 10  # 510 distinct books and audiobooks a chunk
    assert [r["shop_b"] for r in streamed.requests] == expected_b
    assert [r["shop_c"] for r in streamed.requests] == [1] * 10
    assert streamed.retained_mib < RETAINED_MIB, streamed
    # The measures can tell: a caller that keeps the rows it read retains and peaks far higher.
    kept: list[Reference] = []
    check = check_reference(references)
    keeping = stream(
        lambda: queryset.iterator(chunk_size=CHUNK),
        CHUNK,
        servers,
        lambda ref: (check(ref), kept.append(ref)),
    )
    assert keeping.retained_mib > 5 * RETAINED_MIB, keeping
    assert keeping.peak_mib > 4 * streamed.peak_mib, (streamed, keeping)


def test_partial_results_do_not_pile_up_across_chunks(references, federation, shop_b):
    """shop_c down: each chunk records its failure in the same block, and keeps one."""
    federation["PROJECTS"]["shop_c"]["URL"] = "http://127.0.0.1:9/graphql/"
    federation["PROJECTS"]["shop_c"]["RETRIES"] = 0
    federation["PROJECTS"]["shop_c"]["BREAKER_THRESHOLD"] = 10**6
    check = check_reference([(k, None) if k == "C Book" else (k, pk) for k, pk in references])
    queryset = Reference.objects.order_by("pk").prefetch_related("content_object")
    with collect_remote_errors() as errors:
        streamed = stream(
            lambda: queryset.iterator(chunk_size=CHUNK), CHUNK, {"shop_b": shop_b}, check
        )
    assert list(errors) == ["shop_c"]
    assert [r["shop_b"] for r in streamed.requests] == [3] * 10
    assert streamed.retained_mib < RETAINED_MIB, streamed


# -- FederatedManyToManyField ----------------------------------------------------


def test_many_to_many_one_request_per_project_and_batch_per_chunk(synced, federation, shop_b):
    """2,000 users with 10 links each: a chunk of 200 users reads 2,000 links."""
    federation["PROJECTS"]["shop_b"]["BATCH_SIZE"] = 300
    RemoteBook = synced["shop_b", "Book"].model_class()
    book_ct = synced["shop_b", "Book"]
    users = User.objects.bulk_create(User(name=f"User {i}") for i in range(N // 10))
    through = User.preferred_videos.field.through
    links = [(users[i // 10], i % 500 + 1) for i in range(N)]
    through.objects.bulk_create(
        (through(user=u, content_type=book_ct, object_id=str(pk)) for u, pk in links),
        batch_size=2000,
    )
    by_user = {}
    for user, pk in links:
        by_user.setdefault(user.pk, []).append(pk)

    def check(user: User) -> None:
        targets = list(user.preferred_videos.all())
        pks = [pk for pk in by_user[user.pk] if pk % 100]
        assert [t.pk for t in targets] == pks
        assert all(isinstance(t, RemoteBook) for t in targets)
        assert [t.title for t in targets] == [f"B Book {pk}" for pk in pks]

    users_chunk = CHUNK // 10
    queryset = User.objects.order_by("pk").prefetch_related("preferred_videos")
    streamed = stream(
        lambda: queryset.iterator(chunk_size=users_chunk), users_chunk, {"shop_b": shop_b}, check
    )
    assert streamed.rows == N // 10
    expected = expected_requests([pk for _, pk in links], CHUNK, 300)
    assert expected == [2] * 10  # 500 distinct books a chunk
    assert [r["shop_b"] for r in streamed.requests] == expected
    assert streamed.retained_mib < RETAINED_MIB, streamed


# -- RemoteForeignKey --------------------------------------------------------------


def test_remote_foreign_key_one_request_per_batch_per_chunk(synced, shop_b):
    """The default BATCH_SIZE (500) and chunks of 2,000 reviews of 1,000 distinct books."""
    RemoteBook = synced["shop_b", "Book"].model_class()
    pks = [i % 1000 + 1 if i % 10 else None for i in range(N)]
    Review.objects.bulk_create((Review(book_id=pk) for pk in pks), batch_size=2000)
    position = iter(pks)

    def check(review: Review) -> None:
        pk = next(position)
        book = review.book
        if pk is None or pk > 500 or pk % 100 == 0:  # shop_b has 500 books
            assert book is None
        else:
            assert isinstance(book, RemoteBook) and book.title == f"B Book {pk}"

    queryset = Review.objects.order_by("pk").prefetch_related("book")
    streamed = stream(lambda: queryset.iterator(chunk_size=CHUNK), CHUNK, {"shop_b": shop_b}, check)
    assert streamed.rows == N
    expected = expected_requests(pks, CHUNK, 500)
    assert expected == [2] * 10  # 900 distinct books a chunk
    assert [r["shop_b"] for r in streamed.requests] == expected
    assert streamed.retained_mib < RETAINED_MIB, streamed


# -- the benchmark's scenarios at a smoke size --------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_benchmark_scenario_at_a_smoke_size(kind, synced, shop_b, shop_c):
    """``tests/bench/iterator.py`` at 3,000 rows in chunks of 1,000: its figures, and every
    chunk as expected."""
    remotes = {"shop_b": ("B", 500), "shop_c": ("C", 100)}
    scenario = Scenario(kind, 3_000, remotes, chunk=1_000)
    servers = {"shop_b": shop_b, "shop_c": shop_c}
    row = run_scenario(scenario, servers, 500, lambda: [0.0, 0.0, 0.0])
    assert row["chunks"] == 3
    assert row["requests_per_chunk_as_expected"], row
    assert row["requests"] == row["expected_requests"], row
    assert row["traced_retained_mib"] < RETAINED_MIB, row
    assert {"seconds", "ms_per_chunk", "traced_peak_growth_mib", "rss_peak_growth_mib"} <= set(row)


# -- aiterator -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_async_iterator_one_request_per_project_and_batch_per_chunk(synced, shop_b, shop_c):
    """``aiterator(chunk_size)`` prefetches each chunk as ``iterator`` does."""
    scenario = Scenario("FederatedForeignKey", 6_000, {"shop_b": ("B", 500), "shop_c": ("C", 100)})
    await sync_to_async(scenario.make)()
    servers = {"shop_b": shop_b, "shop_c": shop_c}
    check = scenario.checker()
    counted = {p: s.stats()["graphql_requests"] for p, s in servers.items()}
    requests = []
    index = 0
    async for ref in scenario.queryset().aiterator(chunk_size=CHUNK):
        if index % CHUNK == 0:
            now = {p: s.stats()["graphql_requests"] for p, s in servers.items()}
            requests.append({p: now[p] - counted[p] for p in servers})
            counted = now
        check(ref)
        index += 1
    assert index == 6_000
    expected = scenario.expected(500, ("shop_b", "shop_c"))
    assert {p: [r[p] for r in requests] for p in servers} == expected
    assert expected == {"shop_b": [1, 1, 1], "shop_c": [1, 1, 1]}  # 500 and 100 books a chunk
    await sync_to_async(connections.close_all)()
