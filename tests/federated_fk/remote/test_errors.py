"""What a caller sees when a real remote refuses, fails or is missing."""

import time
from io import StringIO

import pytest
from django.core.management import call_command

from federated_fk.exceptions import (
    RemoteAuthenticationError,
    RemoteConnectionError,
    RemoteProjectNotConfigured,
    RemoteProtocolError,
    RemoteQueryError,
    RemoteQueryRejected,
    RemoteTimeout,
    RemoteTypeNotInSchema,
    RemoteUnavailable,
)
from federated_fk.models import GenericContentType
from tests.federated_fk.conftest import stand_in
from tests.servers import free_port
from tests.testapp.models import Reference

pytestmark = pytest.mark.django_db


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


def test_a_fetch_returns_what_it_found_beside_each_failed_project(synced, federation):
    from federated_fk.remote import fetch_remote_objects

    url = f"http://127.0.0.1:{free_port()}/graphql/"
    federation["PROJECTS"]["shop_c"]["URL"] = url
    result = fetch_remote_objects(
        {stand_in(synced, "shop_b", "Book"): [1, 2], stand_in(synced, "shop_c", "Book"): [1]}
    )
    assert [o.title for o in result.objects] == ["B Book 1", "B Book 2"]
    assert list(result.errors) == ["shop_c"]
    assert isinstance(result.errors["shop_c"], RemoteConnectionError)
    with pytest.raises(RemoteConnectionError):
        result.raise_first()


def test_a_field_the_remote_does_not_have_is_a_configuration_error(synced, federation, shop_b):
    federation["PROJECTS"]["shop_b"]["FIELDS"] = {"Book": ["title", "isbn"]}
    book = stand_in(synced, "shop_b", "Book")(5)
    with pytest.raises(RemoteQueryRejected) as raised:
        book.title  # noqa: B018
    message = str(raised.value)
    assert "Cannot query field 'isbn'" in message
    assert "FEDERATION['PROJECTS']['shop_b']['FIELDS']" in message
    assert not isinstance(raised.value, RemoteUnavailable)


def test_an_unsynchronized_type_costs_no_request(federation, shop_b, tmp_path):
    from tests.remoteshop.models import Book as RemoteModel

    shop_b.stats(reset=True)
    ct = GenericContentType.objects.get_for_model(RemoteModel, project="shop_b")
    ref = Reference.objects.create(content_type=ct, object_id="7")
    with pytest.raises(RemoteTypeNotInSchema, match="sync_remote_contenttypes shop_b"):
        Reference.objects.get(pk=ref.pk).content_object.title  # noqa: B018
    with pytest.raises(RemoteTypeNotInSchema):
        list(Reference.objects.prefetch_related("content_object"))
    assert shop_b.stats()["graphql_requests"] == 0
    # Once synchronized, the same row reads the right object.
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=StringIO())
    assert Reference.objects.get(pk=ref.pk).content_object.title == "B Book 7"
