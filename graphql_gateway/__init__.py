"""graphql_gateway: one GraphQL schema over local and remote models.

Add ``"graphql_gateway"`` to INSTALLED_APPS, list the union fields in
``GRAPHQL_GATEWAY["UNIONS"]`` (see ``graphql_gateway.conf``), and include
``graphql_gateway.urls``: ``/graphql/`` serves the schema (with GraphiQL in a
browser). ``graphql_gateway.schema`` builds one from code.

The public API is the ``__all__`` of the modules the documentation's public API table
(docs/explanation/architecture.md) lists; every other module is internal.
"""
