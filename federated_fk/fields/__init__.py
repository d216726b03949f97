"""The fields of django-federated-fk: generic keys whose targets may live in any service."""

from federated_fk.fields.deferred_key import DeferredForeignKey
from federated_fk.fields.foreign_key import CONTENT_TYPE_HINT, FederatedForeignKey
from federated_fk.fields.many_to_many.field import DEFAULT_PK_MAXLENGTH, FederatedManyToManyField
from federated_fk.fields.many_to_many.reverse import FederatedManyToManyReverse
from federated_fk.fields.relation import (
    FederatedRelation,
    ReverseFederatedManyToOneDescriptor,
    create_federated_related_manager,
)
from federated_fk.fields.remote_key import RemoteForeignKey

__all__ = [
    "CONTENT_TYPE_HINT",
    "DEFAULT_PK_MAXLENGTH",
    "DeferredForeignKey",
    "FederatedForeignKey",
    "FederatedManyToManyField",
    "FederatedManyToManyReverse",
    "FederatedRelation",
    "RemoteForeignKey",
    "ReverseFederatedManyToOneDescriptor",
    "create_federated_related_manager",
]
