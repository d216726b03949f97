"""Receivers of the follower's signals that log when each change took effect.

A line per signal, ``<wall time> <changed|deleted> <model> <object id>``, is
appended to the file ``FOLLOW_BENCH_EFFECTS`` names. The time is taken when the
follower's batch transaction commits (``transaction.on_commit``), not when the
signal is sent: the signals go out inside that transaction, and their effect
(what a receiver writes, the cursor) is visible to the service's other
connections only once it commits. A batch rolled back logs nothing.
"""

from __future__ import annotations

import os
import time
from functools import partial
from typing import IO, Any

from django.apps import AppConfig
from django.db import transaction

_log: IO[str] | None = None


def _write(kind: str, model: str, object_id: Any) -> None:
    global _log
    if _log is None:
        # Line-buffered: each line reaches the file as its batch commits.
        _log = open(os.environ["FOLLOW_BENCH_EFFECTS"], "a", buffering=1)
    _log.write(f"{time.time():.6f} {kind} {model} {object_id}\n")


def changed(sender: Any, content_type: Any, object_id: Any, **kwargs: Any) -> None:
    transaction.on_commit(partial(_write, "changed", content_type.model, object_id))


def deleted(sender: Any, content_type: Any, object_id: Any, **kwargs: Any) -> None:
    transaction.on_commit(partial(_write, "deleted", content_type.model, object_id))


class EffectsConfig(AppConfig):
    name = "tests.bench.effects"
    label = "bench_effects"

    def ready(self) -> None:
        from federated_fk.changes.signals import remote_object_changed, remote_object_deleted

        remote_object_changed.connect(changed, dispatch_uid="bench-effects-changed")
        remote_object_deleted.connect(deleted, dispatch_uid="bench-effects-deleted")
