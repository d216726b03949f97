"""Remote text is redacted and cut wherever it is kept, logged or printed; logs are bounded."""

import json
import logging
import time
import urllib.request
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from federated_fk.exceptions import (
    MAX_REMOTE_TEXT,
    REDACTED,
    RemoteQueryError,
    redact_remote_text,
)
from federated_fk.models import GenericContentType
from tests.servers import MisbehavingServer
from tests.testapp.models import Reference

pytestmark = pytest.mark.django_db

#: An answer that echoes the bearer token it was sent, plus a forged log line.
ECHOING = {
    "data": None,
    "errors": [
        {"message": f"credential {MisbehavingServer.ECHO} is not allowed to read Book"},
        {"message": "second error\nWARNING forged log line"},
    ],
}


def test_redaction_covers_every_configured_secret(settings):
    settings.SECRET_KEY = "the-secret-key-0000"
    settings.FEDERATION = {
        "SUBGRAPH_TOKEN": "subgraph-token-1111",
        "PROJECTS": {
            "a": {"URL": "http://127.0.0.1:1/graphql/", "TOKEN": "a token/2222"},
            "b": {"URL": "http://user:p%40ss-3333@127.0.0.1:1/graphql/"},
        },
    }
    text = (
        "sub subgraph-token-1111, a a token/2222 or a%20token%2F2222, key the-secret-key-0000, "
        "url p%40ss-3333 p@ss-3333, header Authorization: Bearer eyJhbGciOi.x-y_z, "
        "basic Basic dXNlcjpwYXNz"
    )
    redacted = redact_remote_text(text)
    for secret in (
        "subgraph-token-1111",
        "2222",
        "the-secret-key-0000",
        "3333",
        "eyJhbGciOi",
        "dXNlcjpwYXNz",
    ):
        assert secret not in redacted
    assert redacted.count(REDACTED) == 8
    assert "Bearer [redacted]" in redacted and "Basic [redacted]" in redacted


def test_redaction_cuts_and_keeps_one_line():
    text = redact_remote_text("a\nb\r\x1b[31m" + "x" * 10_000)
    assert "\n" not in text and "\r" not in text and "\x1b" not in text
    assert text.startswith("a\\nb\\r\\x1b[31m")
    assert len(text) <= MAX_REMOTE_TEXT
    assert text.endswith("characters, cut]")


def test_an_exception_keeps_the_first_messages_only(settings):
    settings.FEDERATION = {"PROJECTS": {"p": {"URL": "http://h/", "TOKEN": "tok-4444"}}}
    error = RemoteQueryError("p", "http://h/", [f"tok-4444 number {i}" for i in range(300)])
    assert len(error.messages) == 6 and error.messages[-1] == "and 295 more"
    assert "tok-4444" not in str(error) and "tok-4444" not in repr(error.__dict__)
    assert len(str(error)) < MAX_REMOTE_TEXT + 200


@pytest.fixture
def echoing_shop_c(federation, shop_c, misbehaving):
    """shop_c's settings (its token too), but its URL answers with errors that echo the token."""
    misbehaving.answer(ECHOING)
    federation["PROJECTS"]["shop_c"]["URL"] = misbehaving.url
    return misbehaving


def c_book():
    return GenericContentType.objects.get(project="shop_c", model="book").model_class()


def assert_no_token(token, *texts):
    assert texts
    for text in texts:
        assert token not in text
        assert "forged log line" not in text or "\\nWARNING forged" in text


def test_the_server_echoes_the_token(misbehaving):
    misbehaving.answer(ECHOING)
    request = urllib.request.Request(
        misbehaving.url, data=b"{}", headers={"Authorization": "Bearer abc-5555"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert "credential Bearer abc-5555 is not" in response.read().decode()


def test_find_dangling_references_prints_no_token(synced, echoing_shop_c, shop_c, caplog):
    caplog.set_level(logging.DEBUG)  # everything gql, aiohttp and federated_fk log
    Reference.objects.create(content_object=c_book()(5))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("find_dangling_references", stdout=out, stderr=err)
    assert echoing_shop_c.requests >= 1
    assert "could not check project 'shop_c' (GraphQL errors: credential Bearer [redacted]" in (
        err.getvalue()
    )
    assert raised.value.returncode == 1
    assert_no_token(shop_c.token, out.getvalue(), err.getvalue(), str(raised.value), caplog.text)


def test_sync_remote_contenttypes_prints_no_token(echoing_shop_c, shop_c, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "sync_remote_contenttypes", "shop_c", schema_dir=tmp_path, stdout=out, stderr=err
        )
    message = str(raised.value)
    assert "GraphQL errors: credential Bearer [redacted] is not allowed" in message
    assert "second error\\nWARNING forged log line" in message
    assert_no_token(shop_c.token, out.getvalue(), err.getvalue(), message, caplog.text)


def test_a_loaded_object_error_holds_no_token(synced, echoing_shop_c, shop_c, caplog):
    from federated_fk.exceptions import FederationError

    caplog.set_level(logging.DEBUG)
    CBook = c_book()
    with pytest.raises(FederationError) as raised:
        CBook(7).title  # noqa: B018
    error = raised.value
    assert error.messages[0] == "credential Bearer [redacted] is not allowed to read Book"
    assert_no_token(shop_c.token, str(error), repr(error.__dict__), caplog.text)


def post_bad_representations(url, count=200):
    """POST one _entities request whose ``count`` representations all have malformed ids."""
    representations = [{"__typename": "Book", "id": f"x{i}"} for i in range(count)]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": {"r": representations}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def wait_for_log(path, start, needle, timeout=5.0):
    """Return the log written after offset ``start`` once it holds ``needle``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text()[start:]
        if needle in text:
            time.sleep(0.2)  # anything written right after it
            return path.read_text()[start:]
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not logged within {timeout} s")


def test_a_subgraph_request_with_200_bad_items_is_one_log_record(shop_b):
    """A real subgraph process, asked without a token: one record, not one per item."""
    log = shop_b.folder / "shop_b.log"
    start = len(log.read_text())
    body = post_bad_representations(shop_b.url)
    assert len(body["errors"]) == 200  # each item still gets its own error
    written = wait_for_log(log, start, "200 error(s) in one GraphQL request")
    assert written.count("error(s) in one GraphQL request") == 1
    assert written.count("Traceback (most recent call last)") == 1
    assert written.count("'x4' is not a valid") >= 1 and "'x5' is not" not in written
    assert len(written.splitlines()) < 60  # was 2,400 lines: 200 tracebacks


def test_errors_of_one_request_make_one_record_in_process(caplog, client):
    caplog.set_level(logging.DEBUG)
    representations = [{"__typename": "Book", "id": f"x{i}"} for i in range(200)]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    response = client.post(
        "/graphql/",
        {"query": query, "variables": {"r": representations}},
        content_type="application/json",
    )
    assert len(response.json()["errors"]) == 200
    records = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert len(records) == 1
    assert records[0].getMessage().startswith("200 error(s) in one GraphQL request")
    assert len(records[0].getMessage()) < 10_000


def test_an_sdl_quoting_the_token_is_refused_without_it(federation, shop_c, misbehaving, tmp_path):
    sdl = (
        f'type Book @djangoModel(appLabel: "{shop_c.token}", model: "book", pkType: "int", '
        'project: "shop_c") @key(fields: "id") { id: ID! title: String! }'
    )
    misbehaving.answer({"data": {"_service": {"sdl": sdl}}})
    federation["PROJECTS"]["shop_c"]["URL"] = misbehaving.url
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "sync_remote_contenttypes", "shop_c", schema_dir=tmp_path, stdout=out, stderr=err
        )
    assert "app_label '[redacted]' of type 'Book' is not a name" in str(raised.value)
    assert_no_token(shop_c.token, out.getvalue(), err.getvalue(), str(raised.value))
