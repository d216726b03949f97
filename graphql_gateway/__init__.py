"""graphql_gateway: one GraphQL schema over local and remote models.

Add ``"graphql_gateway"`` to INSTALLED_APPS, list the union fields in
``GRAPHQL_GATEWAY["UNIONS"]`` (see ``graphql_gateway.conf`` and
``graphql_gateway.generate``), and include ``graphql_gateway.urls``:
``/graphql/`` serves the schema (with GraphiQL in a browser).
"""
