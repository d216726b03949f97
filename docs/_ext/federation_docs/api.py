"""``.. public-api::``: autodoc of every public module, name by name from its ``__all__``.

The modules are ``PUBLIC_MODULES`` below; ``tests/test_docs.py`` checks that
they are those of the table in "The public API" section of
``docs/explanation/architecture.md``, which ``tests/test_architecture.py`` reads.
A name several public modules export (``FederatedManyToManyField`` from
``federated_fk.fields`` and ``federated_fk.fields.many_to_many``) is documented
once, where it is first listed, and linked from the others.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, ClassVar

from docutils import nodes
from sphinx.application import Sphinx

from federation_docs.util import GeneratedDirective

#: The public modules, in the order of the table on the architecture page.
PUBLIC_MODULES = (
    "federated_fk.models",
    "federated_fk.fields",
    "federated_fk.fields.many_to_many",
    "federated_fk.deferred",
    "federated_fk.prefetch",
    "federated_fk.partial",
    "federated_fk.changes.signals",
    "federated_fk.changes.sources",
    "federated_fk.changes.redis_stream",
    "federated_fk.changes.follower",
    "federated_fk.remote",
    "federated_fk.exceptions",
    "federated_fk.conf",
    "federated_fk.scalars",
    "federated_fk.subgraph",
    "federated_fk.asgi",
    "federated_fk.admin",
    "federated_fk.forms",
    "federated_fk.views",
    "federated_fk.observability",
    "federated_fk.testing",
    "federated_fk.debug_toolbar",
    "graphql_gateway.schema",
    "graphql_gateway.conf",
    "graphql_gateway.paging",
)


def documenter(value: Any) -> str:
    """The autodoc directive for a public value."""
    if inspect.isclass(value):
        return "autoexception" if issubclass(value, BaseException) else "autoclass"
    if inspect.isroutine(value) or callable(value):
        # Functions, and functions wrapped by functools.cache.
        return "autofunction"
    return "autodata"


class PublicApi(GeneratedDirective):
    """Document the public modules: ``.. public-api::`` (one section per module)."""

    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        first: dict[int, str] = {}
        lines: list[str] = []
        for name in PUBLIC_MODULES:
            module = importlib.import_module(name)
            self.env.note_dependency(inspect.getsourcefile(module))
            lines += [name, "-" * len(name), "", f".. py:module:: {name}", ""]
            doc = inspect.getdoc(module)
            if doc:
                lines += [doc, ""]
            for public in module.__all__:
                lines += self.member_lines(name, public, getattr(module, public), first)
        return self.parse_lines(lines)

    def member_lines(self, module: str, name: str, value: Any, first: dict[int, str]) -> list[str]:
        key = id(value)
        if not isinstance(value, str | int | float) and key in first:
            role = (
                "py:exc"
                if inspect.isclass(value) and issubclass(value, BaseException)
                else ("py:class" if inspect.isclass(value) else "py:obj")
            )
            return [f"``{name}``: the same as :{role}:`{first[key]}`.", ""]
        first.setdefault(key, f"{module}.{name}")
        kind = documenter(value)
        lines = [f".. {kind}:: {module}::{name}"]
        if kind == "autodata":
            lines.append("   :no-value:")
        return [*lines, ""]


def drop_class_docstrings(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Show no docstring for a value that has none of its own (a signal without ``#:``).

    autodoc falls back on the docstring of the value's class, which describes
    the class (Django's ``Signal``), not this value.
    """
    if what == "data" and lines:
        own = inspect.getdoc(type(obj)) or ""
        if "\n".join(lines).strip() == inspect.cleandoc(own).strip():
            lines.clear()


def setup(app: Sphinx) -> None:
    app.setup_extension("sphinx.ext.autodoc")
    app.add_directive("public-api", PublicApi)
    app.connect("autodoc-process-docstring", drop_class_docstrings)
