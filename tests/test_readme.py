"""The README: a front door of at most 200 lines, whose quick start runs.

The quick start runs top to bottom in a new Django project, against the demo.
Every command and block runs as written; the test changes only what differs on
its machine: the package is already installed, and the demo's shop_b listens on
a free port with the test's own token. The rest of the manual is the site under
docs/, whose examples tests/test_docs.py runs.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def quick_start() -> list[tuple[str, str]]:
    """Return the quick start's code blocks in order, as (language, text)."""
    text = README.read_text()
    section = text[
        text.index("## Quick start") : text.index("\n## ", text.index("## Quick start") + 5)
    ]
    return re.findall(r"```(sh|python)\n(.*?)```", section, re.S)


def run(cwd: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def shell_line(cwd: Path, env: dict[str, str], line: str, token: str) -> str:
    words = shlex.split(line, comments=True)
    if not words:
        return ""
    if words[0] == "export":
        name, value = words[1].split("=", 1)
        env[name] = token if name == "SHOP_B_TOKEN" else value
        return ""
    if words[:2] == ["pip", "install"]:
        return ""  # the package is installed in this environment already
    if words[0] == "django-admin":
        return run(cwd, env, "-m", "django", *words[1:])
    assert words[0] == "python", f"the quick start runs {line!r}"
    return run(cwd, env, *words[1:])


def test_quick_start_runs_as_written(shops, tmp_path):
    # The new project uses its own settings; shop_b is the test's demo.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "SHOP_"))}
    env["SHOP_B_URL"] = shops.env["SHOP_B_URL"]
    outputs = []
    for language, body in quick_start():
        first = body.partition("\n")[0]
        if language == "sh":
            outputs += [shell_line(tmp_path, env, line, shops.token) for line in body.splitlines()]
        elif first.startswith("# mysite/settings.py"):
            settings = tmp_path / "mysite" / "settings.py"
            settings.write_text(settings.read_text() + "\n" + body)
        elif first.startswith("# shelf/models.py"):
            (tmp_path / "shelf" / "models.py").write_text(body)
        else:
            assert first.startswith("# python manage.py shell"), first
            outputs.append(run(tmp_path, env, "manage.py", "shell", "-c", body))
    printed = [line for output in outputs for line in output.splitlines()]
    assert "Book object (1)" in printed and "1 1" in printed
    assert printed[-2:] == ["True Dune 16.98", "['Dune']"]  # the last: a remote query


def test_readme_is_a_front_door() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 200, "the README is at most 200 lines: move the rest to docs/"
    for command in ("./run_demo.sh", "./run_tests.sh", 'pip install -e ".[docs]"', "sphinx-build"):
        assert command in text, command


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_links_into_the_docs_exist() -> None:
    # Relative links, so that GitHub readers can follow them; each file and anchor exists.
    links = re.findall(r"\]\((docs/[^)#\s]+)(?:#([^)]*))?\)", README.read_text())
    assert len(links) >= 10, links
    broken = []
    for path, anchor in links:
        target = README.parent / path
        if not target.exists():
            broken.append(path)
        elif anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(), re.MULTILINE)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(f"{path}#{anchor}")
    assert not broken, broken
