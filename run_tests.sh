#!/usr/bin/env bash
# Run every check: lint, migrations, the committed SDL, the documentation site
# (built with warnings as errors, its links checked, its examples run), Django's
# own contenttypes suites against federated_fk, and the pytest suite (unit, real
# server processes, the demo, a browser). Django's suites run on SQLite and on
# PostgreSQL; pytest runs every test on SQLite, and on PostgreSQL again the
# tests that can depend on the database (--database-tests-only, tests/conftest.py).
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
.venv/bin/python -m pip install --quiet -e ".[test,demo,docs]"

if ! command -v chromium >/dev/null 2>&1; then
    echo "==> installing Debian's chromium for the browser tests"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if [ ! -f .cache/graphiql/node_modules/graphiql/graphiql.min.js ]; then
    echo "==> installing GraphiQL's browser files (npm)"
    mkdir -p .cache/graphiql
    cp graphql_gateway/graphiql/package.json .cache/graphiql/
    (cd .cache/graphiql && npm install --no-audit --no-fund --loglevel=error)
fi

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "==> migrations are up to date"
.venv/bin/python -m django makemigrations --check --dry-run --settings=tests.settings
(cd shop_a && ../.venv/bin/python manage.py makemigrations --check --dry-run)
(cd shop_b && ../.venv/bin/python manage.py makemigrations --check --dry-run)

LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
# Each suite's output is shown as it runs and kept, so that the totals below
# add up what each one printed last.
step() {
    local name=$1; shift
    echo "==> $name"
    "$@" 2>&1 | tee "$LOGS/$(printf '%02d' "$(ls "$LOGS" | wc -l)")-$name.log"
    return "${PIPESTATUS[0]}"
}

# The site does not touch a database: built and run once, not per database.
step "docs" .venv/bin/pytest -q tests/test_docs.py
step "Django's own suites, SQLite" .venv/bin/python tests/django_suite/run.py --database sqlite
step "Django's own suites, PostgreSQL" .venv/bin/python tests/django_suite/run.py --database postgres
# A test that neither opens the test database nor reads its backend gives the
# same result on both: the real processes, the demo and the browser run once.
step "pytest, PostgreSQL" env FEDERATED_FK_TEST_DB=postgres .venv/bin/pytest -q --ignore=tests/test_docs.py --database-tests-only "$@"
step "pytest, SQLite" .venv/bin/pytest -q --ignore=tests/test_docs.py "$@"

echo "==> totals"
.venv/bin/python tests/totals.py "$LOGS"/*.log
