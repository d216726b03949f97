"""What deleting one side of a FederatedManyToManyField does to its links.

The policies are Django ``on_delete`` callables, so they also fit the
ForeignKey to the source in a custom through model. Each one decides what
happens to the through rows (``sub_objs``) of the objects being deleted:

- ``CASCADE`` (the default): the rows are deleted with the object;
- ``DO_NOTHING``: the rows stay; keeping the database consistent is yours
  (the through table's source key has no database constraint then, so
  that the rows kept do not fail the transaction);
- ``CASCADE_SIGNAL``: ``deleting`` is sent, then the rows are deleted;
- ``CASCADE_SIGNAL_VETO``: ``deleting`` is sent, and the rows are deleted
  unless a receiver returns a true value (a veto);
- ``DO_NOTHING_SIGNAL``: ``deleting`` is sent, the rows stay.

A remote target is never deleted by a local action: the policies apply to
local targets and to the through rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models.deletion import CASCADE, DO_NOTHING, Collector
from django.dispatch import Signal

#: Sent when objects on one side of a FederatedManyToManyField are deleted
#: under a ``*_SIGNAL*`` policy. The sender is the FederatedManyToManyField;
#: ``del_objs`` are the objects deleted in the first place, ``rel_objs`` the
#: through rows that link them (deleted unless the policy keeps them).
deleting = Signal()

Policy = Callable[..., None]


def _collected(collector: Collector) -> Iterator[Any]:
    for instances in collector.data.values():
        yield from instances


def _send(sender: Any, del_objs: Iterable[Any], rel_objs: Any) -> bool:
    """Send ``deleting``; return True if a receiver vetoed the deletion."""
    responses = deleting.send(sender=sender, del_objs=list(del_objs), rel_objs=rel_objs)
    return any(response for _receiver, response in responses)


def CASCADE_SIGNAL(
    collector: Collector, field: Any, sub_objs: Any, using: str, sender: Any = None
) -> None:
    """Send ``deleting``, then delete the links."""
    _send(sender or field, _collected(collector), sub_objs)
    CASCADE(collector, field, sub_objs, using)


def CASCADE_SIGNAL_VETO(
    collector: Collector, field: Any, sub_objs: Any, using: str, sender: Any = None
) -> None:
    """Send ``deleting``; delete the links unless a receiver returns a true value."""
    if not _send(sender or field, _collected(collector), sub_objs):
        CASCADE(collector, field, sub_objs, using)


def DO_NOTHING_SIGNAL(
    collector: Collector, field: Any, sub_objs: Any, using: str, sender: Any = None
) -> None:
    """Send ``deleting`` and keep the links."""
    _send(sender or field, _collected(collector), sub_objs)


POLICIES: tuple[Policy, ...] = (
    CASCADE,
    DO_NOTHING,
    CASCADE_SIGNAL,
    CASCADE_SIGNAL_VETO,
    DO_NOTHING_SIGNAL,
)


def keeps_rows(policy: Policy) -> bool:
    """Whether ``policy`` may leave the through rows of a deleted object in place."""
    return policy in (DO_NOTHING, DO_NOTHING_SIGNAL, CASCADE_SIGNAL_VETO)


class SourceDeletion:
    """The ``on_delete`` of the source ForeignKey of an auto-created through model.

    It applies the field's ``on_delete_src`` policy with the
    FederatedManyToManyField as the signal's sender.
    """

    def __init__(self, m2m_field: Any) -> None:
        self.m2m_field = m2m_field

    def __call__(self, collector: Collector, field: Any, sub_objs: Any, using: str) -> None:
        policy = self.m2m_field.on_delete_src
        if policy in (CASCADE, DO_NOTHING):
            policy(collector, field, sub_objs, using)
        else:
            policy(collector, field, sub_objs, using, sender=self.m2m_field)


def target_rows(m2m_field: Any, del_objs: list[Any], rows: Any) -> Any:
    """Return the through ``rows`` of deleted local targets to delete with them.

    Applies ``on_delete_tgt``: the rows, or none of them.
    """
    policy = m2m_field.on_delete_tgt
    if policy is CASCADE:
        return rows
    if policy is DO_NOTHING:
        return rows.none()
    vetoed = _send(m2m_field, del_objs, rows)
    if policy is CASCADE_SIGNAL or (policy is CASCADE_SIGNAL_VETO and not vetoed):
        return rows
    return rows.none()
