"""What the public sees of a remote project's failure; what happened goes to the log."""

from __future__ import annotations

import logging

from graphql import GraphQLError

from federated_fk.exceptions import (
    FederationError,
    RemoteAuthenticationError,
    RemoteCircuitOpen,
    RemoteConnectionError,
    RemoteHTTPError,
    RemoteProtocolError,
    RemoteQueryError,
    RemoteTimeout,
    redact_remote_text,
)

logger = logging.getLogger(__name__)

#: The public reason of a remote failure, by exception class (most specific first).
REMOTE_REASONS: tuple[tuple[type[FederationError], str], ...] = (
    (RemoteTimeout, "TIMEOUT"),
    (RemoteConnectionError, "CONNECTION_FAILED"),
    (RemoteAuthenticationError, "AUTHENTICATION_FAILED"),
    (RemoteHTTPError, "HTTP_ERROR"),
    (RemoteCircuitOpen, "CIRCUIT_OPEN"),
    (RemoteQueryError, "QUERY_ERROR"),
    (RemoteProtocolError, "PROTOCOL_ERROR"),
)


def public_remote_error(project: str, error: FederationError, path: list[str]) -> GraphQLError:
    """Return the error the public sees for an unavailable project; log what happened.

    A remote's own text (a database error, a stack frame) can say more than
    its owner wants said: the public error carries the project, a code and
    a reason code; the text goes to the log, redacted (``redact_remote_text``),
    once per failure however many fields of the request it leaves empty.
    """
    reason = next((code for cls, code in REMOTE_REASONS if isinstance(error, cls)), "UNAVAILABLE")
    if not getattr(error, "_federated_logged", False):
        error._federated_logged = True  # type: ignore[attr-defined]
        logger.warning("Project %r is unavailable: %s", project, redact_remote_text(error))
    return GraphQLError(
        f"Project {project!r} is unavailable.",
        path=path,
        extensions={"code": "REMOTE_UNAVAILABLE", "project": project, "reason": reason},
    )


def public_removed_type_error(
    project: str, app_label: str, model: str, path: list[str]
) -> GraphQLError:
    """Return the error of targets whose type their project's schema no longer has.

    Such targets are null, and counted: they are not deleted, and a
    ``sync_remote_contenttypes`` that finds the type again brings them back.
    """
    return GraphQLError(
        f"Project {project!r} no longer exposes {app_label}.{model}: its targets are null.",
        path=path,
        extensions={
            "code": "REMOTE_TYPE_NOT_IN_SCHEMA",
            "project": project,
            "model": f"{app_label}.{model}",
        },
    )
