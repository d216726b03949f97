"""The subgraph of the remote service: six entity types, one visibility hook.

Books and editions are queryable (``queryBook``, ``queryEdition``): every
lookup kind on every scalar kind, paths across relations (an edition's book
is hidden when unpublished), ordering and search.
"""

from federated_fk.subgraph import Subgraph
from tests.movieapp import models as movies
from tests.remoteshop import models

subgraph = Subgraph()


TEXT = ["exact", "iexact", "contains", "icontains", "startswith", "istartswith"]
TEXT += ["endswith", "iendswith", "in", "isnull"]
NUMBER = ["exact", "in", "gt", "gte", "lt", "lte"]


@subgraph.entity(
    models.Book,
    fields=["title", "author", "price"],
    listable=True,
    filter_fields={
        "title": TEXT,
        "price": NUMBER,
        "author": ["exact", "icontains"],
        "id": ["exact", "in"],
        "editions__pages": ["gt", "isnull"],
    },
    ordering=["price", "title", "author"],
    search_fields=["title", "author"],
)
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


@subgraph.entity(
    models.Edition,
    filter_fields={
        "book__title": ["exact", "icontains", "isnull"],
        "related__title": ["icontains"],
        "author__name": ["exact", "icontains"],
        "published_on": ["gte", "lt"],
        "printed_at": ["gt", "lte"],
        "opens_at": ["isnull", "lt"],
        "code": ["exact", "in"],
        "in_print": ["exact"],
        "weight": ["isnull", "gt"],
        "pages": ["in", "lte"],
        "binding": ["exact"],
    },
    ordering=["price", "weight", "author__name"],
    search_fields=["subtitle", "author__name"],
)
class Edition:
    """Every field kind: typed scalars, a key to Book, a key to the shared Author (a stub)."""


@subgraph.entity(movies.Movie, fields=["title", "year", "director"])
class Movie:
    pass


@subgraph.entity(movies.Clip, fields=["title", "seconds", "movie"])
class Clip:
    pass


schema = subgraph.schema()
