"""shop_b's subgraph: the books and audiobooks other shops may see."""

import strawberry

from federated_fk.subgraph import Subgraph

from audio.models import Audiobook
from books.models import Book

subgraph = Subgraph()


@subgraph.entity(Book, fields=["title", "price"], listable=True)
class BookEntity:
    @strawberry.field(description="The author's name.")
    def author_name(self) -> str:
        return self.author.name

    @classmethod
    def get_queryset(cls, queryset, info):
        # Unpublished books stay private; the author comes in the same query.
        return queryset.filter(published=True).select_related("author")


@subgraph.entity(
    Audiobook, fields=["title", "narrator", "duration_minutes", "price"], listable=True
)
class AudiobookEntity:
    @strawberry.field(description="The author's name.")
    def author_name(self) -> str:
        return self.author.name

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.select_related("author")


schema = subgraph.schema()
