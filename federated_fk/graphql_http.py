"""The base of every GraphQL view of the package: malformed requests get HTTP 400.

strawberry's view answers HTTP 500 for a JSON body that is not an object
(``12``, ``null``), for a body that is not UTF-8 and for JSON nested past
the recursion limit, and plain text for the errors it does catch. This view
refuses all of them before execution, with a GraphQL-shaped body.

strawberry also logs every error of a result with its traceback, so one
request with many bad items writes a log line per item; ``OneErrorRecord``
makes that one record per request.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from cross_web import HTTPException
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from graphql import GraphQLError
from strawberry.django.views import AsyncGraphQLView

from federated_fk.exceptions import redact_remote_text

#: strawberry's own logger of execution errors, kept so that LOGGING that names it still works.
errors_logger = logging.getLogger("strawberry.execution")
#: How many of a request's errors its log record quotes.
LOGGED_ERRORS = 5
#: The most lines of the one traceback a record carries.
LOGGED_TRACEBACK_LINES = 40

#: The ``extensions.code`` of a request refused before execution.
BAD_REQUEST = "BAD_REQUEST"


class GraphQLView(AsyncGraphQLView):
    """An async strawberry view that never answers 5xx for what a client sends.

    :cvar max_json_depth: the deepest nesting of arrays and objects accepted
        in a JSON body or in ``variables``
    :cvar max_json_containers: the most arrays and objects in one of them (each
        is an input object or list that graphql-core coerces; an ``_entities``
        call of 1,000 representations holds about 1,000)
    """

    max_json_depth = 32
    max_json_containers = 20_000

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
        exceeded = _shape_exceeds(value, self.max_json_depth, self.max_json_containers)
        if exceeded == "depth":
            raise _too_deep(self.max_json_depth)
        if exceeded == "containers":
            raise HTTPException(
                400, f"The JSON holds more than {self.max_json_containers} arrays and objects."
            )
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


def _shape_exceeds(value: object, depth_limit: int, containers_limit: int) -> str | None:
    """Whether arrays and objects in ``value`` nest deeper than ``depth_limit``
    ("depth") or number more than ``containers_limit`` ("containers"); None if neither.

    One level at a time, with no recursion: each level's containers are gathered
    by one comprehension, as most of a request's values are scalars.
    """
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = containers = 0
    while level:
        depth += 1
        containers += len(level)
        if depth > depth_limit:
            return "depth"
        if containers > containers_limit:
            return "containers"
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, _CONTAINERS)
        ]
    return None


#: What JSON nests: objects and arrays (a tuple, not ``dict | list``, which is built per use).
_CONTAINERS = (dict, list)


class OneErrorRecord:
    """A mixin of strawberry schemas: the errors of one request make one log record.

    strawberry's ``Schema.process_errors`` logs each error with its
    traceback: an ``_entities`` request with 200 bad representations wrote
    200 tracebacks. This writes one record: how many errors, the first
    ``LOGGED_ERRORS`` messages and the traceback of the first error that has
    one, every line through ``redact_remote_text`` (an error message may
    quote what a caller or a remote sent).
    """

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        log_errors(errors)


def log_errors(errors: list[GraphQLError]) -> None:
    """Log the errors of one request as one record (``OneErrorRecord``)."""
    if not errors or not errors_logger.isEnabledFor(logging.ERROR):
        return
    lines = [f"{len(errors)} error(s) in one GraphQL request; the first ones:"]
    for error in errors[:LOGGED_ERRORS]:
        path = ".".join(str(p) for p in error.path or ()) or "-"
        text = error.message
        original = error.original_error
        if original is not None:  # a masked error's message is not what happened
            said = str(original)
            kind = type(original).__name__
            text = f"{kind}: {said}" if said == text else f"{text} ({kind}: {said})"
        lines.append(f"  at {path}: {redact_remote_text(text, 500)}")
    failed = next((e.original_error for e in errors if e.original_error is not None), None)
    if failed is not None:
        frames = traceback.format_exception(failed)
        text = "".join(frames).splitlines()[-LOGGED_TRACEBACK_LINES:]
        lines += [redact_remote_text(line, 500) for line in text]
    errors_logger.error("\n".join(lines))
