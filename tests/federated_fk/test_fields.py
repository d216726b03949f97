import uuid

import pytest
from django.db import connection
from django.db.models import Count, prefetch_related_objects
from django.test.utils import CaptureQueriesContext

from federated_fk.models import GenericContentType
from federated_fk.prefetch import FederatedPrefetch
from federated_fk.remote import RemoteObject
from tests.sharedapp.models import Author
from tests.testapp.models import Book, CheapBook, Gadget, IntReference, Reference, Shelf

pytestmark = pytest.mark.django_db


@pytest.fixture
def books():
    return [Book.objects.create(title=f"Book {i}", price=i) for i in range(3)]


def test_set_and_get_a_local_target(books):
    ref = Reference.objects.create(content_object=books[0])
    assert ref.content_type == GenericContentType.objects.get_for_model(Book)
    assert str(ref.object_id) == str(books[0].pk)
    fresh = Reference.objects.get(pk=ref.pk)
    assert fresh.content_object == books[0]


def test_set_a_remote_target_and_get_a_lazy_stand_in(remote_book_ct):
    stand_in = remote_book_ct.model_class()
    ref = Reference.objects.create(content_object=stand_in(42))
    fresh = Reference.objects.get(pk=ref.pk)
    with CaptureQueriesContext(connection) as queries:
        target = fresh.content_object
    assert len(queries) == 0  # the content type is cached; a stand-in costs nothing
    assert isinstance(target, stand_in)
    assert isinstance(target, RemoteObject)
    assert target == stand_in(42)
    assert not target.is_loaded


def test_none_target():
    ref = Reference.objects.create(content_object=None)
    assert ref.content_type is None and ref.object_id is None
    assert Reference.objects.get(pk=ref.pk).content_object is None


def test_target_is_cached_and_refresh_from_db_clears_it(books):
    ref = Reference.objects.create(content_object=books[0])
    ref = Reference.objects.get(pk=ref.pk)
    first = ref.content_object
    with CaptureQueriesContext(connection) as queries:
        assert ref.content_object is first
    assert len(queries) == 0
    Reference.objects.filter(pk=ref.pk).update(object_id=str(books[1].pk))
    ref.refresh_from_db()
    assert ref.content_object == books[1]


def test_deleted_local_target_reads_as_none(books):
    ct = GenericContentType.objects.get_for_model(Book)
    ref = Reference.objects.create(content_type=ct, object_id="9999")
    assert Reference.objects.get(pk=ref.pk).content_object is None


def test_proxy_targets_use_the_concrete_model_by_default(books):
    proxy = CheapBook.objects.get(pk=books[0].pk)
    ref = Reference.objects.create(content_object=proxy)
    assert ref.content_type.model == "book"


@pytest.mark.parametrize(
    "make", [lambda: Gadget.objects.create(name="g"), lambda: Shelf.objects.create(code="A-1")]
)
def test_uuid_and_char_primary_keys(make):
    target = make()
    ref = Reference.objects.create(content_object=target)
    assert Reference.objects.get(pk=ref.pk).content_object == target
    refs = list(Reference.objects.prefetch_related("content_object"))
    assert refs[0].content_object == target


def test_integer_object_ids(books):
    ref = IntReference.objects.create(content_object=books[1])
    assert IntReference.objects.get(pk=ref.pk).content_object == books[1]


def test_shared_targets_are_local(books):
    author = Author.objects.create(name="Ursula")
    ref = Reference.objects.create(content_object=author)
    assert ref.content_type.project == "shared"
    assert Reference.objects.get(pk=ref.pk).content_object == author


def test_prefetch_costs_one_query_per_local_content_type(books):
    author = Author.objects.create(name="Ursula")
    gadget = Gadget.objects.create(name="g")
    targets = [*books, author, gadget, None]
    for target in targets:
        Reference.objects.create(content_object=target)
    GenericContentType.objects.get_for_models(Book, Author, Gadget)  # warm the cache
    with CaptureQueriesContext(connection) as queries:
        refs = list(Reference.objects.prefetch_related("content_object"))
    # References, then one query each for books, authors and gadgets.
    assert len(queries) == 4
    with CaptureQueriesContext(connection) as queries:
        assert [ref.content_object for ref in refs] == targets
    assert len(queries) == 0


def test_prefetch_with_uuid_ids_and_missing_targets(books):
    gadget = Gadget.objects.create(name="g")
    Reference.objects.create(content_object=gadget)
    gone = Reference.objects.create(
        content_type=GenericContentType.objects.get_for_model(Gadget), object_id=str(uuid.uuid4())
    )
    refs = list(Reference.objects.prefetch_related("content_object"))
    assert refs[0].content_object == gadget
    assert refs[1].pk == gone.pk and refs[1].content_object is None


def test_federated_prefetch_applies_querysets_to_local_types(books):
    Reference.objects.create(content_object=books[0])
    refs = Reference.objects.prefetch_related(
        FederatedPrefetch("content_object", [Book.objects.only("title")])
    )
    assert next(iter(refs)).content_object.get_deferred_fields() == {"price", "author_id"}
    instances = list(Reference.objects.all())
    prefetch_related_objects(instances, "content_object")
    assert instances[0].content_object == books[0]


def test_prefetching_a_remote_target_without_endpoint_says_so(remote_book_ct):
    from federated_fk.exceptions import RemoteProjectNotConfigured

    Reference.objects.create(content_object=remote_book_ct.model_class()(9))
    with pytest.raises(RemoteProjectNotConfigured, match="for project 'shop_b'"):
        list(Reference.objects.prefetch_related("content_object"))


def test_reverse_manager(books):
    book = books[0]
    created = book.references.create(note="created")
    obtained, was_created = book.references.get_or_create(note="got")
    assert was_created
    updated, _ = book.references.update_or_create(note="got", defaults={"note": "updated"})
    assert updated.pk == obtained.pk
    loose = Reference.objects.create(note="loose")
    book.references.add(loose)
    assert set(book.references.values_list("note", flat=True)) == {"created", "updated", "loose"}
    # As with GenericRelation, remove() deletes the rows: they cannot exist
    # without a target.
    book.references.remove(loose)
    assert book.references.count() == 2
    assert not Reference.objects.filter(pk=loose.pk).exists()
    other = Reference.objects.create(note="other")
    book.references.set([other])
    assert list(book.references.all()) == [other]
    book.references.clear()
    assert book.references.count() == 0
    assert created.pk not in Reference.objects.values_list("pk", flat=True)


def test_filter_across_the_relation_to_a_char_primary_key():
    shelf = Shelf.objects.create(code="A-1")
    Reference.objects.create(content_object=shelf, note="n")
    assert list(Shelf.objects.filter(references__note="n")) == [shelf]


def test_filter_join_and_aggregate_across_the_relation(books):
    books[0].references.create(note="a")
    books[0].references.create(note="b")
    books[1].references.create(note="c")
    assert list(Book.objects.filter(references__note="c")) == [books[1]]
    assert list(
        Reference.objects.filter(book__title="Book 0")
        .order_by("note")
        .values_list("note", flat=True)
    ) == [
        "a",
        "b",
    ]
    counts = dict(Book.objects.annotate(n=Count("references")).values_list("title", "n"))
    assert counts == {"Book 0": 2, "Book 1": 1, "Book 2": 0}


def test_relation_only_matches_its_own_content_type(books, remote_book_ct):
    # A remote book with the same id as a local book is another object.
    Reference.objects.create(content_object=remote_book_ct.model_class()(books[0].pk))
    assert books[0].references.count() == 0


def test_deleting_a_local_target_cascades_to_its_references(books):
    books[0].references.create(note="a")
    keep = books[1].references.create(note="b")
    books[0].delete()
    assert list(Reference.objects.all()) == [keep]


def test_prefetch_the_reverse_relation(books):
    books[0].references.create(note="a")
    books[1].references.create(note="b")
    with CaptureQueriesContext(connection) as queries:
        notes = {
            b.title: [r.note for r in b.references.all()]
            for b in Book.objects.prefetch_related("references")
        }
    assert len(queries) == 2
    assert notes == {"Book 0": ["a"], "Book 1": ["b"], "Book 2": []}
