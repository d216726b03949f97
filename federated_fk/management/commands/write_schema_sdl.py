"""Write a strawberry schema's SDL to a file, or check that the file is current."""

from __future__ import annotations

import asyncio
import difflib
from pathlib import Path
from typing import Any

import strawberry
from django.core.management import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string


def schema_sdl(schema: strawberry.Schema) -> str:
    """Return the SDL other services see: ``_service { sdl }`` for a subgraph."""
    if isinstance(schema, strawberry.federation.Schema):
        result = asyncio.run(schema.execute("{ _service { sdl } }"))
        if result.errors:
            raise CommandError(f"The schema cannot print its SDL: {result.errors[0]}")
        sdl = result.data["_service"]["sdl"]
    else:
        sdl = schema.as_str()
    return sdl.rstrip() + "\n"


class Command(BaseCommand):
    help = (
        "Writes the SDL of a strawberry schema (dotted path) to a file; with --check, "
        "fails if the file differs, so that code and committed SDL cannot drift apart."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schema", help="Dotted path of the schema, e.g. shop_b.graphql.schema")
        parser.add_argument("output", help="The .graphql file, e.g. ../schema/shop_b.graphql")
        parser.add_argument("--check", action="store_true", help="Compare instead of writing.")

    def handle(self, *args: Any, schema: str, output: str, check: bool, **options: Any) -> None:
        try:
            sdl = schema_sdl(import_string(schema))
        except ImportError as exc:
            raise CommandError(f"Cannot import the schema {schema!r}: {exc}") from None
        path = Path(output)
        if check:
            current = path.read_text() if path.exists() else ""
            if current != sdl:
                diff = "".join(
                    difflib.unified_diff(
                        current.splitlines(True), sdl.splitlines(True), str(path), schema
                    )
                )
                raise CommandError(
                    f"{path} is not the SDL of {schema}; rewrite it with: manage.py "
                    f"write_schema_sdl {schema} {output}\n{diff}"
                )
            self.stdout.write(f"{path} is the SDL of {schema}.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sdl)
        self.stdout.write(f"Wrote the SDL of {schema} to {path}.")
