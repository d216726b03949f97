"""The smallest app the gateway's schema can be built from, so that autodoc can import it.

The documentation build configures Django without the tests or the demo: this
app gives ``GRAPHQL_GATEWAY["UNIONS"]`` one local reference and one target.
"""
