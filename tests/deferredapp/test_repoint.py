"""Repointing any foreign key, as django-dfk allowed: "even if that model is not django-dfk aware".

``tests/legacyapp`` is written without this library; ``tests/deferredapp/models.py``
(the installing project) repoints ``Like.article`` at its ``BlogPost`` and
``Bookmark.article`` at shop_b's books. Its migration 0001 is the app as
shipped, 0002 what ``makemigrations`` wrote after the repointing.
"""

from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.checks.model_checks import _check_lazy_references
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations import AlterField
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.test.utils import CaptureQueriesContext, isolate_apps

from federated_fk.deferred import (
    DeferredForeignKey,
    InvalidTargetError,
    PointedTooLateError,
    RemoteForeignKey,
    clean_object_caches,
    point,
    repoint,
)
from tests.deferredapp.models import BlogPost
from tests.legacyapp.models import Article, Bookmark, Like

pytestmark = pytest.mark.django_db


# A model of an app that never used DeferredForeignKey.


def test_a_plain_foreign_key_is_replaced_by_one_to_the_new_target():
    field = Like._meta.get_field("article")
    assert type(field) is models.ForeignKey and field.related_model is BlogPost
    # The key's own arguments, then repoint()'s, which win.
    assert field.remote_field.related_name == "post_likes"  # repoint()'s
    assert field.verbose_name == "liked"  # the key's own
    assert field.remote_field.on_delete is models.CASCADE  # the key's own
    assert [f.name for f in Like._meta.fields] == ["id", "article", "weight"]
    # The old target lost its reverse side; the new one has it.
    assert not hasattr(Article, "likes")
    assert Like not in [r.related_model for r in Article._meta.related_objects]
    assert [r.related_model for r in BlogPost._meta.related_objects if r.name == "post_likes"] == [
        Like
    ]


def test_the_repointed_key_works_as_any_foreign_key():
    post = BlogPost.objects.create(title="Hello")
    like = Like.objects.create(article=post, weight=3)
    assert Like.objects.get().article == post
    assert list(Like.objects.filter(article__title="Hello")) == [like]
    assert list(post.post_likes.all()) == [like]
    with CaptureQueriesContext(connection) as queries:
        assert Like.objects.select_related("article").get().article.title == "Hello"
    assert len(queries) == 1
    post.delete()  # on_delete=CASCADE, the key's own
    assert not Like.objects.exists()


def test_the_database_constraint_follows_the_new_target():
    article = Article.objects.create(title="Old target")
    assert not BlogPost.objects.filter(pk=article.pk).exists()
    # The column references the blog posts now, not the articles. (A savepoint,
    # so that the test's transaction outlives the error on PostgreSQL.)
    with pytest.raises(IntegrityError, match="deferredapp_blogpost"), transaction.atomic():
        Like.objects.create(article_id=article.pk)
        connection.check_constraints(table_names=["legacyapp_like"])
    assert not Like.objects.exists()


def test_a_plain_foreign_key_repointed_at_a_remote_model_is_a_remote_foreign_key():
    field = Bookmark._meta.get_field("article")
    assert isinstance(field, RemoteForeignKey)
    assert (field.target, field.pk_type) == (("shop_b", "remoteshop", "book"), "int")
    assert field.null and field.blank  # the key's own; on_delete and related_name dropped
    assert (field.attname, field.column) == ("article_id", "article_id")
    assert not hasattr(Article, "bookmarks")
    bookmark = Bookmark.objects.create(article_id="3")
    assert Bookmark.objects.get(pk=bookmark.pk).article_id == 3


@pytest.fixture
def federation(settings, shop_b, tmp_path):
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "PROJECTS": {"shop_b": {"URL": shop_b.url, "TIMEOUT": 5}},
    }
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=StringIO())
    shop_b.stats(reset=True)


def test_a_remote_target_loads_over_the_federation(federation, shop_b):
    Bookmark.objects.bulk_create([Bookmark(article_id=1), Bookmark(article_id=2), Bookmark()])
    bookmarks = list(Bookmark.objects.prefetch_related("article").order_by("pk"))
    assert [b.article and b.article.title for b in bookmarks] == ["B Book 1", "B Book 2", None]
    assert shop_b.stats()["graphql_requests"] == 1


# Migrations follow.


def _state_before_repointing(loader: MigrationLoader) -> ProjectState:
    """The project as if legacyapp were at 0001, the app as shipped."""
    nodes = [n for n in loader.graph.leaf_nodes() if n[0] != "legacyapp"]
    return loader.project_state([*nodes, ("legacyapp", "0001_initial")])


def test_makemigrations_writes_an_alter_field_to_the_new_target():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    changes = MigrationAutodetector(
        _state_before_repointing(loader), ProjectState.from_apps(apps)
    ).changes(graph=loader.graph)
    assert list(changes) == ["legacyapp"]
    [migration] = changes["legacyapp"]
    altered = {
        (op.model_name, op.name): op.field.deconstruct()[1:]
        for op in migration.operations
        if isinstance(op, AlterField)
    }
    assert len(altered) == len(migration.operations) == 2
    assert altered[("like", "article")] == (
        "django.db.models.ForeignKey",
        [],
        {
            "on_delete": models.CASCADE,
            "related_name": "post_likes",
            "to": "deferredapp.blogpost",
            "verbose_name": "liked",
        },
    )
    assert altered[("bookmark", "article")] == (
        "federated_fk.fields.RemoteForeignKey",
        [],
        {"blank": True, "null": True, "pk_type": "int", "to": "shop_b:remoteshop.book"},
    )
    assert ("deferredapp", "0001_initial") in migration.dependencies
    # The committed 0002 is that migration, and nothing is left to make.
    shipped = loader.get_migration("legacyapp", "0002_repointed")
    assert {(op.model_name, op.name): op.field.deconstruct()[1:] for op in shipped.operations} == (
        altered
    )
    out = StringIO()
    call_command("makemigrations", "legacyapp", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()


def _schema() -> dict[str, object]:
    with connection.cursor() as cursor:
        relations = connection.introspection.get_relations(cursor, "legacyapp_like")
        bookmark = {
            c.name: connection.introspection.get_field_type(c.type_code, c)
            for c in connection.introspection.get_table_description(cursor, "legacyapp_bookmark")
        }
    return {"like": relations["article_id"][1], "bookmark": bookmark["article_id"]}


@pytest.mark.django_db(transaction=True)
def test_the_migration_runs_backwards_and_forwards_keeping_the_rows():
    BlogPost.objects.create(pk=1, title="Post")
    Article.objects.create(pk=1, title="Article")
    like = Like.objects.create(article_id=1, weight=4)
    Bookmark.objects.bulk_create([Bookmark(article_id=1), Bookmark()])
    assert _schema() == {"like": "deferredapp_blogpost", "bookmark": "BigIntegerField"}
    try:
        call_command("migrate", "legacyapp", "0001", verbosity=0)
        assert _schema() == {"like": "legacyapp_article", "bookmark": "IntegerField"}
    finally:
        call_command("migrate", "legacyapp", verbosity=0)
    assert _schema() == {"like": "deferredapp_blogpost", "bookmark": "BigIntegerField"}
    assert Like.objects.get().article_id == 1 and Like.objects.get().pk == like.pk
    assert sorted(Bookmark.objects.values_list("article_id", flat=True), key=str) == [1, None]


# Arguments, kinds of keys, and what is refused.


@isolate_apps("tests.deferredapp")
def test_the_keys_own_arguments_apply_then_repoints_which_win():
    class First(models.Model):
        slug = models.SlugField(unique=True)

    class Second(models.Model):
        slug = models.SlugField(unique=True)

    class Plain(models.Model):
        fk = models.ForeignKey(
            First,
            on_delete=models.PROTECT,
            to_field="slug",
            related_name="plains",
            null=True,
            db_column="first_slug",
            limit_choices_to={"slug__startswith": "a"},
        )

    field = repoint(Plain, "fk", Second, related_name="seconds", null=False)
    assert Plain._meta.get_field("fk") is field and field.related_model is Second
    assert (field.remote_field.related_name, field.null) == ("seconds", False)  # repoint()'s
    assert field.remote_field.on_delete is models.PROTECT
    assert field.remote_field.field_name == "slug" and field.column == "first_slug"
    assert field.remote_field.limit_choices_to == {"slug__startswith": "a"}
    assert hasattr(Second, "seconds") and not hasattr(First, "plains")
    # Again: the key's own arguments apply again, then this call's.
    again = repoint(Plain, "fk", First)
    assert again.remote_field.related_name == "plains" and again.null
    assert hasattr(First, "plains") and not hasattr(Second, "seconds")


@isolate_apps("tests.deferredapp", "django.contrib.auth", "django.contrib.contenttypes")
def test_keys_to_a_swappable_model_are_repointed_and_keep_their_swappable_flag():
    class Target(models.Model):
        pass

    class Plain(models.Model):
        user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
        fixed = models.ForeignKey(
            settings.AUTH_USER_MODEL, on_delete=models.CASCADE, swappable=False, related_name="+"
        )

    assert repoint(Plain, "user", Target).related_model is Target
    fixed = repoint(Plain, "fixed", Target)
    assert fixed.related_model is Target and fixed.swappable is False


@isolate_apps("tests.deferredapp")
def test_a_one_to_one_field_stays_one_to_one():
    class First(models.Model):
        pass

    class Second(models.Model):
        pass

    class Profile(models.Model):
        first = models.OneToOneField(First, on_delete=models.CASCADE)

    field = repoint(Profile, "first", Second)
    assert type(field) is models.OneToOneField and field.related_model is Second
    assert hasattr(Second, "profile") and not hasattr(First, "profile")
    remote = repoint(Profile, "first", "shop_b:remoteshop.Book")
    assert isinstance(remote, RemoteForeignKey) and remote.unique


@isolate_apps("tests.deferredapp")
def test_a_retired_key_adds_no_accessor_when_its_old_target_loads_later():
    class Target(models.Model):
        pass

    class Plain(models.Model):
        fk = models.ForeignKey("deferredapp.Later", on_delete=models.CASCADE, related_name="plains")

    repoint(Plain, "fk", Target)

    class Later(models.Model):
        pass

    assert hasattr(Target, "plains") and not hasattr(Later, "plains")
    assert Later._meta.related_objects == ()


def test_a_key_whose_old_target_is_not_installed_leaves_no_pending_reference():
    with isolate_apps("tests.deferredapp") as registry:

        class Target(models.Model):
            pass

        class Plain(models.Model):
            fk = models.ForeignKey("ghost.Gone", on_delete=models.CASCADE)
            other = models.ForeignKey("ghost.Gone", on_delete=models.CASCADE, related_name="+")

        assert [e.id for e in _check_lazy_references(registry)] == ["fields.E307"] * 2
        repoint(Plain, "fk", Target)
        # Only the repointed key's reference to the app that is not installed is gone.
        [error] = _check_lazy_references(registry)
        assert error.id == "fields.E307" and "Plain.other" in error.msg
        repoint(Plain, "other", Target)
        assert _check_lazy_references(registry) == []


@isolate_apps("tests.deferredapp")
def test_caches_are_cleaned_after_repointing_a_plain_key_unless_told_not_to():
    class First(models.Model):
        pass

    class Second(models.Model):
        pass

    class Plain(models.Model):
        fk = models.ForeignKey(First, on_delete=models.CASCADE)

    assert [r.related_model for r in First._meta.related_objects] == [Plain]
    repoint(Plain, "fk", Second, clean_caches=False)
    # Django expires the new target's caches itself; the old one's are stale.
    assert [r.related_model for r in Second._meta.related_objects] == [Plain]
    assert [r.related_model for r in First._meta.related_objects] == [Plain]
    clean_object_caches(Plain, First, Second)
    assert First._meta.related_objects == ()
    repoint(Plain, "fk", First)  # clean_caches=True, the default
    assert [r.related_model for r in First._meta.related_objects] == [Plain]
    assert Second._meta.related_objects == ()


@isolate_apps("tests.deferredapp")
def test_what_repoint_refuses():
    class Target(models.Model):
        pass

    class Abstract(models.Model):
        class Meta:
            abstract = True

    class Base(models.Model):
        fk = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
        title = models.CharField(max_length=10)
        tags = models.ManyToManyField(Target, related_name="+")
        unpointed = DeferredForeignKey(on_delete=models.CASCADE)

    class Derived(Base):
        pass

    # django-dfk's ExistingTestCase: a target that is not a model, or abstract.
    for target, message in ((object, "is not a model"), (Abstract, "abstract model")):
        with pytest.raises(AssertionError, match=message) as raised:
            repoint(Base, "fk", target)
        assert isinstance(raised.value, InvalidTargetError) and isinstance(raised.value, ValueError)
    with pytest.raises(ValueError, match="is not a foreign key"):
        repoint(Base, "title", Target)
    with pytest.raises(ValueError, match="is not a foreign key"):
        repoint(Base, "tags", Target)
    with pytest.raises(ValueError, match="is not a foreign key"):
        repoint(Base, "missing", Target)
    with pytest.raises(ValueError, match="is not a foreign key"):
        repoint(Derived, "base_ptr", Target)  # a parent link Django made
    with pytest.raises(ValueError, match=r"never pointed; point\(\) it first"):
        repoint(Base, "unpointed", Target)
    with pytest.raises(TypeError, match="non-abstract base class"):
        repoint(Derived, "fk", Target)
    with pytest.raises(ValueError, match="is not a DeferredForeignKey"):
        point(Base, "fk", Target)  # point() is for deferred keys only, as in django-dfk
    assert Base._meta.get_field("fk").related_model is Target  # all left as they were


def test_repointing_after_the_models_are_loaded_is_too_late():
    with pytest.raises(PointedTooLateError, match=r"AppConfig\.ready\(\)"):
        repoint(Like, "article", Article)
    assert Like._meta.get_field("article").related_model is BlogPost
