"""Where a follower reads a remote project's change feed: a ``ChangeSource``.

The follower asks a source for one page of events after a cursor, and does
not care how the page travels. ``HttpFeedSource``, the default, polls the
project's subgraph (``federatedChanges``) through the client's project
session: the project's URL, token, timeout, retries, circuit breaker and
error mapping, as every ``_entities`` request. A broker-fed source (a queue
consumer) implements the same ``read``.

Every page is checked like a form post before the follower sees it
(``parse_page``): a field of the wrong type, an unknown kind, an id that is
not a string, a cursor that is not a bounded string, more changes than asked
for: the page is refused whole with a ``MalformedChangePage``, never applied.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from federated_fk import conf
from federated_fk.exceptions import RemoteProtocolError, RemoteTimeout
from federated_fk.remote.loop import get_loop, run

__all__ = [
    "Change",
    "ChangePage",
    "ChangeSource",
    "HttpFeedSource",
    "MalformedChangePage",
    "follow_delay",
    "parse_page",
]

FEED_QUERY = (
    "query FederatedChanges($after: String, $limit: Int!) "
    "{ federatedChanges(after: $after, limit: $limit) "
    "{ cursor pruned changes { typename id kind fields } } }"
)

#: The longest cursor kept (``FollowCursor.cursor``).
MAX_CURSOR = 200
#: The longest object id kept (a reference's ``object_id`` column).
MAX_ID = 255
#: The most field names one change may list.
MAX_FIELDS = 1000
#: The feed's kinds, as the GraphQL enum spells them, and as the follower does.
KINDS = {"CREATED": "created", "UPDATED": "updated", "DELETED": "deleted"}

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
_CURSOR = re.compile(rf"^[\x21-\x7e]{{1,{MAX_CURSOR}}}$")


@dataclass(frozen=True)
class Change:
    """One event of a page, checked.

    :param typename: the GraphQL entity type name (as in ``_entities``)
    :param id: the object's id, as the remote wrote it
    :param kind: ``"created"``, ``"updated"`` or ``"deleted"``
    :param fields: the published GraphQL fields an update changed
    """

    typename: str
    id: str
    kind: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangePage:
    """One page of a change feed, checked.

    :param cursor: pass it as ``after`` for the next page; None only when the
        feed has no event and none was asked after
    :param pruned: events after the cursor asked were pruned: reconcile
    :param changes: the events, in the feed's order
    """

    cursor: str | None
    pruned: bool
    changes: tuple[Change, ...]


class MalformedChangePage(RemoteProtocolError):
    """A change-feed page that is not what the contract says: nothing of it is applied."""


class ChangeSource(ABC):
    """Where the pages of one remote project's change feed come from.

    :param project: the remote project, a key of ``FEDERATION["PROJECTS"]``
    """

    def __init__(self, project: str) -> None:
        self.project = project

    @abstractmethod
    def read(self, after: str | None, limit: int) -> ChangePage:
        """Return the page of at most ``limit`` events after ``after`` (None: the start).

        :raises FederationError: the page could not be read, or was malformed
        """


class HttpFeedSource(ChangeSource):
    """The project's subgraph, polled: ``federatedChanges`` through the project session.

    The request goes through the session every remote read uses (the
    project's token, ``TIMEOUT``, ``RETRIES``, circuit breaker, the mapping
    of failures to ``RemoteUnavailable`` subclasses, remote text redacted).
    """

    def read(self, after: str | None, limit: int) -> ChangePage:
        """Ask the subgraph for one page; check it (``parse_page``).

        :raises RemoteUnavailable: the project could not answer, or its page is malformed
        :raises RemoteQueryRejected: the project publishes no change feed
        """
        timeout = conf.project_settings(self.project)["TIMEOUT"]
        try:
            return run(self._read(after, limit), timeout=timeout + 5)
        except TimeoutError:
            endpoint = conf.public_url(conf.project_settings(self.project)["URL"])
            raise RemoteTimeout(self.project, endpoint, f"no answer within {timeout} s") from None

    async def _read(self, after: str | None, limit: int) -> ChangePage:
        session = get_loop().session(self.project)
        data = await session.execute(FEED_QUERY, {"after": after, "limit": limit})
        return parse_page(self.project, session.endpoint, data, after, limit)


def parse_page(project: str, endpoint: str, data: Any, after: str | None, limit: int) -> ChangePage:
    """Check an answer to ``FEED_QUERY`` as a form is checked; return its page.

    :param data: the answer's ``data``
    :param after: the cursor asked after
    :param limit: the most changes asked for
    :raises MalformedChangePage: any part of the answer is not as the contract says
    """

    def refuse(problem: str) -> MalformedChangePage:
        return MalformedChangePage(project, endpoint, f"malformed change feed page: {problem}")

    page = data.get("federatedChanges") if isinstance(data, dict) else None
    if not isinstance(page, dict):
        raise refuse("no federatedChanges in the answer")
    cursor, pruned, changes = page.get("cursor"), page.get("pruned"), page.get("changes")
    if not isinstance(pruned, bool):
        raise refuse(f"pruned is {_shown(pruned)}, not a boolean")
    if not isinstance(changes, list) or len(changes) > limit:
        raise refuse(f"changes is not a list of at most {limit}")
    if cursor is None:
        if after is not None or changes:
            raise refuse("the cursor is null after a cursor or with changes")
    elif not isinstance(cursor, str) or not _CURSOR.match(cursor):
        raise refuse(f"the cursor {_shown(cursor)} is not a string of 1 to {MAX_CURSOR} characters")
    read = tuple(_change(item, index, refuse) for index, item in enumerate(changes))
    return ChangePage(cursor=cursor, pruned=pruned, changes=read)


def _change(item: Any, index: int, refuse: Any) -> Change:
    """Check one change of a page."""
    if not isinstance(item, dict):
        raise refuse(f"change {index} is not an object")
    typename, id_, kind, fields = (item.get(k) for k in ("typename", "id", "kind", "fields"))
    if not isinstance(typename, str) or not _NAME.match(typename):
        raise refuse(f"change {index}: typename {_shown(typename)} is not a GraphQL name")
    if not isinstance(id_, str) or not 0 < len(id_) <= MAX_ID:
        raise refuse(f"change {index}: id {_shown(id_)} is not a string of 1 to {MAX_ID}")
    if kind not in KINDS:
        raise refuse(f"change {index}: kind {_shown(kind)} is not one of {', '.join(KINDS)}")
    if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
        raise refuse(f"change {index}: fields is not a list of at most {MAX_FIELDS}")
    for name in fields:
        if not isinstance(name, str) or not _NAME.match(name):
            raise refuse(f"change {index}: field {_shown(name)} is not a GraphQL name")
    return Change(typename=typename, id=id_, kind=KINDS[kind], fields=tuple(fields))


def _shown(value: Any) -> str:
    """A short repr of a remote value for a message (redacted by the exception)."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def follow_delay(
    settings: conf.ProjectSettings, failures: int, drained: bool, random: Callable[[], float]
) -> float:
    """Return how long a reader of a project's feed waits before its next read.

    0 after a read that left events (``drained`` False); ``FOLLOW_INTERVAL``
    after one that drained the feed; after failures, ``FOLLOW_INTERVAL``
    doubled per failure in a row up to ``FOLLOW_MAX_BACKOFF``, then between a
    half and all of it, at random, so that readers do not retry in step.

    :param failures: failed reads in a row
    :param random: the jitter's source of numbers in [0, 1)
    """
    interval = settings["FOLLOW_INTERVAL"]
    if not failures:
        return interval if drained else 0.0
    backoff = min(settings["FOLLOW_MAX_BACKOFF"], interval * 2 ** min(failures, 32))
    return backoff * (0.5 + random() / 2)
