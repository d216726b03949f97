"""Settings of the change benchmark's follower process: the following service (shop_a).

Its SQLite file, its cache (shared with the service's web processes in a
deployment, so the follower's cache invalidation is real work: a file cache
folder, or a Redis URL with a key prefix of the run's own), the
followed subgraph's URL and the effects log come from the environment.
``FOLLOW_INTERVAL`` and ``FOLLOW_BATCH`` are the library's defaults unless
``FOLLOW_BENCH_INTERVAL`` or ``FOLLOW_BENCH_BATCH`` is set.
"""

import os

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.bench.effects"]  # noqa: F405
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["FOLLOW_BENCH_DB"],
        "OPTIONS": {"timeout": 20},
    }
}
if os.environ["FOLLOW_BENCH_CACHE"].startswith("redis://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["FOLLOW_BENCH_CACHE"],
            "KEY_PREFIX": os.environ["FOLLOW_BENCH_CACHE_PREFIX"],
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ["FOLLOW_BENCH_CACHE"],
        }
    }
_SHOP_B = {"URL": os.environ["FOLLOW_BENCH_URL"], "CACHE_TIMEOUT": 3600}
if os.environ.get("FOLLOW_BENCH_INTERVAL"):
    _SHOP_B["FOLLOW_INTERVAL"] = float(os.environ["FOLLOW_BENCH_INTERVAL"])
if os.environ.get("FOLLOW_BENCH_BATCH"):
    _SHOP_B["FOLLOW_BATCH"] = int(os.environ["FOLLOW_BENCH_BATCH"])
FEDERATION = {
    "PROJECT_NAME": "shop_a",
    "SHARED_APPS": ["sharedapp"],
    "PROJECTS": {"shop_b": _SHOP_B},
}
DEBUG = False
