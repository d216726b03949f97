"""Expose local models as entity types of an Apollo Federation v2 subgraph."""

from federated_fk.subgraph.entities import SubgraphSchema
from federated_fk.subgraph.handler import SubgraphHandler
from federated_fk.subgraph.schema import FederatedIdPage, Subgraph
from federated_fk.subgraph.views import SubgraphView

__all__ = [
    "FederatedIdPage",
    "Subgraph",
    "SubgraphHandler",
    "SubgraphSchema",
    "SubgraphView",
]
