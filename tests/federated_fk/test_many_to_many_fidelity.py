"""FederatedManyToManyField as django-gm2m users write it, and where it follows Django instead."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection, migrations
from django.db.migrations.migration import Migration
from django.db.migrations.state import ProjectState
from django.http import QueryDict
from django.test import RequestFactory

from federated_fk.models import GenericContentType
from tests.gm2mapp.models import (
    BasicLinks,
    Concert,
    Critic,
    Documentary,
    EnhancedLinks,
    Fan,
    Mixtape,
    Movie,
    Opera,
    Review,
    User,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def videos():
    return {
        "vendetta": Movie.objects.create(title="V for Vendetta"),
        "citizenfour": Documentary.objects.create(title="Citizenfour"),
        "bride": Opera.objects.create(title="The Bartered Bride"),
    }


def titles(objs):
    return [v.title for v in objs]


# 1. .through -----------------------------------------------------------------


def test_through_on_the_descriptor_and_both_managers(videos):
    through = User._meta.get_field("preferred_videos").remote_field.through
    me = User.objects.create(name="Me")
    me.preferred_videos.add(videos["vendetta"], videos["bride"])
    assert User.preferred_videos.through is through
    assert me.preferred_videos.through is through
    assert videos["vendetta"].user_set.through is through
    assert Movie.fans.through is Fan.videos.through  # a declared relation's class attribute
    assert Critic.reviewed.through is Review
    assert Critic.objects.create(name="Roger").reviewed.through is Review
    # gm2m users count and query the links that way.
    assert me.preferred_videos.through.objects.filter(user=me).count() == 2
    opera_ct = GenericContentType.objects.get_for_model(Opera)
    assert through.objects.filter(content_type=opera_ct).count() == 1


# 3. reverse managers on historical models ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_historical_models_have_reverse_managers_in_run_python(videos):
    """A RunPython migration uses the reverse managers of the state's models."""
    seen = {}

    def forwards(state_apps, schema_editor):
        HistoricalMovie = state_apps.get_model("gm2mapp", "Movie")
        HistoricalFan = state_apps.get_model("gm2mapp", "Fan")
        assert HistoricalMovie is not Movie
        movie = HistoricalMovie.objects.get(title="V for Vendetta")
        ann = HistoricalFan.objects.create(name="Ann")
        movie.fans.add(ann)  # the reverse manager, on a historical target
        ann.videos.add(state_apps.get_model("gm2mapp", "Opera").objects.get())  # forward
        seen["fans"] = [fan.name for fan in movie.fans.all()]
        seen["videos"] = [video.title for video in ann.videos.all()]
        seen["opera"] = hasattr(state_apps.get_model("gm2mapp", "Opera"), "fans")
        seen["filter"] = list(HistoricalMovie.objects.filter(fans__name="Ann").values("title"))

    migration = Migration("0099_use_reverse_managers", "gm2mapp")
    migration.operations = [migrations.RunPython(forwards)]
    with connection.schema_editor() as editor:
        migration.apply(ProjectState.from_apps(apps), editor)
    assert seen == {
        "fans": ["Ann"],
        "videos": ["V for Vendetta", "The Bartered Bride"],
        "opera": True,
        "filter": [{"title": "V for Vendetta"}],
    }
    assert list(videos["vendetta"].fans.values_list("name", flat=True)) == ["Ann"]


def test_auto_relations_of_this_process_are_historical_too(videos):
    me = User.objects.create(name="Me")
    me.preferred_videos.add(Concert.objects.create(title="Proms"))  # Concert: no declared relation
    state_apps = ProjectState.from_apps(apps).apps
    proms = state_apps.get_model("gm2mapp", "Concert").objects.get()
    assert [u.name for u in proms.user_set.all()] == ["Me"]


# 4. filtering targets by model ---------------------------------------------------------


def test_filter_by_model_class_label_and_several(videos):
    me = User.objects.create(name="Me")
    me.preferred_videos.add(*videos.values())
    targets = me.preferred_videos
    assert titles(targets.filter(Model=Movie)) == ["V for Vendetta"]
    assert titles(targets.filter(Model="gm2mapp.Movie")) == ["V for Vendetta"]
    assert titles(targets.filter(Model="gm2mapp.movie")) == ["V for Vendetta"]
    assert titles(targets.filter(Model__in=["gm2mapp.Documentary", Opera])) == [
        "Citizenfour",
        "The Bartered Bride",
    ]
    assert titles(targets.exclude(Model="gm2mapp.Movie")) == ["Citizenfour", "The Bartered Bride"]
    assert targets.filter(Model__in=[]).count() == 3  # no models named: no filter, as gm2m
    with pytest.raises(LookupError):
        list(targets.filter(Model="gm2mapp.Nothing"))


# 5. the admin form ---------------------------------------------------------------


def admin_form(model, data, instance=None):
    request = RequestFactory().post("/")
    form_class = admin.ModelAdmin(model, admin.site).get_form(request, instance)
    return form_class(data, instance=instance)


def test_admin_form_with_an_empty_value_validates_and_saves_when_blank(videos):
    empty_post = QueryDict("name=Ann&videos=&videos_ct=&videos_id=&videos_ct=&videos_id=")
    for data in ({"name": "Ann", "videos": ""}, {"name": "Ann"}, empty_post):
        form = admin_form(Fan, data)
        assert form.is_valid(), form.errors
        fan = form.save()
        assert fan.pk and fan.videos.count() == 0
    fan.videos.add(videos["vendetta"])
    form = admin_form(Fan, {"name": "Ann", "videos": ""}, instance=fan)
    assert form.is_valid(), form.errors
    form.save()
    assert fan.videos.count() == 0  # nothing kept, nothing added
    form = admin_form(User, {"name": "Me", "preferred_videos": ""})  # not blank: required
    assert not form.is_valid()
    assert form.errors["preferred_videos"] == ["This field is required."]


# 6. DO_NOTHING on the source side ------------------------------------------------------


def foreign_keys(table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {tuple(c["columns"]): c["foreign_key"] for c in constraints.values() if c["foreign_key"]}


def test_do_nothing_keeps_the_rows_without_failing_the_integrity_check():
    through = Mixtape.tracks.through
    assert through._meta.get_field("mixtape").db_constraint is False
    keys = foreign_keys(through._meta.db_table)
    assert ("mixtape_id",) not in keys  # no database constraint on the source key
    assert ("content_type_id",) in keys  # the content type keeps its constraint
    assert User.preferred_videos.through._meta.get_field("user").db_constraint is True  # CASCADE
    tape = Mixtape.objects.create(name="Summer")
    tape.tracks.add(Concert.objects.create(title="Proms"), Concert.objects.create(title="Glasto"))
    tape.delete()
    connection.check_constraints()  # what a commit checks: the kept rows pass
    assert through.objects.count() == 2


# 7. where Django 5.2 differs from gm2m 1.4, Django ------------------------------------


def test_direct_assignment_is_refused_as_django_refuses_it(videos):
    me = User.objects.create(name="Me")
    with pytest.raises(TypeError, match=r"forward side .* Use preferred_videos\.set\(\)"):
        me.preferred_videos = [videos["vendetta"]]
    me.preferred_videos.add(videos["vendetta"])
    with pytest.raises(TypeError, match=r"reverse side .* Use user_set\.set\(\)"):
        videos["vendetta"].user_set = [me]
    assert me.preferred_videos.count() == 1


def test_a_manager_is_not_iterable_as_in_django(videos):
    me = User.objects.create(name="Me")
    me.preferred_videos.add(videos["vendetta"])
    with pytest.raises(TypeError):
        iter(me.preferred_videos)  # gm2m's `for v in me.preferred_videos`: use .all()
    assert titles(me.preferred_videos.all()) == ["V for Vendetta"]


def test_add_on_a_custom_through_model_with_through_defaults(videos):
    critic = Critic.objects.create(name="Roger")
    critic.reviewed.add(videos["vendetta"], through_defaults={"stars": 5})  # gm2m: AttributeError
    critic.reviewed.set([videos["vendetta"], videos["bride"]], through_defaults={"stars": 1})
    critic.reviewed.remove(videos["vendetta"])
    assert list(Review.objects.values_list("stars", flat=True)) == [1]


# a field declared on an abstract model (gm2m's in_abstract_model tests) ------------


def test_each_subclass_of_an_abstract_model_has_its_own_relation(videos):
    citizenfour = videos["citizenfour"]
    basic, enhanced = BasicLinks.objects.create(), EnhancedLinks.objects.create()
    basic.related_objects.add(citizenfour)
    enhanced.related_objects.add(citizenfour, videos["bride"])
    assert list(basic.related_objects.all()) == [citizenfour]
    assert titles(enhanced.related_objects.all()) == ["Citizenfour", "The Bartered Bride"]
    assert list(citizenfour.basiclinks_set.all()) == [basic]
    assert list(citizenfour.enhancedlinks_set.all()) == [enhanced]
    assert BasicLinks.related_objects.through is not EnhancedLinks.related_objects.through
