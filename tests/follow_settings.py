"""Settings of the follower processes of the change follower's tests (shop_a's side).

A SQLite file, the followed project's URL and the cache folder come from the
environment; ``tests.followapp`` adds a cascading reference and a signal log.
"""

import os

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.followapp"]  # noqa: F405
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["FOLLOW_TEST_DB"],
        "OPTIONS": {"timeout": 20},
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ["FOLLOW_TEST_CACHE"],
    }
}
FEDERATION = {
    "PROJECT_NAME": "shop_a",
    "SHARED_APPS": ["sharedapp"],
    "PROJECTS": {
        "shop_f": {
            "URL": os.environ["FOLLOW_TEST_URL"],
            "TIMEOUT": 5,
            "RETRIES": 0,
            "BREAKER_COOLDOWN": 1.0,
            "CACHE_TIMEOUT": 3600,
            "FOLLOW_INTERVAL": 0.1,
            "FOLLOW_MAX_BACKOFF": 0.5,
            "FOLLOW_BATCH": int(os.environ.get("FOLLOW_TEST_BATCH", "500")),
        }
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"federated_fk.changes": {"handlers": ["stderr"], "level": "INFO"}},
}
