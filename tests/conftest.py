import pytest

from federated_fk.models import GenericContentType


@pytest.fixture(autouse=True)
def _clear_content_type_cache():
    """Each test starts with an empty content-type cache, as Django's own tests do."""
    GenericContentType.objects.clear_cache()
    yield
    GenericContentType.objects.clear_cache()


@pytest.fixture
def remote_book_ct(db):
    return GenericContentType.objects.create(
        project="shop_b",
        app_label="shop",
        model="book",
        type_name="Book",
        in_schema=True,
        fields=["title", "price"],
        field_types={"title": "String!", "price": "Decimal!"},
    )


@pytest.fixture(scope="session")
def shop_b(tmp_path_factory):
    """The remote project shop_b: a real subgraph process, stopped by PID at the end."""
    from tests.servers import SubgraphServer

    server = SubgraphServer(
        "shop_b", tmp_path_factory.mktemp("shop_b"), label="B", editions=1000
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shop_c(tmp_path_factory):
    """A second remote project, shop_c, guarded by a token."""
    from tests.servers import SubgraphServer

    server = SubgraphServer(
        "shop_c", tmp_path_factory.mktemp("shop_c"), label="C", token="c-token-7f3a", books=100
    ).start()
    yield server
    server.stop()


@pytest.fixture
def misbehaving():
    from tests.servers import MisbehavingServer

    server = MisbehavingServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shops(tmp_path_factory):
    """shop_a and shop_b as the demo runs them: real processes, fresh SQLite files."""
    from tests.servers import DemoShops

    shops = DemoShops(tmp_path_factory.mktemp("shops"), extra_books=250).start()
    yield shops
    shops.stop()
