"""An answer read before an invalidation is not cached after it."""

import pytest
from django.core.cache import caches

from federated_fk.remote.cache import RemoteCache, fresh, invalidate
from federated_fk.remote.entities import EntityType
from tests.federated_fk.conftest import stand_in


@pytest.fixture
def cached(db, settings, synced, shop_b):
    settings.CACHES = {
        **settings.CACHES,
        "objects": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "inv"},
    }
    project = {**settings.FEDERATION["PROJECTS"]["shop_b"], "CACHE_TIMEOUT": 300}
    settings.FEDERATION = {
        **settings.FEDERATION,
        "CACHE": "objects",
        "PROJECTS": {**settings.FEDERATION["PROJECTS"], "shop_b": project},
    }
    caches["objects"].clear()
    book = stand_in(synced, "shop_b", "Book")
    yield book._meta.entity_type()
    caches["objects"].clear()


def answer(entity_type: EntityType, pk: int, title: str):
    return {(entity_type.key, pk): {"id": str(pk), "title": title}}


def started(entity_type: EntityType, pks: list[int]) -> RemoteCache:
    """A fetch that has started: it read the cache (and the counters) before asking."""
    cache = RemoteCache({entity_type: pks})
    cache.split({entity_type: pks})
    return cache


def test_a_fetch_that_started_before_an_invalidation_does_not_store(cached: EntityType):
    slow = started(cached, [7])  # a fetch starts, its request goes out
    invalidate({cached: [7]})  # the follower learns that book 7 changed
    slow.store(answer(cached, 7, "old title"))  # the answer read before the change
    hits, misses = RemoteCache({cached: [7]}).split({cached: [7]})
    assert hits == {} and misses == {cached: [7]}


def test_a_fetch_after_the_invalidation_stores_again(cached: EntityType):
    invalidate({cached: [7]})
    later = started(cached, [7])
    later.store(answer(cached, 7, "new title"))
    hits, _ = RemoteCache({cached: [7]}).split({cached: [7]})
    assert list(hits.values()) == [{"id": "7", "title": "new title"}]


def test_other_objects_of_the_same_fetch_are_stored(cached: EntityType):
    slow = started(cached, [7, 8])
    invalidate({cached: [7]})
    slow.store({**answer(cached, 7, "old"), **answer(cached, 8, "kept")})
    hits, misses = RemoteCache({cached: [7, 8]}).split({cached: [7, 8]})
    assert list(hits.values()) == [{"id": "8", "title": "kept"}] and misses == {cached: [7]}


def test_a_fresh_fetch_reads_the_counter_before_asking(cached: EntityType):
    """Inside fresh() the cache is not read, but the counter is."""
    with fresh():
        slow = started(cached, [7])
    invalidate({cached: [7]})
    slow.store(answer(cached, 7, "old title"))
    assert RemoteCache({cached: [7]}).split({cached: [7]})[0] == {}
