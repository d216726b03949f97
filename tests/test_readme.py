"""The README's quick start, run top to bottom in a new Django project, against the demo.

Every command and block runs as written; the test changes only what differs on
its machine: the package is already installed, and the demo's shop_b listens on
a free port with the test's own token.
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


def deferred_pointing() -> list[tuple[str, str]]:
    """Return the deferred-pointing section's code blocks in order, as (language, text)."""
    text = README.read_text()
    start = text.index("## Deferred pointing")
    section = text[start : text.index("\n## ", start + 5)]
    return re.findall(r"```(sh|python)\n(.*?)```", section, re.S)


def test_deferred_pointing_runs_as_written(shops, tmp_path):
    # The section continues the quick start's project, so the quick start runs first.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "SHOP_"))}
    env["SHOP_B_URL"] = shops.env["SHOP_B_URL"]
    outputs = []
    for language, body in [*quick_start(), *deferred_pointing()]:
        first = body.partition("\n")[0]
        if language == "sh":
            outputs += [shell_line(tmp_path, env, line, shops.token) for line in body.splitlines()]
        elif first.startswith("# python manage.py shell"):
            outputs.append(run(tmp_path, env, "manage.py", "shell", "-c", body))
        else:
            # "# path/to/file.py", "(add at the end)" or a note after it.
            path, _, note = first.removeprefix("# ").partition(" (")
            target = tmp_path / path
            text = target.read_text() + "\n" + body if note == "add at the end)" else body
            target.write_text(text)
    printed = [line for output in outputs for line in output.splitlines()]
    assert printed[-2:] == ["1 1 1", "Dune"]


def many_to_many() -> list[tuple[str, str]]:
    """Return the many-to-many section's code blocks in order, as (language, text)."""
    text = README.read_text()
    start = text.index("## Generic many-to-many")
    section = text[start : text.index("\n## ", start + 5)]
    return re.findall(r"```(sh|python)\n(.*?)```", section, re.S)


def test_many_to_many_runs_as_written(shops, tmp_path):
    # The section continues the quick start's project, so the quick start runs first.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "SHOP_"))}
    env["SHOP_B_URL"] = shops.env["SHOP_B_URL"]
    for language, body in quick_start():
        first = body.partition("\n")[0]
        if language == "sh":
            for line in body.splitlines():
                shell_line(tmp_path, env, line, shops.token)
        elif first.startswith("# python manage.py shell"):
            run(tmp_path, env, "manage.py", "shell", "-c", body)
        else:
            path = first.removeprefix("# ").partition(" (")[0]
            target = tmp_path / path
            add = first.startswith("# mysite/settings.py")
            target.write_text(target.read_text() + "\n" + body if add else body)
    expected, printed = [], []
    for language, body in many_to_many():
        first = body.partition("\n")[0]
        if language == "sh":
            for line in body.splitlines():
                shell_line(tmp_path, env, line, shops.token)
        elif first.startswith("# python manage.py shell"):
            printed += run(tmp_path, env, "manage.py", "shell", "-c", body).splitlines()
            # Each print() says what it prints in its comment.
            expected += [
                line.rpartition("  # ")[2]
                for line in body.splitlines()
                if line.strip().startswith("print(")
            ]
        else:
            assert first == "# shelf/models.py (add at the end)", first
            models_py = tmp_path / "shelf" / "models.py"
            models_py.write_text(models_py.read_text() + "\n" + body)
    assert len(expected) == 10
    assert printed[-len(expected) :] == expected
