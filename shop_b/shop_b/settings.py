"""shop_b: a book shop that exposes its books and audiobooks as a federation subgraph.

It publishes the changes of those books and audiobooks (``federatedChanges``),
so that other shops learn of edits and deletions, and has the Django admin at
/admin/ to make them. Everything a deployment changes comes from the
environment: the database file, the token callers must send, debug.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SHOP_B_SECRET_KEY", "shop-b-demo-secret-not-for-production")
DEBUG = os.environ.get("SHOP_B_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "federated_fk",
    "authors",
    "books",
    "audio",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "shop_b.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_B_DB", str(BASE_DIR / "db.sqlite3")),
        # Kept between the subgraph's requests, which asgi.py serves on a few
        # long-lived threads (SubgraphHandler). The admin's requests still get a
        # thread each under Django's handler: theirs stay open until garbage
        # collected, which on SQLite is an open file for a while.
        "CONN_MAX_AGE": 60,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# The admin's CSS and scripts; asgi.py serves them, as the demo has no web server.
STATIC_URL = "static/"
USE_TZ = True

FEDERATION = {
    "PROJECT_NAME": "shop_b",
    # The Author table is synchronized into every shop.
    "SHARED_APPS": ["authors"],
    "SUBGRAPH_TOKEN": os.environ.get("SHOP_B_TOKEN", ""),
    # The models the subgraph publishes: migrate installs the triggers that
    # record their creates, updates and deletes, served as federatedChanges.
    "CHANGES": {"MODELS": ["books.Book", "audio.Audiobook"]},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
