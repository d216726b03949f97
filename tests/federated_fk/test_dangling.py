"""find_dangling_references: reports by project and model; deletes only when asked."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.federated_fk.conftest import stand_in
from tests.servers import FlakyProxy, free_port
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


def run(*args, batch_size=2):
    out, err = StringIO(), StringIO()
    call_command("find_dangling_references", *args, stdout=out, stderr=err, batch_size=batch_size)
    return out.getvalue(), err.getvalue()


def run_failing(*args, batch_size=2):
    """Run the command when it must fail; return its output and the error."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "find_dangling_references", *args, stdout=out, stderr=err, batch_size=batch_size
        )
    return out.getvalue(), err.getvalue(), str(raised.value)


def test_reports_without_deleting(references):
    out, _ = run()
    dry_run, _ = run("--dry-run")
    assert dry_run == out
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
    # Exactly which references would go, by id.
    assert "Would delete (run again with --delete): 4 dangling reference(s):" in out
    gone = references["remote gone"]
    assert f"  testapp.Reference pk={gone.pk} -> shop_b remoteshop.book object_id='99999'" in out
    other = references["other project gone"]
    assert f"  testapp.Reference pk={other.pk} -> shop_c remoteshop.book object_id='5000'" in out


def test_delete_takes_only_the_dangling(references):
    out, _ = run("--delete")
    assert "Deleted 2 testapp.Reference pointing at shop_b remoteshop.book" in out
    left = set(Reference.objects.values_list("pk", flat=True))
    assert left == {references["local ok"].pk, references["remote ok"].pk}


def test_a_project_that_cannot_be_reached_loses_nothing(references, federation):
    federation["PROJECTS"]["shop_c"]["URL"] = f"http://127.0.0.1:{free_port()}/graphql/"
    _out, err, error = run_failing("--delete")
    assert "could not check project 'shop_c' (connection refused)" in err
    assert error.startswith("Could not check project(s) 'shop_c': none of their references")
    assert Reference.objects.filter(pk=references["other project gone"].pk).exists()
    assert not Reference.objects.filter(pk=references["remote gone"].pk).exists()


@pytest.fixture
def flaky_shop_b(federation, shop_b):
    """shop_b behind a proxy that answers the first request, then only HTTP 503."""
    proxy = FlakyProxy(shop_b.url, passes=1).start()
    federation["PROJECTS"]["shop_b"].update(URL=proxy.url, RETRY_BACKOFF=0.01)
    yield proxy
    proxy.stop()


def test_a_project_failing_part_way_through_loses_nothing(synced, flaky_shop_b):
    RemoteBook = stand_in(synced, "shop_b", "Book")
    kept = Book.objects.create(title="Kept")
    gone = Book.objects.create(title="Gone")
    first_batch = [
        Reference.objects.create(content_object=RemoteBook(99991)),  # dangling, checked
        Reference.objects.create(content_object=RemoteBook(5)),
    ]
    later = [Reference.objects.create(content_object=RemoteBook(i)) for i in (99992, 6, 7)]
    local = Reference.objects.create(content_object=gone)
    Reference.objects.create(content_object=kept)
    Book.objects.filter(pk=gone.pk).update(title="x")
    Reference.objects.filter(pk=local.pk).update(object_id="999999")  # a dangling local one

    out, err, error = run_failing("--delete")

    assert flaky_shop_b.requests > 1  # the first batch was answered, the next ones were not
    assert "could not check project 'shop_b' (HTTP 503); none of its references is deleted." in err
    assert "Could not check project(s) 'shop_b'" in error
    remaining = set(Reference.objects.values_list("pk", flat=True))
    assert {r.pk for r in first_batch + later} <= remaining  # not even the one found dangling
    assert local.pk not in remaining  # other projects are still cleaned
    assert f"testapp.Reference pk={local.pk} -> shop_a testapp.book object_id='999999'" in out
    assert f"pk={first_batch[0].pk} " not in out  # not listed as to delete either


def test_a_reference_changed_since_the_check_is_not_deleted(references, monkeypatch):
    from federated_fk.management.commands import find_dangling_references as command

    gone = references["remote gone"]
    delete = command.Command._delete

    def repoint_then_delete(self, scans):
        Reference.objects.filter(pk=gone.pk).update(object_id="5")  # now a valid target
        delete(self, scans)

    monkeypatch.setattr(command.Command, "_delete", repoint_then_delete)
    run("--delete")
    assert Reference.objects.filter(pk=gone.pk).exists()
    assert not Reference.objects.filter(pk=references["remote hidden"].pk).exists()


def test_malformed_and_out_of_range_ids_dangle_without_failing_the_batch(references):
    ct = references["local ok"].content_type
    bad = [
        Reference.objects.create(content_type=ct, object_id=value)
        for value in ("99999999999999999999", "1.5", " 1", "x")
    ]
    out, _ = run(batch_size=500)
    assert "testapp.Reference.content_object -> shop_a testapp.book: 6 checked, 5 dangling." in out
    for ref in bad:
        assert f"pk={ref.pk} " in out


def test_models_are_found_with_the_auto_created_ones(monkeypatch):
    from django.apps import apps

    from federated_fk.management.commands.find_dangling_references import Command

    seen = {}
    get_models = apps.get_models

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return get_models(*args, **kwargs)

    monkeypatch.setattr(apps, "get_models", spy)
    fields = Command()._fields()
    assert seen == {"include_auto_created": True}
    assert (IntReference, IntReference._meta.get_field("content_object")) in fields
