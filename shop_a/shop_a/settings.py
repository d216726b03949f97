"""shop_a: a book shop whose references point at books here and in shop_b.

It mounts the gateway (``graphql_gateway``) at /graphql/, the unified list
at /books/ and the Django admin at /admin/. Everything a deployment changes
comes from the environment.
"""

import importlib.util
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent

SECRET_KEY = os.environ.get("SHOP_A_SECRET_KEY", "shop-a-demo-secret-not-for-production")
DEBUG = os.environ.get("SHOP_A_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "federated_fk",
    "graphql_gateway",
    "authors",
    "books",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Remote requests carry the incoming traceparent header.
    "federated_fk.observability.TraceparentMiddleware",
]
ROOT_URLCONF = "shop_a.urls"
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
        "NAME": os.environ.get("SHOP_A_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# What shop_a keeps of shop_b's books (CACHE_TIMEOUT below). The follower
# (manage.py follow_remote_changes) runs in a process of its own and drops the
# entries of what changed: the web server must read the same cache, so files
# next to the database, never a per-process memory cache.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get(
            "SHOP_A_CACHE_DIR",
            str(Path(DATABASES["default"]["NAME"]).parent / "shop_a_cache"),
        ),
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
}
# The admin's CSS and scripts; asgi.py serves them, as the demo has no web server.
STATIC_URL = "static/"
USE_TZ = True


FEDERATION = {
    "PROJECT_NAME": "shop_a",
    # The Author table is synchronized into every shop.
    "SHARED_APPS": ["authors"],
    "PROJECTS": {
        "shop_b": {
            "URL": os.environ.get("SHOP_B_URL", "http://127.0.0.1:8001/graphql/"),
            "TOKEN": os.environ.get("SHOP_B_TOKEN", ""),
            "TIMEOUT": float(os.environ.get("SHOP_B_TIMEOUT", "3")),
            "BREAKER_THRESHOLD": int(os.environ.get("SHOP_B_BREAKER_THRESHOLD", "5")),
            "BREAKER_COOLDOWN": float(os.environ.get("SHOP_B_BREAKER_COOLDOWN", "5")),
            # Identical requests in flight share one (the page benchmark turns it off).
            "SHARE_FETCHES": os.environ.get("SHOP_B_SHARE_FETCHES", "1") != "0",
            # shop_b's books are kept 5 minutes; the follower drops each one
            # shop_b's change feed says changed or was deleted, within a second.
            # SHOP_B_CACHE_TIMEOUT=0 keeps nothing.
            "CACHE_TIMEOUT": int(os.environ.get("SHOP_B_CACHE_TIMEOUT", "300")) or None,
        }
    },
    "SCHEMA_DIR": os.environ.get("FEDERATION_SCHEMA_DIR", str(REPO_DIR / "schema")),
}

# Where each other shop's own book pages are, for the buy links of /books/.
SHOP_PAGES = {
    "shop_b": os.environ.get(
        "SHOP_B_PAGES",
        os.environ.get("SHOP_B_URL", "http://127.0.0.1:8001/graphql/").removesuffix("graphql/"),
    )
}

# Fixtures name references' targets by natural key (dumpdata --natural-foreign).
SERIALIZATION_MODULES = {
    "json": "federated_fk.serializers.json",
    "jsonl": "federated_fk.serializers.jsonl",
    "xml": "federated_fk.serializers.xml_serializer",
}

#: The query GraphiQL opens with.
BOOKS_QUERY = """{
  books(limit: 20) {
    totalCount
    hasNextPage
    items {
      __typename
      ... on BookItem { id title price }
      ... on ShopABook { author { name } }
      ... on ShopBBook { author { name } }
      ... on ShopBAudiobook { narrator durationMinutes author { name } }
    }
  }
}
"""

GRAPHQL_GATEWAY = {
    # /graphql/'s books field: the targets of Reference.content_object, here and in shop_b.
    "UNIONS": [
        {
            "model": "books.Reference",
            "field": "content_object",
            "targets": ["books.book", "audio.audiobook"],
            "name": "Book",
            "description": "Local and remote books, by when they were referenced.",
            # Every book, here or in shop_b, lists the references pointing at it.
            "related_name": "references",
            # Filters and orderings on the books' own fields, run by the shop that owns them.
            "filters": {"title": ["icontains", "exact"], "price": ["lt", "lte", "gt", "gte"]},
            "target_ordering": ["title", "price"],
        }
    ],
    # Authors are reached only through a book's relation: they publish their
    # id and what is named here (a model no union lists publishes nothing more).
    "FIELDS": {"authors.author": ["name"]},
    # Identical queries in flight share one execution (the benchmark of a
    # page's own cost turns it off with GATEWAY_SHARE_OPERATIONS=0).
    "SHARE_OPERATIONS": os.environ.get("GATEWAY_SHARE_OPERATIONS", "1") != "0",
    "GRAPHIQL_QUERY": BOOKS_QUERY,
    # /subgraph/: the same fields for Apollo Gateway (docs/howto/scaling-out.md).
    "SERVE_SUBGRAPH": True,
    "MAX_PAGE_SIZE": int(os.environ.get("GATEWAY_MAX_PAGE_SIZE", "100")),
    # Introspection (and so GraphiQL's schema explorer) only where asked for.
    "INTROSPECTION": os.environ.get("GATEWAY_INTROSPECTION", "1") == "1",
    "GRAPHIQL_ASSETS": os.environ.get(
        "GRAPHIQL_ASSETS", str(REPO_DIR / ".cache" / "graphiql" / "node_modules")
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

if DEBUG and importlib.util.find_spec("debug_toolbar"):
    # SHOP_A_DEBUG=1: django-debug-toolbar with the remote requests panel
    # (pip install django-federated-fk[debug]).
    from debug_toolbar.settings import PANELS_DEFAULTS

    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    INTERNAL_IPS = ["127.0.0.1"]
    DEBUG_TOOLBAR_PANELS = [*PANELS_DEFAULTS, "federated_fk.debug_toolbar.RemoteRequestsPanel"]
