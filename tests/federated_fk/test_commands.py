from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command

from federated_fk.models import GenericContentType
from tests.testapp.models import Reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def stale():
    return GenericContentType.objects.create(project="shop_a", app_label="testapp", model="gone")


@pytest.fixture
def referenced():
    ct = GenericContentType.objects.create(project="shop_a", app_label="testapp", model="removed")
    Reference.objects.create(content_type=ct, object_id="1")
    return ct


def run(*args, **kwargs):
    out = StringIO()
    call_command("remove_stale_generic_contenttypes", *args, stdout=out, verbosity=2, **kwargs)
    return out.getvalue()


def test_deletes_unreferenced_stale_rows_and_keeps_referenced_ones(
    stale, referenced, remote_book_ct
):
    output = run(interactive=False)
    assert "Deleting stale content type 'testapp | gone'" in output
    assert (
        "Keeping stale content type 'testapp | removed': 1 object(s) still reference it" in output
    )
    assert "Deleted 1 stale content type(s)." in output
    assert not GenericContentType.objects.filter(pk=stale.pk).exists()
    assert GenericContentType.objects.filter(pk=referenced.pk).exists()
    assert Reference.objects.count() == 1
    # Remote content types have no local model and are never stale.
    assert GenericContentType.objects.filter(pk=remote_book_ct.pk).exists()


def test_include_referenced_deletes_them_with_their_rows(referenced):
    output = run(interactive=False, include_referenced=True)
    assert "Deleting stale content type 'testapp | removed'" in output
    assert Reference.objects.count() == 0


def test_asks_before_deleting(stale):
    with mock.patch("builtins.input", return_value="no") as ask:
        output = run()
    ask.assert_called_once()
    assert "    - Content type for testapp.gone" in output
    assert "Stale content types remain." in output
    assert GenericContentType.objects.filter(pk=stale.pk).exists()
    with mock.patch("builtins.input", return_value="yes"):
        run()
    assert not GenericContentType.objects.filter(pk=stale.pk).exists()


def test_nothing_stale_says_nothing_and_asks_nothing():
    with mock.patch("builtins.input") as ask:
        assert run() == ""
    ask.assert_not_called()
