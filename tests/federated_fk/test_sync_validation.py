"""sync_remote_contenttypes checks the whole SDL first and writes nothing if any of it is wrong."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from federated_fk.models import GenericContentType

pytestmark = pytest.mark.django_db

GOOD = """
type Book @key(fields: "id") @djangoModel(appLabel: "books", model: "book", pkType: "int") {
  id: ID!
  title: String!
}
type Query { books: [Book] }
"""
OLD = "# the schema stored by the last good run\n"


def entity(name, app_label="books", model=None):
    model = model or name.lower()
    return (
        f'type {name} @key(fields: "id") '
        f'@djangoModel(appLabel: "{app_label}", model: "{model}", pkType: "int") '
        "{ id: ID! title: String }\n"
    )


BAD = {
    "syntax": ('type Book @key(fields: "id") { id: ID! ', "syntax error"),
    "duplicate type names": (entity("Book") + entity("Book"), "'Book' is defined more than once"),
    "two types for one model": (
        entity("Book") + entity("Tome", model="book"),
        "model books.book is named by 2 types",
    ),
    "long type name": (entity("B" * 5000), "type_name 'BBBB"),
    "long model": (entity("Book", model="m" * 101), "longer than 100 characters (101)"),
    "NUL in a name": (entity("Book", app_label="bo\\u0000oks"), "app_label 'bo\\x00oks'"),
    "NUL in the text": (GOOD + "\x00", "NUL character"),
    "not a name": (entity("Book", app_label="books; drop table"), "is not a name"),
    "too many types": ("".join(entity(f"T{i}") for i in range(11)), "11 entity types, more"),
    "deep nesting": ("type Q { f(a: Int = " + "[" * 3000 + "]" * 3000 + "): Int }", "nested"),
}


@pytest.fixture
def remote(settings, misbehaving, tmp_path):
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "PROJECTS": {"shop_x": {"URL": misbehaving.url, "TIMEOUT": 5}},
        "MAX_REMOTE_TYPES": 10,
    }
    (tmp_path / "shop_x.graphql").write_text(OLD)

    def serve(sdl):
        misbehaving.answer({"data": {"_service": {"sdl": sdl}}})

    return serve


def sync(tmp_path):
    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_x", schema_dir=tmp_path, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_schema_writes_no_file_and_no_row(remote, tmp_path, case):
    sdl, expected = BAD[case]
    GenericContentType.objects.create(project="shop_x", app_label="books", model="old")
    remote(sdl)
    with pytest.raises(CommandError) as raised:
        sync(tmp_path)
    message = str(raised.value)
    assert message.startswith("The schema of project 'shop_x' was refused, nothing was stored")
    assert expected in message
    assert len(message) < 2000
    assert (tmp_path / "shop_x.graphql").read_text() == OLD
    assert list(tmp_path.iterdir()) == [tmp_path / "shop_x.graphql"]  # no temporary file left
    assert list(GenericContentType.objects.filter(project="shop_x").values_list("model")) == [
        ("old",)
    ]


def test_a_good_schema_replaces_the_file_and_makes_rows(remote, tmp_path):
    remote(GOOD)
    out = sync(tmp_path)
    assert "shop_x: read the schema, 1 entity types" in out
    assert (tmp_path / "shop_x.graphql").read_text() == GOOD.rstrip() + "\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "shop_x.graphql"]
    ct = GenericContentType.objects.get(project="shop_x")
    assert (ct.app_label, ct.model, ct.type_name) == ("books", "book", "Book")


def test_one_bad_project_stops_every_project(settings, remote, misbehaving, tmp_path):
    settings.FEDERATION["PROJECTS"]["shop_y"] = {"URL": misbehaving.url, "TIMEOUT": 5}
    misbehaving.queue(
        ({"data": {"_service": {"sdl": GOOD}}}, 200),
        ({"data": {"_service": {"sdl": BAD["syntax"][0]}}}, 200),
    )
    with pytest.raises(CommandError, match="project 'shop_y' was refused"):
        sync_all = StringIO()
        call_command("sync_remote_contenttypes", schema_dir=tmp_path, stdout=sync_all)
    assert not GenericContentType.objects.filter(project__in=["shop_x", "shop_y"]).exists()
    assert (tmp_path / "shop_x.graphql").read_text() == OLD
    assert not (tmp_path / "shop_y.graphql").exists()


def test_verbosity_0_writes_nothing_and_the_stored_schema_is_readable(remote, tmp_path):
    import os
    import stat

    remote(GOOD)
    (tmp_path / "shop_x.graphql").unlink()
    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_x", schema_dir=tmp_path, stdout=out, verbosity=0)
    assert out.getvalue() == ""
    assert GenericContentType.objects.filter(project="shop_x").exists()
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE((tmp_path / "shop_x.graphql").stat().st_mode)
    assert mode == 0o666 & ~umask  # as any new file of the process, not private
