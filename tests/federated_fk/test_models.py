import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from federated_fk.models import GenericContentType
from federated_fk.remote import RemoteObject
from tests.sharedapp.models import Author
from tests.testapp.models import Book, CheapBook, Gadget

pytestmark = pytest.mark.django_db


def test_local_models_belong_to_the_current_project():
    ct = GenericContentType.objects.get_for_model(Book)
    assert ct.natural_key() == ("shop_a", "testapp", "book")
    assert ct.is_local and not ct.is_remote
    assert ct.model_class() is Book
    assert str(ct) == "Testapp | book"


def test_models_of_shared_apps_belong_to_the_shared_project():
    ct = GenericContentType.objects.get_for_model(Author)
    assert ct.project == "shared"
    assert ct.is_local
    assert ct.model_class() is Author
    assert str(ct) == "shared | Sharedapp | author"


def test_content_types_of_local_models_exist_after_migrate():
    keys = set(GenericContentType.objects.values_list("project", "app_label", "model"))
    assert ("shop_a", "testapp", "reference") in keys
    assert ("shared", "sharedapp", "author") in keys
    assert ("shop_a", "federated_fk", "genericcontenttype") in keys


def test_project_argument_names_the_same_model_in_another_service():
    local = GenericContentType.objects.get_for_model(Book)
    remote = GenericContentType.objects.get_for_model(Book, project="shop_b")
    assert remote != local
    assert remote.natural_key() == ("shop_b", "testapp", "book")
    assert remote.is_remote
    assert issubclass(remote.model_class(), RemoteObject)


def test_get_for_model_of_a_stand_in_returns_its_content_type(remote_book_ct):
    stand_in = remote_book_ct.model_class()
    assert GenericContentType.objects.get_for_model(stand_in) == remote_book_ct
    assert GenericContentType.objects.get_for_model(stand_in(3)) == remote_book_ct


def test_lookups_are_cached_by_model_id_and_natural_key(remote_book_ct):
    with CaptureQueriesContext(connection) as queries:
        ct = GenericContentType.objects.get_for_model(Book)
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert GenericContentType.objects.get_for_model(Book) is ct
        assert GenericContentType.objects.get_for_id(ct.id) is ct
        assert GenericContentType.objects.get_by_natural_key("shop_a", "testapp", "book") is ct
        assert GenericContentType.objects.get_by_natural_key("testapp", "book") is ct
    assert len(queries) == 0


def test_get_by_natural_key_rejects_a_key_of_the_wrong_length():
    with pytest.raises(TypeError, match=r"\(project, app_label, model\)"):
        GenericContentType.objects.get_by_natural_key("book")


def test_get_for_models_mixes_projects_in_one_query(remote_book_ct):
    stand_in = remote_book_ct.model_class()
    GenericContentType.objects.get_for_models(Book, Author, stand_in)
    GenericContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as queries:
        cts = GenericContentType.objects.get_for_models(Book, Author, stand_in, CheapBook)
    assert len(queries) == 1
    assert cts[stand_in] == remote_book_ct
    assert cts[Author].project == "shared"
    assert cts[CheapBook] == cts[Book]


def test_proxy_models_get_their_own_type_when_not_concrete():
    ct = GenericContentType.objects.get_for_model(CheapBook, for_concrete_model=False)
    assert ct.model == "cheapbook"
    assert ct.model_class() is CheapBook


def test_remote_model_class_is_one_cached_stand_in(remote_book_ct):
    stand_in = remote_book_ct.model_class()
    again = GenericContentType.objects.get(pk=remote_book_ct.pk).model_class()
    assert stand_in is again
    opts = stand_in._meta
    assert stand_in.__name__ == "Book"
    assert (opts.project, opts.app_label, opts.model_name) == ("shop_b", "shop", "book")
    assert (opts.object_name, opts.label, opts.label_lower) == ("Book", "shop.Book", "shop.book")
    assert (opts.verbose_name, str(opts.verbose_name_plural)) == ("book", "books")
    assert str(remote_book_ct) == "shop_b | shop | book"
    assert remote_book_ct.name == "book"


@pytest.mark.parametrize(
    ("pk_type", "raw", "typed"),
    [
        ("int", "7", 7),
        ("uuid", "9b6d2c1e-65b5-4a8e-9a32-0f1f3c2b8e11", None),
        ("str", "ab-12", "ab-12"),
    ],
)
def test_stand_ins_convert_ids_to_the_remote_pk_type(pk_type, raw, typed):
    import uuid

    ct = GenericContentType.objects.create(
        project="shop_b", app_label="shop", model=f"thing{pk_type}", pk_type=pk_type
    )
    obj = ct.get_object_for_this_type(pk=raw)
    expected = uuid.UUID(raw) if pk_type == "uuid" else typed
    assert obj.pk == expected
    assert obj.object_id == raw
    assert ct.model_class()._meta.pk_type == pk_type


def test_remote_lookups_take_only_primary_keys(remote_book_ct):
    with pytest.raises(TypeError, match="looked up by pk only"):
        remote_book_ct.get_object_for_this_type(title="Dune")
    with pytest.raises(TypeError, match="filtered by pk__in only"):
        remote_book_ct.get_all_objects_for_this_type(title="Dune")


def test_unique_natural_key():
    from django.db import IntegrityError, transaction

    GenericContentType.objects.create(project="shop_b", app_label="shop", model="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        GenericContentType.objects.create(project="shop_b", app_label="shop", model="dup")
    # The same model name in another project is another content type.
    GenericContentType.objects.create(project="shop_c", app_label="shop", model="dup")


def test_uuid_primary_key_models_get_content_types():
    ct = GenericContentType.objects.get_for_model(Gadget)
    assert ct.model_class() is Gadget
