"""Follow remote projects' change feeds: apply deletions, drop stale cache entries, signal.

Exit statuses (documented in the command's help):

- 0: every project followed was applied up to its feed's end (``--once``), or
  the command was stopped (SIGINT, SIGTERM) while every project was healthy;
- 1: a project failed (``--once``), or was failing when the command was stopped.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from federated_fk import conf
from federated_fk.changes.follower import BatchResult, Follower, followed_projects
from federated_fk.changes.redis_stream import RedisStreamSource
from federated_fk.exceptions import FederationError, redact_remote_text

#: The exit status when a project failed.
EXIT_FAILED = 1


class Command(BaseCommand):
    help = (
        "Follows the change feed (federatedChanges) of remote projects: per batch, "
        "confirms deletions past the cache, drops the cached entries of changed and "
        "deleted objects, applies the deletion policies (on_remote_delete), sends "
        "remote_object_changed and remote_object_deleted and saves the cursor, in one "
        "transaction. When a feed was pruned past the cursor, runs "
        "find_dangling_references --apply-policies for the project and says so. With "
        "--source, reads the Redis Stream that relay_change_feed appends to. Runs "
        "until stopped (SIGINT, SIGTERM: the current batch ends first); with --once, "
        "reads every feed to its end and exits. Exit status: 0 done; 1 a project failed "
        "(with --once), or was failing when stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Read every feed to its end once, then exit (for cron).",
        )
        parser.add_argument(
            "--project",
            action="append",
            dest="projects",
            metavar="NAME",
            help="A project to follow; repeat for several (default: every project of "
            "FEDERATION['PROJECTS'] whose FOLLOW is true).",
        )
        parser.add_argument(
            "--source",
            metavar="URL",
            help="Read the changes from the Redis Stream that relay_change_feed appends to, "
            "on this server (redis://[:password@]host:port/db), instead of polling each "
            "project's subgraph; a read waits for new entries up to FOLLOW_INTERVAL.",
        )
        parser.add_argument(
            "--stream",
            metavar="KEY",
            help="With --source and one project: the stream key (default: "
            "federated_fk:changes:<project>).",
        )

    def handle(self, *args: Any, once: bool, projects: list[str] | None, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        source, stream = options.get("source"), options.get("stream")
        if stream and not source:
            raise CommandError("--stream needs --source.")
        try:
            names = self._projects(projects)
            if stream and len(names) != 1:
                raise CommandError("--stream names the stream of one project: give one --project.")
            followers = [Follower(p, source=self._source(p, source, stream, once)) for p in names]
        except (FederationError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from exc
        self.totals: dict[str, Counter] = {f.project: Counter() for f in followers}
        failed = self._once(followers) if once else self._follow(followers)
        self._summary()
        if failed:
            raise CommandError(
                f"Following failed for project(s) {', '.join(repr(p) for p in failed)}; "
                "what they had applied before stays applied.",
                returncode=EXIT_FAILED,
            )

    def _source(
        self, project: str, url: str | None, stream: str | None, once: bool
    ) -> RedisStreamSource | None:
        """The project's stream with ``--source``; None for its subgraph's feed."""
        if not url:
            return None
        # With --once the feed is read to its end: waiting for more is not wanted.
        return RedisStreamSource(project, url, stream=stream, block=0 if once else None)

    def _projects(self, projects: list[str] | None) -> list[str]:
        configured = conf.federation_settings()["PROJECTS"] or {}
        if not projects:
            projects = followed_projects()
            if not projects:
                raise CommandError(
                    "No project to follow: no project of FEDERATION['PROJECTS'] has FOLLOW true."
                )
        unknown = [p for p in projects if p not in configured]
        if unknown:
            raise CommandError(
                f"Unknown project(s) {', '.join(repr(p) for p in unknown)}: "
                "not in FEDERATION['PROJECTS']."
            )
        return list(dict.fromkeys(projects))

    def _once(self, followers: list[Follower]) -> list[str]:
        """Drain every feed once; return the projects that failed."""
        failed = []
        for follower in followers:
            try:
                while True:
                    result = follower.step()
                    self._report(result)
                    if result.drained:
                        break
            except Exception as exc:  # reported, and the exit status says so
                follower.failed(exc)
                self._failure(follower, exc)
                failed.append(follower.project)
        return failed

    def _follow(self, followers: list[Follower]) -> list[str]:
        """Follow every feed until stopped; return the projects failing at the end."""
        stop = threading.Event()
        due = {f.project: 0.0 for f in followers}
        with _stopped_by_signals(stop):
            while not stop.is_set():
                for follower in followers:
                    if stop.is_set() or due[follower.project] > time.monotonic():
                        continue
                    due[follower.project] = time.monotonic() + self._poll(follower)
                stop.wait(max(0.0, min(due.values()) - time.monotonic()))
        self.stdout.write("Stopped.")
        return [f.project for f in followers if f.failures]

    def _poll(self, follower: Follower) -> float:
        """Apply one batch of ``follower``; return the seconds to wait before its next."""
        close_old_connections()  # a long run outlives CONN_MAX_AGE and broken connections
        try:
            result = follower.step()
        except Exception as exc:  # logged and retried with backoff
            delay = follower.failed(exc)
            self._failure(follower, exc, f"; next try in {delay:.1f} s")
            return delay
        if follower.failures:
            self.stdout.write(f"{follower.project}: following again.")
        follower.succeeded()
        self._report(result)
        if isinstance(follower.source, RedisStreamSource) and follower.source.block:
            return 0.0  # the read itself waited for an entry, and woke at one
        return follower.delay(result.drained)

    def _report(self, result: BatchResult) -> None:
        totals = self.totals[result.project]
        totals.update(
            events=result.events,
            changed=result.changed,
            deleted=result.deleted,
            ignored=result.ignored,
            reconciliations=int(result.reconciled),
        )
        if result.unsynced:
            self.stderr.write(
                f"{result.project}: changes of {', '.join(result.unsynced)} passed over: not in "
                f"its schema as last synchronized (run sync_remote_contenttypes {result.project})"
            )
        if result.reconciled:
            self.stdout.write(
                f"{result.project}: the change feed was pruned past the cursor; reconciled "
                "every reference (find_dangling_references --apply-policies):"
            )
            for line in result.reconciliation.strip().splitlines():
                self.stdout.write(f"  {line}")
        if result.events and self.verbosity >= 2:
            self.stdout.write(
                f"{result.project}: {result.events} event(s): {result.changed} changed, "
                f"{result.deleted} deleted ({result.revived} said deleted exist), "
                f"{result.ignored} of types not referenced here"
            )

    def _failure(self, follower: Follower, exc: BaseException, then: str = "") -> None:
        message = redact_remote_text(f"{type(exc).__name__}: {exc}")
        self.stderr.write(f"{follower.project}: failed: {message}{then}")

    def _summary(self) -> None:
        for project, totals in self.totals.items():
            self.stdout.write(
                f"{project}: {totals['events']} event(s) applied: {totals['changed']} "
                f"changed, {totals['deleted']} deleted, {totals['ignored']} of types not "
                f"referenced here; {totals['reconciliations']} reconciliation(s)"
            )


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT and SIGTERM (the batch under way ends first); restore after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
