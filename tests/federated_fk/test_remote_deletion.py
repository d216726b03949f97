"""on_remote_delete: what references do when their remote target is deleted.

apply_remote_deletion() on references written directly, then the checks and
deconstruct(), then find_dangling_references --apply-policies against real
subgraph processes.
"""

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import models
from django.test.utils import isolate_apps

from federated_fk.fields import (
    FederatedForeignKey,
    FederatedManyToManyField,
    RemoteDeletionResult,
    RemoteForeignKey,
    apply_remote_deletion,
)
from federated_fk.fields.many_to_many import CASCADE_SIGNAL
from federated_fk.models import GenericContentType
from tests.federated_fk.conftest import stand_in
from tests.gm2mapp.models import Watchlist
from tests.servers import free_port
from tests.testapp.models import (
    REMOTE_DELETIONS,
    Book,
    CallbackBookKey,
    CallbackReference,
    CascadeBookKey,
    CascadeReference,
    IntCascadeReference,
    KeptBookKey,
    KeptReference,
    NullingBookKey,
    NullingReference,
    record_remote_deletion,
)

UNUSED_URL = "http://127.0.0.1:9/graphql/"
POLICY_CHECK = f"{record_remote_deletion.__module__}.{record_remote_deletion.__qualname__}"


@pytest.fixture(autouse=True)
def _forget_recorded_deletions():
    REMOTE_DELETIONS.clear()
    yield
    REMOTE_DELETIONS.clear()


@pytest.fixture
def types(settings, db):
    """Remote content types as sync_remote_contenttypes leaves them, and a local one."""
    settings.FEDERATION = {
        **settings.FEDERATION,
        "PROJECTS": {"shop_b": {"URL": UNUSED_URL}, "shop_c": {"URL": UNUSED_URL}},
    }

    def remote(project, model, pk_type, type_name):
        return GenericContentType.objects.create(
            project=project,
            app_label="remoteshop",
            model=model,
            pk_type=pk_type,
            type_name=type_name,
            in_schema=True,
        )

    return {
        "book": remote("shop_b", "book", "int", "Book"),
        "gadget": remote("shop_b", "gadget", "uuid", "Gadget"),
        "other book": remote("shop_c", "book", "int", "Book"),
        "local book": GenericContentType.objects.get_for_model(Book),
    }


def point(model, ct, object_id, **fields):
    return model.objects.create(content_type=ct, object_id=object_id, **fields)


def link(watchlist, relation, ct, object_id):
    through = Watchlist._meta.get_field(relation).through
    return through.objects.create(watchlist=watchlist, content_type=ct, object_id=object_id)


def links(relation):
    through = Watchlist._meta.get_field(relation).through
    return sorted(through.objects.values_list("content_type_id", "object_id"))


def by_label(results):
    return {result.label: result for result in results}


def test_cascade_deletes_the_references_and_the_links(types):
    book, other, local = types["book"], types["other book"], types["local book"]
    gone = [point(CascadeReference, book, i) for i in ("5", "07")]  # "07" is book 7
    kept = [
        point(CascadeReference, book, "6"),
        point(CascadeReference, other, "5"),  # another type: shop_c's book 5
        point(CascadeReference, local, "5"),  # a local book 5
        point(CascadeReference, book, "5x"),  # malformed: names no book
    ]
    int_gone = point(IntCascadeReference, book, 5)
    int_kept = point(IntCascadeReference, local, 5)
    key_gone, key_kept = (
        CascadeBookKey.objects.create(book=7),
        CascadeBookKey.objects.create(book=6),
    )
    watchlist = Watchlist.objects.create(name="w")
    for ct, object_id in ((book, "5"), (book, "6"), (other, "5"), (local, "5")):
        link(watchlist, "cascade", ct, object_id)

    results = by_label(apply_remote_deletion(book, ["5", 7, "not an id"]))

    assert results["testapp.CascadeReference.content_object"] == RemoteDeletionResult(
        "testapp.CascadeReference.content_object", "CASCADE", 2, 0
    )
    assert results["testapp.IntCascadeReference.content_object"].rows == 1
    assert results["testapp.CascadeBookKey.book"].rows == 1
    assert results["gm2mapp.Watchlist.cascade"].rows == 1
    assert (
        str(results["gm2mapp.Watchlist.cascade"]) == "gm2mapp.Watchlist.cascade: CASCADE: deleted 1"
    )
    assert not CascadeReference.objects.filter(pk__in=[r.pk for r in gone]).exists()
    assert sorted(CascadeReference.objects.values_list("pk", flat=True)) == [r.pk for r in kept]
    assert list(IntCascadeReference.objects.values_list("pk", flat=True)) == [int_kept.pk]
    assert not IntCascadeReference.objects.filter(pk=int_gone.pk).exists()
    assert list(CascadeBookKey.objects.values_list("pk", flat=True)) == [key_kept.pk]
    assert not CascadeBookKey.objects.filter(pk=key_gone.pk).exists()
    assert links("cascade") == sorted([(book.pk, "6"), (other.pk, "5"), (local.pk, "5")])


def test_set_null_clears_both_columns_or_the_key(types):
    book, other = types["book"], types["other book"]
    cleared = point(NullingReference, book, "5")
    untouched = point(NullingReference, other, "5")
    key = NullingBookKey.objects.create(book=5)
    other_key = NullingBookKey.objects.create(book=6)

    results = by_label(apply_remote_deletion(book, ["5"]))

    assert results["testapp.NullingReference.content_object"].rows == 1
    assert results["testapp.NullingBookKey.book"].rows == 1
    assert (
        str(results["testapp.NullingBookKey.book"])
        == "testapp.NullingBookKey.book: SET_NULL: cleared 1"
    )
    cleared.refresh_from_db()
    assert (cleared.content_type_id, cleared.object_id) == (None, None)
    untouched.refresh_from_db()
    assert (untouched.content_type_id, untouched.object_id) == (other.pk, "5")
    key.refresh_from_db()
    other_key.refresh_from_db()
    assert (key.book_id, other_key.book_id) == (None, 6)


def test_do_nothing_keeps_the_references_and_counts_them(types):
    book = types["book"]
    ref = point(KeptReference, book, "5")
    KeptBookKey.objects.create(book=5)
    watchlist = Watchlist.objects.create(name="w")
    link(watchlist, "kept", book, "5")

    results = by_label(apply_remote_deletion(book, ["5"]))

    for label in (
        "testapp.KeptReference.content_object",
        "testapp.KeptBookKey.book",
        "gm2mapp.Watchlist.kept",
    ):
        assert results[label] == RemoteDeletionResult(label, "DO_NOTHING", 0, 1)
    assert str(results["gm2mapp.Watchlist.kept"]) == "gm2mapp.Watchlist.kept: DO_NOTHING: kept 1"
    ref.refresh_from_db()
    assert (ref.content_type_id, ref.object_id) == (book.pk, "5")
    assert KeptBookKey.objects.get().book_id == 5
    assert links("kept") == [(book.pk, "5")]


def test_a_callable_gets_the_field_and_the_referencing_rows(types):
    book, other = types["book"], types["other book"]
    refs = [point(CallbackReference, book, i) for i in ("5", "6")]
    point(CallbackReference, other, "5")
    key = CallbackBookKey.objects.create(book=6)
    CallbackBookKey.objects.create(book=8)
    watchlist = Watchlist.objects.create(name="w")
    row = link(watchlist, "callback", book, "5")
    link(watchlist, "callback", other, "5")

    results = by_label(apply_remote_deletion(book, ["5", "6"]))

    assert REMOTE_DELETIONS == [  # in label order
        ("gm2mapp.Watchlist.callback", [row.pk]),
        ("testapp.CallbackBookKey.book", [key.pk]),
        ("testapp.CallbackReference.content_object", [r.pk for r in refs]),
    ]
    result = results["testapp.CallbackReference.content_object"]
    assert result == RemoteDeletionResult(result.label, POLICY_CHECK, 2, 2)  # it kept them
    assert str(result).endswith(": 2 given to the policy, 2 still point there")
    assert CallbackReference.objects.count() == 3


def test_a_callable_is_not_called_for_nothing(types):
    point(CallbackReference, types["book"], "6")
    results = by_label(apply_remote_deletion(types["book"], ["5"]))
    assert results["testapp.CallbackReference.content_object"].rows == 0
    assert REMOTE_DELETIONS == []


def test_applying_twice_is_applying_once(types):
    book = types["book"]
    point(CascadeReference, book, "5")
    point(NullingReference, book, "5")
    point(KeptReference, book, "5")
    NullingBookKey.objects.create(book=5)
    CascadeBookKey.objects.create(book=5)
    watchlist = Watchlist.objects.create(name="w")
    link(watchlist, "cascade", book, "5")

    def state():
        return (
            list(CascadeReference.objects.values_list("pk", "object_id")),
            list(NullingReference.objects.values_list("pk", "content_type_id", "object_id")),
            list(KeptReference.objects.values_list("pk", "object_id")),
            list(NullingBookKey.objects.values_list("pk", "book_id")),
            list(CascadeBookKey.objects.values_list("pk", "book_id")),
            links("cascade"),
        )

    first = apply_remote_deletion(book, ["5"])
    once = state()
    second = apply_remote_deletion(book, ["5"])

    assert state() == once
    assert sum(r.rows for r in first if r.policy in ("CASCADE", "SET_NULL")) == 5
    assert [r.label for r in second] == [r.label for r in first]
    assert all(r.rows == 0 for r in second if r.policy != POLICY_CHECK)
    kept = by_label(second)["testapp.KeptReference.content_object"]
    assert kept.kept == 1


def test_text_columns_compare_keys_as_the_dangling_check_does(types):
    gadget, book = types["gadget"], types["book"]
    key = uuid.uuid4()
    same = [point(CascadeReference, gadget, form) for form in (str(key).upper(), key.hex)]
    other = point(CascadeReference, gadget, str(uuid.uuid4()))
    negative = point(CascadeReference, book, "-0")  # book 0
    results = by_label(apply_remote_deletion(gadget, [str(key)]))
    assert results["testapp.CascadeReference.content_object"].rows == 2
    assert not CascadeReference.objects.filter(pk__in=[r.pk for r in same]).exists()
    assert CascadeReference.objects.filter(pk=other.pk).exists()
    # A RemoteForeignKey to books cannot point at a gadget: it is not asked.
    assert "testapp.CascadeBookKey.book" not in results
    apply_remote_deletion(book, [0])
    assert not CascadeReference.objects.filter(pk=negative.pk).exists()


def test_only_remote_types_take_a_remote_deletion(types):
    with pytest.raises(ValueError, match="local content type"):
        apply_remote_deletion(types["local book"], ["5"])


def test_every_field_that_can_point_at_the_type_is_reported(types):
    labels = [r.label for r in apply_remote_deletion(types["book"], [])]
    assert labels == sorted(labels)
    for label in (
        "testapp.Reference.content_object",
        "testapp.CascadeBookKey.book",
        "deferredapp.Review.book",  # a RemoteForeignKey made by point()
        "gm2mapp.User.preferred_videos",
        "gm2mapp.Critic.reviewed",  # a custom through model: the relation's policy
        "gm2mapp.Slot.venue",  # the other key of that kind of through model
    ):
        assert label in labels
    assert "gm2mapp.Review.target" not in labels  # governed by Critic.reviewed
    assert "deferredapp.Wish.gadget" not in labels  # a key to another type


# -- checks and deconstruct() ---------------------------------------------------


class Meta:
    app_label = "testapp"


def check_ids(field):
    return [message.id for message in field.check()]


def ffk_model(policy, null=True, name="Pointer"):
    attrs = {
        "__module__": __name__,
        "Meta": Meta,
        "content_type": models.ForeignKey(
            GenericContentType, models.CASCADE, null=null, related_name="+"
        ),
        "object_id": models.CharField(max_length=64, null=True),
        "content_object": FederatedForeignKey(on_remote_delete=policy),
    }
    return type(name, (models.Model,), attrs)


REFUSED = [
    models.PROTECT,
    models.RESTRICT,
    models.SET_DEFAULT,
    models.SET(0),
    CASCADE_SIGNAL,
    "CASCADE",
]


@isolate_apps("tests.testapp")
@pytest.mark.parametrize("policy", REFUSED, ids=lambda p: getattr(p, "__name__", repr(p)))
def test_policies_that_cannot_follow_a_remote_deletion_are_refused(policy):
    ffk = ffk_model(policy)._meta.get_field("content_object")
    messages = ffk.check()
    assert [m.id for m in messages] == ["federated_fk.E007"]
    assert "models.CASCADE, models.SET_NULL, models.DO_NOTHING" in messages[0].hint

    class Source(models.Model):
        links = FederatedManyToManyField(on_remote_delete=policy)

        Meta = Meta

    assert check_ids(Source._meta.get_field("links")) == ["federated_fk.E314"]

    class Key(models.Model):
        book = RemoteForeignKey("shop_b:remoteshop.Book", on_remote_delete=policy)

        Meta = Meta

    assert "federated_fk.E405" in check_ids(Key._meta.get_field("book"))


@isolate_apps("tests.testapp")
def test_the_accepted_policies_pass_the_checks():
    policies = (models.CASCADE, models.SET_NULL, models.DO_NOTHING, record_remote_deletion)
    for n, policy in enumerate(policies):
        ffk = ffk_model(policy, name=f"Pointer{n}")._meta.get_field("content_object")
        assert check_ids(ffk) == []


@isolate_apps("tests.testapp")
def test_set_null_needs_nullable_columns():
    ffk = ffk_model(models.SET_NULL, null=False)._meta.get_field("content_object")
    messages = ffk.check()
    assert [m.id for m in messages] == ["federated_fk.E008"]
    assert "'content_type'" in messages[0].msg and "'object_id'" not in messages[0].msg

    class Key(models.Model):
        book = RemoteForeignKey("shop_b:remoteshop.Book", on_remote_delete=models.SET_NULL)
        nullable = RemoteForeignKey(
            "shop_b:remoteshop.Book", null=True, on_remote_delete=models.SET_NULL
        )

        Meta = Meta

    assert "federated_fk.E406" in check_ids(Key._meta.get_field("book"))
    assert "federated_fk.E406" not in check_ids(Key._meta.get_field("nullable"))

    class Source(models.Model):
        links = FederatedManyToManyField(on_remote_delete=models.SET_NULL)

        Meta = Meta

    messages = Source._meta.get_field("links").check()
    assert [m.id for m in messages] == ["federated_fk.E314"]
    assert "SET_NULL" in messages[0].msg


@isolate_apps("tests.testapp")
def test_the_through_models_key_leaves_the_policy_to_the_relation():
    class Source(models.Model):
        links = FederatedManyToManyField(through="Link")

        Meta = Meta

    class Link(models.Model):
        source = models.ForeignKey(Source, models.CASCADE)
        ct = models.ForeignKey(GenericContentType, models.CASCADE, related_name="+")
        oid = models.CharField(max_length=64)
        target = FederatedForeignKey("ct", "oid", on_remote_delete=models.CASCADE)

        Meta = Meta

    messages = Source._meta.get_field("links").check()
    assert [m.id for m in messages] == ["federated_fk.E315"]
    assert "Declare on_remote_delete on the FederatedManyToManyField" in messages[0].hint


@isolate_apps("tests.testapp")
def test_deconstruct_carries_the_policy_unless_it_is_the_default():
    ffk = ffk_model(models.CASCADE)._meta.get_field("content_object")
    name, path, args, kwargs = ffk.deconstruct()
    assert (name, path, args, kwargs) == (
        "content_object",
        "federated_fk.fields.FederatedForeignKey",
        [],
        {"on_remote_delete": models.CASCADE},
    )
    assert FederatedForeignKey("ct", "oid", for_concrete_model=False).deconstruct()[3] == {
        "ct_field": "ct",
        "fk_field": "oid",
        "for_concrete_model": False,
    }
    assert ffk.clone().on_remote_delete is models.CASCADE
    m2m = FederatedManyToManyField(on_remote_delete=record_remote_deletion)
    assert m2m.deconstruct()[3] == {"on_remote_delete": record_remote_deletion}
    assert FederatedManyToManyField().deconstruct()[3] == {}
    key = RemoteForeignKey("shop_b:remoteshop.Book", null=True, on_remote_delete=models.SET_NULL)
    assert key.deconstruct()[3]["on_remote_delete"] is models.SET_NULL
    assert "on_remote_delete" not in RemoteForeignKey("shop_b:remoteshop.Book").deconstruct()[3]


@pytest.mark.django_db
def test_migrations_record_the_policies():
    """makemigrations sees every declared policy: nothing is left to migrate."""
    out = StringIO()
    call_command("makemigrations", "testapp", "gm2mapp", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()


# -- find_dangling_references --apply-policies, against real subgraphs ------------


def run_status(*args, **options):
    """Run the command; return its output, its error output and its exit status."""
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "find_dangling_references", *args, stdout=out, stderr=err, batch_size=2, **options
        )
    except CommandError as error:
        err.write(f"CommandError: {error}\n")
        return out.getvalue(), err.getvalue(), error.returncode
    return out.getvalue(), err.getvalue(), 0


@pytest.fixture
def dangling(db, synced):
    """References of every kind and policy to shop_b's books: 5 exists, the 9999x are gone."""
    RemoteBook = stand_in(synced, "shop_b", "Book")
    CBook = stand_in(synced, "shop_c", "Book")
    local_gone = Book.objects.create(title="Gone")
    watchlist = Watchlist.objects.create(name="w")
    rows = {
        "cascade ok": CascadeReference.objects.create(content_object=RemoteBook(5)),
        "cascade gone": CascadeReference.objects.create(content_object=RemoteBook(99999)),
        "null gone": NullingReference.objects.create(content_object=RemoteBook(99998)),
        "kept gone": KeptReference.objects.create(content_object=RemoteBook(99997)),
        "callback gone": CallbackReference.objects.create(content_object=RemoteBook(99996)),
        "key gone": CascadeBookKey.objects.create(book=99995),
        "key null": NullingBookKey.objects.create(book=99994),
        "key ok": CascadeBookKey.objects.create(book=5),
        "other project gone": CascadeReference.objects.create(content_object=CBook(5000)),
        "local gone": CascadeReference.objects.create(content_object=local_gone),
    }
    watchlist.cascade.add(RemoteBook(99993), RemoteBook(5))
    watchlist.callback.add(RemoteBook(99992))
    Book.objects.filter(pk=local_gone.pk).delete()  # no FederatedRelation: it dangles
    return rows


def exists(row):
    return type(row).objects.filter(pk=row.pk).exists()


def test_apply_policies_applies_each_fields_policy(dangling, synced):
    book = synced[("shop_b", "Book")]
    out, err, status = run_status(apply_policies=True, project=["shop_b"])

    assert status == 0, err
    assert "To apply on_remote_delete to" in out
    assert (
        "testapp.CascadeReference.content_object: CASCADE: deleted 1 "
        "(pointing at shop_b remoteshop.book)." in out
    )
    assert "testapp.KeptReference.content_object: DO_NOTHING: kept 1" in out
    assert not exists(dangling["cascade gone"]) and not exists(dangling["key gone"])
    for name in ("cascade ok", "key ok", "kept gone", "callback gone"):
        assert exists(dangling[name]), name
    # --project shop_b: references to shop_c and to local objects are not even checked.
    assert exists(dangling["other project gone"]) and exists(dangling["local gone"])
    assert "shop_c" not in out and "shop_a" not in out
    nulled = NullingReference.objects.get(pk=dangling["null gone"].pk)
    assert (nulled.content_type_id, nulled.object_id) == (None, None)
    assert NullingBookKey.objects.get(pk=dangling["key null"].pk).book_id is None
    assert links("cascade") == [(book.pk, "5")]
    assert sorted(label for label, _pks in REMOTE_DELETIONS) == [
        "gm2mapp.Watchlist.callback",
        "testapp.CallbackReference.content_object",
    ]
    assert links("callback") == [(book.pk, "99992")]

    # Applying again finds what the policies kept, and changes nothing.
    before = (links("cascade"), links("callback"), CascadeReference.objects.count())
    _out, _err, status = run_status(apply_policies=True, project=["shop_b"])
    assert status == 0
    assert (links("cascade"), links("callback"), CascadeReference.objects.count()) == before


def test_apply_policies_keeps_local_references_and_fails_on_them_when_asked(dangling):
    out, err, status = run_status("--fail-on-dangling", apply_policies=True)
    assert status == 3, err
    assert "kept 1: on_remote_delete applies to remote targets (--delete deletes these)." in out
    assert exists(dangling["local gone"])
    assert not exists(dangling["other project gone"])  # shop_c's gone book: CASCADE


def test_apply_policies_changes_nothing_of_a_project_that_cannot_be_checked(dangling, federation):
    federation["PROJECTS"]["shop_b"]["URL"] = f"http://127.0.0.1:{free_port()}/graphql/"
    _out, err, status = run_status(apply_policies=True, project=["shop_b"])
    assert status == 1
    assert "could not check project 'shop_b' (connection refused)" in err
    for name in ("cascade gone", "key gone", "null gone", "callback gone"):
        assert exists(dangling[name]), name
    assert NullingBookKey.objects.get(pk=dangling["key null"].pk).book_id == 99994
    assert len(links("cascade")) == 2
    assert REMOTE_DELETIONS == []


def test_a_project_without_an_endpoint_cannot_be_checked(dangling):
    _out, err, status = run_status(apply_policies=True, project=["shop_z"])
    assert status == 1
    assert "Could not check project(s) 'shop_z'" in err
    assert exists(dangling["cascade gone"])


def test_project_names_remote_projects_and_apply_policies_excludes_delete(types):
    with pytest.raises(CommandError, match="is local"):
        call_command("find_dangling_references", project=["shop_a"], stdout=StringIO())
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("find_dangling_references", "--delete", "--apply-policies", stdout=StringIO())


def test_the_help_documents_apply_policies_and_project():
    from federated_fk.management.commands.find_dangling_references import Command

    text = Command().create_parser("manage.py", "find_dangling_references").format_help()
    flat = " ".join(text.split())
    assert "--apply-policies" in flat and "--project NAME" in flat
    assert "on_remote_delete" in flat


def test_apply_policies_takes_removed_types_only_when_asked(dangling, synced):
    Audiobook = stand_in(synced, "shop_b", "Audiobook")
    ref = CascadeReference.objects.create(content_object=Audiobook(1))
    ct = synced[("shop_b", "Audiobook")]
    GenericContentType.objects.filter(pk=ct.pk).update(in_schema=False)  # as a sync leaves it
    GenericContentType.objects.clear_cache()

    _out, err, status = run_status(apply_policies=True, project=["shop_b"])
    assert status == 4, err
    assert exists(ref)
    assert not exists(dangling["cascade gone"])  # the other references are applied as before

    out, err, status = run_status(
        "--include-removed-types", apply_policies=True, project=["shop_b"]
    )
    assert status == 0, err
    assert "to apply on_remote_delete to (--include-removed-types)" in out
    assert "CASCADE: deleted 1 (pointing at shop_b remoteshop.audiobook)." in out
    assert not exists(ref)
