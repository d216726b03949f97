"""find_dangling_references' exit status as CI sees it: manage.py run as a process, on the demo."""

import shutil
import subprocess
import sys

import pytest

from tests.servers import ROOT

#: Makes one of shop_a's references to a shop_b book point at a book shop_b does not have.
BREAK_ONE = (
    "from books.models import Reference; "
    "ref = Reference.objects.filter(content_type__project='shop_b', "
    "content_type__model='book').first(); "
    "ref.object_id = '987654'; ref.save(); print(ref.pk)"
)


@pytest.fixture
def shop_a(shops, tmp_path):
    """Run shop_a's manage.py on a copy of the demo's database (the shared demo stays as it is)."""
    database = tmp_path / "shop_a.sqlite3"
    shutil.copy(shops.folder / "shop_a.sqlite3", database)
    env = {**shops.env, "SHOP_A_DB": str(database), "SHOP_B_TIMEOUT": "20"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT / "shop_a",
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return manage


def test_report_mode_exit_status(shop_a):
    clean = shop_a("find_dangling_references", "--fail-on-dangling")
    assert clean.returncode == 0, clean.stderr
    assert "dangling reference(s)" not in clean.stdout

    broken = shop_a("shell", "-c", BREAK_ONE)
    assert broken.returncode == 0, broken.stderr
    pk = broken.stdout.strip().splitlines()[-1]  # after the shell's own notes

    report = shop_a("find_dangling_references")
    assert report.returncode == 0  # without the flag, a report is not a failure
    assert f"books.Reference pk={pk} -> shop_b books.book object_id='987654'" in report.stdout

    failing = shop_a("find_dangling_references", "--fail-on-dangling")
    assert failing.returncode == 3
    assert "1 dangling reference(s) found (--fail-on-dangling)." in failing.stderr
    assert "Traceback" not in failing.stderr
