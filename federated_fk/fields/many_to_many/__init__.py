"""FederatedManyToManyField: a generic many-to-many whose targets may live in any service.

One package for the concept: the field (``field``), its auto-created through
table (``through``), the managers of both sides (``managers``, ``reverse``),
how targets are read and written (``targets``), deletion policies and their
signal (``deletion``), system checks (``checks``), historical models in
migrations (``history``) and the form field the admin uses (``forms``).
"""

from federated_fk.fields.many_to_many.deletion import (
    CASCADE,
    CASCADE_SIGNAL,
    CASCADE_SIGNAL_VETO,
    DO_NOTHING,
    DO_NOTHING_SIGNAL,
    deleting,
)
from federated_fk.fields.many_to_many.field import FederatedManyToManyField
from federated_fk.fields.many_to_many.forms import FederatedTargetsField, FederatedTargetsWidget

__all__ = [
    "CASCADE",
    "CASCADE_SIGNAL",
    "CASCADE_SIGNAL_VETO",
    "DO_NOTHING",
    "DO_NOTHING_SIGNAL",
    "FederatedManyToManyField",
    "FederatedTargetsField",
    "FederatedTargetsWidget",
    "deleting",
]
