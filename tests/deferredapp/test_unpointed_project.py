"""A project that declares a deferred key and never points it: the key is inert, as in django-dfk.

``makemigrations``, ``migrate``, ``check`` and the test runner all go on (the
key is the warning ``federated_fk.W404``); only using the key fails, with
``NotPointedError``. Each command runs in its own process, as a user runs it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SETTINGS = """
SECRET_KEY = "unpointed-test"
INSTALLED_APPS = ["django.contrib.contenttypes", "federated_fk", "reviews"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
FEDERATION = {"PROJECT_NAME": "solo"}
"""

MODELS = """
from django.db import models
from federated_fk.deferred import DeferredForeignKey


class Review(models.Model):
    stars = models.PositiveSmallIntegerField(default=5)
    subject = DeferredForeignKey(on_delete=models.CASCADE)  # this project never points it
"""

TESTS = """
from django.test import TestCase

from reviews.models import Review


class ReviewTests(TestCase):
    def test_the_model_works_without_its_key(self):
        Review.objects.create(stars=4)
        self.assertEqual(Review.objects.get().stars, 4)
"""

USE_THE_KEY = """
from federated_fk.deferred import NotPointedError
from reviews.models import Review

review = Review.objects.create(stars=3)
print([f.name for f in Review._meta.get_fields()], Review.objects.get().stars)
for use in (lambda: review.subject, lambda: Review(subject=None)):
    try:
        use()
    except NotPointedError as error:
        print(type(error).__name__, error)
"""


def django(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    env.update(DJANGO_SETTINGS_MODULE="settings", PYTHONPATH=str(project))
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("unpointed")
    (root / "settings.py").write_text(SETTINGS)
    (root / "reviews").mkdir()
    (root / "reviews" / "__init__.py").write_text("")
    (root / "reviews" / "models.py").write_text(MODELS)
    (root / "reviews" / "tests.py").write_text(TESTS)
    return root


def test_migrations_are_made_and_applied_without_the_key(project):
    made = django(project, "makemigrations", "reviews")
    assert made.returncode == 0, made.stderr
    migration = (project / "reviews" / "migrations" / "0001_initial.py").read_text()
    assert "'stars'" in migration and "subject" not in migration
    applied = django(project, "migrate")
    assert applied.returncode == 0, applied.stderr
    assert "Applying reviews.0001_initial... OK" in applied.stdout
    assert "federated_fk.W404" in applied.stderr  # said, not fatal


def test_check_warns_and_passes(project):
    result = django(project, "check")
    assert result.returncode == 0, result.stderr
    assert "(federated_fk.W404) 'reviews.Review.subject' is a DeferredForeignKey" in result.stderr
    assert "System check identified 1 issue (0 silenced)." in result.stderr
    assert "E401" not in result.stdout + result.stderr


def test_the_test_runner_runs(project):
    result = django(project, "test", "reviews")
    assert result.returncode == 0, result.stderr
    assert "Ran 1 test" in result.stderr and "OK" in result.stderr


def test_only_using_the_key_raises_not_pointed_error(project):
    assert django(project, "migrate").returncode == 0
    result = django(project, "shell", "--no-imports", "-c", USE_THE_KEY)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "['id', 'stars'] 3"
    expected = (
        "NotPointedError 'reviews.Review.subject' is a DeferredForeignKey that was never "
        "pointed. Call federated_fk.deferred.point() (or point_named()) from the "
        "installing project's models module."
    )
    assert lines[1:] == [expected, expected]
