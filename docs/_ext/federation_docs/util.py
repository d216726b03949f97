"""Helpers of the reference directives: parsing generated reST, reading ``#:`` comments."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterable
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

import federated_fk

#: Where the packages are read from: the directory holding the imported ``federated_fk``.
ROOT = Path(federated_fk.__file__).resolve().parent.parent
PACKAGES = ("federated_fk", "graphql_gateway")


class GeneratedDirective(SphinxDirective):
    """A directive that writes reST lines and parses them in place."""

    def parse_lines(self, lines: Iterable[str]) -> list[nodes.Node]:
        source = self.get_source_info()[0]
        content = StringList()
        for line in lines:
            for part in line.split("\n"):
                content.append(part, source)
        # Generated text may hold section titles (a module per section).
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, content, container)
        return list(container.children)


def comments_before(source: str) -> dict[int, list[str]]:
    """Map each line number to the ``#:`` comment lines right above it."""
    lines = source.splitlines()
    found: dict[int, list[str]] = {}
    for number in range(1, len(lines) + 1):
        block: list[str] = []
        index = number - 2
        while index >= 0 and lines[index].strip().startswith("#:"):
            block.insert(0, lines[index].strip()[2:].strip())
            index -= 1
        if block:
            found[number] = block
    return found


def module_comments(module: object) -> dict[str, str]:
    """Return each module-level name's ``#:`` comment, joined into one paragraph."""
    source = inspect.getsource(module)  # type: ignore[arg-type]
    comments = comments_before(source)
    result: dict[str, str] = {}
    for node in ast.parse(source).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        for target in targets:
            if isinstance(target, ast.Name) and node.lineno in comments:
                result[target.id] = " ".join(comments[node.lineno])
    return result


def package_files() -> list[Path]:
    """Every Python file of the two packages, migrations left out, in a stable order."""
    files = []
    for package in PACKAGES:
        files += [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def indent(text: str, prefix: str = "   ") -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def literal(value: str) -> str:
    """``value`` as inline literal reST (backquotes cannot be escaped inside one)."""
    return f"``{value}``" if "`" not in value else f":code:`{re.sub(r'`', '', value)}`"
