"""``.. federation-checks::``: every system check id of the packages, with its message and hint.

The ids are read from the source, not from running the checks (most only fire
on a broken project): each ``checks.Error``/``Warning``/... call with an
``id=``, and each call of a helper (``_error(msg, ..., "E501")``) given a bare
id, with the message and hint of that call. A message built at run time shows
its expressions as ``<name>``. ``tests/test_docs.py`` checks the page against
a plain text search of the source, so that an id this reader misses fails.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from sphinx.application import Sphinx

from federation_docs.util import GeneratedDirective, indent, module_name, package_files

#: A check id, bare ("E501", given to a helper) or full ("federated_fk.E001").
ID = re.compile(r"^(?:(federated_fk|graphql_gateway)\.)?([EWCI]\d{3})$")
LEVELS = {"E": "Error", "W": "Warning", "C": "Critical", "I": "Info"}
CHECK_CLASSES = {"Error", "Warning", "Critical", "Info", "CheckMessage"}


@dataclass(frozen=True)
class Check:
    id: str
    message: str
    hint: str
    module: str

    @property
    def level(self) -> str:
        return LEVELS[self.id.rpartition(".")[2][0]]


def text_of(node: ast.AST | None, names: dict[str, str]) -> str:
    """The string an expression builds, its run-time parts as ``<name>``.

    :param names: the module's string constants (an imported hint, a project name)
    """
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute) and ast.unparse(node) in names:
        return names[ast.unparse(node)]
    if isinstance(node, ast.JoinedStr):
        return "".join(_part(part, names) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return text_of(node.left, names) + text_of(node.right, names)
    return f"<{_short(node)}>"


def _part(part: ast.AST, names: dict[str, str]) -> str:
    if isinstance(part, ast.Constant):
        return str(part.value)
    assert isinstance(part, ast.FormattedValue)
    value = part.value
    if isinstance(value, ast.Name | ast.Attribute) and ast.unparse(value) in names:
        text = names[ast.unparse(value)]
        return repr(text) if part.conversion == ord("r") else text
    return f"<{_short(value)}>"


def _short(node: ast.AST) -> str:
    """A readable name for a run-time value: the last name of an attribute chain."""
    names = re.findall(r"[A-Za-z_]\w*", ast.unparse(node))
    return names[-1] if names else "value"


def _id_of(node: ast.AST, package: str) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        match = ID.match(node.value)
        if match:
            return f"{match.group(1) or package}.{match.group(2)}"
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def checks_in(path: Path) -> list[Check]:
    """Every check id of one file, with the message and hint of its call."""
    module = module_name(path)
    package = module.partition(".")[0]
    tree = ast.parse(path.read_text())
    constants = _module_strings(module)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found += _from_call(node, package, module, constants)
        elif isinstance(node, ast.For):
            found += _from_loop(node, package, module, constants)
    return found


def _module_strings(module: str) -> dict[str, str]:
    """The strings the module's globals name, by dotted name (``conf.SHARED_PROJECT``).

    Hints shared by several checks and project names are constants: showing
    their value reads better than their name.
    """
    found: dict[str, str] = {}
    for name, value in vars(importlib.import_module(module)).items():
        if isinstance(value, str):
            found[name] = value
        elif inspect.ismodule(value):
            for attr, inner in vars(value).items():
                if isinstance(inner, str) and attr.isupper():
                    found[f"{name}.{attr}"] = inner
    return found


def _hint(call: ast.Call, constants: dict[str, str]) -> str:
    for keyword in call.keywords:
        if keyword.arg == "hint":
            return text_of(keyword.value, constants)
    # A helper's string argument after the message and id is its hint
    # (``self._error(msg, "E306", hint)``).
    for arg in call.args[2:]:
        if isinstance(arg, ast.Constant | ast.JoinedStr) and not _is_id(arg):
            return text_of(arg, constants)
        if isinstance(arg, ast.Name) and arg.id in constants:
            return constants[arg.id]
    return ""


def _is_id(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and bool(ID.match(str(node.value)))


def _from_call(call: ast.Call, package: str, module: str, constants: dict[str, str]) -> list[Check]:
    ids = [_id_of(k.value, package) for k in call.keywords if k.arg == "id"]
    if not ids and _call_name(call) not in CHECK_CLASSES:
        ids = [_id_of(arg, package) for arg in call.args]
    message = text_of(call.args[0], constants) if call.args else ""
    return [Check(i, message, _hint(call, constants), module) for i in ids if i]


def _from_loop(loop: ast.For, package: str, module: str, constants: dict[str, str]) -> list[Check]:
    """Ids listed in a loop's tuples (``for attr, id_ in (("ct_field", "E502"), ...)``).

    The message is that of the call in the loop given the id's loop variable.
    """
    if not isinstance(loop.iter, ast.Tuple | ast.List) or not isinstance(loop.target, ast.Tuple):
        return []
    found = []
    for item in loop.iter.elts:
        for position, element in enumerate(getattr(item, "elts", [])):
            check_id = _id_of(element, package)
            variable = loop.target.elts[position] if position < len(loop.target.elts) else None
            call = _call_given(loop, variable)
            if check_id and call is not None:
                message = text_of(call.args[0], constants)
                found.append(Check(check_id, message, _hint(call, constants), module))
    return found


def _call_given(loop: ast.For, variable: ast.AST | None) -> ast.Call | None:
    if not isinstance(variable, ast.Name):
        return None
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and any(
            isinstance(arg, ast.Name) and arg.id == variable.id for arg in node.args
        ):
            return node
    return None


def all_checks() -> list[Check]:
    """Every check of the packages, by id (an id used twice is listed twice)."""
    found = [check for path in package_files() for check in checks_in(path)]
    return sorted(set(found), key=lambda c: (c.id, c.module, c.message))


class FederationChecks(GeneratedDirective):
    """List every system check id: ``.. federation-checks::``."""

    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        for path in package_files():
            self.env.note_dependency(str(path))
        lines: list[str] = []
        by_id: dict[str, list[Check]] = {}
        for check in all_checks():
            by_id.setdefault(check.id, []).append(check)
        if not by_id:
            raise self.error("no system check found in the packages' source")
        # An id raised in several places (one check, several messages) is one entry.
        for check_id, found in by_id.items():
            lines += [f".. check:: {check_id}", ""]
            for check in found:
                text = f"**{check.level}** (``{check.module}``): {_rst(check.message)}"
                lines += [indent(text), ""]
                if check.hint:
                    lines += [indent(f"Hint: {_rst(check.hint)}"), ""]
        return self.parse_lines(lines)


def _rst(text: str) -> str:
    """Plain text as reST: markup characters escaped, ``<name>`` parts in italics.

    The escaped spaces around the emphasis let it touch any character
    (``<where>['model']``).
    """
    escaped = re.sub(r"([\\*`_|])", r"\\\1", text)
    return re.sub(r"<((?:\w|\\_)+)>", lambda m: f"\\ *{m.group(1)}*\\ ", escaped)


def setup(app: Sphinx) -> None:
    app.add_object_type("check", "check", indextemplate="pair: %s; system check", objname="check")
    app.add_directive("federation-checks", FederationChecks)
