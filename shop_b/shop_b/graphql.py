"""shop_b's subgraph: the books and audiobooks other shops may see.

Types are named by project (``ShopBBook``), so that Apollo Gateway can compose
this subgraph with shop_a's, whose ``books.Book`` is another model.

``author`` is a reference to the shared ``authors.Author``: every shop has
those rows, so shop_b serves it as a key-only stub, made from ``author_id``.

Books and audiobooks are queryable (``queryShopBBook``, ``queryShopBAudiobook``):
other shops may filter them by title, price and author name, order them by
price or title, and search their titles and authors' names; nothing else.
"""

from federated_fk.subgraph import Subgraph

from audio.models import Audiobook
from books.models import Book

subgraph = Subgraph(project_type_names=True)

#: What other shops may filter, order and search on, for books and audiobooks alike.
QUERIES = {
    "filter_fields": {
        "title": ["exact", "icontains"],
        "price": ["lt", "gt", "lte", "gte"],
        "author__name": ["exact", "icontains"],
    },
    "ordering": ["price", "title"],
    "search_fields": ["title", "author__name"],
}


@subgraph.entity(Book, fields=["title", "price", "author"], listable=True, **QUERIES)
class BookEntity:
    @classmethod
    def get_queryset(cls, queryset, info):
        # Unpublished books stay private.
        return queryset.filter(published=True)


@subgraph.entity(
    Audiobook,
    fields=["title", "narrator", "duration_minutes", "price", "author"],
    listable=True,
    **QUERIES,
)
class AudiobookEntity:
    """Every audiobook is public."""


schema = subgraph.schema()
