"""The architecture docs/explanation/architecture.md describes, checked: three rules.

- The import graph runs one way: each module may import (at module level,
  outside ``TYPE_CHECKING``) only modules of its own layer or of the layers
  before it; imports inside functions only where that page says why
  (``AppConfig.ready()`` and the one lazy import of the HTTP client).
- One scalar registry: only ``federated_fk.scalars`` maps GraphQL scalars,
  Python types and model fields.
- The public API is what the "The public API" section of
  docs/explanation/architecture.md lists, and nothing else (see that part of
  this module).
"""

import ast
import importlib
import re
from collections.abc import Iterator
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
        "federated_fk.changes.signals",
    ],
    [
        "federated_fk.sdl",
        "federated_fk.graphql_variables",
        "federated_fk.graphql_http",
        "federated_fk.graphql_cost",
        "federated_fk.graphql_completion",
    ],
    [
        "federated_fk.remote.events",
        "federated_fk.remote.transport",
        "federated_fk.remote.breaker",
        "federated_fk.remote.session",
        "federated_fk.remote.loop",
    ],
    [
        "federated_fk.remote.converters",
        "federated_fk.remote.conditions",
        "federated_fk.remote.entities",
        "federated_fk.remote.inflight",
        "federated_fk.remote.cache",
    ],
    ["federated_fk.remote.client"],
    ["federated_fk.remote.collect", "federated_fk.remote.options", "federated_fk.remote.loading"],
    ["federated_fk.remote.relations"],
    ["federated_fk.remote.objects", "federated_fk.remote"],
    ["federated_fk.models", "federated_fk.changes", "federated_fk.fields.many_to_many.forms"],
    [
        "federated_fk.prefetch",
        "federated_fk.pushdown",
        "federated_fk.fields",
        "federated_fk.deferred",
        "federated_fk.changes.sources",
        "federated_fk.changes.follower",
        "federated_fk.changes.redis_stream",
    ],
    [
        "federated_fk.picker",
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


# -- The public API ------------------------------------------------------------
# The public API is what the "The public API" section of the architecture page
# (docs/explanation/architecture.md) lists, and nothing else.
#
# A public module is one the section's table names; its public names are its
# ``__all__``. The demo shops and the Python examples of the README and of the
# site's hand-written pages import only those names (and the shops' settings
# name only public dotted paths), and every public name is mentioned on that
# page, so that nothing is exported without documentation.

README = (ROOT / "README.md").read_text()
API_PAGE_PATH = ROOT / "docs" / "explanation" / "architecture.md"
API_PAGE = API_PAGE_PATH.read_text()
#: The site's hand-written pages (the reference pages are generated from the code).
DOC_PAGES = sorted(
    p for p in (ROOT / "docs").rglob("*.md") if not p.is_relative_to(ROOT / "docs" / "reference")
)
PACKAGES = ("federated_fk", "graphql_gateway")
DEMOS = ("shop_a", "shop_b")
DOTTED = re.compile(r"(?:federated_fk|graphql_gateway)(?:\.\w+)*")


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


SECTION = _section(API_PAGE, "The public API")
#: The first column of the section's table.
PUBLIC_MODULES = tuple(re.findall(r"^\| `([\w.]+)` \|", SECTION, re.MULTILINE))
#: Every dotted path the section names (modules, and paths named in settings).
SECTION_PATHS = frozenset(p for p in re.findall(r"`([\w.]+)`", SECTION) if DOTTED.fullmatch(p))


def public_names(module: str) -> list[str]:
    return list(importlib.import_module(module).__all__)


def _code(text: str) -> str:
    """A Markdown text's code: fenced blocks and inline code spans."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return "\n".join([*fenced, *re.findall(r"`([^`\n]+)`", prose)])


API_PAGE_IDENTIFIERS = frozenset(re.findall(r"\w+", _code(API_PAGE)))


def _is_package_code(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def refused_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Yield (line, what) for each import from the packages outside the public API."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_package_code(alias.name) and alias.name not in PUBLIC_MODULES:
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if not _is_package_code(node.module):
                continue
            for alias in node.names:
                if node.module in PUBLIC_MODULES:
                    allowed = alias.name == "*" or alias.name in public_names(node.module)
                else:  # only a public module may be taken from its package
                    allowed = f"{node.module}.{alias.name}" in PUBLIC_MODULES
                if not allowed:
                    yield node.lineno, f"from {node.module} import {alias.name}"


def _demo_files() -> list[Path]:
    return sorted(p for demo in DEMOS for p in (ROOT / demo).rglob("*.py"))


def _readme_python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README, re.MULTILINE | re.DOTALL)


def _page_python_blocks(page: Path) -> list[str]:
    """A MyST page's Python blocks (plain, ``{runnable}`` or ``{code-block}``), options removed."""
    blocks = re.findall(
        r"^```(?:python|\{(?:runnable|code-block)\} python)\n(.*?)^```",
        page.read_text(),
        re.MULTILINE | re.DOTALL,
    )
    return [re.sub(r"\A(?::[\w-]+:[^\n]*\n)*", "", block) for block in blocks]


def test_the_section_lists_public_modules() -> None:
    assert len(PUBLIC_MODULES) >= 10, PUBLIC_MODULES
    assert len(set(PUBLIC_MODULES)) == len(PUBLIC_MODULES), "a module is listed twice"


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_public_module_declares_what_it_exports(module: str) -> None:
    imported = importlib.import_module(module)
    assert hasattr(imported, "__all__"), f"{module} is public but has no __all__"
    names = list(imported.__all__)
    assert len(set(names)) == len(names), f"{module}.__all__ repeats a name"
    missing = [name for name in names if not hasattr(imported, name)]
    assert not missing, f"{module}.__all__ names what the module lacks: {missing}"


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_is_on_the_api_page(module: str) -> None:
    undocumented = [name for name in public_names(module) if name not in API_PAGE_IDENTIFIERS]
    assert not undocumented, (
        f"{module}.__all__ exports {undocumented}, which {API_PAGE_PATH.relative_to(ROOT)} "
        "never mentions: document them (at least a line in 'The public API' table) or stop "
        "exporting them"
    )


@pytest.mark.parametrize("path", _demo_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_demo_imports_only_the_public_api(path: Path) -> None:
    refused = list(refused_imports(ast.parse(path.read_text(), str(path))))
    assert not refused, (
        f"{path.relative_to(ROOT)} imports what is not public (docs/explanation/architecture.md): "
        + "; ".join(f"line {line}: {what}" for line, what in refused)
    )


def test_readme_examples_import_only_the_public_api() -> None:
    blocks = _readme_python_blocks()
    assert blocks
    refused = [what for block in blocks for _, what in refused_imports(ast.parse(block))]
    assert not refused, f"README examples import what is not public: {refused}"


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_examples_import_only_the_public_api(page: Path) -> None:
    refused = [
        what for block in _page_python_blocks(page) for _, what in refused_imports(ast.parse(block))
    ]
    assert not refused, f"{page.relative_to(ROOT)}'s examples import what is not public: {refused}"


def _dotted_strings(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "." in node.value and DOTTED.fullmatch(node.value):
                yield node.value


def _is_public_path(path: str) -> bool:
    if path in PUBLIC_MODULES or path in SECTION_PATHS:
        return True
    module, _, name = path.rpartition(".")
    return module in PUBLIC_MODULES and name in public_names(module)


@pytest.mark.parametrize(
    "path",
    [p for p in _demo_files() if "migrations" not in p.parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_demo_settings_name_only_public_paths(path: Path) -> None:
    refused = sorted({s for s in _dotted_strings(path) if not _is_public_path(s)})
    assert not refused, (
        f"{path.relative_to(ROOT)} names dotted paths that are not public: {refused}"
    )


def test_the_check_refuses_what_is_not_public() -> None:
    code = (
        "from federated_fk import conf\n"
        "from federated_fk.conf import project_for_label\n"
        "from federated_fk.remote.objects import RemoteObject\n"
        "import graphql_gateway.loader\n"
        "from federated_fk.models import GenericContentType\n"
        "from federated_fk import remote\n"
    )
    assert [line for line, _ in refused_imports(ast.parse(code))] == [2, 3, 4]
