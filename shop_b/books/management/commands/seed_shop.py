"""Load shop_b's demo catalogue; running it again changes nothing."""

from django.core.management import BaseCommand
from django.db import transaction

from audio.models import Audiobook
from authors.models import Author
from books.models import Book

#: The shared authors: the same rows, with the same ids, in every shop.
AUTHORS = {1: "Ursula K. Le Guin", 2: "Frank Herbert", 3: "Octavia E. Butler", 4: "Ted Chiang"}

BOOKS = [
    # (title, author id, price, published): Dune is in shop_a too, at another price.
    ("Dune", 2, "8.49", True),
    ("A Wizard of Earthsea", 1, "7.99", True),
    ("Stories of Your Life and Others", 4, "13.20", True),
    ("Parable of the Sower", 3, "10.50", True),
    ("The Left Hand of Darkness (galley proof)", 1, "0.00", False),
]
AUDIOBOOKS = [
    ("Dune", 2, "Simon Vance", 1263, "24.99"),
    ("Exhalation", 4, "Ted Chiang", 552, "19.99"),
]


class Command(BaseCommand):
    help = "Loads shop_b's demo catalogue (idempotent) and --extra N generated books."

    def add_arguments(self, parser):
        parser.add_argument("--extra", type=int, default=0, help="Generated books to add.")

    @transaction.atomic
    def handle(self, *args, extra, **options):
        for pk, name in AUTHORS.items():
            Author.objects.update_or_create(pk=pk, defaults={"name": name})
        for pk, (title, author, price, published) in enumerate(BOOKS, start=1):
            Book.objects.update_or_create(
                pk=pk,
                defaults={
                    "title": title,
                    "author_id": author,
                    "price": price,
                    "published": published,
                },
            )
        for pk, (title, author, narrator, minutes, price) in enumerate(AUDIOBOOKS, start=1):
            Audiobook.objects.update_or_create(
                pk=pk,
                defaults={
                    "title": title,
                    "author_id": author,
                    "narrator": narrator,
                    "duration_minutes": minutes,
                    "price": price,
                },
            )
        start = len(BOOKS) + 1
        existing = set(Book.objects.filter(pk__gte=start).values_list("pk", flat=True))
        Book.objects.bulk_create(
            Book(pk=pk, title=f"Shop B Volume {pk}", author_id=pk % 4 + 1, price="5.00")
            for pk in range(start, start + extra)
            if pk not in existing
        )
        self.stdout.write(
            f"shop_b: {Author.objects.count()} authors, {Book.objects.count()} books, "
            f"{Audiobook.objects.count()} audiobooks."
        )
