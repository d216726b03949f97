import functools
import re
from pathlib import Path

import pytest
from django.test import SimpleTestCase

from federated_fk.models import GenericContentType

#: pytest-django's fixtures that open the test database (directly or for a fixture).
#: (``django_db_blocker`` is not one: every test has it; a test that unblocks it opens a
#: database file of its own, not the test database.)
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
    "admin_user",
    "admin_client",
    "django_user_model",
}
#: A module that reads which database backend runs (a connection's vendor or
#: features, or the variable that picks PostgreSQL) depends on it even in a
#: test that opens no database.
READS_BACKEND = re.compile(r"\bconnections?\s*[.\[]|FEDERATED_FK_TEST_DB")


def pytest_addoption(parser):
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="Run only the tests that can depend on which database the tests use: those "
        "that open it, and those of a module that reads its backend. run_tests.sh runs "
        "them on PostgreSQL after running every test on SQLite.",
    )


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--database-tests-only"):
        return
    kept, other = [], []
    for item in items:
        (kept if _may_depend_on_the_database(item) else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = kept


def _may_depend_on_the_database(item) -> bool:
    if item.get_closest_marker("django_db") is not None:
        return True
    if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, SimpleTestCase):
        return True  # Django's own test classes: kept whatever they declare
    return bool(READS_BACKEND.search(_source(item.path)))


@functools.cache
def _source(path: Path) -> str:
    return path.read_text(errors="replace")


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
