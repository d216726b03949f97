"""dumpdata / loaddata of FederatedManyToManyField targets, in every format."""

import itertools
import json

import pytest
from django.apps import apps
from django.core.management import call_command

from federated_fk.models import GenericContentType
from tests.gm2mapp.models import Movie, User
from tests.sharedapp.models import Author

pytestmark = pytest.mark.django_db(databases=["default", "other"])

FORMATS = ["json", "jsonl", "xml", "yaml"]
LABELS = ["sharedapp", "gm2mapp.video", "gm2mapp.movie", "gm2mapp.user"]


@pytest.fixture
def source(settings):
    settings.FEDERATION = {
        **settings.FEDERATION,
        "PROJECTS": {"shop_b": {"URL": "http://127.0.0.1:9/graphql/"}},
    }
    remote = GenericContentType.objects.create(
        project="shop_b", app_label="remoteshop", model="book", type_name="Book", in_schema=True
    )
    Author.objects.create(name="Octavia")  # the ids of the two databases differ
    ursula = Author.objects.create(name="Ursula")
    vendetta = Movie.objects.create(title="V for Vendetta")
    me = User.objects.create(name="Me")
    me.preferred_videos.add(ursula, vendetta, remote.model_class()(42))
    User.objects.create(name="Nobody")
    return me


def dump(fmt, tmp_path, natural=True):
    path = tmp_path / f"fixture.{fmt}"
    call_command(
        "dumpdata",
        *LABELS,
        format=fmt,
        natural_foreign=natural,
        natural_primary=natural,
        output=str(path),
        database="default",
    )
    return path


def describe(using):
    """Each user's targets, by names that do not depend on ids (no remote request)."""
    GenericContentType.objects.clear_cache()
    described = []
    for user in User.objects.using(using).order_by("name"):
        targets = []
        keys = ("content_type__project", "content_type__app_label", "content_type__model")
        for project, app_label, model, object_id in user.preferred_videos.values_list(
            *keys, "object_id"
        ):
            if project == "shop_b":
                targets.append((model, object_id))
            else:
                target = apps.get_model(app_label, model).objects.using(using).get(pk=object_id)
                targets.append((model, str(target)))
        described.append((user.name, targets))
    return described


def test_the_fixture_writes_content_type_and_id_pairs(source, tmp_path):
    objects = json.loads(dump("json", tmp_path).read_text())
    (me,) = [o["fields"] for o in objects if o["model"] == "gm2mapp.user" and o["pk"] == source.pk]
    movie = Movie.objects.get().pk
    assert me["preferred_videos"] == [
        [["shared", "sharedapp", "author"], ["Ursula"]],
        [["shop_a", "gm2mapp", "movie"], str(movie)],
        [["shop_b", "remoteshop", "book"], "42"],
    ]
    objects = json.loads(dump("json", tmp_path, natural=False).read_text())
    (me,) = [o["fields"] for o in objects if o["model"] == "gm2mapp.user" and o["pk"] == source.pk]
    assert me["preferred_videos"][0] == [
        ["shared", "sharedapp", "author"],
        str(Author.objects.get(name="Ursula").pk),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_to_another_database(fmt, source, tmp_path):
    path = dump(fmt, tmp_path)
    # Shift the author ids past Ursula's (sequences differ per database and run).
    ursula = Author.objects.get(name="Ursula").pk
    for n in itertools.count():
        if Author.objects.using("other").create(name=f"Someone else {n}").pk >= ursula:
            break
    # Links are written as reads need them: the remote type is synchronized
    # in the database that receives them (as sync_remote_contenttypes does).
    GenericContentType.objects.using("other").create(
        project="shop_b", app_label="remoteshop", model="book", type_name="Book", in_schema=True
    )
    call_command("loaddata", str(path), database="other", verbosity=0)
    expected = [
        ("Me", [("author", "Ursula"), ("movie", "V for Vendetta"), ("book", "42")]),
        ("Nobody", []),
    ]
    assert describe("other") == expected
    assert describe("default") == expected
    other_ursula = Author.objects.using("other").get(name="Ursula")
    assert other_ursula.pk != Author.objects.get(name="Ursula").pk
