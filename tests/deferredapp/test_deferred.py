"""Deferred pointing: django-dfk's documented cases, then remote targets.

The models are in tests/deferredapp: ``comments.py`` is the reusable app,
``models.py`` the installing project that points its keys.
"""

from io import StringIO

import pytest
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import CaptureQueriesContext, isolate_apps

from federated_fk.deferred import (
    DeferredForeignKey,
    InvalidTargetError,
    NotPointedError,
    PointedTooLateError,
    RemoteForeignKey,
    clean_object_caches,
    point,
    point_named,
    repoint,
)
from federated_fk.fields.deferred_key import check_deferred_foreign_keys, deferred_keys
from federated_fk.models import GenericContentType
from federated_fk.prefetch import collect_remote_errors
from tests.deferredapp.models import (
    Attachment,
    BlogPost,
    Comment,
    Entry,
    Image,
    Note,
    Review,
    SpecialEntry,
    Tag,
    Wish,
)
from tests.remoteshop.models import gadget_id

pytestmark = pytest.mark.django_db


# dfk: pointing a single foreign key.


def test_point_makes_a_real_foreign_key():
    field = Comment._meta.get_field("content")
    assert type(field) is models.ForeignKey
    assert field.related_model is BlogPost
    assert field.db_constraint
    post = BlogPost.objects.create(title="Hello")
    comment = Comment.objects.create(content=post, body="First")
    assert Comment.objects.get(pk=comment.pk).content == post
    # Joins, select_related and the reverse side, as with any ForeignKey.
    assert list(Comment.objects.filter(content__title="Hello")) == [comment]
    with CaptureQueriesContext(connection) as queries:
        assert Comment.objects.select_related("content").get().content.title == "Hello"
    assert len(queries) == 1
    assert list(post.comments.all()) == [comment]


def test_the_final_key_keeps_the_declarations_place_among_the_fields():
    assert [f.name for f in Comment._meta.fields] == ["id", "body", "content"]


def test_only_deferred_keys_are_pointed():
    with pytest.raises(ValueError, match="is not a DeferredForeignKey"):
        point(BlogPost, "title", Comment)


def test_a_pointed_key_is_not_pointed_again():
    with pytest.raises(ValueError, match="repoint"):
        point(Comment, "content", Note)


def test_pointing_after_the_models_are_loaded_is_too_late():
    # The models of an installed app were loaded with the project; pointing
    # them now (as AppConfig.ready() would) would not reach migrations.
    with pytest.raises(PointedTooLateError, match=r"AppConfig\.ready\(\)"):
        repoint(Note, "content", Comment)


@isolate_apps("tests.deferredapp")
def test_targets_must_be_concrete_models():
    class Abstract(models.Model):
        class Meta:
            abstract = True

    class Pointing(models.Model):
        c = DeferredForeignKey(on_delete=models.CASCADE)

    # django-dfk raised AssertionError; this is that and a ValueError.
    with pytest.raises(InvalidTargetError, match="Abstract is an abstract model") as abstract:
        point(Pointing, "c", Abstract)
    assert isinstance(abstract.value, ValueError) and isinstance(abstract.value, AssertionError)
    assert abstract.value.target is Abstract
    with pytest.raises(InvalidTargetError, match="is not a model") as not_a_model:
        point(Pointing, "c", object)
    assert isinstance(not_a_model.value, AssertionError) and not_a_model.value.target is object
    assert isinstance(Pointing.__dict__["c"], DeferredForeignKey)  # left unpointed


@isolate_apps("tests.deferredapp")
def test_a_local_target_needs_on_delete():
    class Target(models.Model):
        pass

    class Pointing(models.Model):
        c = DeferredForeignKey()

    with pytest.raises(TypeError, match="needs on_delete"):
        point(Pointing, "c", Target)
    point(Pointing, "c", Target, on_delete=models.PROTECT)
    assert Pointing._meta.get_field("c").remote_field.on_delete is models.PROTECT


# dfk: pointing many foreign keys at once.


def test_point_named_points_every_key_of_that_name():
    post = BlogPost.objects.create(title="Hello")
    image = Image.objects.create(content=post)
    attachment = Attachment.objects.create(content=post)
    assert Image._meta.get_field("content").related_model is BlogPost
    assert Attachment._meta.get_field("content").related_model is BlogPost
    assert list(post.images.all()) == [image]
    assert list(post.attachments.all()) == [attachment]
    # Keys of other names were left alone.
    assert Comment._meta.get_field("content").remote_field.related_name == "comments"


def test_point_named_returns_the_new_fields():
    with isolate_apps("tests.deferredapp") as registry:

        class Target(models.Model):
            pass

        class One(models.Model):
            c = DeferredForeignKey(name="Group", on_delete=models.CASCADE, related_name="+")

        class Other(models.Model):
            c = DeferredForeignKey(name="Other", on_delete=models.CASCADE, related_name="+")

        fields = point_named(registry.get_app_config("deferredapp"), "Group", Target)
        assert [f.model for f in fields] == [One]
        assert isinstance(Other.__dict__["c"], DeferredForeignKey)


# dfk: arguments to the generated foreign keys.


def test_arguments_of_point_win_over_the_declarations():
    field = Note._meta.get_field("content")
    assert field.remote_field.related_name == "notes"  # point() over the declaration
    assert field.null is False  # point() over the declaration
    assert field.blank is True  # the declaration, passed on
    post = BlogPost.objects.create(title="Hello")
    note = Note.objects.create(content=post)
    assert list(post.notes.all()) == [note]
    assert not hasattr(post, "declared_notes")


# dfk: model inheritance.


def test_a_key_on_an_abstract_base_is_pointed_on_the_subclass():
    field = Tag._meta.get_field("target")
    assert field.model is Tag and field.related_model is BlogPost
    post = BlogPost.objects.create(title="Hello")
    assert Tag.objects.create(target=post, label="x").target == post


def test_a_key_pointed_on_a_concrete_base_is_seen_by_subclasses():
    post = BlogPost.objects.create(title="Hello")
    special = SpecialEntry.objects.create(subject=post)
    assert SpecialEntry._meta.get_field("subject").related_model is BlogPost
    assert SpecialEntry.objects.get().subject == post
    assert list(post.entries.all()) == [special.entry_ptr]
    assert Entry.objects.get().subject == post


@isolate_apps("tests.deferredapp")
def test_pointing_a_key_of_a_concrete_base_through_a_subclass_raises_type_error():
    class Target(models.Model):
        pass

    class Base(models.Model):
        c = DeferredForeignKey(on_delete=models.CASCADE)

    class Derived(Base):
        pass

    with pytest.raises(TypeError, match="non-abstract base class"):
        point(Derived, "c", Target)
    point(Base, "c", Target)
    assert Derived._meta.get_field("c").related_model is Target


# dfk: repointing and cleaning object caches.


@isolate_apps("tests.deferredapp")
def test_repoint_moves_the_key_and_its_reverse_accessor():
    class First(models.Model):
        pass

    class Second(models.Model):
        pass

    class Pointing(models.Model):
        c = DeferredForeignKey(on_delete=models.CASCADE, related_name="pointings")

    point(Pointing, "c", First)
    assert hasattr(First, "pointings")
    repoint(Pointing, "c", Second, null=True)
    field = Pointing._meta.get_field("c")
    assert field.related_model is Second and field.null
    assert [f.name for f in Pointing._meta.local_fields] == ["id", "c"]
    assert hasattr(Second, "pointings") and not hasattr(First, "pointings")
    assert [r.related_model for r in Second._meta.related_objects] == [Pointing]
    assert First._meta.related_objects == ()


@isolate_apps("tests.deferredapp")
def test_caches_are_cleaned_after_pointing():
    class Target(models.Model):
        pass

    class Base(models.Model):
        c = DeferredForeignKey(on_delete=models.CASCADE)

    class Derived(Base):
        pass

    Derived._meta.get_field("base_ptr")  # fills the subclass's caches
    point(Base, "c", Target)
    assert Derived._meta.get_field("c").related_model is Target


@isolate_apps("tests.deferredapp")
def test_clean_caches_false_leaves_them_to_clean_object_caches():
    class Target(models.Model):
        pass

    class Base(models.Model):
        c = DeferredForeignKey(on_delete=models.CASCADE)

    class Derived(Base):
        pass

    Derived._meta.get_field("base_ptr")
    point(Base, "c", Target, clean_caches=False)
    with pytest.raises(FieldDoesNotExist):
        Derived._meta.get_field("c")
    clean_object_caches(Base, Target)
    assert Derived._meta.get_field("c").related_model is Target


# Keys that were never pointed.


@isolate_apps("tests.deferredapp")
def test_an_unpointed_key_raises_on_use_and_is_a_check_error():
    class Unpointed(models.Model):
        c = DeferredForeignKey(on_delete=models.CASCADE)

    with pytest.raises(NotPointedError, match=r"'deferredapp\.Unpointed\.c'.*never pointed"):
        Unpointed().c  # noqa: B018
    with pytest.raises(NotPointedError):
        Unpointed().c = None
    assert [(m, name) for m, name, _key in deferred_keys([Unpointed])] == [(Unpointed, "c")]


@isolate_apps("tests.deferredapp")
def test_an_unpointed_key_is_inert_and_only_a_warning():
    class Unpointed(models.Model):
        title = models.CharField(max_length=10)
        c = DeferredForeignKey(on_delete=models.CASCADE)

    class FakeConfig:
        @staticmethod
        def get_models():
            return [Unpointed]

    # No field, no column; the rest of the model works.
    assert [f.name for f in Unpointed._meta.get_fields()] == ["id", "title"]
    assert Unpointed(title="x").title == "x"
    # Using the key, even through the constructor, says what is wrong.
    with pytest.raises(NotPointedError, match="never pointed"):
        Unpointed(title="x", c=None)
    with pytest.raises(NotPointedError):
        del Unpointed().c
    [warning] = check_deferred_foreign_keys([FakeConfig])
    assert isinstance(warning, checks.Warning) and not warning.is_serious()
    assert warning.id == "federated_fk.W404" and warning.obj is Unpointed
    assert "'deferredapp.Unpointed.c'" in warning.msg and "NotPointedError" in warning.msg


@isolate_apps("tests.deferredapp")
def test_the_check_reports_unpointed_keys_once_per_defining_model():
    class Unpointed(models.Model):
        c = DeferredForeignKey(on_delete=models.CASCADE)

    class Child(Unpointed):
        pass

    class FakeConfig:
        @staticmethod
        def get_models():
            return [Unpointed, Child]

    errors = check_deferred_foreign_keys([FakeConfig])
    assert [(e.id, e.obj) for e in errors] == [("federated_fk.W404", Unpointed)]
    assert "makemigrations" not in errors[0].msg and "point()" in errors[0].hint


def test_every_installed_deferred_key_is_pointed():
    assert check_deferred_foreign_keys() == []


def test_migrations_record_the_final_fields():
    out = StringIO()
    call_command("makemigrations", "deferredapp", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()


# Remote targets: a RemoteForeignKey.


def test_pointing_at_a_remote_model_makes_a_remote_foreign_key():
    field = Review._meta.get_field("book")
    assert isinstance(field, RemoteForeignKey)
    assert field.target == ("shop_b", "remoteshop", "book")
    assert (field.attname, field.column) == ("book_id", "book_id")
    assert field.null and field.blank  # the declaration's; on_delete was dropped
    assert not field.is_relation
    assert field.db_type(connection) == "bigint"
    wish = Wish._meta.get_field("gadget")
    assert wish.pk_type == "uuid"
    assert wish.db_type(connection) == models.UUIDField().db_type(connection)  # the backend's
    # No content-type column.
    assert [f.column for f in Review._meta.fields] == ["id", "book_id", "stars"]


def test_remote_foreign_keys_deconstruct_to_a_stable_path_and_natural_key():
    name, path, args, kwargs = Review._meta.get_field("book").deconstruct()
    assert (name, path, args) == ("book", "federated_fk.fields.RemoteForeignKey", [])
    assert kwargs == {"to": "shop_b:remoteshop.book", "pk_type": "int", "null": True, "blank": True}
    clone = RemoteForeignKey(**kwargs)
    assert clone.deconstruct()[3] == kwargs


def test_a_remote_target_may_be_given_as_a_content_type(remote_book_ct):
    remote_book_ct.pk_type = "str"
    field = RemoteForeignKey(remote_book_ct)
    assert field.target == ("shop_b", "shop", "book") and field.pk_type == "str"
    assert field.deconstruct()[3] == {"to": "shop_b:shop.book", "pk_type": "str"}
    assert RemoteForeignKey(remote_book_ct.model_class()).pk_type == "str"
    with pytest.raises(ValueError, match="contradicts"):
        RemoteForeignKey(remote_book_ct, pk_type="int")
    with pytest.raises(ValueError, match=r"project:app_label\.Model"):
        RemoteForeignKey("remoteshop.Book")


def test_a_remote_foreign_key_at_a_local_project_is_a_check_error():
    field = RemoteForeignKey("shop_a:deferredapp.BlogPost")
    field.set_attributes_from_name("post")
    field.model = Review
    assert [e.id for e in field._check_target_is_remote()] == ["federated_fk.E403"]
    assert Review._meta.get_field("book").check() == []


def test_remote_ids_are_stored_in_the_remote_primary_keys_type(remote_book_ct):
    review = Review.objects.create(book_id="7")
    assert Review.objects.get(pk=review.pk).book_id == 7
    assert Review.objects.filter(book_id=7).count() == 1
    wish = Wish.objects.create(gadget_id=str(gadget_id(1)))
    assert Wish.objects.get().gadget_id == gadget_id(1)
    assert Wish.objects.filter(gadget=gadget_id(1)).get() == wish


def test_a_missing_content_type_says_how_to_make_it():
    review = Review.objects.create(book_id=1)
    with pytest.raises(GenericContentType.DoesNotExist, match="sync_remote_contenttypes"):
        review.book  # noqa: B018


@pytest.fixture
def federation(settings, shop_b, tmp_path):
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "PROJECTS": {"shop_b": {"URL": shop_b.url, "TIMEOUT": 5}},
    }
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=StringIO())
    shop_b.stats(reset=True)
    return settings.FEDERATION


def test_the_attribute_is_a_lazy_stand_in(federation, shop_b):
    ct = GenericContentType.objects.get_by_natural_key("shop_b", "remoteshop", "book")
    review = Review.objects.create(book_id=3)
    review = Review.objects.get(pk=review.pk)
    book = review.book
    assert isinstance(book, ct.model_class())
    assert book.pk == 3 and not book.is_loaded
    assert review.book is book  # cached
    assert shop_b.stats()["graphql_requests"] == 0
    assert book.title == "B Book 3"
    assert shop_b.stats()["graphql_requests"] == 1


def test_assigning_a_stand_in_sets_the_id(federation):
    RemoteBook = GenericContentType.objects.get_by_natural_key(
        "shop_b", "remoteshop", "book"
    ).model_class()
    review = Review(book=RemoteBook(4))
    assert review.book_id == 4
    review.save()
    assert Review.objects.filter(book=RemoteBook(4)).get() == review
    review.book = None
    assert review.book_id is None and review.book is None
    with pytest.raises(ValueError, match=r"must be a shop_b:remoteshop\.book remote object"):
        review.book = BlogPost(pk=1)


def test_prefetch_related_costs_one_request(federation, shop_b):
    Review.objects.bulk_create([Review(book_id=i) for i in (1, 2, 3, 99999)] + [Review()])
    with CaptureQueriesContext(connection) as queries:
        reviews = list(Review.objects.prefetch_related("book"))
    assert shop_b.stats()["graphql_requests"] == 1
    assert [r.book and r.book.title for r in reviews] == [
        "B Book 1",
        "B Book 2",
        "B Book 3",
        None,  # missing remotely: None, as a deleted target
        None,  # no target
    ]
    assert shop_b.stats()["graphql_requests"] == 1
    # The reviews and the content type; nothing per row.
    assert len(queries) <= 2


def test_uuid_keys_prefetch_too(federation, shop_b):
    Wish.objects.create(gadget_id=gadget_id(2))
    wish = Wish.objects.prefetch_related("gadget").get()
    assert wish.gadget.name and wish.gadget.pk == gadget_id(2)
    assert shop_b.stats()["graphql_requests"] == 1


def test_a_remote_that_cannot_answer_reads_as_none_inside_collect_remote_errors(federation):
    federation["PROJECTS"]["shop_b"] = {"URL": "http://127.0.0.1:9/graphql/", "TIMEOUT": 2}
    Review.objects.create(book_id=1)
    with collect_remote_errors() as errors:
        review = Review.objects.prefetch_related("book").get()
    assert review.book is None and review.book_id == 1
    assert list(errors) == ["shop_b"]


def test_find_dangling_references_covers_remote_keys(federation, shop_b):
    kept = Review.objects.create(book_id=5)
    gone = Review.objects.create(book_id=99999)
    Review.objects.create()  # points nowhere: not a reference
    out = StringIO()
    call_command("find_dangling_references", stdout=out)
    assert f"deferredapp.Review pk={gone.pk} -> shop_b remoteshop.book" in out.getvalue()
    assert Review.objects.count() == 3  # only listed
    call_command("find_dangling_references", "--delete", stdout=StringIO())
    assert sorted(Review.objects.values_list("pk", flat=True)) == sorted([kept.pk, gone.pk + 1])


@isolate_apps("tests.deferredapp")
def test_point_takes_content_types_local_and_remote(remote_book_ct):
    class Target(models.Model):
        pass

    class Pointing(models.Model):
        local = DeferredForeignKey(on_delete=models.CASCADE, related_name="+")
        remote = DeferredForeignKey(on_delete=models.CASCADE, related_name="+")

    local_ct = GenericContentType.objects.get_for_model(Target)
    remote_book_ct.pk_type = "uuid"
    assert point(Pointing, "local", local_ct).related_model is Target
    field = point(Pointing, "remote", remote_book_ct)
    assert isinstance(field, RemoteForeignKey)
    assert (field.target, field.pk_type) == (("shop_b", "shop", "book"), "uuid")


@isolate_apps("tests.deferredapp")
def test_repoint_from_a_local_to_a_remote_target():
    class First(models.Model):
        pass

    class Pointing(models.Model):
        c = DeferredForeignKey(on_delete=models.CASCADE, related_name="pointings", null=True)

    point(Pointing, "c", First)
    field = repoint(Pointing, "c", "shop_b:remoteshop.Book", pk_type="str")
    assert Pointing._meta.get_field("c") is field and field.null
    assert [f.name for f in Pointing._meta.local_fields] == ["id", "c"]
    assert not hasattr(First, "pointings")
    assert Pointing(c_id="x").c_id == "x"
    back = repoint(Pointing, "c", First)
    assert back.related_model is First and hasattr(First, "pointings")
