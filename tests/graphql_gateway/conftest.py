import pytest

from tests.servers import DemoShops


@pytest.fixture(scope="session")
def shops(tmp_path_factory):
    """shop_a and shop_b as the demo runs them: real processes, fresh SQLite files."""
    shops = DemoShops(tmp_path_factory.mktemp("shops"), extra_books=250).start()
    yield shops
    shops.stop()
