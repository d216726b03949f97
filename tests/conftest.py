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
        project="shop_b", app_label="shop", model="book", type_name="Book"
    )
