"""Exceptions of django-federated-fk.

Every exception carries the data it is about and builds its own message from
it; none of them ever holds a credential.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist


class FederationError(Exception):
    """Base class of the errors raised by django-federated-fk."""


class RemoteObjectDoesNotExist(ObjectDoesNotExist, FederationError):
    """The remote service has no object of this type with this id.

    Each stand-in class has its own subclass as ``StandIn.DoesNotExist``, as
    Django models do, so ``except Book.DoesNotExist`` works for remote books.
    """

    def __init__(self, project: str, label: str, pk: Any) -> None:
        self.project = project
        self.label = label
        self.pk = pk
        super().__init__(f"{label} matching pk={pk!r} does not exist in project {project!r}.")


class RemoteProjectNotConfigured(FederationError):
    """A remote content type names a project that has no configured endpoint."""

    def __init__(self, project: str) -> None:
        self.project = project
        super().__init__(
            f"No GraphQL endpoint is configured for project {project!r}. Add it to "
            f"settings: FEDERATION = {{'PROJECTS': {{{project!r}: {{'URL': "
            "'https://…/graphql/', 'TOKEN': os.environ[…]}}}."
        )


class RemoteUnavailable(FederationError):
    """A remote service could not give an answer.

    :param project: the remote project
    :param endpoint: its URL, without credentials or query string
    :param reason: what went wrong, in words
    """

    def __init__(self, project: str, endpoint: str, reason: str) -> None:
        self.project = project
        self.endpoint = endpoint
        self.reason = reason
        super().__init__(f"Project {project!r} at {endpoint} is unavailable: {reason}")


class RemoteConnectionError(RemoteUnavailable):
    """The connection to the remote service failed: refused, reset or closed."""


class RemoteTimeout(RemoteUnavailable):
    """The remote service did not answer within the configured timeout."""


class RemoteHTTPError(RemoteUnavailable):
    """The remote service answered with an HTTP error status."""

    def __init__(self, project: str, endpoint: str, status: int) -> None:
        self.status = status
        super().__init__(project, endpoint, f"HTTP {status}")


class RemoteAuthenticationError(RemoteHTTPError):
    """The remote service refused this service's token (HTTP 401 or 403)."""


class RemoteCircuitOpen(RemoteUnavailable):
    """Recent calls to the remote service all failed: this one was not tried."""


class RemoteProtocolError(RemoteUnavailable):
    """The remote service answered with something that is not the expected GraphQL."""


class RemoteQueryError(RemoteUnavailable):
    """The remote service answered with GraphQL errors.

    :param messages: the ``message`` of each GraphQL error
    """

    def __init__(self, project: str, endpoint: str, messages: list[str]) -> None:
        self.messages = messages
        super().__init__(project, endpoint, "GraphQL errors: " + "; ".join(messages))


class RemoteSchemaError(FederationError, ImproperlyConfigured):
    """What this service asks of a remote does not match the remote's schema.

    A configuration error, not an outage: nothing is retried, the circuit
    breaker does not count it, and running ``sync_remote_contenttypes`` or
    fixing the settings it names is the cure.
    """


class RemoteTypeNotInSchema(RemoteSchemaError):
    """A remote content type that the synchronized schema does not describe.

    Its objects are never fetched: a GraphQL type name is never guessed.

    :param gone: the schema described it once, but no longer does
    """

    def __init__(self, project: str, app_label: str, model: str, gone: bool = False) -> None:
        self.project = project
        self.app_label = app_label
        self.model = model
        self.gone = gone
        if gone:
            why = (
                f"project {project!r} no longer exposes it (as of the last "
                "sync_remote_contenttypes)"
            )
        else:
            why = (
                f"the schema of project {project!r} does not describe it: run "
                f"'manage.py sync_remote_contenttypes {project}', or expose the model in "
                f"{project!r}'s subgraph"
            )
        super().__init__(f"Remote model {app_label}.{model} cannot be read: {why}.")


class RemoteQueryRejected(RemoteSchemaError):
    """The remote rejected the query this service made: its schema has no such field or type.

    :param messages: the remote's validation messages
    """

    def __init__(self, project: str, endpoint: str, messages: list[str]) -> None:
        self.project = project
        self.endpoint = endpoint
        self.messages = messages
        super().__init__(
            f"Project {project!r} at {endpoint} rejected the query built from this "
            f"service's settings: {'; '.join(messages)}. Check FEDERATION['PROJECTS']"
            f"[{project!r}]['FIELDS'], or run 'manage.py sync_remote_contenttypes {project}' "
            "if the remote schema changed."
        )
