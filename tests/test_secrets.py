"""Tokens never appear in logs, exception text, repr, admin pages or stored SDL."""

import logging
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from federated_fk.exceptions import FederationError
from federated_fk.models import GenericContentType
from federated_fk.remote import loop as client_loop

pytestmark = pytest.mark.django_db

WRONG = "wrong-token-0d15ea5e"


def test_no_token_anywhere(settings, shop_c, tmp_path, caplog, client):
    caplog.set_level(logging.DEBUG)  # everything gql, aiohttp and federated_fk log
    project = {"URL": shop_c.url, "TOKEN": shop_c.token, "TIMEOUT": 5}
    settings.FEDERATION = {**settings.FEDERATION, "PROJECTS": {"shop_c": project}}
    texts = []

    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_c", schema_dir=tmp_path, stdout=out)
    texts.append(out.getvalue())
    texts.append((tmp_path / "shop_c.graphql").read_text())
    book = GenericContentType.objects.get(project="shop_c", model="book")
    obj = book.model_class()(3)
    assert obj.title == "C Book 3"
    texts += [repr(obj), str(obj), repr(book.model_class()._meta)]

    project["TOKEN"] = WRONG
    for pk in (4, 5):
        try:
            book.model_class()(pk).title  # noqa: B018
        except FederationError as exc:
            texts += [str(exc), repr(exc), repr(exc.__dict__)]
    texts += [repr(s.__dict__) for s in client_loop.get_loop().sessions.values()]

    User.objects.create_superuser("admin", "a@example.com", "pw")
    client.login(username="admin", password="pw")
    texts.append(client.get("/admin/federated_fk/genericcontenttype/").content.decode())
    texts.append(
        client.get(f"/admin/federated_fk/genericcontenttype/{book.pk}/change/").content.decode()
    )

    texts.append(caplog.text)
    texts.append((shop_c.folder / "shop_c.log").read_text())
    assert len(texts) > 10
    for text in texts:
        assert shop_c.token not in text
        assert WRONG not in text
