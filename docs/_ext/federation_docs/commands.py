"""``.. federation-commands::``: every management command, from its own parser.

For each command of the ``federated_fk`` and ``graphql_gateway`` apps: its
module docstring, its ``help``, its usage and arguments as ``manage.py``
parses them (Django's common options listed once), and its exit statuses: 0,
the module's ``EXIT_*`` constants with their ``#:`` comments, 1 for any other
``CommandError`` and 2 for arguments the parser refuses. A command whose
argument has no help is a warning.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
from typing import Any, ClassVar

from django.core.management import BaseCommand, get_commands, load_command_class
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from federation_docs.util import GeneratedDirective, indent, literal, module_comments

logger = logging.getLogger(__name__)

APPS = ("federated_fk", "graphql_gateway")


def commands() -> list[tuple[str, str]]:
    """``(app, command)`` of every command the two apps define, by name."""
    return sorted((app, name) for name, app in get_commands().items() if app in APPS)


def common_options() -> set[str]:
    """The ``dest`` of every option Django gives each command."""
    parser = BaseCommand().create_parser("manage.py", "command")
    return {action.dest for action in parser._actions}


def exit_statuses(module: Any) -> list[tuple[int, str]]:
    """The command's documented exit statuses, 0 first."""
    comments = module_comments(module)
    statuses = {0: "Success."}
    for name, value in vars(module).items():
        if name.startswith("EXIT_") and isinstance(value, int):
            statuses[value] = comments.get(name, "").removeprefix("The exit status ")
            statuses[value] = statuses[value][:1].upper() + statuses[value][1:]
    statuses.setdefault(1, "An error (``CommandError``), said on standard error.")
    statuses.setdefault(2, "Arguments the parser refuses (a usage error).")
    return sorted(statuses.items())


class FederationCommands(GeneratedDirective):
    """Document every management command: ``.. federation-commands::``."""

    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        common = common_options()
        lines: list[str] = []
        for app, name in commands():
            lines += self.command_lines(app, name, common)
        return self.parse_lines(lines)

    def command_lines(self, app: str, name: str, common: set[str]) -> list[str]:
        command = load_command_class(app, name)
        module = importlib.import_module(type(command).__module__)
        self.env.note_dependency(inspect.getsourcefile(module))
        parser = command.create_parser("manage.py", name)
        for action in parser._actions:
            if action.dest == "database":
                # Its choices are the build's DATABASES, not a project's.
                action.choices, action.metavar = None, "DATABASE"
        lines = [f".. command:: {name}", ""]
        lines += [indent(inspect.cleandoc(module.__doc__ or "")), ""]
        lines += [indent(_escape(str(command.help))), "", "   ::", ""]
        lines += [indent(_usage(parser, common), " " * 6), ""]
        lines += ["   **Arguments**", ""]
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.dest in common or action.help == argparse.SUPPRESS:
                continue
            lines += self.action_lines(name, action, formatter)
        lines += ["   **Exit statuses**", ""]
        for status, meaning in exit_statuses(module):
            lines += [f"   ``{status}``", indent(meaning, " " * 6), ""]
        return lines

    def action_lines(self, name: str, action: argparse.Action, formatter: Any) -> list[str]:
        invocation = ", ".join(action.option_strings) or action.metavar or action.dest
        if action.option_strings and action.nargs != 0:
            invocation += f" {action.metavar or action.dest.upper()}"
        if not action.help:
            logger.warning("%s: %s has no help", name, invocation, location=self.get_location())
        text = _escape(formatter._expand_help(action) if action.help else "")
        if action.choices:
            text += " Choices: " + ", ".join(literal(str(c)) for c in action.choices) + "."
        return [f"   {literal(invocation)}", indent(text, " " * 6), ""]


def _usage(parser: argparse.ArgumentParser, common: set[str]) -> str:
    """The usage line without Django's common options (the page lists them once)."""
    formatter = parser._get_formatter()
    actions = [a for a in parser._actions if a.dest not in common]
    formatter.add_usage(parser.usage, actions, parser._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip() + " [common options]"


def _escape(text: str) -> str:
    """Help text, written for a terminal, as reST: markup escaped, ``--options`` as literals."""
    escaped = re.sub(r"([\\*`|])", r"\\\1", text)
    return re.sub(r"(?<![\w-])(--?[a-z][\w-]*)", r"``\1``", escaped)


def setup(app: Sphinx) -> None:
    app.add_object_type("command", "command", indextemplate="pair: %s; management command")
    app.add_directive("federation-commands", FederationCommands)
