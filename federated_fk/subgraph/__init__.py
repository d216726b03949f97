"""Expose local models as entity types of an Apollo Federation v2 subgraph."""

from federated_fk.subgraph.entities import SubgraphSchema
from federated_fk.subgraph.schema import MAX_LIST_LIMIT, DjangoModel, FederatedIdPage, Subgraph
from federated_fk.subgraph.views import SubgraphView

__all__ = [
    "MAX_LIST_LIMIT",
    "DjangoModel",
    "FederatedIdPage",
    "Subgraph",
    "SubgraphSchema",
    "SubgraphView",
]
