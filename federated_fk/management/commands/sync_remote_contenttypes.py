"""Create or update the GenericContentType rows of remote projects from their SDL."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from django.core.management import BaseCommand, CommandError, CommandParser
from django.db import transaction

from federated_fk import conf
from federated_fk.exceptions import FederationError, redact_remote_text
from federated_fk.models import GenericContentType
from federated_fk.remote.client import fetch_sdl
from federated_fk.sdl import InvalidSchema, RemoteEntity, entities


class Command(BaseCommand):
    help = (
        "Reads each remote project's subgraph SDL (_service { sdl }), creates or "
        "updates its generic content types, and stores the SDL under the schema folder."
    )
    #: 0 writes nothing; 1 (the default) says what was read, changed and stored.
    verbosity = 1

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "projects",
            nargs="*",
            help="Remote projects to read (default: every project in FEDERATION['PROJECTS']).",
        )
        parser.add_argument(
            "--schema-dir",
            help="Where to store <project>.graphql (default: FEDERATION['SCHEMA_DIR']).",
        )

    def handle(
        self, *args: Any, projects: list[str], schema_dir: str | None, **options: Any
    ) -> None:
        self.verbosity = options.get("verbosity", 1)
        projects = projects or sorted(conf.federation_settings()["PROJECTS"])
        if not projects:
            raise CommandError("No remote projects: FEDERATION['PROJECTS'] is empty.")
        folder = Path(schema_dir or conf.federation_settings()["SCHEMA_DIR"])
        # Every project is read and checked before anything is written: a bad
        # schema leaves the stored files and the content types as they were.
        read = [(project, *self.read(project)) for project in projects]
        with transaction.atomic():
            for project, sdl, remote in read:
                path = folder / f"{project}.graphql"
                self.sync(project, remote)
                replace_file(path, sdl.rstrip() + "\n")
                self.say(f"{project}: stored the schema in {path}")

    def say(self, text: str) -> None:
        """Report what was done: with ``--verbosity 0``, nothing is written."""
        if self.verbosity >= 1:
            self.stdout.write(text)

    def read(self, project: str) -> tuple[str, list[RemoteEntity]]:
        """Return the SDL of ``project`` and its entity types; raise CommandError if unusable."""
        if conf.is_local_project(project):
            raise CommandError(f"{project!r} is a local project; it has no remote schema.")
        try:
            sdl = fetch_sdl(project)
            if not isinstance(sdl, str):
                raise InvalidSchema(project, ["_service { sdl } is not a string"])
            remote = entities(
                sdl,
                project,
                max_types=conf.federation_settings()["MAX_REMOTE_TYPES"],
                max_lengths=_max_lengths(),
            )
        except FederationError as exc:
            # The message may quote the remote (its errors, its SDL).
            raise CommandError(redact_remote_text(exc)) from None
        self.say(f"{project}: read the schema, {len(remote)} entity types")
        return sdl, remote

    def sync(self, project: str, remote: list[RemoteEntity]) -> None:
        existing = {
            (ct.app_label, ct.model): ct
            for ct in GenericContentType.objects.filter(project=project)
        }
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for entity in remote:
            wanted = {
                "type_name": entity.type_name,
                "pk_type": entity.pk_type,
                "fields": list(entity.fields),
                "listable": entity.listable,
                "field_types": dict(entity.field_types),
                "relations": {name: rel.as_json() for name, rel in entity.relations},
                "queryable": entity.queryable.as_json() if entity.queryable else {},
                "in_schema": True,
            }
            ct = existing.pop((entity.app_label, entity.model), None)
            label = f"{project} | {entity.app_label}.{entity.model} ({entity.type_name})"
            if ct is None:
                GenericContentType.objects.create(
                    project=project, app_label=entity.app_label, model=entity.model, **wanted
                )
                counts["created"] += 1
                self.say(f"  created {label}: {', '.join(entity.fields)}")
                continue
            changed = [name for name, value in wanted.items() if getattr(ct, name) != value]
            if changed:
                for name in changed:
                    setattr(ct, name, wanted[name])
                ct.save(update_fields=changed)
                counts["updated"] += 1
                self.say(f"  updated {label}: {', '.join(changed)}")
            else:
                counts["unchanged"] += 1
                self.say(f"  unchanged {label}")
        for ct in existing.values():
            if ct.in_schema:
                ct.in_schema = False
                ct.save(update_fields=["in_schema"])
                why = "no longer in the schema: its objects are not fetched any more"
            else:
                why = "not in the schema: the remote does not expose this model"
            self.say(
                f"  left alone {project} | {ct.app_label}.{ct.model}: {why} "
                "(remove it by hand once nothing references it)"
            )
        GenericContentType.objects.clear_cache()
        self.say(
            f"{project}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {len(existing)} left alone."
        )


def _max_lengths() -> dict[str, int]:
    """The longest value each column of GenericContentType takes (SQLite does not check)."""
    names = ("type_name", "app_label", "model")
    return {name: GenericContentType._meta.get_field(name).max_length for name in names}


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a schema is no secret: the
        # stored file's mode, or the one a new file gets under the umask.
        os.chmod(handle, _file_mode(path))
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """The mode of ``path`` if it exists, else the mode ``open()`` would give a new file.

    The umask is read from ``/proc`` where there is one: setting it to read it
    back would change it, for a moment, for every thread of the process.
    """
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        pass
    try:
        status = Path("/proc/self/status").read_text()
        umask = int(
            next(line.split()[1] for line in status.splitlines() if line.startswith("Umask:")), 8
        )
    except (OSError, StopIteration, ValueError, IndexError):
        umask = 0o022  # the common default
    return 0o666 & ~umask
