"""dumpdata / loaddata with natural keys, between databases with different ids."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max

from federated_fk.models import GenericContentType
from tests.sharedapp.models import Author
from tests.testapp.models import Book, Reference

pytestmark = pytest.mark.django_db(databases=["default", "other"])

FORMATS = ["json", "jsonl", "xml", "yaml"]
LABELS = ["sharedapp", "testapp.book", "testapp.reference"]


@pytest.fixture
def federation(settings):
    settings.FEDERATION = {
        **settings.FEDERATION,
        "PROJECTS": {"shop_b": {"URL": "http://127.0.0.1:9/graphql/"}},
    }


@pytest.fixture
def source(federation):
    """References of every kind in the default database."""
    GenericContentType.objects.create(project="shared", app_label="x", model="padding")
    ursula = Author.objects.create(name="Ursula")
    Author.objects.create(name="Octavia")
    dune = Book.objects.create(title="Dune")
    remote = GenericContentType.objects.create(
        project="shop_b", app_label="shop", model="book", type_name="Book", in_schema=True
    )
    Reference.objects.create(note="shared, natural key", content_object=ursula)
    Reference.objects.create(note="local, no natural key", content_object=dune)
    Reference.objects.create(note="remote", content_object=remote.model_class()(42))
    Reference.objects.create(note="nothing", content_object=None)


def describe(using):
    """What each reference points at, by names that do not depend on ids."""
    GenericContentType.objects.clear_cache()
    described = []
    for ref in Reference.objects.using(using).order_by("pk"):
        if ref.content_type_id is None:
            described.append((ref.note, None, None))
            continue
        ct = GenericContentType.objects.db_manager(using).get_for_id(ref.content_type_id)
        target = ref.content_object
        if ct.is_remote:
            identity = target.pk  # a stand-in: no request needed
        elif isinstance(target, Author):
            identity = target.name
        else:
            identity = (target.pk, target.title)
        described.append((ref.note, ct.natural_key(), identity))
    return described


def shift_ids(using):
    """Make the other database's content-type and author ids differ from the source's.

    New rows there get ids above every id of the source (sequences only grow).
    """
    GenericContentType.objects.using(using).filter(app_label__in=["sharedapp", "testapp"]).delete()
    top = GenericContentType.objects.aggregate(top=Max("pk"))["top"]
    n = 0
    while (
        GenericContentType.objects.using(using).create(project="z", app_label="z", model=n).pk < top
    ):
        n += 1
    top = Author.objects.aggregate(top=Max("pk"))["top"]
    while Author.objects.using(using).create(name=f"Someone {n}").pk <= top:
        n += 1


def dump(fmt, tmp_path):
    path = tmp_path / f"fixture.{fmt}"
    call_command(
        "dumpdata",
        *LABELS,
        format=fmt,
        natural_foreign=True,
        natural_primary=True,
        output=str(path),
        database="default",
    )
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_to_a_database_with_other_ids(fmt, source, tmp_path):
    path = dump(fmt, tmp_path)
    shift_ids("other")
    call_command("loaddata", str(path), database="other", verbosity=0)
    dune = Book.objects.get(title="Dune").pk
    assert (
        describe("other")
        == describe("default")
        == [
            ("shared, natural key", ("shared", "sharedapp", "author"), "Ursula"),
            ("local, no natural key", ("shop_a", "testapp", "book"), (dune, "Dune")),
            ("remote", ("shop_b", "shop", "book"), 42),
            ("nothing", None, None),
        ]
    )
    # The ids really differ: only natural keys made the references match.
    ursula = Author.objects.get(name="Ursula")
    assert Author.objects.using("other").get(name="Ursula").pk != ursula.pk
    for model in (Author, Book):
        default = GenericContentType.objects.db_manager("default").get_for_model(model)
        other = GenericContentType.objects.db_manager("other").get_for_model(model)
        assert default.pk != other.pk


def test_the_fixture_names_targets_by_natural_key_and_remote_ones_by_pk(source, tmp_path):
    objects = json.loads(dump("json", tmp_path).read_text())
    refs = [o["fields"] for o in objects if o["model"] == "testapp.reference"]
    dune = Book.objects.get(title="Dune").pk
    assert [(r["content_type"], r["object_id"]) for r in refs] == [
        (["shared", "sharedapp", "author"], ["Ursula"]),
        (["shop_a", "testapp", "book"], str(dune)),
        (["shop_b", "shop", "book"], "42"),
        (None, None),
    ]


def bad_fixture(tmp_path, reference_fields):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            [
                {"model": "sharedapp.author", "fields": {"name": "Loaded first"}},
                {"model": "testapp.reference", "pk": 7, "fields": reference_fields},
            ]
        )
    )
    return path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"content_type": ["shop_q", "shop", "book"], "object_id": "1", "note": ""},
            "testapp.reference pk=7, field 'content_type': content type "
            "['shop_q', 'shop', 'book'] names project 'shop_q', which has no endpoint",
        ),
        (
            {"content_type": ["shop_a", "testapp", "gone"], "object_id": "1", "note": ""},
            "field 'content_type': content type ['shop_a', 'testapp', 'gone'] names a local "
            "model that is not installed.",
        ),
        (
            {
                "content_type": ["shared", "sharedapp", "author"],
                "object_id": ["Nobody"],
                "note": "",
            },
            "testapp.reference pk=7, field 'object_id': no sharedapp.Author has the natural "
            "key ['Nobody'].",
        ),
        (
            {"content_type": ["testapp"], "object_id": "1", "note": ""},
            "field 'content_type': ['testapp'] is not a content type key; expected "
            "[project, app_label, model].",
        ),
        (
            {"content_type": ["shop_a", "testapp", "book"], "object_id": ["Dune"], "note": ""},
            "field 'object_id': ['Dune'] is a natural key, but content type "
            "['shop_a', 'testapp', 'book'] has no local model with natural keys.",
        ),
    ],
)
def test_bad_fixtures_name_object_and_field_and_load_nothing(fields, message, tmp_path, federation):
    with pytest.raises((CommandError, Exception)) as raised:
        call_command("loaddata", str(bad_fixture(tmp_path, fields)), verbosity=0)
    assert message in str(raised.value)
    assert not Author.objects.filter(name="Loaded first").exists()


def test_unknown_remote_content_types_of_configured_projects_are_created(federation, tmp_path):
    fields = {"content_type": ["shop_b", "audio", "audiobook"], "object_id": "3", "note": ""}
    call_command("loaddata", str(bad_fixture(tmp_path, fields)), verbosity=0)
    ct = GenericContentType.objects.get(project="shop_b", model="audiobook")
    assert Reference.objects.get(pk=7).content_type == ct
