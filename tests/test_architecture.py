"""The import graph of the package runs one way, as the README's Architecture section says.

Each module may import (at module level, outside ``TYPE_CHECKING``) only modules
of its own layer or of the layers before it. Imports inside functions are
allowed only where the README says why: ``AppConfig.ready()`` and the one lazy
import of the HTTP client.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The layers, first to last; a module belongs to the first prefix it matches.
LAYERS = [
    [
        "federated_fk.conf",
        "federated_fk.exceptions",
        "federated_fk.partial",
        "federated_fk.scalars",
        "federated_fk.contract",
        "federated_fk.ids",
        "federated_fk.naming",
    ],
    ["federated_fk.sdl", "federated_fk.graphql_http", "federated_fk.graphql_cost"],
    [
        "federated_fk.remote.events",
        "federated_fk.remote.transport",
        "federated_fk.remote.breaker",
        "federated_fk.remote.session",
        "federated_fk.remote.loop",
    ],
    ["federated_fk.remote.converters", "federated_fk.remote.entities", "federated_fk.remote.cache"],
    ["federated_fk.remote.client"],
    ["federated_fk.remote.collect", "federated_fk.remote.options", "federated_fk.remote.loading"],
    ["federated_fk.remote.relations"],
    ["federated_fk.remote.objects", "federated_fk.remote"],
    ["federated_fk.models", "federated_fk.fields.many_to_many.forms"],
    [
        "federated_fk.prefetch",
        "federated_fk.pushdown",
        "federated_fk.fields",
        "federated_fk.deferred",
    ],
    [
        "federated_fk.forms",
        "federated_fk.admin",
        "federated_fk.views",
        "federated_fk.serializers",
        "federated_fk.checks",
    ],
    ["federated_fk.subgraph", "federated_fk.observability", "federated_fk.testing"],
    ["federated_fk.debug_toolbar"],
    ["federated_fk.management", "federated_fk.migrations", "federated_fk.apps", "federated_fk"],
    ["graphql_gateway"],
]

#: (module, function) pairs that may import inside a function, and why.
LAZY = {
    ("federated_fk.remote.loading", "client"): "gql and aiohttp stay out of start-up",
    ("federated_fk.apps", "ready"): "Django's app registry",
    ("graphql_gateway.apps", "ready"): "Django's app registry",
}


def layer_of(module: str) -> int:
    best = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[0]


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in ("federated_fk", "graphql_gateway"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


def imports(tree: ast.Module) -> tuple[list[str], list[tuple[str, str]]]:
    """Return the module-level imports and the (function, module) imports inside functions."""
    top: list[str] = []
    nested: list[tuple[str, str]] = []

    def names(node: ast.AST) -> list[str]:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from a.b import c": the module a.b.c if there is one, else a.b.
            return [f"{node.module}.{a.name}" for a in node.names]
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        return []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            for name in names(child):
                if function is None:
                    top.append(name)
                else:
                    nested.append((function, name))
            visit(child, function)

    visit(tree, None)
    return top, nested


def ours(name: str) -> bool:
    return name.split(".")[0] in ("federated_fk", "graphql_gateway")


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_imports_run_one_way(module, path):
    top, nested = imports(ast.parse(path.read_text()))
    mine = layer_of(module)
    later = sorted(
        {n for n in top if ours(n) and _importable(n) and layer_of(_importable(n)) > mine}
    )
    assert not later, f"{module} (layer {mine}) imports later layers: {later}"
    unexplained = sorted({(f, n) for f, n in nested if ours(n) and (module, f) not in LAZY})
    assert not unexplained, f"{module} imports inside functions: {unexplained}"


def _importable(name: str) -> str | None:
    """Return the module part of an imported name (``a.b.C`` → ``a.b``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if (ROOT / Path(*parts)).with_suffix(".py").exists() or (ROOT / Path(*parts)).is_dir():
            return candidate
        parts.pop()
    return None


#: Names only a scalar table holds: a module naming several of them defines one.
SCALAR_NAMES = {"Decimal", "DateTime", "Date", "Time", "UUID", "Boolean", "Float"}
SCALAR_FIELDS = {"DecimalField", "DateTimeField", "TimeField", "UUIDField", "BooleanField"}


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_one_scalar_registry(module, path):
    """Only ``federated_fk.scalars`` maps GraphQL scalars, Python types and model fields."""
    if module == "federated_fk.scalars":
        return
    tree = ast.parse(path.read_text())
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert len(strings & SCALAR_NAMES) < 3, f"{module} names scalars: {strings & SCALAR_NAMES}"
    assert len(attributes & SCALAR_FIELDS) < 3, f"{module} maps field classes: {attributes}"
