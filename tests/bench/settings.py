"""Settings of the benchmark process: the test apps on a SQLite file of its own."""

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("FEDERATED_BENCH_DB", "bench.sqlite3"),
    }
}
DEBUG = False
