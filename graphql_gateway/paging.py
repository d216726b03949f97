"""Page bounds shared by the union fields and the relation lists of the gateway."""

from __future__ import annotations

from graphql_gateway.conf import gateway_settings

__all__ = ["PageError", "check_bounds"]


class PageError(ValueError):
    """A page request out of bounds, or an unknown filter or ordering."""


#: The largest offset: GraphQL's Int, and well inside every database's range
#: for LIMIT/OFFSET (SQLite refuses more than 64 bits with a datatype mismatch).
MAX_OFFSET = 2**31 - 1


def check_bounds(offset: int, limit: int) -> None:
    """Refuse an offset or a page size outside the settings' limits.

    :raises PageError: naming the argument and its allowed range
    """
    largest = gateway_settings()["MAX_PAGE_SIZE"]
    if not 0 <= offset <= MAX_OFFSET:
        raise PageError(f"offset must be from 0 to {MAX_OFFSET}, got {offset}.")
    if not 1 <= limit <= largest:
        raise PageError(f"limit must be from 1 to {largest}, got {limit}.")
