"""Exceptions of django-federated-fk.

Every exception carries the data it is about and builds its own message from
it; none of them ever holds a credential.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist


class FederationError(Exception):
    """Base class of the errors raised by django-federated-fk."""


class RemoteObjectDoesNotExist(ObjectDoesNotExist, FederationError):
    """The remote service has no object of this type with this id.

    Each stand-in class has its own subclass as ``StandIn.DoesNotExist``, as
    Django models do, so ``except Book.DoesNotExist`` works for remote books.
    """

    def __init__(self, project: str, label: str, pk: Any) -> None:
        self.project = project
        self.label = label
        self.pk = pk
        super().__init__(f"{label} matching pk={pk!r} does not exist in project {project!r}.")
