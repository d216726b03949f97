"""sync_remote_contenttypes and the listable types it records, against real subgraphs."""

from io import StringIO

import pytest
from django.core.management import call_command

from federated_fk.models import GenericContentType
from tests.federated_fk.conftest import stand_in

pytestmark = pytest.mark.django_db


def test_sync_command_creates_content_types_and_stores_the_sdl(federation, shop_b, tmp_path):
    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=out)
    output = out.getvalue()
    assert "created shop_b | remoteshop.book (Book): title, author, price" in output
    assert "created shop_b | remoteshop.edition (Edition)" in output
    assert "sharedapp.author" not in output  # a stub: not an entity type of shop_b
    assert "shop_b: 6 created, 0 updated, 0 unchanged, 0 left alone." in output
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
    assert "shop_b: 0 created, 1 updated, 5 unchanged, 1 left alone." in output


def test_sync_records_which_types_are_listable(synced):
    assert synced[("shop_b", "Book")].listable
    assert not synced[("shop_b", "Gadget")].listable


def test_list_ids_of_a_listable_remote_type(federation):
    from federated_fk.remote.client import list_ids

    assert list_ids("shop_b", "Book", 94, 6) == (["95", "96", "97", "98", "99", "101"], 495)


def test_stand_in_managers_page_through_listable_types_only(synced):
    books = stand_in(synced, "shop_b", "Book")._default_manager
    assert books.page_ids(94, 3) == ([95, 96, 97], 495)  # ids in the remote pk type
    with pytest.raises(TypeError, match="is not listable"):
        stand_in(synced, "shop_b", "Gadget")._default_manager.page_ids(0, 3)


def test_sync_tells_never_described_from_no_longer_described(federation, tmp_path):
    never = GenericContentType.objects.create(project="shop_b", app_label="x", model="ghost")
    gone = GenericContentType.objects.create(
        project="shop_b", app_label="x", model="retired", type_name="Retired", in_schema=True
    )
    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=out)
    output = out.getvalue()
    assert "x.ghost: not in the schema: the remote does not expose this model" in output
    assert "x.retired: no longer in the schema: its objects are not fetched any more" in output
    never.refresh_from_db()
    gone.refresh_from_db()
    assert not never.in_schema and not gone.in_schema
    assert gone.type_name == "Retired"  # kept, to say what it was
