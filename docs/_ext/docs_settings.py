"""Django settings of the documentation build: the two apps, no tests, no demo.

Sphinx's autodoc imports the public modules, and some of them need the app
registry (models) or build a schema at import (``graphql_gateway.schema``).
"""

SECRET_KEY = "docs-build-only"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "federated_fk",
    "graphql_gateway",
    "docsapp",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
FEDERATION = {"PROJECT_NAME": "docs"}
GRAPHQL_GATEWAY = {
    "UNIONS": [
        {
            "model": "docsapp.Reference",
            "field": "content_object",
            "targets": ["docsapp.book"],
            "name": "Book",
        }
    ]
}
