"""Renaming a model on either side of a FederatedManyToManyField: makemigrations and migrate.

Django's autodetector reads ``is_relation`` and ``remote_field`` on the
relation of every field that reaches a renamed model; the rows of the
through table are kept.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations import operations
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.migration import Migration
from django.db.migrations.questioner import MigrationQuestioner
from django.db.migrations.state import ModelState, ProjectState

from federated_fk.fields import FederatedManyToManyField
from federated_fk.models import GenericContentType

APP = "gm2mapp"
EMPTY = {"indexes": [], "constraints": []}
ROOT = Path(__file__).resolve().parents[2]


def model(name, *fields, **options):
    base = [("id", models.AutoField(primary_key=True)), ("name", models.CharField(max_length=20))]
    return ModelState(APP, name, [*base, *fields], options={**EMPTY, **options})


def link(name, source):
    return ModelState(
        APP,
        name,
        [
            ("id", models.AutoField(primary_key=True)),
            ("owner", models.ForeignKey(f"{APP}.{source}", models.CASCADE)),
            ("ct", models.ForeignKey("federated_fk.GenericContentType", models.CASCADE)),
            ("oid", models.CharField(max_length=64)),
        ],
        options=dict(EMPTY),
    )


def project(source, target, through=None):
    """A source holding the field (auto or custom through) and a target model."""
    kwargs = {"through": f"{APP}.{through}"} if through else {}
    state = ProjectState.from_apps(apps)
    state.add_model(model(source, ("things", FederatedManyToManyField(**kwargs))))
    state.add_model(model(target))
    if through:
        state.add_model(link(through, source))
    return state


def renames(before, after):
    """The operations makemigrations writes when every rename is confirmed."""
    questioner = MigrationQuestioner(defaults={"ask_rename_model": True})
    detected = MigrationAutodetector(before, after, questioner)._detect_changes()
    return [op for migration in detected.get(APP, []) for op in migration.operations]


def apply(ops, state):
    migration = Migration("test", APP)
    migration.operations = ops
    with connection.schema_editor() as editor:
        return migration.apply(state, editor)


def rows(table, columns):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {columns}")
        return cursor.fetchall()


@pytest.fixture
def scratch_tables():
    """Drop what a failed test left, so that the database can be flushed."""
    yield
    names = [
        "shelf_things",
        "shelf_items",
        "rack_things",
        "placement",
        "spot",
        "shelf",
        "rack",
        "film",
        "picture",
    ]
    cascade = " CASCADE" if connection.vendor == "postgresql" else ""
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for name in names:
            if f"{APP}_{name}" in existing:
                cursor.execute(f"DROP TABLE {connection.ops.quote_name(f'{APP}_{name}')}{cascade}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("scratch_tables")
def test_renaming_the_source_and_the_target_keeps_the_links():
    state = apply(
        renames(ProjectState.from_apps(apps), project("Shelf", "Film")),
        ProjectState.from_apps(apps),
    )
    ct = GenericContentType.objects.create(project="shop_a", app_label=APP, model="film")
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {APP}_shelf (id, name) VALUES (1, 'a')")
        cursor.execute(f"INSERT INTO {APP}_film (id, name) VALUES (7, 'Heat')")
        columns = "shelf_id, content_type_id, object_id"
        cursor.execute(f"INSERT INTO {APP}_shelf_things ({columns}) VALUES (1, %s, '7')", [ct.pk])
    ops = renames(project("Shelf", "Film"), project("Rack", "Picture"))
    assert sorted(type(op).__name__ for op in ops) == ["RenameModel", "RenameModel"]
    assert {(op.old_name, op.new_name) for op in ops} == {("Shelf", "Rack"), ("Film", "Picture")}
    state = apply(ops, state)
    tables = set(connection.introspection.table_names())
    assert {f"{APP}_rack", f"{APP}_rack_things", f"{APP}_picture"} <= tables
    assert rows(f"{APP}_rack_things", "rack_id, content_type_id, object_id") == [(1, ct.pk, "7")]
    apply(
        [
            operations.DeleteModel("Rack"),
            operations.DeleteModel("Picture"),
        ],
        state,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("scratch_tables")
def test_renaming_the_custom_through_model_and_the_source_keeps_the_links():
    state = apply(
        renames(ProjectState.from_apps(apps), project("Shelf", "Film", through="Placement")),
        ProjectState.from_apps(apps),
    )
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {APP}_shelf (id, name) VALUES (1, 'a')")
        ct = GenericContentType.objects.create(project="shop_b", app_label="x", model="book")
        cursor.execute(
            f"INSERT INTO {APP}_placement (owner_id, ct_id, oid) VALUES (1, %s, '9')", [ct.pk]
        )
    # The through model first (the relation of the field reaches it), then the source.
    ops = renames(
        project("Shelf", "Film", through="Placement"), project("Shelf", "Film", through="Spot")
    )
    assert [(op.old_name, op.new_name) for op in ops] == [("Placement", "Spot")]
    state = apply(ops, state)
    ops = renames(project("Shelf", "Film", through="Spot"), project("Rack", "Film", through="Spot"))
    assert next(type(op).__name__ for op in ops) == "RenameModel"
    state = apply(ops, state)
    assert rows(f"{APP}_spot", "owner_id, ct_id, oid") == [(1, ct.pk, "9")]
    apply(
        [
            operations.RemoveField("Rack", "things"),
            operations.DeleteModel("Spot"),
            operations.DeleteModel("Rack"),
            operations.DeleteModel("Film"),
        ],
        state,
    )


# -- the commands, end to end, in a new project -------------------------------------------

SETTINGS = """
SECRET_KEY = "tests-only"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "federated_fk", "library"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
FEDERATION = {"PROJECT_NAME": "here"}
USE_TZ = True
"""

MODELS = """
from django.db import models

from federated_fk.fields import FederatedForeignKey, FederatedManyToManyField
from federated_fk.models import GenericContentType


class Film(models.Model):
    title = models.CharField(max_length=100)


class Shelf(models.Model):
    name = models.CharField(max_length=100)
    items = FederatedManyToManyField("Film")
    picks = FederatedManyToManyField("Film", through="Placement", related_name="picked_by")


class Placement(models.Model):
    shelf = models.ForeignKey(Shelf, models.CASCADE)
    ct = models.ForeignKey(GenericContentType, models.CASCADE)
    oid = models.CharField(max_length=64)
    item = FederatedForeignKey("ct", "oid")
"""

RUN_PYTHON = """
from django.db import migrations


def count(apps, schema_editor):
    Movie = apps.get_model("library", "Movie")
    heat = Movie.objects.get(title="Heat")
    rack = heat.rack_set.get()  # a reverse manager of a historical model
    heat.rack_set.add(apps.get_model("library", "Rack").objects.create(name="new"))
    print("RUN_PYTHON", rack.name, [m.title for m in rack.items.all()], heat.rack_set.count())


class Migration(migrations.Migration):
    dependencies = [("library", "0003_rename_placement_spot")]
    operations = [migrations.RunPython(count, migrations.RunPython.noop)]
"""


def manage(cwd: Path, *args: str, answers: str = "") -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": f"{ROOT}:{cwd}"}
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        input=answers,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_makemigrations_and_migrate_rename_both_sides_in_a_new_project(tmp_path):
    (tmp_path / "settings.py").write_text(SETTINGS)
    (tmp_path / "manage.py").write_text(
        "import sys\nfrom django.core.management import execute_from_command_line\n"
        "execute_from_command_line(sys.argv)\n"
    )
    app = tmp_path / "library"
    app.mkdir()
    (app / "__init__.py").write_text("")
    models_py = app / "models.py"
    models_py.write_text(MODELS)
    manage(tmp_path, "makemigrations", "library", "--noinput")
    manage(tmp_path, "migrate", "--noinput")
    out = manage(
        tmp_path,
        "shell",
        "-c",
        textwrap.dedent(
            """
            from library.models import Film, Shelf
            shelf, heat = Shelf.objects.create(name="a"), Film.objects.create(title="Heat")
            shelf.items.add(heat)
            shelf.picks.add(heat)
            """
        ),
    )
    # A model on each side renamed: makemigrations asks, as for any model.
    models_py.write_text(
        MODELS.replace("Film", "Movie").replace("Shelf", "Rack").replace("shelf = ", "shelf = ")
    )
    out = manage(tmp_path, "makemigrations", "library", answers="y\ny\n")
    assert "Rename model Film to Movie" in out and "Rename model Shelf to Rack" in out
    # The custom through model renamed, in the next migration.
    models_py.write_text(models_py.read_text().replace("Placement", "Spot"))
    out = manage(tmp_path, "makemigrations", "library", answers="y\n")
    assert "Rename model Placement to Spot" in out
    (app / "migrations" / "0004_run_python.py").write_text(RUN_PYTHON)
    out = manage(tmp_path, "migrate", "--noinput")
    assert "RUN_PYTHON a ['Heat'] 2" in out
    out = manage(
        tmp_path,
        "shell",
        "-c",
        "from library.models import Movie, Rack\n"
        "rack = Rack.objects.get(name='a')\n"
        "print([m.title for m in rack.items.all()], [m.title for m in rack.picks.all()])\n"
        "print(sorted(r.name for r in Movie.objects.get().rack_set.all()))\n"
        "from federated_fk.models import GenericContentType as CT\n"
        "print(sorted(CT.objects.filter(app_label='library').values_list('model', flat=True)))",
    )
    assert out.splitlines()[-3:] == [
        "['Heat'] ['Heat']",
        "['a', 'new']",
        "['movie', 'rack', 'spot']",
    ]
    assert "No changes detected" in manage(tmp_path, "makemigrations", "--check", "--dry-run")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("scratch_tables")
def test_renaming_the_field_renames_its_table_and_keeps_the_links():
    def shelf(name):
        state = ProjectState.from_apps(apps)
        state.add_model(model("Shelf", (name, FederatedManyToManyField())))
        return state

    state = apply(
        renames(ProjectState.from_apps(apps), shelf("things")), ProjectState.from_apps(apps)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {APP}_shelf (id, name) VALUES (1, 'a')")
        ct = GenericContentType.objects.create(project="shop_b", app_label="x", model="book")
        cursor.execute(
            f"INSERT INTO {APP}_shelf_things (shelf_id, content_type_id, object_id) "
            "VALUES (1, %s, '9')",
            [ct.pk],
        )
    questioner = MigrationQuestioner(defaults={"ask_rename": True})
    detected = MigrationAutodetector(shelf("things"), shelf("items"), questioner)._detect_changes()
    (op,) = [op for migration in detected[APP] for op in migration.operations]
    assert isinstance(op, operations.RenameField)
    state = apply([op], state)
    assert f"{APP}_shelf_things" not in connection.introspection.table_names()
    assert rows(f"{APP}_shelf_items", "shelf_id, content_type_id, object_id") == [(1, ct.pk, "9")]
    apply([operations.DeleteModel("Shelf")], state)
