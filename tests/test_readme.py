"""The README's quick start works when pasted into a new Django project."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def quick_start_blocks() -> dict[str, str]:
    """Return the README's python blocks by the file named on their first line."""
    blocks = re.findall(r"```python\n# (.+?)\n(.*?)```", README.read_text(), re.S)
    named = {name.strip(): body for name, body in blocks}
    assert len(named) == len(blocks), "two README blocks have the same first line"
    return named


def run(cwd: Path, *args: str) -> str:
    # The new project uses its own settings, not this suite's.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_quick_start_works_when_pasted(tmp_path):
    blocks = quick_start_blocks()
    assert set(blocks) >= {"settings.py", "shelf/models.py", "python manage.py shell"}
    run(tmp_path, "-m", "django", "startproject", "site_a", ".")
    run(tmp_path, "manage.py", "startapp", "shelf")
    settings = tmp_path / "site_a" / "settings.py"
    settings.write_text(
        settings.read_text() + blocks["settings.py"] + 'INSTALLED_APPS += ["shelf"]\n'
    )
    (tmp_path / "shelf" / "models.py").write_text(blocks["shelf/models.py"])
    run(tmp_path, "manage.py", "makemigrations", "shelf")
    run(tmp_path, "manage.py", "migrate")
    output = run(tmp_path, "manage.py", "shell", "-c", blocks["python manage.py shell"])
    assert output.splitlines()[-2:] == [
        "[<Book: Book object (1)>, <Book: shop_b shelf.book pk=7>]",
        "1 1",
    ]
