"""The public API is what the README's "Public API" section lists, and nothing else.

A public module is one the section's table names; its public names are its
``__all__``. The demo shops and the README's Python examples import only
those names (and the shops' settings name only public dotted paths), and
every public name is mentioned in the README, so that nothing is exported
without documentation.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PACKAGES = ("federated_fk", "graphql_gateway")
DEMOS = ("shop_a", "shop_b")
DOTTED = re.compile(r"(?:federated_fk|graphql_gateway)(?:\.\w+)*")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


SECTION = _section("Public API")
#: The first column of the section's table.
PUBLIC_MODULES = tuple(re.findall(r"^\| `([\w.]+)` \|", SECTION, re.MULTILINE))
#: Every dotted path the section names (modules, and paths named in settings).
SECTION_PATHS = frozenset(p for p in re.findall(r"`([\w.]+)`", SECTION) if DOTTED.fullmatch(p))


def public_names(module: str) -> list[str]:
    return list(importlib.import_module(module).__all__)


def _readme_code() -> str:
    """The README's code: fenced blocks and inline code spans."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", README, flags=re.MULTILINE | re.DOTALL)
    return "\n".join([*fenced, *re.findall(r"`([^`\n]+)`", prose)])


README_IDENTIFIERS = frozenset(re.findall(r"\w+", _readme_code()))


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
def test_every_public_name_is_in_the_readme(module: str) -> None:
    undocumented = [name for name in public_names(module) if name not in README_IDENTIFIERS]
    assert not undocumented, (
        f"{module}.__all__ exports {undocumented}, which the README never mentions: "
        "document them (at least a line in the 'Public API' section) or stop exporting them"
    )


@pytest.mark.parametrize("path", _demo_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_demo_imports_only_the_public_api(path: Path) -> None:
    refused = list(refused_imports(ast.parse(path.read_text(), str(path))))
    assert not refused, (
        f"{path.relative_to(ROOT)} imports what is not public (README 'Public API'): "
        + "; ".join(f"line {line}: {what}" for line, what in refused)
    )


def test_readme_examples_import_only_the_public_api() -> None:
    blocks = _readme_python_blocks()
    assert blocks
    refused = [what for block in blocks for _, what in refused_imports(ast.parse(block))]
    assert not refused, f"README examples import what is not public: {refused}"


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
