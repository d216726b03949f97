"""The documentation site: built with warnings as errors, its links checked, its examples run.

The build runs once per session (``sphinx-build -W --keep-going -b html``, a
fresh environment); the reference pages are then checked against the code by
means other than those that generated them (a text search of the source, the
settings classes, Django's command registry), so that a reader that misses
something fails here. Each page with runnable blocks is one scenario, run top
to bottom in a new directory as ``docs/WRITING.md`` describes.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGES = ("federated_fk", "graphql_gateway")
#: The build's command line, less its two directories.
SPHINX_BUILD = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html"]
#: Files and folders of docs/ that are not pages of the site (conf.py's exclude_patterns).
NOT_PAGES = ("build", "_ext", "WRITING.md")
#: The longest the build may take, in seconds.
BUILD_BUDGET = 60


def _env() -> dict[str, str]:
    # The build and the examples use their own settings, never the tests'.
    return {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST", "SHOP_"))}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site's directory; the build must succeed without a warning."""
    out = tmp_path_factory.mktemp("docs") / "html"
    started = time.monotonic()
    result = subprocess.run(
        [*SPHINX_BUILD, str(DOCS), str(out)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "ERROR" not in result.stderr, result.stderr
    assert elapsed < BUILD_BUDGET, f"the build took {elapsed:.0f} s"
    return out


# Internal links: every href and src of every page names a file of the site, and
# a fragment names an id in that file. External links are not followed (no network).


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            elif name in ("href", "src") and tag in ("a", "link", "img", "script"):
                self.links.append(value)


def _parse(path: Path, cache: dict[Path, _Links]) -> _Links:
    if path not in cache:
        parser = _Links()
        parser.feed(path.read_text())
        cache[path] = parser
    return cache[path]


def test_internal_links_resolve(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    cache: dict[Path, _Links] = {}
    broken = []
    for page in pages:
        for link in _parse(page, cache).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # external: mailto:, https:, data:
            address, fragment = unquote(parts.path), unquote(parts.fragment)
            target = (page.parent / address).resolve() if address else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {link}")
            elif fragment and target.suffix == ".html":
                if fragment not in _parse(target, cache).ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "\n".join(broken)


def _anchors(site: Path, page: str) -> set[str]:
    parser = _Links()
    parser.feed((site / page).read_text())
    return parser.ids


def _source_files() -> list[Path]:
    return sorted(
        p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    )


def test_every_check_id_is_on_the_checks_page(site: Path) -> None:
    # A plain text search of the source, independent of the page's own reader.
    ids = set()
    for path in _source_files():
        package = path.relative_to(ROOT).parts[0]
        for prefix, number in re.findall(
            r"""["'](?:(federated_fk|graphql_gateway)\.)?([EWCI]\d{3})["']""", path.read_text()
        ):
            ids.add(f"{prefix or package}.{number}")
    assert len(ids) > 50
    missing = sorted(i for i in ids if f"check-{i}" not in _anchors(site, "reference/checks.html"))
    assert not missing, f"check ids not on reference/checks.html: {missing}"


def test_every_setting_is_on_the_settings_page(site: Path) -> None:
    from federated_fk.conf import ChangeSettings, FederationSettings, ProjectSettings
    from graphql_gateway.conf import GatewaySettings

    anchors = _anchors(site, "reference/settings.html")
    prefixes = {
        "FEDERATION": FederationSettings,
        "FEDERATION.PROJECTS": ProjectSettings,
        "FEDERATION.CHANGES": ChangeSettings,
        "GRAPHQL_GATEWAY": GatewaySettings,
    }
    missing = [
        f"{prefix}.{key}"
        for prefix, cls in prefixes.items()
        for key in cls.__annotations__
        if f"setting-{prefix}.{key}" not in anchors
    ]
    assert not missing, missing
    text = (site / "reference/settings.html").read_text()
    # The defaults are shown as the defaults dicts hold them.
    assert '<span class="pre">10000</span>' in text and "MAX_PUSHDOWN_IDS" in text


def test_every_command_is_on_the_commands_page(site: Path) -> None:
    from django.core.management import get_commands

    names = sorted(n for n, app in get_commands().items() if app in PACKAGES)
    assert "follow_remote_changes" in names
    anchors = _anchors(site, "reference/commands.html")
    assert not [n for n in names if f"command-{n}" not in anchors]
    text = (site / "reference/commands.html").read_text()
    # The exit statuses of find_dangling_references' constants, and its parser's options.
    assert "--fail-on-dangling" in text and "--include-removed-types" in text
    for status in ("3", "4"):
        assert f'<span class="pre">{status}</span>' in text


def test_every_error_code_is_on_the_errors_page(site: Path) -> None:
    # A text search: "code": "X", "code": NAME with NAME = "X" in that file, and the
    # reasons the gateway gives an unavailable project.
    from graphql_gateway.errors import REMOTE_REASONS

    codes = {reason for _, reason in REMOTE_REASONS}
    for path in _source_files():
        text = path.read_text()
        codes |= set(re.findall(r"""["']code["']:\s*["']([A-Z_]+)["']""", text))
        constants = dict(re.findall(r"""^([A-Z_]+) = ["']([A-Z_]+)["']""", text, re.M))
        for name in re.findall(r"""["']code["']:\s*(\w+)\b""", text):
            # A constant, or a local variable assigned from constants.
            assigned = re.findall(rf"^\s*{name} = (.+)$", text, re.M)
            for word in re.findall(r"[A-Z_]+", " ".join([name, *assigned])):
                codes |= {constants[word]} if word in constants else set()
    assert {"UNAUTHENTICATED", "COST_LIMIT", "BAD_REQUEST", "REMOTE_UNAVAILABLE"} <= codes
    anchors = _anchors(site, "reference/graphql-errors.html")
    assert not sorted(c for c in codes if f"graphql-error-{c}" not in anchors)
    # error_response's f"HTTP_{status}" for statuses other than 400.
    assert "graphql-error-HTTP_-status" in anchors


def test_public_modules_are_those_of_the_public_api_table() -> None:
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from federation_docs.api import PUBLIC_MODULES
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    from tests.test_architecture import PUBLIC_MODULES as TABLE

    assert list(PUBLIC_MODULES) == list(TABLE)


def test_every_public_name_is_on_the_api_page(site: Path) -> None:
    import importlib

    from tests.test_architecture import PUBLIC_MODULES as TABLE

    anchors = _anchors(site, "reference/api.html")
    text = (site / "reference/api.html").read_text()
    missing = []
    for module in TABLE:
        for name in importlib.import_module(module).__all__:
            # Documented here, or linked to where another public module documents it.
            if (
                f"{module}.{name}" not in anchors
                and f">{name}</span></code>: the same as" not in text
            ):
                missing.append(f"{module}.{name}")
    assert not missing, missing


# The examples: each page with runnable blocks is a scenario.


def _runnable_pages() -> list[str]:
    """The pages whose source has runnable blocks (read before the build, for the ids)."""
    pages = []
    for path in sorted(DOCS.rglob("*")):
        relative = path.relative_to(DOCS)
        # What conf.py's exclude_patterns leave out of the site.
        if relative.parts[0] in NOT_PAGES or path.suffix not in (".md", ".rst"):
            continue
        if re.search(r"(\{runnable\}|\.\. runnable::)", path.read_text()):
            pages.append(relative.with_suffix("").as_posix())
    return pages


class Scenario:
    """Runs one page's blocks in a directory, as a reader would type them."""

    def __init__(self, folder: Path, env: dict[str, str], tokens: dict[str, str]) -> None:
        self.cwd = folder
        self.env = env
        self.tokens = tokens
        self.processes: list[subprocess.Popen] = []

    def run(self, block: dict, where: str) -> str:
        if block["language"] == "sh":
            printed = "".join(self.shell_line(line, where) for line in block["code"].splitlines())
        elif block["file"]:
            target = self.cwd / block["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            before = target.read_text() + "\n" if block["append"] and target.exists() else ""
            target.write_text(before + block["code"])
            printed = ""
        else:
            manage = (self.cwd / "manage.py").exists()
            args = ["manage.py", "shell", "-c"] if manage else ["-c"]
            printed = self.python(where, *args, block["code"])
        if block["expect"] is not None:
            lines = iter(printed.splitlines())
            missing = [line for line in block["expect"] if not any(line == got for got in lines)]
            assert not missing, f"{where}: expected, in order, {block['expect']}; got:\n{printed}"
        return printed

    def python(self, where: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{where}: {args[:3]}\n{result.stdout}{result.stderr}"
        return result.stdout

    def shell_line(self, line: str, where: str) -> str:
        words = shlex.split(line, comments=True)
        if not words:
            return ""
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            self.env[name] = self.tokens.get(name, value)
            return ""
        if words[:2] == ["pip", "install"]:
            return ""  # the package and its extras are installed here already
        if words[0] == "cd":
            self.cwd = (self.cwd / words[1]).resolve()
            return ""
        if words[0] == "mkdir":
            for name in words[1:]:
                if not name.startswith("-"):
                    (self.cwd / name).mkdir(parents=True, exist_ok=True)
            return ""
        if words[0] == "django-admin":
            return self.python(where, "-m", "django", *words[1:])
        assert words[0] == "python", (
            f"{where}: the docs run python, django-admin, pip install, cd, mkdir and export, "
            f"not {line!r}"
        )
        return self.python(where, *words[1:])


def _scenarios(site: Path) -> dict[str, dict]:
    return json.loads((site / "_runnable.json").read_text())


def _chain(scenarios: dict[str, dict], page: str) -> list[str]:
    """The page and the pages it continues, first first."""
    chain = [page]
    while scenarios[chain[0]]["continues"]:
        chain.insert(0, scenarios[chain[0]]["continues"])
        assert len(chain) < 20, chain
    return chain


def test_the_runnable_pages_are_found() -> None:
    # The list the examples test is parametrized with, and one page known to run.
    assert "reference/settings" in _runnable_pages()


@pytest.mark.parametrize("page", _runnable_pages())
def test_examples_run_as_written(page: str, site: Path, tmp_path: Path, request) -> None:
    scenarios = _scenarios(site)
    assert page in scenarios, f"{page} has runnable blocks the build did not record"
    chain = _chain(scenarios, page)
    env = _env()
    tokens: dict[str, str] = {}
    if any(scenarios[p]["shops"] for p in chain):
        shops = request.getfixturevalue("shops")
        env.update(
            SHOP_B_URL=shops.env["SHOP_B_URL"], SHOP_B_TOKEN=shops.token, SHOP_A_URL=shops.url
        )
        tokens["SHOP_B_TOKEN"] = shops.token
    scenario = Scenario(tmp_path, env, tokens)
    ran = 0
    for name in chain:
        for block in scenarios[name]["blocks"]:
            scenario.run(block, f"{scenarios[name]['source']}:{block['line']}")
            ran += 1
    assert ran == sum(len(scenarios[name]["blocks"]) for name in chain) > 0


def test_an_example_that_prints_something_else_fails(tmp_path: Path) -> None:
    # The runner compares, so that an example whose output drifted fails.
    scenario = Scenario(tmp_path, _env(), {})
    block = {"language": "python", "code": "print(2)\n", "file": None, "append": False}
    assert scenario.run({**block, "expect": ["2"]}, "here") == "2\n"
    with pytest.raises(AssertionError, match="expected, in order"):
        scenario.run({**block, "expect": ["3"]}, "here")


def test_the_check_reader_finds_ids_given_to_helpers() -> None:
    # admin.py passes bare ids to a helper, some from a loop's tuples.
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from federation_docs.checks import checks_in
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    found = {c.id: c for c in checks_in(ROOT / "federated_fk" / "admin.py")}
    assert {"federated_fk.E501", "federated_fk.E502", "federated_fk.E503"} <= set(found)
    assert "which is not a field on" in found["federated_fk.E502"].message


def _mini_site(folder: Path, page: str) -> subprocess.CompletedProcess:
    """Build a one-page site with this extension only (no autodoc, no Django setup)."""
    (folder / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        'extensions = ["myst_parser", "federation_docs"]\n'
    )
    (folder / "index.md").write_text(page)
    return subprocess.run(
        [*SPHINX_BUILD, str(folder), str(folder / "build")],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_python_block_that_does_not_run_fails_the_build(tmp_path: Path) -> None:
    result = _mini_site(tmp_path, '# Page\n\n```python\nprint("never run")\n```\n')
    assert result.returncode != 0
    assert "a python block that the tests do not run" in result.stderr


def test_runnable_blocks_are_recorded_in_order(tmp_path: Path) -> None:
    page = (
        "# Page\n\n```{runnable-page}\n:continues: index\n```\n\n"
        "```{runnable} python\n:file: app/models.py\n:append:\nX = 1\n```\n\n"
        '```{runnable} python\nprint("hi")\n```\n\n```{runnable-output}\nhi\n```\n\n'
        "```{code-block} python\n:class: not-run\nimport this_is_shown_only\n```\n"
    )
    result = _mini_site(tmp_path, page)
    assert result.returncode == 0, result.stderr
    scenario = _scenarios(tmp_path / "build")["index"]
    assert scenario["continues"] == "index" and scenario["shops"] is False
    first, second = scenario["blocks"]
    assert (first["file"], first["append"], first["code"]) == ("app/models.py", True, "X = 1\n")
    assert (second["code"], second["expect"]) == ('print("hi")\n', ["hi"])
    html = (tmp_path / "build" / "index.html").read_text()
    assert "app/models.py (add at the end)" in html and "this_is_shown_only" in html
