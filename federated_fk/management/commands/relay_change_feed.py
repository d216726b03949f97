"""Relay a remote project's change feed to a Redis Stream, with this service's credential.

Exit statuses (documented in the command's help):

- 0: the feed was relayed up to its end (``--once``), or the command was
  stopped (SIGINT, SIGTERM) while it was healthy;
- 1: the feed or Redis failed (``--once``), or was failing when stopped;
- 2: the arguments are wrong: an unknown project, this service's own, a URL
  that is not Redis's, a MAXLEN below 1.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management import BaseCommand, CommandError, CommandParser

from federated_fk import conf
from federated_fk.changes.redis_stream import DEFAULT_MAXLEN, ChangeRelay, RelayResult
from federated_fk.exceptions import FederationError, redact_remote_text
from federated_fk.management.commands.follow_remote_changes import _stopped_by_signals

#: The exit status when the feed or Redis failed.
EXIT_FAILED = 1
#: The exit status when the arguments are wrong.
EXIT_USAGE = 2


class Command(BaseCommand):
    help = (
        "Relays the change feed (federatedChanges) of one remote project to a Redis Stream, "
        "read with this service's token: one stream entry per change, in feed order; the "
        "relay's feed cursor is kept next to the stream and written in the same "
        "transaction as the page's entries. Readers follow the stream with "
        "follow_remote_changes --source. Run one relay per project and stream. Runs until "
        "stopped (SIGINT, SIGTERM: the current page ends first); with --once, relays the "
        "feed to its end and exits. Exit status: 0 done; 1 the feed or Redis failed (with "
        "--once), or was failing when stopped; 2 wrong arguments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--project", required=True, metavar="NAME", help="The remote project to relay."
        )
        parser.add_argument(
            "--redis",
            required=True,
            metavar="URL",
            help="The Redis server: redis://[:password@]host:port/db (or rediss://, unix://).",
        )
        parser.add_argument(
            "--stream",
            metavar="KEY",
            help="The stream key (default: federated_fk:changes:<project>); the relay's "
            "cursor is kept at <KEY>:feed-cursor.",
        )
        parser.add_argument(
            "--maxlen",
            type=int,
            default=DEFAULT_MAXLEN,
            metavar="N",
            help=f"About how many entries the stream keeps (XADD MAXLEN ~ N; default "
            f"{DEFAULT_MAXLEN}). Readers left behind by trimming reconcile.",
        )
        parser.add_argument(
            "--once", action="store_true", help="Relay the feed to its end once, then exit."
        )

    def handle(self, *args: Any, project: str, once: bool, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        relay = self._relay(project, options["redis"], options["stream"], options["maxlen"])
        self.relayed = self.markers = 0
        healthy = self._once(relay) if once else self._follow(relay)
        self.stdout.write(
            f"{project}: {self.relayed} change(s) relayed to stream {relay.stream}; "
            f"{self.markers} pruned marker(s)"
        )
        if not healthy:
            raise CommandError(
                f"Relaying project {project!r} failed; what was appended before stays.",
                returncode=EXIT_FAILED,
            )

    def _relay(self, project: str, url: str, stream: str | None, maxlen: int) -> ChangeRelay:
        if project not in (conf.federation_settings()["PROJECTS"] or {}):
            raise CommandError(
                f"Unknown project {project!r}: not in FEDERATION['PROJECTS'].",
                returncode=EXIT_USAGE,
            )
        try:
            return ChangeRelay(project, url, stream=stream, maxlen=maxlen)
        except (FederationError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from exc

    def _once(self, relay: ChangeRelay) -> bool:
        """Relay the feed to its end; return whether it got there."""
        try:
            while not self._step(relay).drained:
                pass
        except Exception as exc:  # reported, and the exit status says so
            self._failure(relay, exc)
            return False
        return True

    def _follow(self, relay: ChangeRelay) -> bool:
        """Relay until stopped; return whether the last step succeeded."""
        stop = threading.Event()
        with _stopped_by_signals(stop):
            while not stop.is_set():
                stop.wait(self._poll(relay))
        self.stdout.write("Stopped.")
        return not relay.failures

    def _poll(self, relay: ChangeRelay) -> float:
        """Relay one page; return the seconds to wait before the next."""
        try:
            result = self._step(relay)
        except Exception as exc:  # reported and retried with backoff
            delay = relay.failed()
            self._failure(relay, exc, f"; next try in {delay:.1f} s")
            return delay
        if relay.failures:
            self.stdout.write(f"{relay.project}: relaying again.")
        relay.succeeded()
        return relay.delay(result.drained)

    def _step(self, relay: ChangeRelay) -> RelayResult:
        started = time.monotonic()
        result = relay.step()
        self.relayed += result.events
        if result.pruned:
            self.markers += 1
            self.stdout.write(
                f"{relay.project}: the change feed was pruned past the relay's cursor; a pruned "
                f"marker was appended to {relay.stream}: every reader reconciles."
            )
        if result.events and self.verbosity >= 2:
            self.stdout.write(
                f"{relay.project}: {result.events} change(s) appended to {relay.stream} "
                f"in {time.monotonic() - started:.3f} s"
            )
        return result

    def _failure(self, relay: ChangeRelay, exc: BaseException, then: str = "") -> None:
        message = redact_remote_text(f"{type(exc).__name__}: {exc}")
        self.stderr.write(f"{relay.project}: failed: {message}{then}")
