"""Parse and validation caches for a schema's operations.

A client of a subgraph sends the same few query texts again and again (the
``_entities`` query is one text per set of types), so parsing and validating
them once is enough. strawberry's ``ParserCache`` is used as is. Its
``ValidationCache`` is not: it overwrites ``pre_execution_errors``, which
would drop the refusal of ``CostLimiter`` (a cost depends on the variables,
so it is never cached). ``ValidationCacheAfterCost`` validates through a
shared LRU cache only what no earlier extension has refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache, partial
from typing import Any

from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.schema import validate_document

#: How many distinct operations each cache keeps (least recently used go first).
MAXSIZE = 256

_cached_validate = lru_cache(maxsize=MAXSIZE)(validate_document)


class ValidationCacheAfterCost(SchemaExtension):
    """Validate through an LRU cache, unless an earlier extension already refused.

    List it after ``CostLimiter``: extensions run their ``on_validate`` in order.
    """

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            context.pre_execution_errors = _cached_validate(
                context.schema._schema, context.graphql_document, tuple(context.validation_rules)
            )
        yield


def cache_extensions() -> list[Any]:
    """The extensions that cache parsing and validation, to list last."""
    return [partial(ParserCache, maxsize=MAXSIZE), ValidationCacheAfterCost]
