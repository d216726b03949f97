"""Load shop_a's demo catalogue; running it again changes nothing."""

from django.core.management import BaseCommand
from django.db import transaction

from authors.models import Author
from books.models import Book

#: The shared authors: the same rows, with the same ids, in every shop.
AUTHORS = {1: "Ursula K. Le Guin", 2: "Frank Herbert", 3: "Octavia E. Butler", 4: "Ted Chiang"}

BOOKS = [
    # (title, author id, price): Dune is in shop_b too, at another price.
    ("Dune", 2, "9.99"),
    ("The Dispossessed", 1, "12.50"),
    ("Kindred", 3, "11.00"),
]


class Command(BaseCommand):
    help = "Loads shop_a's demo catalogue (idempotent) and --extra N generated books."

    def add_arguments(self, parser):
        parser.add_argument("--extra", type=int, default=0, help="Generated books to add.")

    @transaction.atomic
    def handle(self, *args, extra, **options):
        for pk, name in AUTHORS.items():
            Author.objects.update_or_create(pk=pk, defaults={"name": name})
        for pk, (title, author, price) in enumerate(BOOKS, start=1):
            Book.objects.update_or_create(
                pk=pk, defaults={"title": title, "author_id": author, "price": price}
            )
        start = len(BOOKS) + 1
        existing = set(Book.objects.filter(pk__gte=start).values_list("pk", flat=True))
        Book.objects.bulk_create(
            Book(pk=pk, title=f"Shop A Volume {pk}", author_id=pk % 4 + 1, price="6.00")
            for pk in range(start, start + extra)
            if pk not in existing
        )
        self.stdout.write(
            f"shop_a: {Author.objects.count()} authors, {Book.objects.count()} books."
        )
