#!/usr/bin/env bash
# Run every check: lint, Django's own contenttypes suites against federated_fk,
# and the pytest suite, each on SQLite and on PostgreSQL.
# Works from a fresh clone: it makes .venv and installs what it needs.
#
# PostgreSQL: $PGHOST:$PGPORT (default 127.0.0.1:5432), user $PGUSER (default
# postgres), trust auth; test databases are created and dropped by the run.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi
echo "==> installing the package and its test dependencies"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "==> migrations are up to date"
.venv/bin/python -m django makemigrations --check --dry-run --settings=tests.settings

echo "==> Django's own suites, SQLite"
.venv/bin/python tests/django_suite/run.py --database sqlite
echo "==> Django's own suites, PostgreSQL"
.venv/bin/python tests/django_suite/run.py --database postgres

echo "==> pytest, PostgreSQL"
FEDERATED_FK_TEST_DB=postgres .venv/bin/pytest -q "$@"
echo "==> pytest, SQLite"
.venv/bin/pytest -q "$@"
