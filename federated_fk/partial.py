"""Partial results: what a read across projects found, and each project that failed.

One remote project can be down while the others answer. Every read that asks
several projects at once returns a :class:`PartialResult`: the caller keeps
what was found and decides what a failed project means to it, or calls
``raise_first()`` to fail as a single read would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from federated_fk.exceptions import FederationError

__all__ = ["PartialResult"]

T = TypeVar("T")


@dataclass
class PartialResult(Generic[T]):
    """What a read across projects found, and the failure of each project that could not answer.

    :param objects: what was found (the objects of a failed project are absent)
    :param errors: the failure of each project that could not answer, by project name
    """

    objects: T
    errors: dict[str, FederationError] = field(default_factory=dict)

    def raise_first(self) -> T:
        """Return ``objects`` if every project answered; else raise the first failure.

        :raises FederationError: the failure of the first failed project, by name
        """
        if self.errors:
            raise self.errors[min(self.errors)]
        return self.objects
