"""Create a Reference for every book this shop can see, here and in remote shops."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from django.core.management import BaseCommand, CommandError
from django.db import transaction

from federated_fk.exceptions import FederationError
from federated_fk.models import GenericContentType

from books.models import Book, Reference


class Command(BaseCommand):
    help = (
        "Creates a Reference for every local book and every object of the listable "
        "remote types, page by page. Running it again creates only what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--page-size", type=int, default=500, help="Ids per page.")

    def handle(self, *args, page_size, **options):
        self.verbosity = options["verbosity"]
        ct = GenericContentType.objects.get_for_model(Book)
        ids = Book.objects.order_by("pk").values_list("pk", flat=True)
        total = ids.count()
        pages = (
            [str(pk) for pk in ids[offset : offset + page_size]]
            for offset in range(0, total, page_size)
        )
        self.reference("shop_a Book", ct, pages, total)
        listable = GenericContentType.objects.filter(listable=True)
        for ct in listable.order_by("project", "type_name"):
            if not ct.is_remote:
                continue
            try:
                self.reference_remote(ct, page_size)
            except FederationError as exc:
                raise CommandError(f"{ct.project} {ct.type_name}: {exc}") from None

    def reference_remote(self, ct: GenericContentType, page_size: int) -> None:
        manager = ct.model_class()._default_manager
        first, total = manager.page_ids(0, page_size)

        def pages() -> Iterable[list[str]]:
            yield [str(pk) for pk in first]
            for offset in range(page_size, total, page_size):
                yield [str(pk) for pk in manager.page_ids(offset, page_size)[0]]

        self.reference(f"{ct.project} {ct.type_name}", ct, pages(), total)

    def reference(
        self, label: str, ct: GenericContentType, pages: Iterable[list[str]], total: int
    ) -> None:
        seen = created = 0
        for page in pages:
            with transaction.atomic():
                existing = set(
                    Reference.objects.filter(content_type=ct, object_id__in=page).values_list(
                        "object_id", flat=True
                    )
                )
                new = [
                    Reference(content_type=ct, object_id=pk) for pk in page if pk not in existing
                ]
                Reference.objects.bulk_create(new)
            seen += len(page)
            created += len(new)
            self.progress(label, seen, total)
        if self.verbosity >= 1:
            self.stdout.write(
                f"{label}: {seen} seen, {created} references created, "
                f"{seen - created} already there."
            )

    def progress(self, label: str, done: int, total: int) -> None:
        """Draw a progress bar on a terminal; the summary line replaces it."""
        if self.verbosity < 1 or not sys.stderr.isatty():
            return
        if done >= total:
            sys.stderr.write("\r\033[K")
            return
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()
