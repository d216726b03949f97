"""What the subgraph serves comes back in another service as the model would give it."""

import pytest

from federated_fk.models import GenericContentType
from tests.federated_fk.conftest import stand_in
from tests.remoteshop.management.commands.seed_remoteshop import EDITIONS
from tests.remoteshop.models import Edition
from tests.sharedapp.models import Author
from tests.testapp.models import Reference

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


@pytest.mark.parametrize("seeded", EDITIONS[:3], ids=["values", "nulls", "other"])
def test_each_remote_value_has_the_type_the_local_model_gives(synced, seeded):
    # The same row, stored here: what a local Edition reads back is the yardstick.
    values = {k: v for k, v in seeded.items() if k not in ("related", "book_id")}
    Author.objects.create(id=seeded["author_id"], name=f"author {seeded['author_id']}")
    Edition.objects.create(**values)
    local = Edition.objects.get(pk=seeded["id"])
    remote = stand_in(synced, "shop_b", "Edition")(seeded["id"])
    for name in SCALARS:
        mine, theirs = getattr(local, name), getattr(remote, name)
        assert (type(theirs), theirs) == (type(mine), mine), name
    assert type(remote.author) is type(local.author) and remote.author == local.author


def test_nested_prefetch_costs_one_request_per_project_per_level(
    synced, federation, shop_b, django_assert_num_queries
):
    federation["PROJECTS"]["shop_b"]["BATCH_SIZE"] = 1000
    Author.objects.bulk_create([Author(id=1, name="Herbert"), Author(id=2, name="Ōe")])
    RemoteEdition = stand_in(synced, "shop_b", "Edition")
    Reference.objects.bulk_create(
        Reference(content_object=RemoteEdition(pk)) for pk in range(4, 1004)
    )
    # Content types are cached, as Django's are: look them up once before counting.
    GenericContentType.objects.get_for_id(synced[("shop_b", "Edition")].pk)
    GenericContentType.objects.get_by_natural_key("shop_b", "remoteshop", "book")
    shop_b.stats(reset=True)
    # The references, then the shared authors of every edition: two queries.
    with django_assert_num_queries(2):
        refs = list(
            Reference.objects.prefetch_related(
                "content_object__book", "content_object__author", "content_object__related"
            )
        )
    # Editions, their books, their related books: one request per level.
    assert shop_b.stats()["graphql_requests"] == 3
    assert len(refs) == 1000
    with django_assert_num_queries(0):
        first = refs[0].content_object
        assert first.book.title == "B Book 5" and first.author.name == "Herbert"
        assert [b.title for b in first.related] == ["B Book 6", "B Book 7"]
    assert shop_b.stats()["graphql_requests"] == 3
