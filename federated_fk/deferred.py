"""Deferred pointing, as django-dfk does it, with remote targets.

The public import path for pointing deferred foreign keys::

    from federated_fk.deferred import DeferredForeignKey, point, point_named, repoint

See ``federated_fk.fields.deferred_key`` for the details.
"""

from federated_fk.fields.deferred_key import (
    DeferredForeignKey,
    InvalidTargetError,
    NotPointedError,
    PointedTooLateError,
    clean_object_caches,
    point,
    point_named,
    repoint,
)
from federated_fk.fields.remote_key import RemoteForeignKey

__all__ = [
    "DeferredForeignKey",
    "InvalidTargetError",
    "NotPointedError",
    "PointedTooLateError",
    "RemoteForeignKey",
    "clean_object_caches",
    "point",
    "point_named",
    "repoint",
]
