"""Settings of a subgraph server process started by the integration tests.

The project name, SQLite file and token come from the environment, so that
one code base serves as several remote projects at once.
"""

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["FEDERATED_TEST_DB"],
    }
}
FEDERATION = {
    "PROJECT_NAME": os.environ["FEDERATED_TEST_PROJECT"],
    "SHARED_APPS": ["sharedapp"],
    "SUBGRAPH_TOKEN": os.environ.get("FEDERATED_TEST_TOKEN", ""),
}
MIDDLEWARE = ["tests.server_stats.CountRequests", *MIDDLEWARE]  # noqa: F405
ROOT_URLCONF = "tests.server_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEBUG = False
# The outbox records the published books' changes (the change feed's tests).
FEDERATION["CHANGES"] = {"MODELS": ["remoteshop.Book", "remoteshop.Audiobook", "remoteshop.Gadget"]}
