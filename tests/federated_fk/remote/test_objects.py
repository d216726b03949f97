import pytest
from django.test import override_settings

from federated_fk.exceptions import RemoteObjectDoesNotExist
from federated_fk.models import GenericContentType
from federated_fk.remote import RemoteObject

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
    with pytest.raises(AttributeError, match=r"Remote shop\.Book has no field 'isbn'"):
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
