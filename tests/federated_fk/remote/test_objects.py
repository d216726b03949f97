import pytest
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.test import override_settings

from federated_fk.exceptions import RemoteObjectDoesNotExist, RemoteTypeNotInSchema
from federated_fk.models import GenericContentType
from federated_fk.remote import RemoteObject, fetch_remote_objects

pytestmark = pytest.mark.django_db


class AuditedRemoteObject(RemoteObject):
    """A custom base class, as a project might configure."""

    audited = True


def test_remote_objects_compare_by_content_type_and_pk(remote_book_ct):
    Book = remote_book_ct.model_class()
    assert Book(1) == Book("1")
    assert hash(Book(1)) == hash(Book("1"))
    assert Book(1) != Book(2)
    other = GenericContentType.objects.create(project="shop_c", app_label="shop", model="book")
    assert other.model_class()(1) != Book(1)
    assert len({Book(1), Book("1"), Book(2)}) == 2


def test_remote_object_surface(remote_book_ct):
    book = remote_book_ct.model_class()(12)
    assert book.pk == book.id == 12
    assert book.object_id == "12"
    assert book.content_type == remote_book_ct
    assert repr(book) == "<Book: shop_b shop.book pk=12>"
    assert not book.is_loaded


def test_loaded_remote_objects_expose_remote_fields_as_attributes(remote_book_ct):
    book = remote_book_ct.model_class()(12, data={"title": "Dune", "price": "9.50"})
    assert book.is_loaded
    assert (book.title, book.price) == ("Dune", "9.50")
    assert str(book) == "Dune"
    with pytest.raises(
        AttributeError, match=r"Remote shop\.Book has no field 'isbn'; its fields are: price, title"
    ):
        book.isbn  # noqa: B018


def test_each_stand_in_has_its_own_does_not_exist(remote_book_ct):
    Book = remote_book_ct.model_class()
    error = Book(5)._does_not_exist()
    assert isinstance(error, Book.DoesNotExist)
    assert isinstance(error, RemoteObjectDoesNotExist)
    assert str(error) == "shop.Book matching pk=5 does not exist in project 'shop_b'."


def test_custom_remote_object_base_class(remote_book_ct):
    path = f"{__name__}.AuditedRemoteObject"
    with override_settings(FEDERATION={"PROJECT_NAME": "shop_a", "REMOTE_OBJECT_CLASS": path}):
        stand_in = remote_book_ct.model_class()
        assert issubclass(stand_in, AuditedRemoteObject)
        assert stand_in(1).audited
    assert not issubclass(remote_book_ct.model_class(), AuditedRemoteObject)


def test_tokens_are_redacted_in_reprs(settings):
    from federated_fk import conf

    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SUBGRAPH_TOKEN": "server-token-1",
        "PROJECTS": {"shop_b": {"URL": "http://127.0.0.1:1/", "TOKEN": "client-token-2"}},
    }
    project = conf.project_settings("shop_b")
    assert project["TOKEN"] == "client-token-2"  # what is sent
    assert "client-token-2" not in repr(project)
    assert "server-token-1" not in repr(conf.federation_settings())
    assert repr(project["TOKEN"]) == "'<redacted>'"


def test_stand_ins_know_their_fields_before_any_request(remote_book_ct):
    book = remote_book_ct.model_class()(12)
    assert {"title", "price"} <= set(dir(book))
    assert not hasattr(book, "isbn")  # no request: shop_b is not even configured here
    assert hasattr(book, "save") and hasattr(book, "pk")
    fields = {f.name: type(f).__name__ for f in book._meta.get_fields()}
    assert fields == {"id": "IntegerField", "title": "TextField", "price": "DecimalField"}
    assert book._meta.get_field("price").null is False
    with pytest.raises(FieldDoesNotExist):
        book._meta.get_field("isbn")


def test_remote_objects_are_read_only(remote_book_ct):
    book = remote_book_ct.model_class()(12)
    with pytest.raises(TypeError, match=r"read-only.*cannot be saved"):
        book.save()
    with pytest.raises(TypeError, match=r"read-only.*cannot be deleted"):
        book.delete()


def test_a_content_type_the_schema_never_described_is_never_fetched(settings):
    settings.FEDERATION = {
        **settings.FEDERATION,
        "PROJECTS": {"shop_b": {"URL": "http://127.0.0.1:9/graphql/"}},
    }
    ct = GenericContentType.objects.create(project="shop_b", app_label="shelf", model="book")
    book = ct.model_class()(1)
    with pytest.raises(RemoteTypeNotInSchema, match="sync_remote_contenttypes shop_b") as raised:
        book.title  # noqa: B018
    assert isinstance(raised.value, ImproperlyConfigured)
    assert "shelf.book" in str(raised.value)
    with pytest.raises(RemoteTypeNotInSchema):
        fetch_remote_objects({ct.model_class(): [1]})  # not an outage: raised, not returned


def test_a_type_no_longer_in_the_schema_says_so(remote_book_ct, settings):
    settings.FEDERATION = {
        **settings.FEDERATION,
        "PROJECTS": {"shop_b": {"URL": "http://127.0.0.1:9/graphql/"}},
    }
    remote_book_ct.in_schema = False
    remote_book_ct.save()
    with pytest.raises(RemoteTypeNotInSchema, match="no longer exposes it"):
        remote_book_ct.model_class()(1).title  # noqa: B018
