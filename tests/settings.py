"""Settings of the pytest suite.

SQLite by default; ``FEDERATED_FK_TEST_DB=postgres`` runs the same suite on
the PostgreSQL server at ``$PGHOST:$PGPORT`` (default 127.0.0.1:5432).
"""

import os

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "federated_fk",
    "tests.sharedapp",
    "tests.testapp",
    "tests.remoteshop",
    "tests.deferredapp",
    "tests.legacyapp",
    "tests.gm2mapp",
    "tests.movieapp",
]

# "other" is a second database, for fixtures moved between databases.
if os.environ.get("FEDERATED_FK_TEST_DB") == "postgres":
    DATABASES = {
        alias: {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
        for alias, name in (("default", "federated_fk"), ("other", "federated_fk_other"))
    }
    # A helper process of a test uses that test's database.
    if os.environ.get("FEDERATED_FK_TEST_DB_NAME"):
        DATABASES["default"]["NAME"] = os.environ["FEDERATED_FK_TEST_DB_NAME"]
else:
    DATABASES = {
        alias: {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        for alias in ("default", "other")
    }

FEDERATION = {
    "PROJECT_NAME": "shop_a",
    "SHARED_APPS": ["sharedapp"],
}

SERIALIZATION_MODULES = {
    "json": "federated_fk.serializers.json",
    "jsonl": "federated_fk.serializers.jsonl",
    "xml": "federated_fk.serializers.xml_serializer",
    "yaml": "federated_fk.serializers.pyyaml",
}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
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

# The gateway of the tests: testapp's references to books, and the showings of movieapp.
GRAPHQL_GATEWAY = {
    "UNIONS": [
        {
            "model": "testapp.Reference",
            "field": "content_object",
            "targets": ["testapp.book"],
            "name": "Book",
        },
        {
            "model": "movieapp.Showing",
            "field": "content_object",
            "targets": ["movieapp.movie", "movieapp.clip"],
            "name": "Screening",
        },
    ],
    # Shared authors are reached only through relations: their name is published.
    "FIELDS": {"sharedapp.author": ["name"]},
}
