"""``.. graphql-error-codes::``: the ``extensions.code`` values emitted, with their meaning.

The meanings are written in the directive's content, one entry per code::

    .. graphql-error-codes::
       :kind: code

       BAD_REQUEST: What it means (continuation lines indented).

The codes themselves are read from the packages' source: every dict with a
``"code"`` key (``{"code": "UNAUTHENTICATED"}``, ``extensions={"code": COST_LIMIT}``,
``f"HTTP_{status}"`` as ``HTTP_<status>``) for ``:kind: code``, and the reasons of
``graphql_gateway.errors.REMOTE_REASONS`` with its fallback for ``:kind: reason``.
A code the source emits and the page does not explain, or a code the page
explains and the source no longer emits, is a warning.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging

from federation_docs.util import GeneratedDirective, indent, module_name, package_files

logger = logging.getLogger(__name__)

#: Where the public reasons of a remote failure are listed, and the module emitting them.
REASONS = "graphql_gateway.errors"


def emitted_codes() -> dict[str, set[str]]:
    """Every ``extensions.code`` the source emits, with the modules emitting it."""
    found: dict[str, set[str]] = {}
    for path in package_files():
        module = module_name(path)
        tree = ast.parse(path.read_text())
        bound = _bindings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "code":
                        for code in _codes(value, bound):
                            found.setdefault(code, set()).add(module)
    return found


def remote_reasons() -> dict[str, set[str]]:
    """The ``reason`` values of a ``REMOTE_UNAVAILABLE`` error."""
    module = importlib.import_module(REASONS)
    reasons = {reason for _, reason in module.REMOTE_REASONS}
    # The fallback is the default of the ``next()`` that picks the reason.
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "next":
            reasons |= {a.value for a in node.args[1:] if isinstance(a, ast.Constant)}
    return {reason: {REASONS} for reason in reasons}


def _bindings(tree: ast.Module) -> dict[str, list[ast.AST]]:
    """What each name is assigned, anywhere in the module (a constant, a local)."""
    result: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    result.setdefault(target.id, []).append(node.value)
    return result


def _codes(value: ast.AST, bound: dict[str, list[ast.AST]], depth: int = 0) -> set[str]:
    """The strings an expression may be: constants, names followed, both branches of an if."""
    if depth > 5:
        return set()
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return {value.value}
    if isinstance(value, ast.Name):
        return {c for v in bound.get(value.id, []) for c in _codes(v, bound, depth + 1)}
    if isinstance(value, ast.IfExp):
        return _codes(value.body, bound, depth + 1) | _codes(value.orelse, bound, depth + 1)
    if isinstance(value, ast.JoinedStr):
        return {
            "".join(
                str(part.value)
                if isinstance(part, ast.Constant)
                else f"<{ast.unparse(part.value)}>"
                for part in value.values
            )
        }
    return set()


def parse_entries(content: list[str]) -> dict[str, str]:
    """``CODE: meaning`` entries, continuation lines indented."""
    entries: dict[str, str] = {}
    current = None
    for line in content:
        if line and not line[0].isspace():
            current, _, text = line.partition(":")
            entries[current.strip()] = text.strip()
        elif line.strip() and current is not None:
            entries[current] += " " + line.strip()
    return entries


class GraphQLErrorCodes(GeneratedDirective):
    """List error codes with their meaning, checked against the source."""

    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        "kind": lambda arg: directives.choice(arg, ("code", "reason")),
    }

    def run(self) -> list[nodes.Node]:
        kind = self.options.get("kind", "code")
        emitted = emitted_codes() if kind == "code" else remote_reasons()
        for path in package_files():
            self.env.note_dependency(str(path))
        entries = parse_entries(list(self.content))
        for code in sorted(set(emitted) - set(entries)):
            logger.warning(
                "the %s %s (emitted in %s) is not explained here",
                kind,
                code,
                ", ".join(sorted(emitted[code])),
                location=self.get_location(),
            )
        for code in sorted(set(entries) - set(emitted)):
            logger.warning("the %s %s is emitted nowhere", kind, code, location=self.get_location())
        lines: list[str] = []
        for code, meaning in entries.items():
            where = ", ".join(f"``{m}``" for m in sorted(emitted.get(code, ())))
            lines += [f".. graphql-error:: {code}", "", indent(meaning), ""]
            if where:
                lines += [indent(f"Emitted by {where}."), ""]
        return self.parse_lines(lines)


def setup(app: Sphinx) -> None:
    app.add_object_type("graphql-error", "graphql-error", indextemplate="pair: %s; GraphQL error")
    app.add_directive("graphql-error-codes", GraphQLErrorCodes)
