"""graphql_gateway: one GraphQL schema over local and remote books.

Add ``"graphql_gateway"`` to INSTALLED_APPS, set ``GRAPHQL_GATEWAY`` (see
``graphql_gateway.conf``), and include ``graphql_gateway.urls``: ``/graphql/``
serves the schema (with GraphiQL in a browser) and ``/books/`` the same list
as an HTML page.
"""
