"""Local querysets filtered by their targets: objects, local querysets, remote querysets.

No server here: a remote queryset is injected as what the pushdown reads of
one (``model``, ``content_type``, ``pks()``). tests/federated_fk/
test_pushdown_remote.py runs the same paths against a real shop_b process.
"""

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from federated_fk.exceptions import TooManyRemoteIds
from federated_fk.fields import RemoteForeignKey
from federated_fk.models import GenericContentType
from tests.deferredapp.models import Review
from tests.gm2mapp.models import Movie, User
from tests.testapp.models import Book, Gadget, IntReference, Reference, Shelf

pytestmark = pytest.mark.django_db


class StandInQuerySet:
    """What the pushdown reads of a remote queryset; counts the requests it would make."""

    def __init__(self, model, ids, error=None):
        self.model = model
        self.ids = ids
        self.error = error
        self.requests = 0

    @property
    def content_type(self):
        return GenericContentType.objects.get_for_model(self.model)

    def pks(self):
        self.requests += 1
        if self.error is not None:
            raise self.error
        return list(self.ids)


@pytest.fixture
def remote_book(remote_book_ct):
    return remote_book_ct.model_class()


@pytest.fixture
def refs(remote_book):
    dune, emma = Book.objects.create(title="Dune"), Book.objects.create(title="Emma")
    return {
        "dune": Reference.objects.create(note="dune", content_object=dune),
        "emma": Reference.objects.create(note="emma", content_object=emma),
        "r1": Reference.objects.create(note="r1", content_object=remote_book(11)),
        "r2": Reference.objects.create(note="r2", content_object=remote_book(12)),
        "r3": Reference.objects.create(note="r3", content_object=remote_book(13)),
        # The same id as a local book: another object.
        "r_dune": Reference.objects.create(note="r_dune", content_object=remote_book(dune.pk)),
        "none": Reference.objects.create(note="none"),
    }


def notes(queryset):
    return sorted(r.note for r in queryset)


def test_remote_queryset_ids_travel_when_the_query_runs(refs, remote_book):
    remote = StandInQuerySet(remote_book, [11, 13, 99])
    queryset = Reference.objects.filter(content_object__in=remote)
    assert remote.requests == 0  # lazy, as a subquery is
    with CaptureQueriesContext(connection) as queries:
        assert notes(queryset) == ["r1", "r3"]
    assert remote.requests == 1
    assert len(queries) == 1
    # Stored as text, compared as text: '11', not 11.
    assert "'11'" in queries[0]["sql"]


def test_exclude_a_remote_queryset_keeps_rows_without_a_target(refs, remote_book):
    remote = StandInQuerySet(remote_book, [11, 13])
    assert notes(Reference.objects.exclude(content_object__in=remote)) == [
        "dune",
        "emma",
        "none",
        "r2",
        "r_dune",
    ]


def test_local_queryset_is_a_subquery(refs):
    with CaptureQueriesContext(connection) as queries:
        found = notes(
            Reference.objects.filter(content_object__in=Book.objects.filter(title="Dune"))
        )
    assert found == ["dune"]
    assert len(queries) == 1  # one query: the books are a subquery
    assert "CAST" in queries[0]["sql"].upper() or "::" in queries[0]["sql"]


def test_mixed_list_of_querysets_and_objects(refs, remote_book):
    emma = Book.objects.get(title="Emma")
    remote = StandInQuerySet(remote_book, [12])
    found = Reference.objects.filter(
        content_object__in=[Book.objects.filter(title="Dune"), remote, emma, remote_book(13)]
    )
    assert notes(found) == ["dune", "emma", "r2", "r3"]
    excluded = Reference.objects.exclude(
        content_object__in=[Book.objects.filter(title="Dune"), remote]
    )
    assert notes(excluded) == ["emma", "none", "r1", "r3", "r_dune"]


def test_exact_and_isnull(refs, remote_book):
    dune = Book.objects.get(title="Dune")
    assert notes(Reference.objects.filter(content_object=dune)) == ["dune"]
    assert notes(Reference.objects.filter(content_object=remote_book(12))) == ["r2"]
    assert notes(Reference.objects.filter(content_object__isnull=True)) == ["none"]
    assert Reference.objects.get(content_object=remote_book(13)).note == "r3"


def test_inside_q_objects(refs, remote_book):
    remote = StandInQuerySet(remote_book, [11])
    found = Reference.objects.filter(Q(content_object__in=remote) | Q(note="emma"))
    assert notes(found) == ["emma", "r1"]
    negated = Reference.objects.filter(~Q(content_object__in=remote), note__startswith="r")
    assert notes(negated) == ["r2", "r3", "r_dune"]


def test_no_remote_ids_matches_nothing_and_excludes_nothing(refs, remote_book):
    remote = StandInQuerySet(remote_book, [])
    assert notes(Reference.objects.filter(content_object__in=remote)) == []
    assert Reference.objects.exclude(content_object__in=remote).count() == len(refs)
    assert Reference.objects.filter(content_object__in=[]).count() == 0


def test_too_many_remote_ids_is_an_error_not_a_cut(refs, remote_book):
    error = TooManyRemoteIds("shop_b", "shop.Book", 10_001, 10_000)
    remote = StandInQuerySet(remote_book, [], error=error)
    queryset = Reference.objects.filter(content_object__in=remote)
    with pytest.raises(TooManyRemoteIds) as raised:
        list(queryset)
    assert raised.value.count == 10_001 and raised.value.limit == 10_000


def test_uuid_and_string_keys_compare_as_stored():
    gadget = Gadget.objects.create(name="g")
    shelf = Shelf.objects.create(code="A-1")
    Reference.objects.create(note="gadget", content_object=gadget)
    Reference.objects.create(note="shelf", content_object=shelf)
    Reference.objects.create(note="other", content_object=Gadget.objects.create(name="h"))
    assert notes(Reference.objects.filter(content_object__in=Gadget.objects.filter(name="g"))) == [
        "gadget"
    ]
    assert notes(Reference.objects.filter(content_object__in=Shelf.objects.all())) == ["shelf"]


def test_integer_object_id_column(remote_book):
    dune = Book.objects.create(title="Dune")
    IntReference.objects.create(content_object=dune)
    IntReference.objects.create(content_object=remote_book(7))
    found = IntReference.objects.filter(
        content_object__in=[Book.objects.all(), StandInQuerySet(remote_book, [7, 8])]
    )
    assert found.count() == 2
    # A remote id the integer column cannot hold names no row of it.
    assert (
        IntReference.objects.filter(content_object__in=StandInQuerySet(remote_book, ["x"])).count()
        == 0
    )


def test_a_path_through_the_key_names_the_supported_spelling(refs):
    with pytest.raises(FieldError) as raised:
        Reference.objects.filter(content_object__title__icontains="dune")
    message = str(raised.value)
    assert "content_object__in=Target.objects.filter(title__icontains=...)" in message
    assert "GenericRelation" not in message
    with pytest.raises(FieldError, match="preferred_videos takes exact, in and isnull"):
        User.objects.filter(preferred_videos__title__icontains="dune")
    with pytest.raises(FieldError, match=r"preferred_videos__in=Target\.objects\.filter\(title="):
        User.objects.filter(preferred_videos__title="Dune")


def test_the_default_manager_refuses_before_any_lookup_runs():
    """Why FederatedManager: Django rejects a GenericForeignKey path in names_to_path."""
    with pytest.raises(FieldError, match="does not generate an automatic reverse relation"):
        Reference._base_manager.filter(content_object__in=Book.objects.all())


def test_a_value_that_is_no_target_is_refused(refs):
    with pytest.raises(TypeError, match="model instances, remote objects, local or remote"):
        Reference.objects.filter(content_object__in=[1, 2])


# -- FederatedManyToManyField ---------------------------------------------------------


@pytest.fixture
def fans(remote_book, settings):
    # Adding checks that the project is configured; nothing is sent.
    settings.FEDERATION = {
        **settings.FEDERATION,
        "PROJECTS": {"shop_b": {"URL": "http://127.0.0.1:9/graphql/"}},
    }
    vendetta = Movie.objects.create(title="V for Vendetta")
    alien = Movie.objects.create(title="Alien")
    ann, bob, _cy = (User.objects.create(name=n) for n in ("ann", "bob", "cy"))
    ann.preferred_videos.add(vendetta, remote_book(1))
    bob.preferred_videos.add(alien, remote_book(2))
    return {"vendetta": vendetta, "alien": alien}


def names(queryset):
    return sorted(u.name for u in queryset)


def test_many_to_many_in_remote_local_and_mixed(fans, remote_book):
    remote = StandInQuerySet(remote_book, [2, 5])
    assert names(User.objects.filter(preferred_videos__in=remote)) == ["bob"]
    assert remote.requests == 1
    local = Movie.objects.filter(title__startswith="V")
    assert names(User.objects.filter(preferred_videos__in=local)) == ["ann"]
    mixed = [local, StandInQuerySet(remote_book, [2]), fans["alien"]]
    assert names(User.objects.filter(preferred_videos__in=mixed).distinct()) == ["ann", "bob"]
    assert names(User.objects.exclude(preferred_videos__in=remote)) == ["ann", "cy"]
    assert names(User.objects.filter(preferred_videos__in=StandInQuerySet(remote_book, []))) == []


# -- RemoteForeignKey ---------------------------------------------------------


class FakeManager:
    def __init__(self, model, ids):
        self.model, self.ids, self.filters = model, ids, []

    def filter(self, **kwargs):
        self.filters.append(kwargs)
        return StandInQuerySet(self.model, self.ids)


@pytest.fixture
def review_book(db, monkeypatch):
    """The target of Review.book, with its manager replaced by one that answers ids."""
    ct = GenericContentType.objects.create(
        project="shop_b",
        app_label="remoteshop",
        model="book",
        type_name="Book",
        in_schema=True,
        fields=["title"],
        field_types={"title": "String!"},
    )
    stand_in = ct.model_class()
    manager = FakeManager(stand_in, [2, 3])
    monkeypatch.setattr(RemoteForeignKey, "remote_model", lambda self, using=None: _with(manager))
    for pk in (1, 2, 3, None):
        Review.objects.create(book=pk)
    return manager


def _with(manager):
    class Target:
        objects = manager
        _meta = manager.model._meta

    return Target


def test_remote_key_lookup_is_pushed_down(review_book):
    queryset = Review.objects.filter(book__title__icontains="dune")
    assert review_book.filters == [{"title__icontains": "dune"}]  # made, not run
    with CaptureQueriesContext(connection) as queries:
        assert sorted(r.book_id for r in queryset) == [2, 3]
    assert len(queries) == 1
    assert Review.objects.filter(book__author__name="Frank").exists()
    assert review_book.filters[-1] == {"author__name__exact": "Frank"}


def test_remote_key_exclude_keeps_rows_without_a_key(review_book):
    found = Review.objects.exclude(book__title__icontains="dune")
    assert sorted(r.book_id or 0 for r in found) == [0, 1]


def test_remote_key_in_a_remote_queryset(review_book):
    remote = StandInQuerySet(review_book.model, [1, 3])
    assert sorted(r.book_id for r in Review.objects.filter(book__in=remote)) == [1, 3]
    assert sorted(r.book_id for r in Review.objects.filter(book__in=[1, 2])) == [1, 2]


def test_remote_key_refuses_a_queryset_of_another_model(review_book, remote_book):
    with pytest.raises(ValueError, match=r'Use a QuerySet for "shop_b:remoteshop\.book"'):
        Review.objects.filter(book__in=StandInQuerySet(remote_book, [1]))


def test_remote_key_compares_values_not_expressions(review_book):
    from django.db.models import F

    with pytest.raises(FieldError, match="compares with values"):
        Review.objects.filter(book__title=F("stars"))


def test_remote_fields_are_filtered_on_not_selected(review_book):
    with pytest.raises(FieldError, match="it can be filtered on, not selected"):
        list(Review.objects.values("book__title"))
