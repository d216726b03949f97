"""Exceptions of django-federated-fk.

Every exception carries the data it is about and builds its own message from
it; none of them ever holds a credential. What a remote says (its GraphQL
error messages, its SDL) is remote text: it goes through
``redact_remote_text`` before it is kept in an exception, logged or printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import (
    FieldError,
    ImproperlyConfigured,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
)

__all__ = [
    "FederationError",
    "RemoteAuthenticationError",
    "RemoteCircuitOpen",
    "RemoteConnectionError",
    "RemoteHTTPError",
    "RemoteMultipleObjectsReturned",
    "RemoteNotQueryable",
    "RemoteObjectDoesNotExist",
    "RemoteProjectNotConfigured",
    "RemoteProtocolError",
    "RemoteQueryError",
    "RemoteQueryRejected",
    "RemoteSchemaError",
    "RemoteTimeout",
    "RemoteTypeNotInSchema",
    "RemoteUnavailable",
    "TooManyRemoteIds",
]

#: The longest remote text kept: in an exception, a log record or a command's output.
MAX_REMOTE_TEXT = 2000
#: The most GraphQL error messages of one answer kept in an exception.
MAX_REMOTE_MESSAGES = 5
#: What a secret is replaced with.
REDACTED = "[redacted]"
#: A credential in HTTP's own syntax, whatever token it carries: ``Bearer …``, ``Basic …``.
_AUTH_SCHEME = re.compile(
    r"(?i)\b(bearer|basic)(\s+|%20|\+)"  # the scheme, then its credential:
    r"(?!\[redacted\]|(?:bearer|basic)\b)[^\s\"'<>,;)\]}]+"
)
#: Control characters: remote text never starts a new line in a log.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def redact_remote_text(text: object, limit: int = MAX_REMOTE_TEXT) -> str:
    """Return ``text`` safe to keep, log or print: no credential, bounded, on one line.

    Remote text (what a remote answers, an SDL, a message built from either)
    may echo what it was sent. This removes every credential the settings
    hold (each ``FEDERATION["PROJECTS"][*]["TOKEN"]``, the user info of each
    project's ``URL``, ``FEDERATION["SUBGRAPH_TOKEN"]``, ``SECRET_KEY``), as
    written or URL- or JSON-escaped; any ``Bearer …`` or ``Basic …``
    credential; control characters (written as ``\\n``, ``\\x1b``…); then cuts
    the result to ``limit`` characters, saying how long it was.

    :param text: the text, or an object whose ``str()`` it is
    :param limit: the most characters returned (the note on the cut included)
    """
    text = str(text)
    for secret in sorted(_secret_forms(), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    if len(text) > limit:
        note = f"… [{len(text)} characters, cut]"
        text = text[: max(0, limit - len(note))] + note
    return text


def _secret_forms() -> set[str]:
    """Every configured credential, as written and as escaped in URLs and JSON."""
    forms: set[str] = set()
    for secret in _configured_secrets():
        if secret:
            forms.update({secret, quote(secret, safe=""), json.dumps(secret)[1:-1]})
    return forms


def _configured_secrets() -> Iterator[str]:
    # The raw settings, not ``conf``'s merged ones: this module comes first,
    # and a secret must be redacted even from a message about bad settings.
    if not settings.configured:
        return
    federation = getattr(settings, "FEDERATION", None)
    federation = federation if isinstance(federation, dict) else {}
    yield str(federation.get("SUBGRAPH_TOKEN") or "")
    yield str(getattr(settings, "SECRET_KEY", "") or "")
    projects = federation.get("PROJECTS")
    for project in (projects or {}).values() if isinstance(projects, dict) else ():
        if not isinstance(project, dict):
            continue
        yield str(project.get("TOKEN") or "")
        try:
            parts = urlsplit(str(project.get("URL") or ""))
        except ValueError:
            continue
        yield parts.password or ""
        yield unquote(parts.password or "")
        if parts.username and parts.password:
            yield f"{parts.username}:{parts.password}"


def _kept_messages(messages: list[str]) -> list[str]:
    """The first remote messages, redacted and cut; a note says how many more there were."""
    each = MAX_REMOTE_TEXT // (MAX_REMOTE_MESSAGES + 1)
    kept = [redact_remote_text(m, each) for m in messages[:MAX_REMOTE_MESSAGES]]
    if len(messages) > MAX_REMOTE_MESSAGES:
        kept.append(f"and {len(messages) - MAX_REMOTE_MESSAGES} more")
    return kept


class FederationError(Exception):
    """Base class of the errors raised by django-federated-fk."""


class RemoteObjectDoesNotExist(ObjectDoesNotExist, FederationError):
    """The remote service has no object of this type with this id.

    Each stand-in class has its own subclass as ``StandIn.DoesNotExist``, as
    Django models do, so ``except Book.DoesNotExist`` works for remote books.

    :param query: what a remote queryset's ``get()`` looked for, when it
        looked for more than a primary key (then ``pk`` is None)
    """

    def __init__(self, project: str, label: str, pk: Any, query: str | None = None) -> None:
        self.project = project
        self.label = label
        self.pk = pk
        self.query = query
        what = "query" if query is not None else f"pk={pk!r}"
        super().__init__(f"{label} matching {what} does not exist in project {project!r}.")


class RemoteMultipleObjectsReturned(MultipleObjectsReturned, FederationError):
    """A remote queryset's ``get()`` matched more than one object.

    Each stand-in class has its own subclass as ``StandIn.MultipleObjectsReturned``.

    :param count: how many objects matched
    """

    def __init__(self, project: str, label: str, count: int) -> None:
        self.project = project
        self.label = label
        self.count = count
        super().__init__(
            f"get() returned more than one {label} -- it returned {count}! (project {project!r})"
        )


class RemoteNotQueryable(FederationError, FieldError, TypeError):
    """A remote type whose owning service declares nothing to filter, order or search on.

    Its objects are still read by primary key (``filter(pk__in=...)``,
    ``get(pk=...)``). A ``FieldError``, and a ``TypeError`` as the by-pk-only
    manager raised before querysets.

    :param keyword: what was asked for (a lookup, an ordering, ``search``)
    :param action: what cannot be done, in words (``"filtered by pk__in only"``)
    """

    def __init__(self, project: str, label: str, keyword: str, action: str) -> None:
        self.project = project
        self.label = label
        self.keyword = keyword
        super().__init__(
            f"Remote {label} objects are {action} (got {keyword!r}): project {project!r} "
            "declares no filter_fields, ordering or search_fields for this type. Declare them "
            "in its subgraph (@subgraph.entity(..., filter_fields=...)), then run "
            f"'manage.py sync_remote_contenttypes {project}'."
        )


class TooManyRemoteIds(FederationError, ValueError):
    """A remote queryset matches more ids than one pushdown may carry.

    Never cut silently: narrow the query, or raise ``FEDERATION["MAX_PUSHDOWN_IDS"]``.

    :param count: how many ids the remote query matches
    :param limit: ``FEDERATION["MAX_PUSHDOWN_IDS"]``
    """

    def __init__(self, project: str, label: str, count: int, limit: int) -> None:
        self.project = project
        self.label = label
        self.count = count
        self.limit = limit
        super().__init__(
            f"The remote {label} query matches {count} objects in project {project!r}, more "
            f"than the {limit} ids one query may carry (FEDERATION['MAX_PUSHDOWN_IDS']): "
            "narrow the query or raise the setting."
        )


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
        self.reason = redact_remote_text(reason)
        super().__init__(f"Project {project!r} at {endpoint} is unavailable: {self.reason}")


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

    :param messages: the ``message`` of each GraphQL error; the first
        ``MAX_REMOTE_MESSAGES`` are kept, redacted (``redact_remote_text``)
    """

    def __init__(self, project: str, endpoint: str, messages: list[str]) -> None:
        self.messages = _kept_messages(messages)
        super().__init__(project, endpoint, "GraphQL errors: " + "; ".join(self.messages))


class RemoteSchemaError(FederationError, ImproperlyConfigured):
    """What this service asks of a remote does not match the remote's schema.

    A configuration error, not an outage: nothing is retried, the circuit
    breaker does not count it, and running ``sync_remote_contenttypes`` or
    fixing the settings it names is the cure.
    """


class RemoteTypeNotInSchema(RemoteSchemaError, AttributeError):
    """A remote content type that the synchronized schema does not describe.

    Its objects are never fetched: a GraphQL type name is never guessed.
    Reading any attribute of such a stand-in raises this error; it is an
    ``AttributeError`` too, so that ``hasattr()`` probes (Django's ORM asks
    filter values for ``resolve_expression``) answer False instead of failing.

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

    :param messages: the remote's validation messages; the first
        ``MAX_REMOTE_MESSAGES`` are kept, redacted (``redact_remote_text``)
    """

    def __init__(self, project: str, endpoint: str, messages: list[str]) -> None:
        self.project = project
        self.endpoint = endpoint
        self.messages = _kept_messages(messages)
        super().__init__(
            f"Project {project!r} at {endpoint} rejected the query built from this "
            f"service's settings: {'; '.join(self.messages)}. Check FEDERATION['PROJECTS']"
            f"[{project!r}]['FIELDS'], or run 'manage.py sync_remote_contenttypes {project}' "
            "if the remote schema changed."
        )
