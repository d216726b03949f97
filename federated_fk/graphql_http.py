"""The base of every GraphQL view of the package: malformed requests get HTTP 400.

strawberry's view answers HTTP 500 for a JSON body that is not an object
(``12``, ``null``), for a body that is not UTF-8 and for JSON nested past
the recursion limit, and plain text for the errors it does catch. This view
refuses all of them before execution, with a GraphQL-shaped body.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from strawberry.django.views import AsyncGraphQLView

#: The ``extensions.code`` of a request refused before execution.
BAD_REQUEST = "BAD_REQUEST"


class GraphQLView(AsyncGraphQLView):
    """An async strawberry view that never answers 5xx for what a client sends.

    :cvar max_json_depth: the deepest nesting of arrays and objects accepted
        in a JSON body or in ``variables``
    """

    max_json_depth = 32

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return await self.run(request=request)
        except HTTPException as exc:
            return error_response(exc.reason, exc.status_code)

    def decode_json(self, data: str | bytes) -> object:
        """Decode a body or a ``variables`` parameter; raise HTTPException(400) if malformed."""
        if isinstance(data, bytes):
            try:
                # Strict UTF-8: json.loads would guess UTF-16 or -32 from the bytes.
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPException(400, "The request body is not valid UTF-8.") from None
        try:
            value = json.loads(data, parse_constant=_refuse_constant)
        except RecursionError:
            raise _too_deep(self.max_json_depth) from None
        except ValueError as exc:  # JSONDecodeError, or an integer of too many digits
            raise HTTPException(400, f"Unable to parse request body as JSON: {exc}.") from None
        if _depth_exceeds(value, self.max_json_depth):
            raise _too_deep(self.max_json_depth)
        if not isinstance(value, dict | list) or (
            isinstance(value, list) and not all(isinstance(item, dict) for item in value)
        ):
            raise HTTPException(
                400, "The request body must be a JSON object (or a list of objects for a batch)."
            )
        return value


def error_response(message: str, status: int = 400) -> JsonResponse:
    """Return a GraphQL-shaped error response: ``{"errors": [{"message", "extensions"}]}``."""
    code = BAD_REQUEST if status == 400 else f"HTTP_{status}"
    error = {"message": message, "extensions": {"code": code}}
    return JsonResponse({"errors": [error]}, status=status)


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; json.loads accepts them by default.
    raise ValueError(f"{name} is not a JSON value")


def _too_deep(limit: int) -> HTTPException:
    return HTTPException(400, f"The JSON is nested more than {limit} levels deep.")


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest deeper than ``limit`` (no recursion)."""
    if not isinstance(value, dict | list):
        return False
    # Only containers are pushed: most values of a request are scalars.
    stack: list[tuple[dict | list, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
