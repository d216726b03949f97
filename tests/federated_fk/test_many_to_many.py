"""FederatedManyToManyField with local targets: django-gm2m's documented examples."""

import pytest
from asgiref.sync import async_to_sync
from django.core import checks

from federated_fk.models import GenericContentType
from tests.gm2mapp.models import (
    Concert,
    Critic,
    Documentary,
    Fan,
    Movie,
    Opera,
    Programme,
    Review,
    Slot,
    Theater,
    User,
    Video,
)

pytestmark = pytest.mark.django_db

#: A configured endpoint that no test reaches: writes and filters send nothing.
UNUSED_URL = "http://127.0.0.1:9/graphql/"


@pytest.fixture
def videos():
    return {
        "vendetta": Movie.objects.create(title="V for Vendetta"),
        "citizenfour": Documentary.objects.create(title="Citizenfour"),
        "bride": Opera.objects.create(title="The Bartered Bride"),
    }


def titles(objs):
    return [v.title for v in objs]


def test_quick_start(videos):
    me = User.objects.create(name="Me")
    me.preferred_videos.add(videos["vendetta"])
    assert titles(me.preferred_videos.all()) == ["V for Vendetta"]
    with pytest.raises(TypeError, match=r"Use preferred_videos\.set\(\) instead"):
        me.preferred_videos = [videos["vendetta"], videos["citizenfour"]]  # as Django
    me.preferred_videos.set([videos["vendetta"], videos["citizenfour"]])
    assert titles(me.preferred_videos.all()) == ["V for Vendetta", "Citizenfour"]
    assert titles(me.preferred_videos.filter(Model=Movie)) == ["V for Vendetta"]
    assert titles(me.preferred_videos.filter(Model__in=[Documentary])) == ["Citizenfour"]
    assert me.preferred_videos.count() == 2
    assert me.preferred_videos.exists()
    assert isinstance(me.preferred_videos.all()[0], Movie)


def test_add_remove_clear_set(videos):
    me = User.objects.create(name="Me")
    vendetta, citizenfour, bride = videos.values()
    me.preferred_videos.add(vendetta, citizenfour)
    me.preferred_videos.add(vendetta)  # already there: kept once
    assert me.preferred_videos.count() == 2
    me.preferred_videos.remove(vendetta)
    assert titles(me.preferred_videos.all()) == ["Citizenfour"]
    me.preferred_videos.set([bride, citizenfour])
    assert sorted(titles(me.preferred_videos.all())) == ["Citizenfour", "The Bartered Bride"]
    me.preferred_videos.set([bride], clear=True)
    assert titles(me.preferred_videos.all()) == ["The Bartered Bride"]
    me.preferred_videos.clear()
    assert list(me.preferred_videos.all()) == []
    other = User.objects.create(name="Other")
    other.preferred_videos.add(bride)
    assert me.preferred_videos.count() == 0


def test_async_twins(videos):
    me = User.objects.create(name="Me")
    vendetta, citizenfour, bride = videos.values()
    async_to_sync(me.preferred_videos.aadd)(vendetta, citizenfour)
    assert me.preferred_videos.count() == 2
    async_to_sync(me.preferred_videos.aremove)(vendetta)
    async_to_sync(me.preferred_videos.aset)([bride])
    assert titles(me.preferred_videos.all()) == ["The Bartered Bride"]
    async_to_sync(me.preferred_videos.aclear)()
    assert me.preferred_videos.count() == 0


def test_misuse_is_reported(videos):
    me = User.objects.create(name="Me")
    with pytest.raises(TypeError, match="model instances or remote objects"):
        me.preferred_videos.add("V for Vendetta")
    with pytest.raises(ValueError, match="no primary key"):
        me.preferred_videos.add(Movie(title="unsaved"))
    with pytest.raises(ValueError, match="needs to have a value"):
        User(name="unsaved").preferred_videos.all()


def test_reverse_relation_appears_when_an_instance_is_added(videos):
    jack = User.objects.create(name="Jack")
    concert = Concert.objects.create(title="Proms")
    assert not hasattr(concert, "user_set")
    jack.preferred_videos.add(concert)
    assert [u.name for u in concert.user_set.all()] == ["Jack"]
    assert [c.title for c in Concert.objects.filter(user__name="Jack")] == ["Proms"]
    assert Concert in User.preferred_videos.get_related_models(include_auto=True)
    assert Concert not in User.preferred_videos.get_related_models()


def test_declared_and_explicit_reverse_relations(videos):
    bride = videos["bride"]
    assert list(bride.fans.all()) == []  # declared by name: there before any add
    assert set(Fan.videos.get_related_models()) == {Movie, Opera}
    User.preferred_videos.add_relation("gm2mapp.Opera")
    assert list(bride.user_set.all()) == []
    jack = User.objects.create(name="Jack")
    jack.preferred_videos.add(bride)
    assert [o.title for o in Opera.objects.filter(user__name="Jack")] == ["The Bartered Bride"]
    assert [u.name for u in bride.user_set.all()] == ["Jack"]


def test_reverse_add_remove_clear_set(videos):
    bride = videos["bride"]
    jack, jill = User.objects.create(name="Jack"), User.objects.create(name="Jill")
    User.preferred_videos.add_relation(Opera)
    bride.user_set.add(jack, jill)
    assert titles(jill.preferred_videos.all()) == ["The Bartered Bride"]
    bride.user_set.remove(jack)
    assert [u.name for u in bride.user_set.all()] == ["Jill"]
    bride.user_set.set([jack])
    assert [u.name for u in bride.user_set.all()] == ["Jack"]
    bride.user_set.clear()
    assert bride.user_set.count() == 0
    async_to_sync(bride.user_set.aadd)(jill)
    assert [u.name for u in bride.user_set.all()] == ["Jill"]


def test_filtering_across_the_relation_both_ways(videos, settings):
    vendetta, citizenfour, bride = videos.values()
    jack, jill, _joe = (User.objects.create(name=n) for n in ("Jack", "Jill", "Joe"))
    jack.preferred_videos.add(vendetta, citizenfour)
    jill.preferred_videos.add(bride)
    users = User.objects.order_by("name")
    assert [u.name for u in users.filter(preferred_videos=vendetta)] == ["Jack"]
    in_either = users.filter(preferred_videos__in=[citizenfour, bride]).distinct()
    assert [u.name for u in in_either] == ["Jack", "Jill"]
    assert [u.name for u in users.exclude(preferred_videos=bride)] == ["Jack", "Joe"]
    assert [u.name for u in users.filter(preferred_videos__isnull=True)] == ["Joe"]
    movie_ct = GenericContentType.objects.get_for_model(Movie)
    assert [u.name for u in users.filter(preferred_videos__content_type=movie_ct)] == ["Jack"]
    assert list(Movie.objects.filter(user=jack)) == [vendetta]
    assert list(Opera.objects.filter(user__in=[jack, jill])) == [bride]
    assert list(Movie.objects.exclude(user=jack)) == []
    # Ids of other kinds in the same column (a UUID, a remote string id) are
    # compared as text: the join never casts them to the target's key type.
    settings.FEDERATION = {**settings.FEDERATION, "PROJECTS": {"shop_b": {"URL": UNUSED_URL}}}
    remote = GenericContentType.objects.create(
        project="shop_b", app_label="x", model="thing", pk_type="str", type_name="Thing"
    )
    remote.in_schema = True  # as sync_remote_contenttypes leaves it
    remote.save()
    jack.preferred_videos.add(remote.model_class()("5f0c-not-an-int"))
    assert list(Movie.objects.filter(user__name="Jack")) == [vendetta]
    assert _casts(Movie.objects.filter(user__name="Jack"))
    assert list(Movie.objects.exclude(user__name="Jack")) == []
    assert _casts(Movie.objects.exclude(user__name="Jack"))


def test_prefetch_local_targets(videos, django_assert_num_queries):
    users = [User.objects.create(name=f"U{i}") for i in range(3)]
    for user in users:
        user.preferred_videos.add(*videos.values())
    GenericContentType.objects.clear_cache()
    # users, through rows, 3 content types (cold cache), one query per model
    with django_assert_num_queries(1 + 1 + 3 + 3):
        fetched = list(User.objects.order_by("pk").prefetch_related("preferred_videos"))
    with django_assert_num_queries(0):
        for user in fetched:
            assert sorted(titles(user.preferred_videos.all())) == [
                "Citizenfour",
                "The Bartered Bride",
                "V for Vendetta",
            ]
            assert user.preferred_videos.count() == 3


def test_reverse_prefetch(videos, django_assert_num_queries):
    jack, jill = User.objects.create(name="Jack"), User.objects.create(name="Jill")
    jack.preferred_videos.add(*videos.values())
    jill.preferred_videos.add(videos["bride"])
    with django_assert_num_queries(2):
        operas = list(Opera.objects.prefetch_related("user_set"))
        assert sorted(u.name for u in operas[0].user_set.all()) == ["Jack", "Jill"]


def test_through_model_with_extra_columns_and_ordering(videos):
    critic = Critic.objects.create(name="Roger")
    vendetta, citizenfour, bride = videos.values()
    critic.reviewed.add(citizenfour, through_defaults={"stars": 2})
    critic.reviewed.add(vendetta, through_defaults={"stars": 5})
    critic.reviewed.add(bride)
    assert titles(critic.reviewed.all()) == ["V for Vendetta", "The Bartered Bride", "Citizenfour"]
    assert titles(critic.reviewed.filter(stars__gte=3)) == ["V for Vendetta", "The Bartered Bride"]
    assert Review.objects.get(target_id=str(citizenfour.pk)).stars == 2
    assert titles(Movie.objects.filter(critic__name="Roger")) == ["V for Vendetta"]
    assert list(vendetta.critic_set.all()) == [critic]


def test_through_fields_pick_the_relation(videos):
    programme = Programme.objects.create(name="Evening")
    programme.items.add(videos["bride"], videos["vendetta"])
    assert sorted(titles(programme.items.all())) == ["The Bartered Bride", "V for Vendetta"]
    assert Slot.objects.filter(programme=programme, previous=None).count() == 2


def test_the_field_passes_its_checks():
    for model in (User, Fan, Critic, Programme):
        for field in model._meta.local_many_to_many:
            assert field.check() == []


def test_auto_created_through_model():
    through = User.preferred_videos.field.through
    assert through._meta.auto_created is User
    assert through._meta.db_table == "gm2mapp_user_preferred_videos"
    assert {f.name for f in through._meta.fields} == {"id", "user", "content_type", "object_id"}
    assert through._meta.get_field("object_id").max_length == 64
    assert checks.run_checks() == []
    assert Video not in User.preferred_videos.get_related_models()
    assert Theater


def test_prefetch_with_querysets_per_local_model(videos, django_assert_num_queries):
    from django.db.models import Prefetch

    from federated_fk.prefetch import FederatedPrefetch

    me = User.objects.create(name="Me")
    me.preferred_videos.add(*videos.values())
    for ct_model in (Movie, Documentary, Opera):
        GenericContentType.objects.get_for_model(ct_model)  # a warm cache
    lookup = FederatedPrefetch(
        "preferred_videos", [Movie.objects.only("title"), Opera.objects.filter(title="x")]
    )
    with django_assert_num_queries(5):
        (fetched,) = User.objects.prefetch_related(lookup)
    assert titles(fetched.preferred_videos.all()) == ["V for Vendetta", "Citizenfour"]
    (fetched,) = User.objects.prefetch_related(
        Prefetch("preferred_videos", Movie.objects.all(), to_attr="videos")
    )
    assert titles(fetched.videos) == ["V for Vendetta", "Citizenfour", "The Bartered Bride"]
    (fetched,) = User.objects.prefetch_related(Prefetch("preferred_videos", Movie.objects.all()))
    with django_assert_num_queries(0):
        assert len(fetched.preferred_videos.all()) == 3


def test_proxies_with_for_concrete_model_false():
    from tests.gm2mapp.models import Curator, Trailer

    trailer = Trailer.objects.create(title="Heat (trailer)")
    curator, me = Curator.objects.create(name="C"), User.objects.create(name="Me")
    curator.picks.add(trailer)
    me.preferred_videos.add(trailer)
    (pick,) = curator.picks.all()
    assert type(pick) is Trailer
    assert type(me.preferred_videos.get()) is Movie  # recorded under the concrete model
    assert list(trailer.curator_set.all()) == [curator]
    assert Trailer in Curator.picks.get_related_models(include_auto=True)
    object_id = Curator.picks.field.through._meta.get_field("object_id")
    assert object_id.get_internal_type() == "TextField"  # pk_maxlength=None


def test_related_name_is_also_the_query_name(videos):
    fan = Fan.objects.create(name="Ann")
    fan.videos.add(videos["vendetta"])
    assert [m.title for m in Movie.objects.filter(fans__name="Ann")] == ["V for Vendetta"]
    assert list(videos["vendetta"].fans.all()) == [fan]
    assert not hasattr(videos["vendetta"], "fan_set")


def _casts(queryset) -> bool:
    # CAST(... AS text) on SQLite; PostgreSQL writes the same cast as (...)::text.
    sql = str(queryset.query).upper()
    return "CAST(" in sql or "::TEXT" in sql or "::VARCHAR" in sql
