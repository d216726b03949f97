"""The subgraph of the remote service: six entity types, one visibility hook."""

from federated_fk.subgraph import Subgraph
from tests.movieapp import models as movies
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


@subgraph.entity(models.Edition)
class Edition:
    """Every field kind: typed scalars, a key to Book, a key to the shared Author (a stub)."""


@subgraph.entity(movies.Movie, fields=["title", "year", "director"])
class Movie:
    pass


@subgraph.entity(movies.Clip, fields=["title", "seconds", "movie"])
class Clip:
    pass


schema = subgraph.schema()
