from django.core.management import BaseCommand

from tests.remoteshop.models import Audiobook, Book, Gadget, gadget_id


class Command(BaseCommand):
    help = "Fill the remote shop: books 1..N (every 100th unpublished), audiobooks, gadgets."

    def add_arguments(self, parser):
        parser.add_argument("--books", type=int, default=100)
        parser.add_argument("--audiobooks", type=int, default=10)
        parser.add_argument("--gadgets", type=int, default=10)
        parser.add_argument("--label", default="Remote")

    def handle(self, books, audiobooks, gadgets, label, **options):
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
        self.stdout.write(f"Seeded {books} books, {audiobooks} audiobooks, {gadgets} gadgets.")
