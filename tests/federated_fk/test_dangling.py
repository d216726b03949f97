"""find_dangling_references: reports by project and model; deletes only when asked."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from federated_fk.models import GenericContentType
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


# Exit statuses, the re-check past the cache, types no longer in the schema.


def ct_of(project, model):
    return GenericContentType.objects.get(project=project, model=model)


def run_status(*args, batch_size=2):
    """Run the command; return its output, its error output and its exit status."""
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "find_dangling_references", *args, stdout=out, stderr=err, batch_size=batch_size
        )
    except CommandError as error:
        err.write(f"CommandError: {error}\n")
        return out.getvalue(), err.getvalue(), error.returncode
    return out.getvalue(), err.getvalue(), 0


def test_report_mode_fails_on_dangling_only_when_asked(references):
    out, _err, status = run_status()
    assert status == 0 and "4 dangling reference(s)" in out
    out, err, status = run_status("--fail-on-dangling")
    assert status == 3
    assert "4 dangling reference(s) found (--fail-on-dangling)." in err
    assert Reference.objects.count() == 6  # report mode deletes nothing


def test_fail_on_dangling_passes_when_nothing_dangles(references):
    assert run_status("--delete")[2] == 0  # deleting what dangles leaves nothing
    out, _err, status = run_status("--fail-on-dangling")
    assert status == 0
    assert "none dangling" in out


def test_the_help_documents_the_exit_statuses():
    from federated_fk.management.commands.find_dangling_references import Command

    text = Command().create_parser("manage.py", "find_dangling_references").format_help()
    flat = " ".join(text.split())
    assert "--fail-on-dangling" in flat and "--include-removed-types" in flat
    for status in ("0 nothing dangling", "1 a project could not be checked", "3 with", "4 "):
        assert status in flat


@pytest.fixture
def cached_shop_b(federation, synced, settings):
    """shop_b's objects kept in a cache of their own for five minutes."""
    from django.core.cache import caches

    settings.CACHES = {
        **settings.CACHES,
        "remote": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "federated-fk-dangling",
        },
    }
    federation["CACHE"] = "remote"
    federation["PROJECTS"]["shop_b"]["CACHE_TIMEOUT"] = 300
    caches["remote"].clear()
    yield caches["remote"]
    caches["remote"].clear()


def cache_as_gone(project, model, *pks):
    """Fault injection: the cache says "gone" for objects (stale: the remote has them)."""
    from federated_fk.remote.cache import RemoteCache

    entity_type = ct_of(project, model).model_class()._meta.entity_type()
    cache = RemoteCache({entity_type: pks})
    cache.store({(entity_type.key, pk): None for pk in pks})
    return cache, entity_type


def test_delete_rechecks_a_stale_cached_gone_with_the_remote(cached_shop_b, shop_b):
    RemoteBook = ct_of("shop_b", "book").model_class()
    alive = Reference.objects.create(content_object=RemoteBook(5))
    gone = Reference.objects.create(content_object=RemoteBook(99999))
    cache, entity_type = cache_as_gone("shop_b", "book", 5, 99999)
    shop_b.stats(reset=True)

    out, _err, status = run_status()  # report mode reads the cache: both look gone
    assert status == 0
    assert f"pk={alive.pk} -> shop_b remoteshop.book object_id='5'" in out
    assert shop_b.stats()["graphql_requests"] == 0  # all from the cache

    out, _err, status = run_status("--delete")
    assert status == 0
    assert shop_b.stats()["graphql_requests"] == 1  # the candidates, asked past the cache
    assert "Re-checked 2 remote candidate(s) past the cache: 1 exist after all" in out
    assert Reference.objects.filter(pk=alive.pk).exists()
    assert not Reference.objects.filter(pk=gone.pk).exists()
    # The re-check's answer replaced the stale entry.
    assert cache.cache.get(cache.key(entity_type.key, 5)) != "federated_fk:gone"


def test_delete_deletes_nothing_of_a_project_whose_recheck_fails(cached_shop_b, federation, shop_b):
    RemoteBook = ct_of("shop_b", "book").model_class()
    refs = [Reference.objects.create(content_object=RemoteBook(pk)) for pk in (5, 99999)]
    # Through a proxy that fails every request: the scan is served by the cache
    # alone (the proxy's URL is the credential's), the re-check cannot complete.
    proxy = FlakyProxy(shop_b.url, passes=0).start()
    try:
        federation["PROJECTS"]["shop_b"].update(URL=proxy.url, RETRY_BACKOFF=0.01)
        cache_as_gone("shop_b", "book", 5, 99999)
        _out, err, status = run_status("--delete")
    finally:
        proxy.stop()
    assert proxy.requests >= 1
    assert status == 1
    assert "could not check project 'shop_b' (HTTP 503)" in err
    assert Reference.objects.filter(pk__in=[r.pk for r in refs]).count() == 2


def without_type(sdl, model):
    """Return ``sdl`` without the entity type of ``model`` (as its subgraph dropped it)."""
    blocks = sdl.split("\n\n")
    (block,) = [b for b in blocks if b.startswith("type ") and f'model: "{model}"' in b]
    name = block.split()[1]
    kept = [b for b in blocks if b is not block]
    text = "\n\n".join(kept)
    return text.replace(f" | {name}", "").replace(f"= {name} | ", "= ")


@pytest.fixture
def audiobook_removed(references, federation, shop_b, misbehaving, tmp_path):
    """Two references to shop_b audiobooks, then a sync against an SDL without the type."""
    Audiobook = ct_of("shop_b", "audiobook").model_class()
    refs = [Reference.objects.create(content_object=Audiobook(pk)) for pk in (1, 2)]
    sdl = (tmp_path / "shop_b.graphql").read_text()
    misbehaving.answer({"data": {"_service": {"sdl": without_type(sdl, "audiobook")}}})
    federation["PROJECTS"]["shop_b"]["URL"] = misbehaving.url
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=StringIO())
    federation["PROJECTS"]["shop_b"]["URL"] = shop_b.url
    GenericContentType.objects.clear_cache()
    assert not ct_of("shop_b", "audiobook").in_schema
    assert ct_of("shop_b", "book").in_schema
    return refs


def test_references_to_a_removed_type_are_a_category_of_their_own(audiobook_removed):
    out, err, status = run_status()
    assert status == 4
    assert (
        "testapp.Reference.content_object -> shop_b remoteshop.audiobook: 2 reference(s) "
        "to a type no longer in the schema (not checked)." in out
    )
    assert "Type no longer in the schema: 2 reference(s), not checked, kept;" in out
    for ref in audiobook_removed:
        assert f"pk={ref.pk} -> shop_b remoteshop.audiobook object_id='{ref.object_id}'" in out
    assert "2 reference(s) to types no longer in the remote schema were left in place" in err
    assert "Traceback" not in err
    # The other references are checked as before.
    assert "shop_b remoteshop.book: 3 checked, 2 dangling." in out


def test_delete_keeps_references_to_a_removed_type_unless_asked(audiobook_removed):
    pks = [ref.pk for ref in audiobook_removed]
    out, _err, status = run_status("--delete")
    assert status == 4
    assert "Deleted 2 testapp.Reference pointing at shop_b remoteshop.book" in out
    assert Reference.objects.filter(pk__in=pks).count() == 2

    out, _err, status = run_status("--delete", "--include-removed-types")
    assert status == 0
    assert "Deleted 2 testapp.Reference pointing at shop_b remoteshop.audiobook" in out
    assert not Reference.objects.filter(pk__in=pks).exists()


def test_included_removed_types_count_as_dangling_in_report_mode(audiobook_removed):
    out, err, status = run_status("--include-removed-types")
    assert status == 0
    assert "would be deleted with --delete (--include-removed-types)" in out
    out, err, status = run_status("--include-removed-types", "--fail-on-dangling")
    assert status == 3
    assert "6 dangling reference(s) found (--fail-on-dangling)." in err
    assert Reference.objects.filter(pk__in=[r.pk for r in audiobook_removed]).count() == 2
