"""Cached remote objects are keyed by the credential that fetched them.

Two services that share one cache backend and one project name, but not a
token, never read each other's objects: against the real token-guarded
subgraph ``shop_c``.
"""

import pytest

from federated_fk.exceptions import RemoteAuthenticationError
from federated_fk.models import GenericContentType
from federated_fk.remote.cache import credential_identity

pytestmark = pytest.mark.django_db

WRONG = "another-services-token-9c1d"


def test_the_identity_is_a_digest_of_url_and_token():
    base = {"URL": "http://127.0.0.1:1/graphql/", "TOKEN": "t-0001"}
    identity = credential_identity(base)
    assert len(identity) == 32 and "t-0001" not in identity
    assert credential_identity(dict(base)) == identity
    assert credential_identity({**base, "TOKEN": "t-0002"}) != identity
    assert credential_identity({**base, "URL": "http://127.0.0.1:2/graphql/"}) != identity


@pytest.fixture
def services(settings, synced, shop_c):
    """Switch between two services that share one cache: same project name, other tokens."""
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "federated-fk-shared-between-services",
        },
    }
    from django.core.cache import caches

    caches["shared"].clear()
    base = settings.FEDERATION

    def use(token):
        project = {"URL": shop_c.url, "TOKEN": token, "TIMEOUT": 5, "CACHE_TIMEOUT": 300}
        settings.FEDERATION = {
            **base,
            "CACHE": "shared",
            "PROJECTS": {**base["PROJECTS"], "shop_c": project},
        }

    yield use
    caches["shared"].clear()


def c_book():
    return GenericContentType.objects.get(project="shop_c", model="book").model_class()


def requests(shop_c):
    return shop_c.stats()["graphql_requests"]


def test_another_token_never_reads_what_one_token_cached(services, shop_c):
    services(shop_c.token)  # the service shop_c lets in
    assert c_book()(5).title == "C Book 5"
    with pytest.raises(c_book().DoesNotExist):
        c_book()(100).title  # noqa: B018  (unpublished: hidden from everyone)
    assert requests(shop_c) == 2
    assert c_book()(5).title == "C Book 5"  # its own cache serves it again
    assert requests(shop_c) == 2

    services(WRONG)  # another service, same cache, same project name
    for pk in (5, 100):
        with pytest.raises(RemoteAuthenticationError):
            c_book()(pk).title  # noqa: B018  (the remote is asked, and refuses)
    assert requests(shop_c) == 4

    services(shop_c.token)
    assert c_book()(5).title == "C Book 5"
    assert requests(shop_c) == 4  # the first service's entries are still its own


def test_what_one_token_was_told_is_gone_is_not_gone_for_another(services, shop_c, settings):
    """A "gone" cached for a token the remote hides an object from is not served to others."""
    services(WRONG)
    # Fault injection: an entry as a service that is not let see book 7 would have it.
    from federated_fk.remote.cache import GONE, RemoteCache

    ct = GenericContentType.objects.get(project="shop_c", model="book")
    entity_type = ct.model_class()._meta.entity_type()
    cache = RemoteCache({entity_type: [7]})
    cache.store({(entity_type.key, 7): None})
    assert cache.cache.get(cache.key(entity_type.key, 7)) == GONE
    with pytest.raises(c_book().DoesNotExist):
        c_book()(7).title  # noqa: B018  (that service is told "gone" by its cache)

    services(shop_c.token)
    assert c_book()(7).title == "C Book 7"
    assert requests(shop_c) == 1


def test_no_cache_key_or_value_holds_the_token(services, shop_c):
    from django.core.cache import caches

    services(shop_c.token)
    c_book()(5).title  # noqa: B018
    services(WRONG)
    with pytest.raises(RemoteAuthenticationError):
        c_book()(6).title  # noqa: B018
    stored = caches["shared"]._cache  # LocMemCache: made key -> pickled value
    assert stored
    for key, value in stored.items():
        assert shop_c.token not in key and WRONG not in key
        assert shop_c.token.encode() not in value and WRONG.encode() not in value
    identity = credential_identity({"URL": shop_c.url, "TOKEN": shop_c.token})
    assert any(identity in key for key in stored)
