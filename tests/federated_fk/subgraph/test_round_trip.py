"""What the subgraph serves comes back in another service as the model would give it."""

import pytest

from tests.federated_fk.conftest import stand_in
from tests.remoteshop.management.commands.seed_remoteshop import EDITIONS
from tests.sharedapp.models import Author

pytestmark = pytest.mark.django_db

SCALARS = [
    "price",
    "published_on",
    "printed_at",
    "opens_at",
    "code",
    "in_print",
    "extra",
    "binding",
    "subtitle",
    "weight",
    "pages",
]


@pytest.mark.parametrize("seeded", EDITIONS[:2], ids=["values", "nulls"])
def test_a_remote_edition_has_the_python_values_of_the_model(synced, seeded):
    Author.objects.create(id=seeded["author_id"], name="a shared row, here too")
    edition = stand_in(synced, "shop_b", "Edition")(seeded["id"])
    assert {name: getattr(edition, name) for name in SCALARS} == {
        name: seeded[name] for name in SCALARS
    }
    assert edition.author == Author.objects.get(pk=seeded["author_id"])  # "shared": local
    assert getattr(edition.book, "pk", None) == seeded["book_id"]
    assert [book.pk for book in edition.related] == seeded["related"]
