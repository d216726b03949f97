"""Deletion policies of FederatedManyToManyField, on both sides of the relation."""

import pytest

from federated_fk.fields.many_to_many.deletion import deleting
from tests.gm2mapp.models import Concert, Movie, Playlist, Theater, User

pytestmark = pytest.mark.django_db


def rows(model, name):
    return model._meta.get_field(name).through.objects


@pytest.fixture
def received():
    calls = []
    answers = {}

    def receiver(sender, del_objs, rel_objs, **kwargs):
        calls.append((sender.name, sorted(map(str, del_objs)), len(list(rel_objs))))
        return answers.get(sender.name, False)

    deleting.connect(receiver)
    yield calls, answers
    deleting.disconnect(receiver)


@pytest.fixture
def playlist():
    playlist = Playlist.objects.create(name="Summer")
    proms, glasto = Concert.objects.create(title="Proms"), Concert.objects.create(title="Glasto")
    globe = Theater.objects.create(title="Globe")
    for name in ("keep", "signal", "veto", "notify"):
        getattr(playlist, name).add(proms, glasto)
    playlist.mixed.add(globe)
    return playlist


def test_cascade_is_the_default_on_both_sides():
    me = User.objects.create(name="Me")
    vendetta, heat = Movie.objects.create(title="V"), Movie.objects.create(title="Heat")
    me.preferred_videos.add(vendetta, heat)
    vendetta.delete()
    assert [m.title for m in me.preferred_videos.all()] == ["Heat"]
    assert rows(User, "preferred_videos").count() == 1
    me.delete()
    assert rows(User, "preferred_videos").count() == 0
    assert Movie.objects.filter(title="Heat").exists()  # targets are not deleted


def test_do_nothing_keeps_the_links(playlist, received):
    Concert.objects.get(title="Proms").delete()
    assert rows(Playlist, "keep").count() == 2  # one now dangles
    assert [c.title for c in playlist.keep.all()] == ["Glasto"]  # dangling links are skipped
    playlist.delete()
    assert rows(Playlist, "keep").count() == 2
    assert ("keep", ["Summer"], 2) not in received[0]


def test_cascade_signal_sends_then_deletes(playlist, received):
    calls, _answers = received
    Concert.objects.get(title="Proms").delete()
    assert ("signal", ["Proms"], 1) in calls
    assert rows(Playlist, "signal").count() == 1
    playlist.delete()
    assert ("signal", ["Summer"], 1) in calls
    assert rows(Playlist, "signal").count() == 0


def test_cascade_signal_veto_deletes_unless_a_receiver_vetoes(playlist, received):
    calls, answers = received
    answers["veto"] = True
    Concert.objects.get(title="Proms").delete()
    assert ("veto", ["Proms"], 1) in calls
    assert rows(Playlist, "veto").count() == 2  # vetoed: kept
    answers["veto"] = False
    Concert.objects.get(title="Glasto").delete()
    assert rows(Playlist, "veto").count() == 1
    answers["veto"] = True
    Playlist.objects.filter(pk=playlist.pk).delete()
    assert rows(Playlist, "veto").count() == 1  # vetoed on the source side too
    answers["veto"] = False


def test_do_nothing_signal_sends_and_keeps(playlist, received):
    calls, _answers = received
    Concert.objects.get(title="Proms").delete()
    assert ("notify", ["Proms"], 1) in calls
    assert rows(Playlist, "notify").count() == 2
    playlist.delete()
    assert ("notify", ["Summer"], 2) in calls
    assert rows(Playlist, "notify").count() == 2


def test_on_delete_src_and_tgt_override_on_delete(playlist):
    Theater.objects.get(title="Globe").delete()  # target side: CASCADE
    assert rows(Playlist, "mixed").count() == 0
    playlist.mixed.add(Theater.objects.create(title="Old Vic"))
    playlist.delete()  # source side: DO_NOTHING
    assert rows(Playlist, "mixed").count() == 1
