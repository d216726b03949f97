"""``.. federation-settings::``: every key of a settings TypedDict, with its comment and default.

The keys, their types and their ``#:`` comments are read from the TypedDict's
source; the defaults from the defaults dict. A key without a comment shares
the comment of the key above it (``RETRIES`` and ``RETRY_BACKOFF``). A key of
the defaults that the TypedDict lacks, a key without any comment, or a
settings TypedDict of a ``conf`` module that no page documents is a warning.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from typing import Any, ClassVar

from django.utils.module_loading import import_string
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from federation_docs.util import GeneratedDirective, comments_before, indent, literal

logger = logging.getLogger(__name__)

#: The modules whose TypedDicts are settings; each must be documented somewhere.
CONF_MODULES = ("federated_fk.conf", "graphql_gateway.conf")


def typed_dict_keys(cls: type) -> list[tuple[str, str, list[str]]]:
    """Return ``(key, annotation, comment lines)`` of a TypedDict, in source order."""
    source = inspect.getsource(cls)
    comments = comments_before(source)
    (definition,) = ast.parse(source).body
    assert isinstance(definition, ast.ClassDef)
    keys = []
    for node in definition.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            keys.append(
                (node.target.id, ast.unparse(node.annotation), comments.get(node.lineno, []))
            )
    return keys


def groups(cls: type) -> list[tuple[list[tuple[str, str]], list[str]]]:
    """The keys grouped under the comment that describes them."""
    result: list[tuple[list[tuple[str, str]], list[str]]] = []
    for key, annotation, comment in typed_dict_keys(cls):
        if comment or not result:
            result.append(([(key, annotation)], comment))
        else:
            result[-1][0].append((key, annotation))
    return result


def is_settings_dict(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, dict) and hasattr(value, "__total__")


class FederationSettings(GeneratedDirective):
    """Document one settings TypedDict: ``.. federation-settings:: dotted.path``."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {
        "defaults": directives.unchanged_required,
        "prefix": directives.unchanged_required,
    }

    def run(self) -> list[nodes.Node]:
        path = self.arguments[0]
        cls = import_string(path)
        defaults = import_string(self.options["defaults"]) if "defaults" in self.options else {}
        prefix = self.options["prefix"]
        self.env.note_dependency(inspect.getsourcefile(cls))
        self.env.federation_settings_documented = getattr(  # type: ignore[attr-defined]
            self.env, "federation_settings_documented", set()
        ) | {path}
        keys = {key for key, _, _ in typed_dict_keys(cls)}
        for extra in sorted(set(defaults) - keys):
            logger.warning(
                "%s has a default for %r, which %s does not declare",
                self.options["defaults"],
                extra,
                path,
                location=self.get_location(),
            )
        return self.parse_lines(self.lines(cls, defaults, prefix))

    def lines(self, cls: type, defaults: dict[str, Any], prefix: str) -> list[str]:
        lines = [inspect.cleandoc(cls.__doc__ or ""), ""] if cls.__doc__ else []
        for keys, comment in groups(cls):
            if not comment:
                logger.warning(
                    "%s.%s has no #: comment",
                    cls.__name__,
                    keys[0][0],
                    location=self.get_location(),
                )
            names = [f"{prefix}.{key}" for key, _ in keys]
            lines.append(f".. setting:: {names[0]}")
            lines += [f"               {name}" for name in names[1:]]
            lines += ["", indent(" ".join(comment)), ""]
            for key, annotation in keys:
                default = literal(repr(defaults[key])) if key in defaults else "none: required"
                label = f"{literal(key)}: " if len(keys) > 1 else ""
                lines.append(f"   | {label}type {literal(annotation)}, default {default}")
            lines.append("")
        return lines


def check_all_documented(app: Sphinx, env: BuildEnvironment) -> None:
    documented = getattr(env, "federation_settings_documented", set())
    if not documented:
        return  # a site without a settings reference (the extension's own tests)
    for module_path in CONF_MODULES:
        module = importlib.import_module(module_path)
        for name, value in vars(module).items():
            if is_settings_dict(value) and value.__module__ == module_path:
                if f"{module_path}.{name}" not in documented:
                    logger.warning("the settings TypedDict %s.%s is on no page", module_path, name)


def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    env.federation_settings_documented = getattr(  # type: ignore[attr-defined]
        env, "federation_settings_documented", set()
    ) | getattr(other, "federation_settings_documented", set())


def setup(app: Sphinx) -> None:
    app.add_object_type("setting", "setting", indextemplate="pair: %s; setting", objname="setting")
    app.add_directive("federation-settings", FederationSettings)
    app.connect("env-check-consistency", check_all_documented)
    app.connect("env-merge-info", merge)
