"""Migrations of FederatedManyToManyField: Django's autodetector and schema editor, unpatched."""

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations import operations
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.migration import Migration
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ModelState, ProjectState
from django.db.migrations.writer import MigrationWriter

from federated_fk.fields import FederatedManyToManyField

pytestmark = pytest.mark.django_db(transaction=True)

APP = "gm2mapp"
EMPTY = {"indexes": [], "constraints": []}


def state(*extra: ModelState) -> ProjectState:
    project = ProjectState.from_apps(apps)
    for model_state in extra:
        project.add_model(model_state)
    return project


def owner(*fields) -> ModelState:
    base = [("id", models.AutoField(primary_key=True)), ("name", models.CharField(max_length=20))]
    return ModelState(APP, "Owner", [*base, *fields], options=dict(EMPTY))


def through(name, options) -> ModelState:
    return ModelState(
        APP,
        name,
        [
            ("id", models.AutoField(primary_key=True)),
            ("owner", models.ForeignKey(f"{APP}.Owner", models.CASCADE)),
            ("ct", models.ForeignKey("federated_fk.GenericContentType", models.CASCADE)),
            ("oid", models.CharField(max_length=64)),
            ("added", models.DateField(null=True)),
        ],
        options={**EMPTY, **options},
    )


def changes(before: ProjectState, after: ProjectState) -> list:
    detected = MigrationAutodetector(
        before, after, NonInteractiveMigrationQuestioner()
    )._detect_changes()
    return [op for migration in detected.get(APP, []) for op in migration.operations]


def apply(ops, project: ProjectState) -> ProjectState:
    migration = Migration("test", APP)
    migration.operations = ops
    with connection.schema_editor() as editor:
        return migration.apply(project, editor)


def columns(table):
    with connection.cursor() as cursor:
        return {c.name: c for c in connection.introspection.get_table_description(cursor, table)}


def tables():
    return set(connection.introspection.table_names())


def test_add_alter_and_remove_the_field():
    # The autodetector consumes its states: make fresh ones for each run.
    def base():
        return state(owner())

    def with_field():
        return state(owner(("favourites", FederatedManyToManyField())))

    def altered():
        return state(owner(("favourites", FederatedManyToManyField(pk_maxlength=100))))

    def renamed():
        field = FederatedManyToManyField(pk_maxlength=100, db_table="owner_favs")
        return state(owner(("favourites", field)))

    (create,) = changes(state(), base())
    assert isinstance(create, operations.CreateModel)
    project = apply([create], state())

    (add,) = changes(base(), with_field())
    assert isinstance(add, operations.AddField)
    project = apply([add], project)
    assert "gm2mapp_owner_favourites" in tables()
    assert set(columns("gm2mapp_owner_favourites")) == {
        "id",
        "owner_id",
        "content_type_id",
        "object_id",
    }
    # Rows survive the alterations.
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO gm2mapp_owner (id, name) VALUES (1, 'a')")
        ct = apps.get_model("federated_fk", "GenericContentType").objects.create(
            project="shop_b", app_label="shop", model="book"
        )
        cursor.execute(
            "INSERT INTO gm2mapp_owner_favourites (owner_id, content_type_id, object_id) "
            "VALUES (1, %s, '7')",
            [ct.pk],
        )

    assert changes(with_field(), with_field()) == []
    (alter,) = changes(with_field(), altered())
    assert isinstance(alter, operations.AlterField)
    project = apply([alter], project)
    with connection.cursor() as cursor:  # 100 characters now fit, on every backend
        cursor.execute(
            "INSERT INTO gm2mapp_owner_favourites (owner_id, content_type_id, object_id) "
            "VALUES (1, %s, %s)",
            [ct.pk, "x" * 100],
        )
        cursor.execute("DELETE FROM gm2mapp_owner_favourites WHERE object_id <> '7'")

    (rename,) = changes(altered(), renamed())
    project = apply([rename], project)
    assert "owner_favs" in tables() and "gm2mapp_owner_favourites" not in tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT owner_id, content_type_id, object_id FROM owner_favs")
        assert cursor.fetchall() == [(1, ct.pk, "7")]

    (remove,) = changes(renamed(), base())
    assert isinstance(remove, operations.RemoveField)
    project = apply([remove], project)
    assert "owner_favs" not in tables()

    (delete,) = changes(base(), state())
    apply([delete], project)
    assert "gm2mapp_owner" not in tables()


def test_a_custom_through_model_and_a_second_run_with_nothing_to_do():
    def after():
        return state(
            owner(("favourites", FederatedManyToManyField(through=f"{APP}.Fav"))),
            through("Fav", {"ordering": ["-added"]}),
        )

    ops = changes(state(), after())
    assert [type(op).__name__ for op in ops] == ["CreateModel", "CreateModel", "AddField"]
    project = apply(ops, state())
    assert "gm2mapp_fav" in tables()
    assert not any("owner_favourites" in t for t in tables())  # no auto table
    assert changes(project, after()) == []
    apply(
        [
            operations.RemoveField("Owner", "favourites"),
            operations.DeleteModel("Fav"),
            operations.DeleteModel("Owner"),
        ],
        project,
    )


def test_the_field_deconstructs_to_what_it_was_given():
    field = FederatedManyToManyField(
        "gm2mapp.Movie",
        through_fields=("a", "b"),
        through="gm2mapp.Fav",
        related_name="fans",
        related_query_name="fan",
        pk_maxlength=None,
        db_constraint=False,
        for_concrete_model=False,
        blank=True,
        verbose_name="favourites",
    )
    _name, path, args, kwargs = field.deconstruct()
    assert path == "federated_fk.fields.FederatedManyToManyField"
    assert args == []
    assert kwargs == {
        "through": "gm2mapp.Fav",
        "through_fields": ["a", "b"],
        "related_name": "fans",
        "related_query_name": "fan",
        "pk_maxlength": None,
        "db_constraint": False,
        "for_concrete_model": False,
        "blank": True,
        "verbose_name": "favourites",
    }
    assert FederatedManyToManyField().deconstruct()[3] == {}
    source, _imports = MigrationWriter.serialize(FederatedManyToManyField(pk_maxlength=36))
    assert source == "federated_fk.fields.FederatedManyToManyField(pk_maxlength=36)"
