"""Library subgraphs of several services compose with @apollo/composition, however many.

Each subgraph here is made in this process as another service would make it
(its own project name, listable types, a shared model registered as an entity,
or nothing to query at all), and its SDL composed with the others'.
"""

import re

import pytest
from django.test import override_settings

from federated_fk import naming
from federated_fk.subgraph import Subgraph
from tests.federated_fk.test_composition import compose  # noqa: F401
from tests.remoteshop import models
from tests.sharedapp.models import Author
from tests.testapp import models as testapp_models


def federation(project: str) -> override_settings:
    return override_settings(FEDERATION={"PROJECT_NAME": project, "SHARED_APPS": ["sharedapp"]})


def books_and_editions(project: str) -> str:
    """A service like shop_b: listable books, editions keyed to books and shared authors."""
    with federation(project):
        subgraph = Subgraph(project_type_names=True)
        subgraph.entity(models.Book, fields=["title", "price"], listable=True)(type("B", (), {}))
        subgraph.entity(models.Edition, fields=["price", "book", "author"])(type("E", (), {}))
        return subgraph.schema().as_str()


def audio_and_authors(project: str) -> str:
    """Listable audiobooks, and the shared authors resolved here too."""
    with federation(project):
        subgraph = Subgraph(project_type_names=True)
        subgraph.entity(models.Audiobook, listable=True)(type("A", (), {}))
        subgraph.entity(Author, fields=["name"], listable=True)(type("Au", (), {}))
        return subgraph.schema().as_str()


def local_books(project: str) -> str:
    """Another model class named Book, listable, with its shared author resolved here."""
    with federation(project):
        subgraph = Subgraph(project_type_names=True)
        subgraph.entity(testapp_models.Book, fields=["title", "author"], listable=True)(
            type("LB", (), {})
        )
        subgraph.entity(Author, fields=["name"])(type("Au", (), {}))
        return subgraph.schema().as_str()


def gadgets_only(project: str) -> str:
    """Nothing listable and no query of its own: entities for the others to resolve."""
    with federation(project):
        subgraph = Subgraph(project_type_names=True)
        subgraph.entity(models.Gadget)(type("G", (), {}))
        return subgraph.schema().as_str()


def write(tmp_path, **sdl: str) -> dict:
    paths = {}
    for name, text in sdl.items():
        paths[name] = tmp_path / f"{name}.graphql"
        paths[name].write_text(text)
    return paths


def field_line(supergraph: str, field: str) -> str:
    (line,) = [ln for ln in supergraph.splitlines() if ln.strip().startswith(f"{field}(")]
    return line


def test_four_services_of_the_library_compose(compose, tmp_path):  # noqa: F811
    paths = write(
        tmp_path,
        shop_x=books_and_editions("shop_x"),
        shop_y=audio_and_authors("shop_y"),
        shop_z=local_books("shop_z"),
        shop_w=gadgets_only("shop_w"),
    )
    result = compose(**paths)
    assert result.returncode == 0, result.stderr
    supergraph = result.stdout
    # Each project's types keep their own names: three models called Book, three types.
    for name in ("ShopXBook", "ShopXEdition", "ShopYAudiobook", "ShopZBook", "ShopWGadget"):
        assert f"type {name}" in supergraph
    # federatedIds: in every listable service, hidden from the supergraph's clients.
    shared_ids = field_line(supergraph, "federatedIds")
    assert "@inaccessible" in shared_ids
    assert re.findall(r"join__field\(graph: (\w+)\)", shared_ids) == ["SHOP_X", "SHOP_Y", "SHOP_Z"]
    # Each project's own listing goes to that project's subgraph alone.
    for project in ("shop_x", "shop_y", "shop_z"):
        own = field_line(supergraph, naming.field_name(project, "FederatedIds"))
        assert "@inaccessible" not in own
        assert re.findall(r"join__field\(graph: (\w+)\)", own) == [project.upper()]
    # The shared Author: resolved by the two services that register it, a stub elsewhere.
    author = supergraph.split("type Author")[1].split("{")[0]
    assert '@join__type(graph: SHOP_Y, key: "id")' in author
    assert '@join__type(graph: SHOP_Z, key: "id")' in author
    assert '@join__type(graph: SHOP_X, key: "id", resolvable: false)' in author


@pytest.mark.parametrize("make", [books_and_editions, audio_and_authors, local_books])
def test_each_listable_service_composes_alone(compose, tmp_path, make):  # noqa: F811
    result = compose(**write(tmp_path, shop_v=make("shop_v")))
    assert result.returncode == 0, result.stderr
    assert "shopVFederatedIds(" in result.stdout


def test_two_services_of_one_shape_compose(compose, tmp_path):  # noqa: F811
    """The same code deployed as two projects (as tests.remoteshop serves shop_b and shop_c)."""
    paths = write(
        tmp_path,
        one=books_and_editions("shop_one"),
        two=books_and_editions("shop_two"),
        three=books_and_editions("shop_three"),
    )
    result = compose(**paths)
    assert result.returncode == 0, result.stderr
    assert "type ShopOneBook" in result.stdout and "type ShopThreeBook" in result.stdout


def test_naming_gives_each_project_its_own_root_field():
    assert naming.field_name("shop_b", "FederatedIds") == "shopBFederatedIds"
    assert naming.field_name("default", "FederatedIds") == "defaultFederatedIds"


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["federatedIds", "shopAFederatedIds"])
def test_the_projects_own_listing_is_priced_as_federated_ids(client, field):
    """Each id a listing asks for counts, under either name (the test project is shop_a)."""
    aliases = " ".join(
        f'a{i}: {field}(typeName: "Book", limit: 1000) {{ total }}' for i in range(40)
    )
    response = client.post(
        "/graphql/", {"query": f"{{ {aliases} }}"}, content_type="application/json"
    )
    body = response.json()
    assert "data" not in body or not body["data"]
    cost = re.search(r"costs (\d+)", body["errors"][0]["message"])
    assert cost and int(cost.group(1)) >= 40 * 1000
