"""Relations of stand-ins, without a network: answers are given as already fetched."""

import pytest
from django.db.models import prefetch_related_objects

from federated_fk.models import GenericContentType
from federated_fk.remote.entities import Ref
from tests.sharedapp.models import Author
from tests.testapp.models import Book as LocalBook

pytestmark = pytest.mark.django_db

SHARED_AUTHOR = {
    "project": "shared",
    "app_label": "sharedapp",
    "model": "author",
    "pk_type": "int",
    "many": False,
}
REMOTE_SERIES = {"project": "shop_b", "app_label": "shop", "model": "series", "pk_type": "int"}


@pytest.fixture
def Book():
    ct = GenericContentType.objects.create(
        project="shop_b",
        app_label="shop",
        model="book",
        type_name="Book",
        in_schema=True,
        fields=["title", "author", "series", "coAuthors"],
        field_types={
            "title": "String!",
            "author": "Author",
            "series": "Series",
            "coAuthors": "[Author!]!",
        },
        relations={
            "author": SHARED_AUTHOR,
            "series": {**REMOTE_SERIES, "many": False},
            "coAuthors": {**SHARED_AUTHOR, "many": True},
        },
    )
    return ct.model_class()


@pytest.fixture
def authors():
    return [Author.objects.create(name=n) for n in ("Le Guin", "Herbert", "Butler")]


def book(Book, pk, author=None, series=None, co=()):
    data = {
        "title": f"Book {pk}",
        "author": None if author is None else Ref(author.pk),
        "series": None if series is None else Ref(series),
        "co_authors": [Ref(a.pk) for a in co],
    }
    return Book(pk, data=data)


def test_a_shared_relation_is_the_local_row(Book, authors, django_assert_num_queries):
    b = book(Book, 1, author=authors[1])
    with django_assert_num_queries(1):
        assert b.author == authors[1] and isinstance(b.author, Author)
    assert b.author_id == authors[1].pk
    assert book(Book, 2).author is None and book(Book, 2).author_id is None


def test_a_remote_relation_is_a_lazy_stand_in(Book, django_assert_num_queries):
    b = book(Book, 1, series=4)
    series = b.series
    assert series.pk == 4 and not series.is_loaded
    assert series._meta.project == "shop_b" and series._meta.model_name == "series"
    assert isinstance(
        series,
        GenericContentType.objects.get_by_natural_key("shop_b", "shop", "series").model_class(),
    )


def test_a_to_many_relation_is_a_list(Book, authors):
    b = book(Book, 1, co=[authors[2], authors[0]])
    assert b.co_authors == [authors[2], authors[0]]


def test_prefetching_a_relation_costs_one_query_per_level(Book, authors, django_assert_num_queries):
    books = [book(Book, i, author=authors[i % 3], co=authors[: i % 3]) for i in range(1, 31)]
    with django_assert_num_queries(2):  # authors, then co-authors
        prefetch_related_objects(books, "author", "co_authors")
    with django_assert_num_queries(0):
        assert [b.author.name for b in books[:3]] == ["Herbert", "Butler", "Le Guin"]
        assert books[1].co_authors == authors[:2]


def test_local_rows_and_stand_ins_prefetch_together(Book, authors, django_assert_num_queries):
    # A local book's author and a remote book's shared author are the same table.
    local = LocalBook.objects.create(title="Dune")
    local.author = authors[1]
    local.save()
    local = LocalBook.objects.get(pk=local.pk)
    for mixed in (
        [book(Book, 1, author=authors[0]), local, book(Book, 2, author=authors[2])],
        [local, book(Book, 1, author=authors[0])],  # Django's own prefetcher goes first
    ):
        local._state.fields_cache.clear()
        with django_assert_num_queries(1):
            prefetch_related_objects(mixed, "author")
        with django_assert_num_queries(0):
            assert {b.author.name for b in mixed} >= {"Le Guin", "Herbert"}


def test_relations_are_listed_with_their_targets(Book):
    field = Book._meta.get_field("author")
    assert field.is_relation and field.many_to_one and field.related_model is Author
    assert Book._meta.get_field("co_authors").many_to_many
    assert Book._meta.get_field("series").related_model._meta.model_name == "series"


def test_relations_cannot_be_set(Book, authors):
    with pytest.raises(TypeError, match="read-only"):
        book(Book, 1).author = authors[0]
