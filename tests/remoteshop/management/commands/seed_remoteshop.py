import datetime
import decimal
import uuid

from django.core.management import BaseCommand

from tests.movieapp.models import Clip, Movie
from tests.remoteshop.models import Audiobook, Book, Edition, Gadget, gadget_id
from tests.sharedapp.models import Author

#: The seeded editions: every field kind, nulls, non-ASCII text, a hidden book.
EDITIONS = [
    {
        "id": 1,
        "price": decimal.Decimal("12.50"),
        "published_on": datetime.date(2024, 2, 29),
        "printed_at": datetime.datetime(
            2024, 3, 1, 8, 30, 15, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
        ),
        "opens_at": datetime.time(9, 15, 30, 500000),
        "code": uuid.UUID("7d444840-9dc0-11d1-b245-5ffdce74fad2"),
        "in_print": True,
        "extra": {"tags": ["sci-fi", "Wüste"], "reprints": 3, "signed": None},
        "binding": Edition.Binding.HARDCOVER,
        "subtitle": "Der Wüstenplanet — 砂の惑星",
        "weight": 0.85,
        "pages": 412,
        "book_id": 1,
        "author_id": 1,
        "related": [2, 3],
    },
    {
        "id": 2,
        "price": decimal.Decimal("0.99"),
        "published_on": datetime.date(1965, 8, 1),
        "printed_at": datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC),
        "opens_at": None,
        "code": uuid.UUID("00000000-0000-4000-8000-000000000002"),
        "in_print": False,
        "extra": None,
        "binding": Edition.Binding.PAPERBACK,
        "subtitle": "",
        "weight": None,
        "pages": 0,
        "book_id": None,
        "author_id": 2,
        "related": [],
    },
    {  # book 100 is unpublished: hidden, so null, and left out of the list
        "id": 3,
        "price": decimal.Decimal("100.00"),
        "published_on": datetime.date(2000, 1, 1),
        "printed_at": datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
        "opens_at": datetime.time(0, 0),
        "code": uuid.UUID("00000000-0000-4000-8000-000000000003"),
        "in_print": True,
        "extra": [1, "two", 3.5],
        "binding": Edition.Binding.PAPERBACK,
        "subtitle": "Ænima",
        "weight": 1.5,
        "pages": 99,
        "book_id": 100,
        "author_id": 1,
        "related": [100, 4],
    },
]


class Command(BaseCommand):
    help = (
        "Fill the remote shop: books 1..N (every 100th unpublished), audiobooks, gadgets, "
        "two shared authors and three editions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--books", type=int, default=100)
        parser.add_argument("--audiobooks", type=int, default=10)
        parser.add_argument("--gadgets", type=int, default=10)
        parser.add_argument("--label", default="Remote")
        parser.add_argument(
            "--more-editions", type=int, default=0, help="Generated editions after the three."
        )

    def handle(self, books, audiobooks, gadgets, label, more_editions, **options):
        Book.objects.bulk_create(
            Book(
                id=i,
                title=f"{label} Book {i}",
                author=f"Author {i % 7}",
                price=f"{i}.50",
                published=i % 100 != 0,
            )
            for i in range(1, books + 1)
        )
        Audiobook.objects.bulk_create(
            Audiobook(id=i, title=f"{label} Audiobook {i}", narrator="N", duration_minutes=60 + i)
            for i in range(1, audiobooks + 1)
        )
        Gadget.objects.bulk_create(
            Gadget(id=gadget_id(i), name=f"{label} Gadget {i}") for i in range(1, gadgets + 1)
        )
        seed_editions(books)
        generate_editions(more_editions, books)
        seed_movies(label)
        self.stdout.write(f"Seeded {books} books, {audiobooks} audiobooks, {gadgets} gadgets.")


def seed_editions(books: int) -> None:
    """Create the shared authors and the editions (and their books' links, if seeded)."""
    Author.objects.bulk_create(
        [Author(id=1, name="Frank Herbert"), Author(id=2, name="Ōe Kenzaburō")]
    )
    for values in EDITIONS:
        values = dict(values)
        related = [pk for pk in values.pop("related") if pk <= books]
        if values["book_id"] is not None and values["book_id"] > books:
            values["book_id"] = None
        Edition.objects.create(**values).related.set(related)


def seed_movies(label: str) -> None:
    """Three movies by the shared authors, two clips of each."""
    for i in range(1, 4):
        movie = Movie.objects.create(
            id=i, title=f"{label} Movie {i}", year=2000 + i, director_id=i % 2 + 1
        )
        for j in range(1, 3):
            Clip.objects.create(
                id=i * 10 + j, title=f"{label} Clip {i}.{j}", seconds=30 * j, movie=movie
            )


def generate_editions(count: int, books: int) -> None:
    """Editions 4 and up, each of a published book, by a shared author, with two related books."""
    template = {
        k: v for k, v in EDITIONS[0].items() if k not in ("id", "related", "book_id", "author_id")
    }
    Edition.objects.bulk_create(
        Edition(**template, id=i, book_id=1 + i % 99, author_id=1 + i % 2)
        for i in range(4, 4 + count)
    )
    Through = Edition.related.through
    Through.objects.bulk_create(
        Through(edition_id=i, book_id=1 + (i + k) % 99)
        for i in range(4, 4 + count)
        for k in (1, 2)
        if books
    )
