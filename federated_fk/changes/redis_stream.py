"""Redis Streams as the change feed's transport: a relay on the following side, and a source.

The feed is filtered per caller (the subgraph token, each entity type's
``get_queryset``), so a broker must never carry one caller's view to another.
The relay therefore runs in the *following* service's trust domain, with that
service's own credential:

- ``ChangeRelay`` polls the project's feed (``HttpFeedSource``) and appends
  every change of a page to a Redis Stream, one entry per change, in feed
  order. Its feed cursor is kept in Redis next to the stream and written in the
  same ``MULTI``/``EXEC`` as the page's entries (``WATCH``-ed, so that a second
  relay of the stream appends nothing): a relay stopped anywhere appends a page
  whole or not at all, and reads it again. When the feed says it was pruned,
  a marker entry says so before the page's changes.
- ``RedisStreamSource`` is the ``ChangeSource`` of any number of readers of
  that stream (the processes of the following service, a search indexer...).
  Its cursor is a stream entry id; it waits for new entries (``XREAD BLOCK``)
  instead of polling. A reader some of whose next entries were trimmed away
  (``MAXLEN``) or deleted, or whose cursor the stream never issued, gets a
  page that says ``pruned``.

Entries: ``prev`` (the id of the entry appended before it: a gap in this
chain is how a reader knows entries were removed), ``typename``, ``id``,
``kind`` (as the feed's enum spells it), ``fields`` (a JSON list) and
``cursor`` (the feed's cursor after the page the change came in); a marker
has ``prev``, ``pruned: "1"`` and ``cursor``. Every page read is checked as
the HTTP feed's pages are (``parse_page``).

Needs the ``redis`` extra (redis-py 5 or later) and Redis 6.2 or later.
redis-py is imported only when a relay or a source is made, so the package
works without it.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from federated_fk import conf
from federated_fk.changes.sources import (
    KINDS,
    ChangePage,
    ChangeSource,
    HttpFeedSource,
    MalformedChangePage,
    follow_delay,
    parse_page,
)
from federated_fk.exceptions import FederationError, RemoteUnavailable

if TYPE_CHECKING:
    import redis

__all__ = [
    "DEFAULT_MAXLEN",
    "ChangeRelay",
    "ChangeStreamUnavailable",
    "RedisStreamSource",
    "RelayCursorMoved",
    "RelayResult",
    "relay_cursor_key",
    "stream_key",
]

#: The entries a relay keeps in its stream by default (trimmed with ``MAXLEN ~``).
DEFAULT_MAXLEN = 100_000
#: The URL schemes redis-py connects with.
SCHEMES = ("redis", "rediss", "unix")

_STREAM_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
#: The feed's enum spelling of each kind, as a follower reads it back.
_ENUM = {kind: name for name, kind in KINDS.items()}

StreamId = tuple[int, int]


def stream_key(project: str) -> str:
    """Return the default stream key of ``project``: ``federated_fk:changes:<project>``."""
    return f"federated_fk:changes:{project}"


def relay_cursor_key(stream: str) -> str:
    """Return the key of the relay's feed cursor, next to its stream: ``<stream>:feed-cursor``."""
    return f"{stream}:feed-cursor"


class ChangeStreamUnavailable(RemoteUnavailable):
    """The Redis server holding a change stream could not answer.

    :param project: the project whose changes the stream carries
    :param endpoint: the server's URL (without credentials) and the stream key
    :param reason: what went wrong, in words
    """


class RelayCursorMoved(FederationError):
    """The stream or its feed cursor changed while a page was read (another relay): not appended.

    :param project: the project relayed
    :param stream: the stream key
    """

    def __init__(self, project: str, stream: str) -> None:
        self.project = project
        self.stream = stream
        super().__init__(
            f"The stream {stream!r} (project {project!r}) or its feed cursor changed while a "
            "page was read: another relay of the stream runs. Nothing of the page was appended."
        )


@dataclass
class RelayResult:
    """What one step of a relay did.

    :param events: the changes of the page, each appended as one entry
    :param pruned: the feed said it was pruned past the relay's cursor: a
        marker entry was appended, so that every reader reconciles
    :param drained: the page moved the feed cursor nowhere: nothing more now
    :param cursor: the relay's feed cursor after the step
    """

    project: str
    events: int = 0
    pruned: bool = False
    drained: bool = False
    cursor: str | None = None


class _Connected:
    """A Redis connection for ``project``'s changes, its stream key, its errors named safely."""

    def __init__(self, project: str, url: str, stream: str | None, timeout: float) -> None:
        if urlsplit(url).scheme not in SCHEMES:
            raise ImproperlyConfigured(
                f"{conf.public_url(url)!r} is not a Redis URL ({', '.join(SCHEMES)}://...)."
            )
        self.redis = _redis_module()
        self.project = project
        self.stream = stream or stream_key(project)
        self.endpoint = f"{conf.public_url(url)} stream {self.stream}"
        self._password = urlsplit(url).password
        self.client = self.redis.Redis.from_url(
            url,
            decode_responses=True,
            encoding_errors="replace",  # a stray byte is refused by the checks, not a crash
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
        )

    def unavailable(self, exc: Exception) -> ChangeStreamUnavailable:
        reason = f"{type(exc).__name__}: {exc}"
        if self._password:
            reason = reason.replace(self._password, "[redacted]")
        return ChangeStreamUnavailable(self.project, self.endpoint, reason)


def _redis_module() -> Any:
    """Return redis-py, imported here only: the package works without the ``redis`` extra."""
    try:
        import redis
    except ImportError:  # pragma: no cover - the test extra installs it
        raise ImproperlyConfigured(
            "Redis Streams need redis-py: pip install 'django-federated-fk[redis]'."
        ) from None
    return redis


class RedisStreamSource(ChangeSource):
    """Pages of a project's changes read from the Redis Stream a ``ChangeRelay`` appends to.

    The cursor is the id of the last entry read. When nothing follows it, a
    read waits up to ``block`` seconds for an entry (``XREAD BLOCK``): a
    follower wakes when the relay appends, instead of polling.

    :param project: the remote project, a key of ``FEDERATION["PROJECTS"]``
    :param url: the Redis server, ``redis://[:password@]host:port/db`` (or
        ``rediss://``, ``unix://``)
    :param stream: the stream key (default: ``stream_key(project)``)
    :param block: the most seconds a read waits for an entry; 0 does not wait
        (default: the project's ``FOLLOW_INTERVAL``)
    :raises ImproperlyConfigured: ``url`` is not a Redis URL, or redis-py is missing
    """

    def __init__(
        self, project: str, url: str, stream: str | None = None, block: float | None = None
    ) -> None:
        super().__init__(project)
        settings = conf.project_settings(project)
        self.block = settings["FOLLOW_INTERVAL"] if block is None else max(0.0, block)
        # The socket must outlast a blocked read.
        self._redis = _Connected(project, url, stream, settings["TIMEOUT"] + self.block)
        self.stream = self._redis.stream

    def read(self, after: str | None, limit: int) -> ChangePage:
        """Return the entries after ``after`` (an entry id; None: the start) as a checked page.

        The page says ``pruned`` when entries after ``after`` were trimmed or
        deleted (a gap in the entries' ``prev`` chain), when ``after`` is not
        an id this stream issued (a cursor of another source: the page then
        starts at the stream's first entry), or when a relay's marker says the
        feed itself was pruned.

        :raises ChangeStreamUnavailable: the Redis server could not answer
        :raises MalformedChangePage: an entry is not what a relay writes
        """
        errors = self._redis.redis.RedisError
        try:
            page = self._snapshot(after, limit)
            if page["cursor"] == after and not page["pruned"] and self.block:
                if self._wait(after):
                    page = self._snapshot(after, limit)
        except errors as exc:
            raise self._redis.unavailable(exc) from exc
        data = {"federatedChanges": page}
        return parse_page(self.project, self._redis.endpoint, data, after, limit)

    def _snapshot(self, after: str | None, limit: int, known: bool = True) -> dict[str, Any]:
        """Read the stream's state and the entries after ``after`` at one instant (MULTI).

        :param known: False reads from the stream's start: ``after`` is past
            every id the stream issued, so it is not one of its positions
        """
        position = _parse_id(after) if known else None
        with self._redis.client.pipeline(transaction=True) as pipe:
            pipe.xinfo_stream(self.stream)
            start = "-" if position is None else f"({_format_id(position)}"
            pipe.xrange(self.stream, start, "+", count=limit)
            info, entries = pipe.execute(raise_on_error=False)
        if isinstance(info, Exception):
            if "no such key" not in str(info).lower():
                raise info
            # No stream (yet, or any more): nothing to read. A relay that
            # starts it again starts from the feed's start, with later ids.
            return {"cursor": after, "pruned": False, "changes": []}
        if isinstance(entries, Exception):
            raise entries
        issued = _parse_id(info.get("last-generated-id")) or (0, 0)
        if position is not None and position > issued:
            return self._snapshot(after, limit, known=False)
        # `after` is no position of this stream, or the entries' chain has a
        # gap: entries were trimmed or deleted. The reader reconciles.
        pruned = after is not None and position is None
        expected = position or (0, 0)
        changes = []
        for entry_id, values in entries:
            prev = _parse_id(values.get("prev"))
            if prev is None:
                raise self._refuse(f"entry {entry_id} has no prev id: not a relay's entry")
            pruned = pruned or prev != expected
            expected = _parse_id(entry_id) or (0, 0)
            if values.get("pruned") == "1" and "typename" not in values:
                pruned = True
            else:
                changes.append(_change(values))
        if entries:
            cursor = entries[-1][0]
        elif pruned or (position or (0, 0)) < issued:  # all after `after` was removed
            pruned, cursor = True, _format_id(issued)
        else:
            cursor = after
        return {"cursor": cursor, "pruned": pruned, "changes": changes}

    def _refuse(self, problem: str) -> MalformedChangePage:
        return MalformedChangePage(
            self.project, self._redis.endpoint, f"malformed change stream: {problem}"
        )

    def _wait(self, after: str | None) -> bool:
        """Wait up to ``block`` seconds for an entry after ``after``; return whether one came."""
        since = after if _parse_id(after) else "0-0"
        milliseconds = max(1, int(self.block * 1000))
        return bool(self._redis.client.xread({self.stream: since}, count=1, block=milliseconds))


def _change(values: dict[str, str]) -> dict[str, Any]:
    """An entry as the feed's change object; ``parse_page`` checks it."""
    fields: Any = values.get("fields")
    try:
        fields = json.loads(fields) if isinstance(fields, str) else fields
    except ValueError:
        pass  # left as the string: refused as "not a list"
    return {
        "typename": values.get("typename"),
        "id": values.get("id"),
        "kind": values.get("kind"),
        "fields": fields,
    }


def _format_id(value: StreamId) -> str:
    return f"{value[0]}-{value[1]}"


def _next_ids(last: StreamId, count: int) -> list[str]:
    """Return ``count`` ids after ``last``, as Redis makes them (milliseconds now, sequence)."""
    now = int(time.time() * 1000)
    milliseconds, sequence = (now, 0) if now > last[0] else (last[0], last[1] + 1)
    return [f"{milliseconds}-{sequence + n}" for n in range(count)]


def _parse_id(value: object) -> StreamId | None:
    """Return a stream entry id as (milliseconds, sequence), or None if it is not one."""
    match = _STREAM_ID.match(value) if isinstance(value, str) else None
    return (int(match[1]), int(match[2])) if match else None


class ChangeRelay:
    """Appends a project's change feed, read with this service's credential, to a Redis Stream.

    Run one relay per project and stream for the whole deployment; readers
    use ``RedisStreamSource``. The relay's feed cursor is kept at
    ``relay_cursor_key(stream)``.

    :param project: the remote project, a key of ``FEDERATION["PROJECTS"]``
    :param url: the Redis server (see ``RedisStreamSource``)
    :param stream: the stream key (default: ``stream_key(project)``)
    :param maxlen: the entries the stream keeps, about (``XADD MAXLEN ~``)
    :param source: where pages come from (default: ``HttpFeedSource``)
    :param random: the backoff jitter's source of numbers in [0, 1)
    :raises ImproperlyConfigured: ``project`` is this service's own, ``url`` is
        not a Redis URL, ``maxlen`` is not positive, or redis-py is missing
    :raises RemoteProjectNotConfigured: ``project`` has no URL
    """

    def __init__(
        self,
        project: str,
        url: str,
        stream: str | None = None,
        maxlen: int = DEFAULT_MAXLEN,
        source: ChangeSource | None = None,
        random: Callable[[], float] = random.random,
    ) -> None:
        if conf.is_local_project(project):
            raise ImproperlyConfigured(f"Project {project!r} is this service's own: not relayed.")
        if maxlen < 1:
            raise ImproperlyConfigured(f"The stream's MAXLEN must be positive, not {maxlen}.")
        self.settings = conf.project_settings(project)
        self.project = project
        self._redis = _Connected(project, url, stream, self.settings["TIMEOUT"])
        self.stream = self._redis.stream
        self.cursor_key = relay_cursor_key(self.stream)
        self.maxlen = maxlen
        self.source = source or HttpFeedSource(project)
        self.random = random
        #: Failed steps in a row (0 after a step succeeds).
        self.failures = 0

    def step(self) -> RelayResult:
        """Read the feed's page after the relay's cursor; append it and move the cursor, atomically.

        :raises FederationError: the page could not be read or was malformed
            (nothing appended), or another relay moved the cursor (``RelayCursorMoved``)
        :raises ChangeStreamUnavailable: the Redis server could not answer
            (nothing appended, or the page whole)
        """
        redis = self._redis.redis
        try:
            with self._redis.client.pipeline(transaction=True) as pipe:
                # WATCH first: the cursor read and the page appended are one
                # transaction, and a second relay's EXEC fails instead of
                # appending the page again (or breaking the ``prev`` chain).
                pipe.watch(self.cursor_key, self.stream)
                after = pipe.get(self.cursor_key)
                page = self.source.read(after or None, self.settings["FOLLOW_BATCH"])
                moved = page.cursor not in (None, after)
                result = RelayResult(
                    self.project,
                    events=len(page.changes),
                    pruned=page.pruned,
                    drained=not moved,
                    cursor=page.cursor or after,
                )
                if not (moved or page.pruned or page.changes):
                    return result
                last = self._issued(pipe)
                pipe.multi()
                self._append(pipe, page, last)
                pipe.execute()
                return result
        except redis.WatchError:
            raise RelayCursorMoved(self.project, self.stream) from None
        except redis.RedisError as exc:
            raise self._redis.unavailable(exc) from exc

    def _issued(self, pipe: redis.client.Pipeline) -> StreamId:
        """Return the last id the stream issued ((0, 0) if there is no stream)."""
        try:
            info = pipe.xinfo_stream(self.stream)
        except self._redis.redis.ResponseError as exc:
            if "no such key" not in str(exc).lower():
                raise
            return (0, 0)
        return _parse_id(info.get("last-generated-id")) or (0, 0)

    def _append(self, pipe: redis.client.Pipeline, page: ChangePage, last: StreamId) -> None:
        """Queue the page's entries, each with the id of the one before, and the cursor."""
        cursor = page.cursor or ""
        entries: list[dict[str, str]] = []
        if page.pruned:
            entries.append({"pruned": "1", "cursor": cursor})
        for change in page.changes:
            entries.append(
                {
                    "typename": change.typename,
                    "id": change.id,
                    "kind": _ENUM[change.kind],
                    "fields": json.dumps(list(change.fields)),
                    "cursor": cursor,
                }
            )
        # Ids chosen here, as Redis would choose them, so that each entry can
        # name the one before it: readers see a gap when entries are removed.
        prev = _format_id(last)
        for entry_id, entry in zip(_next_ids(last, len(entries)), entries, strict=True):
            fields = {"prev": prev, **entry}
            pipe.xadd(self.stream, fields, id=entry_id, maxlen=self.maxlen, approximate=True)
            prev = entry_id
        if page.cursor is not None:
            pipe.set(self.cursor_key, page.cursor)

    def cursor(self) -> str | None:
        """Return the relay's feed cursor (None before its first page).

        :raises ChangeStreamUnavailable: the Redis server could not answer
        """
        try:
            return self._redis.client.get(self.cursor_key)
        except self._redis.redis.RedisError as exc:
            raise self._redis.unavailable(exc) from exc

    def succeeded(self) -> None:
        """Record a successful step: the next delay is the plain interval."""
        self.failures = 0

    def failed(self) -> float:
        """Record a failed step; return the delay before the next."""
        self.failures += 1
        return self.delay()

    def delay(self, drained: bool = True) -> float:
        """Return how long to wait before the next step (``sources.follow_delay``)."""
        return follow_delay(self.settings, self.failures, drained, self.random)
