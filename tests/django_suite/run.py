"""Run Django's own contenttypes, generic-relations and generic-inline-admin suites
against federated_fk.

Django's test files are not part of this repository: they are taken from
Django's source distribution for the installed Django version, their names
are rewritten mechanically to this package's (``ContentType`` becomes
``GenericContentType``, ``GenericForeignKey`` becomes ``FederatedForeignKey``,
and so on; see ``REWRITES``), and they run with Django's own ``runtests.py``.

Usage: python tests/django_suite/run.py [--database sqlite|postgres]

Prints ``N passed, N failed, N skipped`` at the end. A test listed in
``NOT_APPLICABLE`` runs as an expected failure and is reported as skipped,
with its reason; the run fails on any failure, or on a listed test that
passes (the list must shrink).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import django

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / ".cache" / "django-suite"
TEST_APPS = (
    "contenttypes_tests",
    "generic_relations",
    "generic_relations_regress",
    "generic_inline_admin",
)

#: (pattern, replacement): applied in order to every .py file of TEST_APPS.
REWRITES: list[tuple[str, str]] = [
    # Module paths: Django's contenttypes modules have a twin of the same name.
    (r"\bfrom django\.contrib\.contenttypes\.(\w+) import", r"from federated_fk.\1 import"),
    (r"\bfrom django\.contrib\.contenttypes import", "from federated_fk import"),
    # Installed apps: Django's app stays (auth needs it); ours goes beside it.
    (r'"django\.contrib\.contenttypes"', '"django.contrib.contenttypes", "federated_fk"'),
    # The model's label and natural key, before the class names change.
    (r"'contenttypes\.ContentType'", "'federated_fk.GenericContentType'"),
    (r'"contenttypes", "contenttype"', '"federated_fk", "genericcontenttype"'),
    (r'\b(get_app_config|get_model)\("contenttypes"', r'\1("federated_fk"'),
    # Class names, in code and in the messages the tests expect.
    (r"\bContentTypeManager\b", "GenericContentTypeManager"),
    (r"\bContentType\b", "GenericContentType"),
    (r"\bGenericForeignKey(?=s?\b)", "FederatedForeignKey"),
    (r"\bGenericRelation\b", "FederatedRelation"),
    (r"\bGenericPrefetch\b", "FederatedPrefetch"),
    (r"\bGenericRelatedObjectManager\b", "FederatedRelatedObjectManager"),
    # auth's Permission keeps Django's ContentType: find permissions by the
    # natural key, which Django's and federated_fk's content types share.
    (
        r"Permission\.objects\.filter\(content_type=([\w.]+)\)",
        r"Permission.objects.filter(content_type__app_label=\1.app_label, "
        r"content_type__model=\1.model)",
    ),
    # Check ids (federated_fk numbers its checks like contenttypes) and the command.
    (r"\bcontenttypes\.E00(\d)\b", r"federated_fk.E00\1"),
    (r"\bremove_stale_contenttypes\b", "remove_stale_generic_contenttypes"),
]

#: (old, new) in Django's runtests.py: it installs contenttypes for every test
#: and creates its tables without migrations, as test models depend on it;
#: federated_fk goes beside it in both.
RUNTESTS_REWRITES = [
    (
        '    "django.contrib.contenttypes",\n',
        '    "django.contrib.contenttypes",\n    "federated_fk",\n',
    ),
    (
        '        "contenttypes": None,\n',
        '        "contenttypes": None,\n        "federated_fk": None,\n',
    ),
]

#: Tests that cannot pass against a drop-in, and why. They count as not passed.
NOT_APPLICABLE: dict[str, str] = {
    "contenttypes_tests.test_checks.GenericRelationTests.test_missing_generic_foreign_key": (
        "Django gives two different checks the id contenttypes.E004; federated_fk "
        "gives the relation check its own id, federated_fk.E101."
    ),
    "contenttypes_tests.test_migrations.MultiDBRemoveContentTypeNameTests"
    ".test_add_legacy_name_other_database": (
        "It tests Django's own migration contenttypes 0002 on Django's own "
        "ContentType table, which federated_fk neither replaces nor migrates."
    ),
    "contenttypes_tests.test_management.RemoveStaleContentTypesTests"
    ".test_interactive_true_with_dependent_objects": (
        "remove_stale_generic_contenttypes keeps content types that rows still "
        "reference unless --include-referenced is given; Django's command deletes "
        "them and the rows with them."
    ),
}

SETTINGS = """\
from test_sqlite import *  # noqa: F403

FEDERATION = {"PROJECT_NAME": "django_tests"}
TEST_RUNNER = "suite_runner.RecordingRunner"
"""

POSTGRES_DATABASES = """
DATABASES = {{
    alias: {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": {user!r},
        "HOST": {host!r},
        "PORT": {port!r},
    }}
    for alias, name in (("default", "federated_suite"), ("other", "federated_suite_other"))
}}
"""


def django_tests_dir() -> Path:
    """Return Django's ``tests/`` folder for the installed version, fetching it once."""
    version = django.get_version()
    source = CACHE / f"django-{version}" / "tests"
    if source.is_dir():
        return source
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-binary",
                ":all:",
                "--no-deps",
                "--dest",
                download,
                f"django=={version}",
            ],
            check=True,
        )
        (archive,) = Path(download).glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            prefix = f"{archive.name.removesuffix('.tar.gz')}/tests/"
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            for member in members:
                member.name = f"django-{version}/tests/" + member.name.removeprefix(prefix)
            tar.extractall(CACHE, members=members, filter="data")
    return source


def rewrite(text: str) -> str:
    """Apply ``REWRITES`` to the text of one test module."""
    for pattern, replacement in REWRITES:
        text = re.sub(pattern, replacement, text)
    return text


def prepare(work: Path, database: str) -> None:
    """Copy Django's tests to ``work`` and rewrite them for federated_fk."""
    shutil.copytree(django_tests_dir(), work)
    for app in TEST_APPS:
        for path in (work / app).rglob("*.py"):
            path.write_text(rewrite(path.read_text()))
    runtests = work / "runtests.py"
    text = runtests.read_text()
    for old, new in RUNTESTS_REWRITES:
        if old not in text:
            raise SystemExit(f"runtests.py no longer contains {old.strip()!r}; update the rewrites")
        text = text.replace(old, new, 1)
    runtests.write_text(text)
    shutil.copy(HERE / "suite_runner.py", work / "suite_runner.py")
    settings = SETTINGS
    if database == "postgres":
        settings += POSTGRES_DATABASES.format(
            user=os.environ.get("PGUSER", "postgres"),
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=os.environ.get("PGPORT", "5432"),
        )
    (work / "test_federated_settings.py").write_text(settings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-v", "--verbosity", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="federated-suite-") as tmp:
        work = Path(tmp) / "tests"
        prepare(work, args.database)
        results_file = Path(tmp) / "results.json"
        env = {
            **os.environ,
            "FEDERATED_SUITE_RESULTS": str(results_file),
            "FEDERATED_SUITE_NOT_APPLICABLE": json.dumps(sorted(NOT_APPLICABLE)),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run(
            [
                sys.executable,
                "runtests.py",
                "--settings=test_federated_settings",
                "--noinput",
                "--parallel=1",
                f"--verbosity={args.verbosity}",
                *TEST_APPS,
            ],
            cwd=work,
            env=env,
            check=False,
        )
        if not results_file.exists():
            print("Django's runtests.py did not run the suites.")
            return 1
        outcomes: dict[str, str] = json.loads(results_file.read_text())
    return report(outcomes, args.database)


def report(outcomes: dict[str, str], database: str) -> int:
    """Print the tally and return the exit status."""
    passed = [t for t, o in outcomes.items() if o == "ok"]
    not_applicable = [t for t, o in outcomes.items() if o == "not applicable"]
    skipped = [t for t, o in outcomes.items() if o == "skipped"]
    failed = [t for t, o in outcomes.items() if o == "failed"]
    listed_but_passing = [t for t in failed if t in NOT_APPLICABLE]
    print(f"\nDjango {django.get_version()} suites {', '.join(TEST_APPS)} on {database}:")
    for test_id in not_applicable:
        print(f"  skipped, not applicable: {test_id}\n    {NOT_APPLICABLE[test_id]}")
    for test_id in failed:
        if test_id in listed_but_passing:
            print(f"  FAILED: listed as not applicable but passes; remove it: {test_id}")
        else:
            print(f"  FAILED: {test_id}")
    print(
        f"{len(passed)} passed, {len(failed)} failed, {len(skipped) + len(not_applicable)} skipped"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
