"""The type-naming rule shared by the gateway and the subgraphs.

Two services may both have a ``books.Book``: different rows, so different
GraphQL types. A type is named after its project and its model's class name,
``<Project><Model>`` with the project name in PascalCase: ``shop_a``'s
``books.Book`` is ``ShopABook``, ``shop_b``'s is ``ShopBBook``. A shared model
(a table every service synchronizes, project ``"shared"``) keeps the bare
class name: its rows are the same everywhere, so it is one entity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from federated_fk import conf

#: What a GraphQL name may be.
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def project_prefix(project: str) -> str:
    """Return the type-name prefix of ``project``: ``"shop_b"`` → ``"ShopB"``."""
    if project == conf.SHARED_PROJECT:
        return ""
    return "".join(part[:1].upper() + part[1:] for part in project.replace("-", "_").split("_"))


def type_name(project: str, object_name: str) -> str:
    """Return the GraphQL type name of a model of ``project`` (idempotent)."""
    prefix = project_prefix(project)
    if object_name.startswith(prefix) and object_name[len(prefix) :][:1].isupper():
        return object_name
    return prefix + object_name


def field_name(project: str, stem: str) -> str:
    """Return the name of a root field only ``project``'s subgraph has:
    ``field_name("shop_b", "FederatedIds")`` → ``"shopBFederatedIds"``."""
    prefix = project_prefix(project)
    return prefix[:1].lower() + prefix[1:] + stem


def prefix_clashes(projects: Iterable[str]) -> list[tuple[str, str, str]]:
    """Return ``(prefix, project, other)`` for each project whose prefix an earlier one has.

    ``shop_b``, ``shop-b`` and ``shopB`` all name their types ``ShopB...``: two
    such projects in one federation would publish two models under one type
    name, and Apollo would merge them.
    """
    seen: dict[str, str] = {}
    clashes = []
    for project in dict.fromkeys(projects):
        prefix = project_prefix(project)
        if prefix in seen:
            clashes.append((prefix, seen[prefix], project))
        else:
            seen[prefix] = project
    return clashes


def is_valid_prefix(project: str) -> bool:
    """Return whether ``project``'s types get GraphQL names (``2shop`` gives none)."""
    prefix = project_prefix(project)
    return not prefix or _NAME.fullmatch(prefix) is not None
