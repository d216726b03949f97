"""find_dangling_references: reports by project and model; deletes only when asked."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.federated_fk.conftest import stand_in
from tests.servers import free_port
from tests.testapp.models import Book, IntReference, Reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def references(synced):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    CBook = stand_in(synced, "shop_c", "Book")
    kept = Book.objects.create(title="Kept")
    gone = Book.objects.create(title="Gone")
    rows = {
        "local ok": Reference.objects.create(content_object=kept),
        "local gone": Reference.objects.create(content_object=gone),
        "remote ok": Reference.objects.create(content_object=RemoteBook(5)),
        "remote gone": Reference.objects.create(content_object=RemoteBook(99999)),
        "remote hidden": Reference.objects.create(content_object=RemoteBook(200)),
        "other project gone": Reference.objects.create(content_object=CBook(5000)),
    }
    Book.objects.filter(pk=gone.pk).delete()  # the cascade takes its reference
    rows["local gone"] = Reference.objects.create(
        content_type=rows["local ok"].content_type, object_id=str(gone.pk)
    )
    IntReference.objects.create(content_object=kept)
    return rows


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("find_dangling_references", *args, stdout=out, stderr=err, batch_size=2)
    return out.getvalue(), err.getvalue()


def test_reports_without_deleting(references):
    out, _ = run()
    assert "testapp.Reference.content_object -> shop_a testapp.book: 2 checked, 1 dangling." in out
    assert (
        "testapp.Reference.content_object -> shop_b remoteshop.book: 3 checked, 2 dangling." in out
    )
    assert (
        "testapp.Reference.content_object -> shop_c remoteshop.book: 1 checked, 1 dangling." in out
    )
    assert "testapp.IntReference.content_object: 1 checked, none dangling." in out
    assert "Nothing was deleted; run again with --delete to delete them." in out
    assert Reference.objects.count() == 6


def test_delete_takes_only_the_dangling(references):
    out, _ = run("--delete")
    assert "Deleted 2 testapp.Reference pointing at shop_b remoteshop.book" in out
    left = set(Reference.objects.values_list("pk", flat=True))
    assert left == {references["local ok"].pk, references["remote ok"].pk}


def test_a_project_that_cannot_be_reached_loses_nothing(references, federation):
    federation["PROJECTS"]["shop_c"]["URL"] = f"http://127.0.0.1:{free_port()}/graphql/"
    _out, err = run("--delete")
    assert "could not check project 'shop_c' (connection refused)" in err
    assert Reference.objects.filter(pk=references["other project gone"].pk).exists()
    assert not Reference.objects.filter(pk=references["remote gone"].pk).exists()
