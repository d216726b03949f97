"""--database-tests-only (tests/conftest.py): what run_tests.sh runs again on PostgreSQL."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

OPENS_NOTHING = """
import pytest
from django.test import SimpleTestCase, TestCase


def test_plain():
    assert True


@pytest.mark.django_db
def test_marked():
    assert True


def test_through_a_fixture(remote_book_ct):
    assert remote_book_ct


def test_transactional(transactional_db):
    assert True


class TestDjangoCase(TestCase):
    def test_in_a_django_test_case(self):
        assert True


class TestSimpleCase(SimpleTestCase):
    def test_in_a_simple_test_case(self):
        assert True
"""

READS_THE_BACKEND = """
from django.db import connection


def test_vendor():
    assert connection.vendor
"""


def collected(*paths: Path, only: bool = True) -> set[str]:
    """The names of the tests pytest collects from ``paths`` with this project's conftest."""
    for folder in {p.parent for p in paths}:
        (folder / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--co", "-p", "no:cacheprovider"]
        + ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
        + (["--database-tests-only"] if only else [])
        + [str(p) for p in paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {line.rsplit("::", 1)[1] for line in result.stdout.splitlines() if "::" in line}


def test_only_tests_that_can_depend_on_the_database_are_kept(tmp_path):
    opens = tmp_path / "test_opens.py"
    opens.write_text(OPENS_NOTHING)
    reads = tmp_path / "test_reads.py"
    reads.write_text(READS_THE_BACKEND)
    assert collected(opens, reads) == {
        "test_marked",
        "test_through_a_fixture",
        "test_transactional",
        "test_in_a_django_test_case",
        "test_in_a_simple_test_case",
        "test_vendor",
    }


def test_without_the_option_every_test_is_collected(tmp_path):
    opens = tmp_path / "test_opens.py"
    opens.write_text(OPENS_NOTHING)
    assert "test_plain" in collected(opens, only=False)
