"""shop_b: a book shop that exposes its books and audiobooks as a federation subgraph.

Everything a deployment changes comes from the environment: the database
file, the token callers must send, debug.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SHOP_B_SECRET_KEY", "shop-b-demo-secret-not-for-production")
DEBUG = os.environ.get("SHOP_B_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "federated_fk",
    "authors",
    "books",
    "audio",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "shop_b.urls"
TEMPLATES = []
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_B_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

FEDERATION = {
    "PROJECT_NAME": "shop_b",
    # The Author table is synchronized into every shop.
    "SHARED_APPS": ["authors"],
    "SUBGRAPH_TOKEN": os.environ.get("SHOP_B_TOKEN", ""),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
