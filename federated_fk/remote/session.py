"""One remote project's gql session: retries, the circuit breaker, error mapping.

A session is opened on first use and kept open, so that one aiohttp
connection pool serves every call to the project. Every failure is mapped to
one ``RemoteUnavailable`` subclass that says what happened.
"""

from __future__ import annotations

import asyncio
import random
import time
from functools import lru_cache
from typing import Any

import aiohttp
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)

from federated_fk import conf
from federated_fk.exceptions import (
    FederationError,
    RemoteAuthenticationError,
    RemoteCircuitOpen,
    RemoteConnectionError,
    RemoteHTTPError,
    RemoteProtocolError,
    RemoteQueryError,
    RemoteQueryRejected,
    RemoteTimeout,
    RemoteUnavailable,
)
from federated_fk.remote import events
from federated_fk.remote.breaker import CircuitBreaker, Clock
from federated_fk.remote.transport import (
    CappedTransport,
    CrossHostRedirect,
    ResponseTooLarge,
    same_origin_only,
)


@lru_cache(maxsize=256)
def _parsed(text: str) -> GraphQLRequest:
    return gql(text)


class TextRequest(GraphQLRequest):
    """A request posted as the text it was parsed from.

    gql's own request prints its parsed document back to text for every
    call (about 0.2 ms for an ``_entities`` query); the text is at hand.
    """

    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        super().__init__(_parsed(text), variable_values=variables)
        self.text = text

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": self.text}
        if self.variable_values:
            payload["variables"] = self.variable_values
        return payload


class ProjectSession:
    """One remote project's gql session, opened on first use and kept open."""

    def __init__(
        self, project: str, settings: conf.ProjectSettings, clock: Clock = time.monotonic
    ) -> None:
        self.project = project
        self.endpoint = conf.public_url(settings["URL"])
        self.settings = settings
        self.breaker = CircuitBreaker(
            settings["BREAKER_THRESHOLD"], settings["BREAKER_COOLDOWN"], clock
        )
        self._client: Client | None = None
        self._session: Any = None
        self._lock = asyncio.Lock()

    def _new_client(self) -> Client:
        headers = {}
        if self.settings["TOKEN"]:
            headers["Authorization"] = f"Bearer {self.settings['TOKEN']}"
        transport = CappedTransport(
            url=self.settings["URL"],
            headers=headers,
            timeout=self.settings["TIMEOUT"],
            ssl_close_timeout=1,
            max_bytes=self.settings["MAX_RESPONSE_BYTES"],
            client_session_args={"middlewares": (same_origin_only(self.settings["URL"]),)},
        )
        return Client(transport=transport, execute_timeout=self.settings["TIMEOUT"])

    async def execute(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one read query: retried within TIMEOUT, behind the circuit breaker.

        Every remote request starts and ends here: it is recorded, logged and
        signalled (``federated_fk.remote.events``).

        :raises RemoteUnavailable: every failure, mapped to its own subclass
        """
        with events.observe(self.project, text, variables) as record:
            return await self._execute(text, variables, record)

    async def _execute(
        self, text: str, variables: dict[str, Any], record: events.RemoteRequest
    ) -> dict[str, Any]:
        wait = self.breaker.allow()
        record.breaker = "open" if wait else "half-open" if self.breaker.trying else "closed"
        if wait:
            raise RemoteCircuitOpen(
                self.project,
                self.endpoint,
                f"not tried: {self.breaker.failures} calls in a row failed; "
                f"next try in {wait:.1f} s",
            )
        try:
            result = await self._execute_with_retries(text, variables)
        except (RemoteQueryError, RemoteQueryRejected, RemoteAuthenticationError):
            self.breaker.succeeded()  # the remote is up; it refused this call
            raise
        except RemoteUnavailable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return result

    async def _execute_with_retries(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings["TIMEOUT"]
        backoff = self.settings["RETRY_BACKOFF"]
        record = events.current()
        for attempt in range(self.settings["RETRIES"] + 1):
            if record is not None:
                record.retries = attempt
            try:
                # A deadline on this task, not a task more per request (as wait_for makes).
                async with asyncio.timeout_at(deadline):
                    return await self._execute_once(text, variables)
            except TimeoutError:
                await self.close()
                raise RemoteTimeout(
                    self.project, self.endpoint, f"no answer within {self.settings['TIMEOUT']} s"
                ) from None
            except (RemoteConnectionError, RemoteHTTPError) as exc:
                retriable = not isinstance(exc, RemoteHTTPError) or exc.status in (502, 503, 504)
                delay = backoff * 2**attempt * (0.5 + random.random())
                if not retriable or attempt == self.settings["RETRIES"]:
                    raise
                if loop.time() + delay >= deadline:
                    raise
                events.logger.info("Retrying %s in %.2f s: %s", self.project, delay, exc.reason)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _execute_once(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        request = TextRequest(text, variables)
        try:
            session = await self._open()
            # Per request: the pooled session's own headers stay the project's.
            trace = events.current_traceparent()
            headers = {"extra_args": {"headers": {"traceparent": trace}}} if trace else {}
            return await session.execute(request, **headers)
        except TransportQueryError as exc:
            raise self._query_error(exc.errors or []) from None
        except (TransportError, aiohttp.ClientError, OSError) as exc:
            # The session may be broken; the next call opens a new one.
            await self.close()
            raise self._transport_error(exc) from None

    def _query_error(self, errors: list[Any]) -> FederationError:
        codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
        for code, status in (("UNAUTHENTICATED", 401), ("FORBIDDEN", 403)):
            if code in codes:
                return RemoteAuthenticationError(self.project, self.endpoint, status)
        messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
        if errors and all(_is_validation_error(e) for e in errors):
            # The query this service built does not fit the remote's schema.
            return RemoteQueryRejected(self.project, self.endpoint, messages)
        return RemoteQueryError(self.project, self.endpoint, messages or ["no message"])

    def _transport_error(self, exc: BaseException) -> RemoteUnavailable:
        causes = _chain(exc)
        refused = [c for c in causes if isinstance(c, CrossHostRedirect | ResponseTooLarge)]
        if refused:
            return RemoteProtocolError(self.project, self.endpoint, str(refused[0]))
        if any(isinstance(c, TimeoutError) for c in causes):
            return RemoteTimeout(
                self.project, self.endpoint, f"no answer within {self.settings['TIMEOUT']} s"
            )
        if isinstance(exc, TransportServerError):
            cls = RemoteAuthenticationError if exc.code in (401, 403) else RemoteHTTPError
            return cls(self.project, self.endpoint, exc.code or 0)
        if isinstance(exc, TransportProtocolError):
            return RemoteProtocolError(
                self.project, self.endpoint, "the answer is not a GraphQL response"
            )
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return RemoteConnectionError(self.project, self.endpoint, "connection refused")
        if any(isinstance(c, ConnectionResetError) for c in causes):
            return RemoteConnectionError(self.project, self.endpoint, "connection reset")
        if isinstance(exc, TransportConnectionFailed | aiohttp.ClientError | OSError):
            return RemoteConnectionError(
                self.project, self.endpoint, f"connection failed ({type(causes[-1]).__name__})"
            )
        return RemoteUnavailable(self.project, self.endpoint, type(exc).__name__)

    async def _open(self) -> Any:
        async with self._lock:
            if self._session is None:
                self._client = self._new_client()
                self._session = await self._client.connect_async()
            return self._session

    async def close(self) -> None:
        """Close the session; the next call opens a new one (the remote may be back)."""
        async with self._lock:
            client, self._client, self._session = self._client, None, None
        if client is not None:
            try:
                await client.close_async()
            except Exception:  # closing a broken session must not hide the real error
                events.logger.debug("Closing the session of %s failed", self.project, exc_info=True)


def _is_validation_error(error: Any) -> bool:
    """Whether a GraphQL error comes from validating the query: it points into the
    query text (``locations``) but at no result field (``path``), since none ran."""
    return isinstance(error, dict) and bool(error.get("locations")) and not error.get("path")


def _chain(exc: BaseException) -> list[BaseException]:
    """Return ``exc``, its causes and the OS errors aiohttp keeps aside."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BaseException):
            chain.append(os_error)
        current = current.__cause__ or current.__context__
    return chain
