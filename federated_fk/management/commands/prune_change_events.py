"""Delete the change events older than the retention; followers behind it reconcile."""

from __future__ import annotations

from typing import Any

from django.core.management import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from federated_fk import conf
from federated_fk.changes.feed import prune


class Command(BaseCommand):
    help = (
        "Deletes the outbox's change events older than FEDERATION['CHANGES']['RETENTION'] "
        "seconds (or --retention), and records how far the feed was pruned: a follower "
        "whose cursor is older is told, and reconciles in full. Exit status: 0 done, "
        "1 the database failed (nothing was deleted)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--retention",
            type=float,
            default=None,
            help="Keep the events of the last RETENTION seconds (default: the setting).",
        )
        parser.add_argument("--database", default=None, help="The database (default: routed).")

    def handle(self, *args: Any, retention: float | None, database: str | None, **options: Any):
        if retention is None:
            retention = conf.change_settings()["RETENTION"]
        if retention < 0:
            raise CommandError("--retention must be 0 or more seconds.")
        try:
            deleted, horizon = prune(retention, using=database)
        except DatabaseError as error:
            raise CommandError(f"Nothing was pruned: {error}") from error
        if options["verbosity"] >= 1:
            where = f"the feed now starts after {horizon}" if horizon else "nothing was ever pruned"
            self.stdout.write(
                f"Deleted {deleted} change event(s) older than {retention:g} s; {where}."
            )
