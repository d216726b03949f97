"""The fields of django-federated-fk: generic keys whose targets may live in any service."""

from federated_fk.fields.deferred_key import DeferredForeignKey
from federated_fk.fields.foreign_key import FederatedForeignKey
from federated_fk.fields.many_to_many.field import FederatedManyToManyField
from federated_fk.fields.relation import FederatedRelation
from federated_fk.fields.remote_deletion import RemoteDeletionResult, apply_remote_deletion
from federated_fk.fields.remote_key import RemoteForeignKey
from federated_fk.pushdown import (
    FederatedManager,
    FederatedQuerySetMixin,
    partial_targets_q,
    targets_q,
)

__all__ = [
    "DeferredForeignKey",
    "FederatedForeignKey",
    "FederatedManager",
    "FederatedManyToManyField",
    "FederatedQuerySetMixin",
    "FederatedRelation",
    "RemoteDeletionResult",
    "RemoteForeignKey",
    "apply_remote_deletion",
    "partial_targets_q",
    "targets_q",
]
