"""``on_remote_delete``: what a reference does when its remote target is deleted.

A field's policy is one of Django's ``models.CASCADE`` (delete the referencing
rows), ``models.SET_NULL`` (clear the reference's columns) and
``models.DO_NOTHING`` (keep them; the default), or any other callable
``policy(field, queryset)``, given the field and the queryset of the rows
that reference the deleted objects. ``apply_remote_deletion``
(``federated_fk.fields.remote_deletion``) applies them.

Django's other policies are refused by the system checks: a deletion in
another service has already happened when it is learnt here, so it cannot be
stopped (``PROTECT``, ``RESTRICT``), and the values ``SET_DEFAULT`` and
``SET(...)`` would write are computed by Django's deletion collector, which
plays no part here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import CASCADE, DO_NOTHING, SET_NULL

#: A policy: one of Django's three, or ``policy(field, queryset)``.
RemotePolicy = Callable[..., Any]

#: The default: references stay (``find_dangling_references`` reports them).
DEFAULT_POLICY: RemotePolicy = DO_NOTHING

#: The policies given by name, with the name results and reports use.
NAMED_POLICIES: dict[RemotePolicy, str] = {
    CASCADE: "CASCADE",
    SET_NULL: "SET_NULL",
    DO_NOTHING: "DO_NOTHING",
}

#: Modules whose callables are ``on_delete`` policies of a deletion collector,
#: called as ``policy(collector, field, sub_objs, using)``: never a remote policy.
COLLECTOR_MODULES = frozenset(
    {"django.db.models.deletion", "federated_fk.fields.many_to_many.deletion"}
)

POLICY_HINT = (
    "Use models.CASCADE, models.SET_NULL, models.DO_NOTHING (the default), or a callable "
    "policy(field, queryset) that does what you need with the referencing rows."
)


def policy_name(policy: RemotePolicy) -> str:
    """Return ``"CASCADE"``, ``"SET_NULL"``, ``"DO_NOTHING"`` or the callable's dotted name."""
    for named, name in NAMED_POLICIES.items():
        if policy is named:
            return name
    qualname = getattr(policy, "__qualname__", None)
    if qualname is None:
        return repr(policy)
    return f"{getattr(policy, '__module__', None) or '?'}.{qualname}"


def refusal(policy: Any) -> str | None:
    """Return why ``policy`` cannot be an ``on_remote_delete``, or None if it can."""
    if any(policy is named for named in NAMED_POLICIES):
        return None
    if not callable(policy):
        return f"{policy!r} is not a policy: it is not callable"
    if getattr(policy, "__module__", None) in COLLECTOR_MODULES:
        name = getattr(policy, "__name__", repr(policy))
        if name == "set_on_delete":  # what models.SET(value) returns
            name = "SET(...)"
        return (
            f"{name} is an on_delete policy of a deletion collector: a deletion in "
            "another service cannot be stopped (PROTECT, RESTRICT) and is not followed "
            "by Django's collector (SET_DEFAULT, SET(...), the signal policies)"
        )
    return None


def is_default(policy: RemotePolicy) -> bool:
    """Whether ``policy`` is the default (``DO_NOTHING``): deconstruct() leaves it out."""
    return policy is DEFAULT_POLICY
