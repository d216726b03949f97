"""gql's aiohttp transport, with a cap on answers and no hop to another host."""

from __future__ import annotations

from typing import Any

import aiohttp
import yarl
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportProtocolError

from federated_fk.remote.events import answered


class ResponseTooLarge(aiohttp.ClientPayloadError):
    """The answer is larger than the project's MAX_RESPONSE_BYTES."""


class CrossHostRedirect(aiohttp.ClientError):
    """The endpoint redirected to another host; that hop is not made."""


def same_origin_only(endpoint: str) -> Any:
    """Return an aiohttp middleware that refuses requests (redirect hops) to another origin."""
    origin = yarl.URL(endpoint).origin()

    async def middleware(request: aiohttp.ClientRequest, handler: Any) -> Any:
        if request.url.origin() != origin:
            raise CrossHostRedirect(f"redirect to {request.url.host} refused")
        return await handler(request)

    return middleware


class CappedTransport(AIOHTTPTransport):
    """gql's aiohttp transport, reading at most ``max_bytes`` of an answer.

    gql reads the whole body before looking at it; this override of its
    ``_get_json_result`` stops reading past the cap, so a huge or endless
    answer costs at most ``max_bytes`` of memory.
    """

    def __init__(self, *, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    async def _get_json_result(self, response: aiohttp.ClientResponse) -> Any:
        self.response_headers = response.headers
        body = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            body += chunk
            if len(body) > self.max_bytes:
                raise ResponseTooLarge(f"more than {self.max_bytes} bytes")
        answered(len(body))
        self._raise_transport_server_error_if_status_more_than_400(response)
        try:
            result = self.json_deserialize(body.decode())
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise TransportProtocolError("Server did not return a valid GraphQL result")
        return result
