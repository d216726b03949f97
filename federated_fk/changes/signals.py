"""Signals of the change follower: a remote object changed, or is gone.

Both are sent by ``federated_fk.changes.follower.Follower`` inside the
transaction that applies a batch of a remote project's change feed and saves
its cursor: a receiver that writes to the database writes in that
transaction, so its effect commits with the batch or not at all. A batch that
is applied again (the follower was stopped before it committed) sends its
signals again: receivers must be idempotent (applying twice gives the state
applying once gives).

Arguments of both signals:

- ``sender``: the stand-in class of the remote type
  (``GenericContentType.model_class()``, a ``RemoteObject`` subclass);
- ``content_type``: the ``GenericContentType`` of the remote type;
- ``object_id``: the object's primary key, of the remote type's primary-key
  type (``int``, ``str`` or ``uuid.UUID``).

``remote_object_changed`` also has:

- ``kind``: ``"created"`` or ``"updated"``;
- ``fields``: the GraphQL field names an update changed, as published by the
  remote (``[]`` for a creation, or when they are not known).

One signal per object and batch: the events of one object in one batch are
merged (``kind`` is ``"created"`` if one of them was, ``fields`` is the union).
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["remote_object_changed", "remote_object_deleted"]

#: A remote object was created or updated (or its deletion was undone).
remote_object_changed = Signal()

#: A remote object is gone, or hidden from this service: confirmed past the cache.
remote_object_deleted = Signal()
