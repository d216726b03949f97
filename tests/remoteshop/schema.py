"""The subgraph of the remote service: three entity types, one visibility hook."""

from federated_fk.subgraph import Subgraph
from tests.remoteshop import models

subgraph = Subgraph()


@subgraph.entity(models.Book, fields=["title", "author", "price"], listable=True)
class Book:
    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.filter(published=True)


@subgraph.entity(models.Audiobook)
class Audiobook:
    pass


@subgraph.entity(models.Gadget)
class Gadget:
    pass


schema = subgraph.schema()
