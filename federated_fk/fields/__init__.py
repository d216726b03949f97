"""The fields of django-federated-fk: generic keys whose targets may live in any service."""

from federated_fk.fields.deferred import DeferredForeignKey
from federated_fk.fields.foreign_key import CONTENT_TYPE_HINT, FederatedForeignKey
from federated_fk.fields.relation import (
    FederatedRelation,
    ReverseFederatedManyToOneDescriptor,
    create_federated_related_manager,
)
from federated_fk.fields.remote_key import RemoteForeignKey

__all__ = [
    "CONTENT_TYPE_HINT",
    "DeferredForeignKey",
    "FederatedForeignKey",
    "FederatedRelation",
    "RemoteForeignKey",
    "ReverseFederatedManyToOneDescriptor",
    "create_federated_related_manager",
]
