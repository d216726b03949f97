"""Receivers of the follower's signals: each writes a ``ReceivedSignal`` row.

When ``FOLLOWAPP_STALL_FILE`` is set and that file does not exist yet, the
receiver called for the object ``FOLLOWAPP_STALL_ID`` creates it and then
sleeps: the follower's process is then inside a batch's transaction, with
rows written and the cursor not yet saved, and the test kills it there.
"""

import os
import time
from pathlib import Path

from django.apps import AppConfig


def _stall_once(object_id: str) -> None:
    path = os.environ.get("FOLLOWAPP_STALL_FILE")
    if path and object_id == os.environ.get("FOLLOWAPP_STALL_ID") and not Path(path).exists():
        Path(path).write_text(str(os.getpid()))
        time.sleep(120)


def _record(signal: str, content_type, object_id, kind: str = "", fields=()) -> None:
    from tests.followapp.models import ReceivedSignal

    ReceivedSignal.objects.create(
        signal=signal,
        project=content_type.project,
        model=content_type.model,
        object_id=str(object_id),
        kind=kind,
        fields=",".join(fields),
    )
    _stall_once(str(object_id))


def changed(sender, content_type, object_id, kind, fields, **kwargs) -> None:
    _record("changed", content_type, object_id, kind, fields)


def deleted(sender, content_type, object_id, **kwargs) -> None:
    _record("deleted", content_type, object_id)


class FollowAppConfig(AppConfig):
    name = "tests.followapp"
    label = "followapp"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from federated_fk.changes.signals import remote_object_changed, remote_object_deleted

        remote_object_changed.connect(changed, dispatch_uid="followapp-changed")
        remote_object_deleted.connect(deleted, dispatch_uid="followapp-deleted")
