"""Remote querysets, compiled: Q trees to filter inputs, and refusals, with no request made."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import FieldError, MultipleObjectsReturned
from django.db.models import Q

from federated_fk.exceptions import (
    FederationError,
    RemoteMultipleObjectsReturned,
    RemoteNotQueryable,
    RemoteObjectDoesNotExist,
    RemoteSchemaError,
)
from federated_fk.models import GenericContentType
from federated_fk.remote.queryset import RemoteQuerySet
from federated_fk.testing import assertNumRemoteRequests

pytestmark = pytest.mark.django_db

QUERYABLE = {
    "field": "queryShopBBook",
    "filter_type": "ShopBBookFilter",
    "order_type": "ShopBBookOrder",
    "filters": {
        "title": ["exact", "icontains", "in", "isnull"],
        "price": ["lt", "gt", "exact", "range"],
        "author__name": ["exact"],
        "published_on": ["gte"],
        "code": ["exact"],
    },
    "types": {
        "title": "String",
        "price": "Decimal",
        "author__name": "String",
        "published_on": "Date",
        "code": "UUID",
    },
    "ordering": ["price", "title"],
    "search": True,
    "max_limit": 100,
}


@pytest.fixture(autouse=True)
def _unreachable(settings):
    # A request would fail (nothing listens on port 1): these tests make none.
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "PROJECTS": {"shop_b": {"URL": "http://127.0.0.1:1/graphql/", "RETRIES": 0}},
    }


def _ct(model, queryable):
    return GenericContentType.objects.create(
        project="shop_b",
        app_label="shop",
        model=model,
        type_name=f"ShopB{model.capitalize()}",
        in_schema=True,
        fields=["title", "price"],
        field_types={"title": "String!", "price": "Decimal!"},
        queryable=queryable,
    )


@pytest.fixture
def Book():
    return _ct("book", QUERYABLE).model_class()


@pytest.fixture
def Plain():
    """A remote type whose owning service declares nothing to query."""
    return _ct("plain", {}).model_class()


@pytest.fixture
def no_requests():
    with assertNumRemoteRequests(0):
        yield


def variables(qs, select=("total", "items")):
    return qs.as_graphql(select)[1]


def where(qs):
    return variables(qs).get("filter")


def test_objects_is_the_manager_and_returns_querysets(Book, no_requests):
    assert Book.objects is Book._default_manager
    qs = Book.objects.filter(title="Dune")
    assert isinstance(qs, RemoteQuerySet)
    assert qs.model is Book
    assert qs.content_type == GenericContentType.objects.get_by_natural_key(
        "shop_b", "shop", "book"
    )
    assert isinstance(Book.objects.all(), RemoteQuerySet)
    with pytest.raises(AttributeError, match="has no field 'objects'"):
        Book(1).objects  # noqa: B018  (a remote field of that name, not the manager)


def test_get_by_pk_alone_stays_lazy(Book, no_requests):
    for book in (Book.objects.get(pk=7), Book.objects.get(7), Book.objects.get(id="7")):
        assert book == Book(7) and not book.is_loaded


def test_lookups_compile_to_one_path_each(Book, no_requests):
    assert where(Book.objects.filter(title="Dune")) == {"title": {"exact": "Dune"}}
    assert where(Book.objects.filter(title__icontains="dun")) == {"title": {"icontains": "dun"}}
    assert where(Book.objects.filter(author__name="Frank")) == {"author__name": {"exact": "Frank"}}
    assert where(Book.objects.filter(author__name__exact="F")) == {"author__name": {"exact": "F"}}
    # Values are sent as their scalar sends them: Decimal and dates as strings.
    assert where(Book.objects.filter(price__lt=Decimal("9.5"))) == {"price": {"lt": "9.5"}}
    assert where(Book.objects.filter(price__range=(1, "2.50"))) == {
        "price": {"range": ["1", "2.50"]}
    }
    assert where(Book.objects.filter(published_on__gte=datetime.date(2024, 2, 29))) == {
        "published_on": {"gte": "2024-02-29"}
    }
    code = uuid.UUID("7d444840-9dc0-11d1-b245-5ffdce74fad2")
    assert where(Book.objects.filter(code=code)) == {"code": {"exact": str(code)}}
    assert where(Book.objects.filter(title__in=("a", None, "b"))) == {"title": {"in": ["a", "b"]}}
    # Django's title=None is an isnull lookup, never {exact: null} (which matches everything).
    assert where(Book.objects.filter(title=None)) == {"title": {"isnull": True}}


def test_q_trees_compile_to_and_or_not(Book, no_requests):
    a, b = {"title": {"exact": "a"}}, {"price": {"gt": "1"}}
    assert where(Book.objects.filter(title="a", price__gt=1)) == {"AND": [b, a]}  # Q sorts
    assert where(Book.objects.filter(title="a").filter(price__gt=1)) == {"AND": [a, b]}
    assert where(Book.objects.filter(Q(title="a") | Q(price__gt=1))) == {"OR": [a, b]}
    assert where(Book.objects.filter(~Q(title="a"))) == {"NOT": a}
    assert where(Book.objects.exclude(title="a")) == {"NOT": a}
    assert where(Book.objects.exclude(title="a", price__gt=1)) == {"NOT": {"AND": [b, a]}}
    assert where(Book.objects.filter(Q(title="a") & ~(Q(price__gt=1) | Q(title="a")))) == {
        "AND": [a, {"NOT": {"OR": [b, a]}}]
    }
    assert where(Book.objects.filter(Q(title="a") ^ Q(price__gt=1))) == {
        "OR": [{"AND": [a, {"NOT": b}]}, {"AND": [{"NOT": a}, b]}]
    }
    assert where(Book.objects.filter(Q())) is None
    assert where(Book.objects.filter(~~Q(title="a"))) == a


def test_order_search_and_slices(Book, no_requests):
    text, sent = Book.objects.order_by("-price", "title", "pk").search("dune herbert").as_graphql()
    assert sent == {
        "offset": 0,
        "limit": 100,
        "orderBy": [
            {"field": "price", "descending": True},
            {"field": "title", "descending": False},
        ],
        "search": "dune herbert",
    }
    assert text == (
        "query FederatedQuery($offset: Int!, $limit: Int!, $orderBy: [ShopBBookOrder!], "
        "$search: String) { queryShopBBook(offset: $offset, limit: $limit, orderBy: $orderBy, "
        "search: $search) { total items { __typename ... on ShopBBook { id price title } } } }"
    )
    assert variables(Book.objects.order_by("price").order_by()) == {"offset": 0, "limit": 100}
    qs = Book.objects.all()[10:30]
    assert (variables(qs)["offset"], variables(qs)["limit"]) == (10, 20)
    qs = qs[5:]  # slices of slices narrow, as Django's set_limits
    assert (variables(qs)["offset"], variables(qs)["limit"]) == (15, 15)
    qs = Book.objects.all()[250:]
    assert (variables(qs)["offset"], variables(qs)["limit"]) == (250, 100)  # a page at most


def test_query_text_holds_no_value(Book, no_requests):
    text, sent = Book.objects.filter(title="'}) { __schema").as_graphql()
    assert "__schema" not in text and sent["filter"] == {"title": {"exact": "'}) { __schema"}}


def test_undeclared_fields_and_lookups_are_refused(Book, no_requests):
    choices = "author__name, code, pk, price, published_on, title"
    with pytest.raises(
        FieldError, match=rf"^Cannot resolve keyword 'isbn' into field\. Choices are: {choices}\."
    ):
        Book.objects.filter(isbn__icontains="x")
    with pytest.raises(FieldError, match="Cannot resolve keyword 'author__born'"):
        Book.objects.filter(author__born=1)
    with pytest.raises(
        FieldError,
        match=re.escape(
            "Unsupported lookup 'gt' for remote shop.ShopBBook field 'title': "
            "project 'shop_b' allows exact, icontains, in, isnull."
        ),
    ):
        Book.objects.filter(title__gt="a")
    with pytest.raises(FieldError, match=r"Unsupported lookup 'icontains'.*'author__name'"):
        Book.objects.exclude(Q(title="a") | Q(author__name__icontains="x"))
    with pytest.raises(FieldError, match="needs the 'isnull' lookup on 'price'"):
        Book.objects.filter(price=None)
    with pytest.raises(
        FieldError, match=r"Cannot resolve keyword 'author' into field\. Choices are: price, title"
    ):
        Book.objects.order_by("author")
    with pytest.raises(FieldError, match="Cannot resolve keyword 'pk'"):
        Book.objects.order_by("-pk")
    with pytest.raises(ValueError, match="takes Decimal values; 'cheap' is not one"):
        Book.objects.filter(price__lt="cheap")
    with pytest.raises(ValueError, match="True or False"):
        Book.objects.filter(title__isnull="yes")
    with pytest.raises(TypeError, match="takes a list"):
        Book.objects.filter(title__in="abc")
    with pytest.raises(ValueError, match="Cannot use None as a query value"):
        Book.objects.filter(price__lt=None)


def test_primary_keys_alone_are_read_through_entities(Book, no_requests):
    qs = Book.objects.filter(pk__in=[1, 2]).filter(pk__in=["2", 3])
    with pytest.raises(TypeError, match="read through _entities, with no query"):
        qs.as_graphql()
    # Mixed with anything the remote runs, they need 'id' declared: refused at once.
    message = "primary-key lookup \\(in\\) mixed .* project 'shop_b' allows nothing on 'id'"
    with pytest.raises(FieldError, match=message):
        Book.objects.filter(pk__in=[1, 2], title="a")
    with pytest.raises(FieldError, match="primary-key lookup \\(exact\\)"):
        Book.objects.exclude(pk=1)
    with pytest.raises(FieldError, match="primary-key lookup"):
        Book.objects.filter(pk=1).order_by("price")
    with pytest.raises(FieldError, match="primary-key lookup"):
        Book.objects.filter(pk=1).search("a")
    with pytest.raises(FieldError, match="Unsupported lookup 'gt' for the primary key"):
        Book.objects.filter(pk__gt=1)


def test_a_declared_id_carries_primary_keys_into_the_query(no_requests):
    Book = _ct(
        "idbook", {**QUERYABLE, "filters": {"title": ["exact"], "id": ["exact", "in"]}}
    ).model_class()
    assert where(Book.objects.filter(pk__in=[1, 2], title="a")) == {
        "AND": [{"id": {"in": ["1", "2"]}}, {"title": {"exact": "a"}}]
    }
    assert where(Book.objects.exclude(id=3)) == {"NOT": {"id": {"exact": "3"}}}


def test_a_type_that_is_not_queryable(Plain, no_requests):
    for refused in (
        lambda: Plain.objects.filter(title="Dune"),
        lambda: Plain.objects.get(title="Dune"),
        lambda: Plain.objects.order_by("title"),
        lambda: Plain.objects.search("dune"),
        lambda: Plain.objects.count(),
        lambda: list(Plain.objects.all()),
    ):
        with pytest.raises(RemoteNotQueryable) as raised:
            refused()
        assert isinstance(raised.value, FieldError | TypeError)
        assert isinstance(raised.value, FederationError)
        assert "project 'shop_b' declares no filter_fields" in str(raised.value)
    assert isinstance(Plain.objects.filter(pk__in=[1, 2]), RemoteQuerySet)  # _entities
    assert list(Plain.objects.filter(pk__in=[])) == []
    assert list(Plain.objects.none()) == [] and Plain.objects.none().count() == 0


def test_search_needs_search_fields(no_requests):
    Book = _ct("unsearched", {**QUERYABLE, "search": False}).model_class()
    with pytest.raises(FieldError, match="declares no search_fields"):
        Book.objects.search("dune")


def test_a_search_the_owning_service_would_refuse_is_refused_here(Book, no_requests):
    ten = Book.objects.search(" ".join("abcde")).search('"f g" h i j k')
    with pytest.raises(ValueError, match="at most 10 words"):
        ten.search("l")
    with pytest.raises(ValueError, match="at most 200 characters"):
        Book.objects.search("x" * 201)
    with pytest.raises(ValueError, match="NUL"):
        Book.objects.search("a\x00b")


def test_misuse_is_refused_as_django_refuses_it(Book, no_requests):
    sliced = Book.objects.all()[:5]
    with pytest.raises(TypeError, match="Cannot filter a query once a slice has been taken"):
        sliced.filter(title="a")
    with pytest.raises(TypeError, match="Cannot reorder a query once a slice has been taken"):
        sliced.order_by("price")
    with pytest.raises(TypeError, match="Cannot use 'limit' or 'offset' with in_bulk"):
        sliced.in_bulk([1])
    with pytest.raises(ValueError, match="Negative indexing is not supported"):
        Book.objects.all()[-1]
    with pytest.raises(TypeError, match="'flat' is not valid"):
        Book.objects.values_list("pk", "title", flat=True)
    with pytest.raises(FieldError, match="Cannot resolve keyword 'isbn'"):
        Book.objects.values_list("isbn")
    # Nothing to ask for: no request.
    assert list(Book.objects.all()[3:3]) == [] and Book.objects.all()[3:3].count() == 0
    assert Book.objects.in_bulk([]) == {}
    assert not Book.objects.none().exists()


def test_each_stand_in_has_its_own_multiple_objects_returned(Book):
    error = Book.MultipleObjectsReturned("shop_b", "shop.ShopBBook", 3)
    assert isinstance(error, MultipleObjectsReturned | RemoteMultipleObjectsReturned)
    assert (
        str(error)
        == "get() returned more than one shop.ShopBBook -- it returned 3! (project 'shop_b')"
    )
    missing = Book.DoesNotExist("shop_b", "shop.ShopBBook", None, query="title='x'")
    assert isinstance(missing, RemoteObjectDoesNotExist)
    assert str(missing) == "shop.ShopBBook matching query does not exist in project 'shop_b'."


def test_a_new_declaration_makes_a_new_stand_in_class(Book):
    ct = GenericContentType.objects.get_by_natural_key("shop_b", "shop", "book")
    ct.queryable = {**QUERYABLE, "ordering": ["title"]}
    ct.save()
    again = ct.model_class()
    assert again is not Book
    with pytest.raises(FieldError):
        again.objects.order_by("price")


def test_a_malformed_description_is_a_schema_error(no_requests):
    Book = _ct("broken", {**QUERYABLE, "field": "query Book { __schema }"}).model_class()
    with pytest.raises(RemoteSchemaError, match="where a GraphQL name belongs"):
        Book.objects.filter(title="a")
