"""Applying ``on_remote_delete``: the local side of a deletion in another service.

When objects of a remote type are gone, ``apply_remote_deletion(content_type,
object_ids)`` finds every field of every installed model that can point at
them, and applies that field's policy (``federated_fk.fields.remote_policy``)
to the rows that do:

- ``FederatedForeignKey``: the rows whose content type is ``content_type``
  and whose object id is one of ``object_ids``;
- ``FederatedManyToManyField``: its through rows pointing at them (the
  FederatedForeignKey of the through model follows the relation's policy);
- ``RemoteForeignKey`` fixed to ``content_type``: the rows holding one of
  the ids.

Ids are compared as ``find_dangling_references`` compares them: both sides
are read as keys of the remote type (``federated_fk.ids.parse_remote_id``),
so ``"7"`` in a text column and ``7`` in an integer column are the same
reference, and a malformed id matches nothing. A column that stores the
keys' own type (an integer column for integer keys, a UUID column for UUID
keys, a text column for string keys) is compared by the database; a text
column holding integer or UUID keys is read, for that content type, and
each id parsed.

Everything happens in one transaction. Applying a deletion twice has the
effect of applying it once: the second time, no row points at the objects
any more (``CASCADE``, ``SET_NULL``), or the rows kept are kept again
(``DO_NOTHING``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import QuerySet

from federated_fk.fields.foreign_key import FederatedForeignKey
from federated_fk.fields.many_to_many.field import FederatedManyToManyField
from federated_fk.fields.remote_key import RemoteForeignKey
from federated_fk.fields.remote_policy import policy_name
from federated_fk.ids import InvalidId, parse_remote_id
from federated_fk.models import GenericContentType

#: The key type each column type stores as is, compared by the database.
_NATIVE = {
    "int": (
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    ),
    "uuid": ("UUIDField",),
    "str": ("CharField", "TextField"),
}

#: Rows read per query when a text column of integer or UUID keys is parsed.
_CHUNK = 2000


@dataclass(frozen=True)
class RemoteDeletionResult:
    """What one field's policy did.

    :param label: the field, as ``"app_label.Model.field"``
    :param policy: ``"CASCADE"``, ``"SET_NULL"``, ``"DO_NOTHING"`` or the
        callable's dotted name
    :param rows: the references deleted (``CASCADE``; cascades not counted),
        cleared (``SET_NULL``) or given to the callable; 0 for ``DO_NOTHING``
    :param kept: the references that still point at the deleted objects
        afterwards (``DO_NOTHING``, or what a callable left)
    """

    label: str
    policy: str
    rows: int
    kept: int

    def __str__(self) -> str:
        done = {
            "CASCADE": f"deleted {self.rows}",
            "SET_NULL": f"cleared {self.rows}",
            "DO_NOTHING": f"kept {self.kept}",
        }.get(self.policy, f"{self.rows} given to the policy, {self.kept} still point there")
        return f"{self.label}: {self.policy}: {done}"


@dataclass(frozen=True)
class Referrer:
    """One field's references as columns: the rows a policy applies to.

    :param field: the field that declares the policy
    :param key: the FederatedForeignKey or RemoteForeignKey whose columns hold
        the references (for a FederatedManyToManyField, its through model's)
    :param model: the model whose rows are the references (the through model
        of a FederatedManyToManyField)
    :param ct_attname: the content-type column; None for a RemoteForeignKey
    :param id_column: the field holding the target's id
    """

    field: Any
    key: Any
    model: type[models.Model]
    ct_attname: str | None
    id_column: models.Field

    @property
    def label(self) -> str:
        """The field, as ``"app_label.Model.field"``."""
        return f"{self.field.model._meta.label}.{self.field.name}"

    @property
    def policy(self) -> Any:
        """The field's ``on_remote_delete``."""
        return self.field.on_remote_delete

    def can_point_at(self, content_type: GenericContentType) -> bool:
        """Whether this field's references may point at ``content_type``."""
        if self.ct_attname is None:
            return self.field.target == content_type.natural_key()
        return True


def referrers() -> list[Referrer]:
    """Every field of the installed models that may reference a remote object.

    Auto-created through models are included through their relation; a
    proxy model, and the copy of a key a child model inherits, are not (the
    rows are the concrete parent's).
    """
    found: list[Referrer] = []
    governed: set[int] = set()  # the keys of through models: their relation decides
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy:
            continue
        for field in model._meta.local_many_to_many:
            if isinstance(field, FederatedManyToManyField):
                key = field.target_field
                governed.add(id(key))
                found.append(
                    Referrer(field, key, field.through, field.ct_field.attname, _column(key))
                )
        for field in model._meta.local_fields:
            if isinstance(field, RemoteForeignKey):
                found.append(Referrer(field, field, model, None, field))
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.private_fields:
            if (
                isinstance(field, FederatedForeignKey)
                and not model._meta.proxy
                and not getattr(field, "mti_inherited", False)
                and id(field) not in governed
            ):
                ct_attname = model._meta.get_field(field.ct_field).attname
                found.append(Referrer(field, field, model, ct_attname, _column(field)))
    return sorted(found, key=lambda referrer: referrer.label)


def _column(key: FederatedForeignKey) -> models.Field:
    return key.model._meta.get_field(key.fk_field)


def apply_remote_deletion(
    content_type: GenericContentType, object_ids: Iterable[Any], using: str | None = None
) -> list[RemoteDeletionResult]:
    """Apply each field's ``on_remote_delete`` to the references to deleted remote objects.

    Only references to ``content_type`` are touched; local references and
    references to other types are not. Ids that cannot be keys of the
    remote type (malformed, out of range) name no object and are left out.

    :param content_type: the remote type whose objects were deleted
    :param object_ids: the deleted objects' ids (strings, or keys of the type)
    :param using: the database (default: the content type's)
    :return: one result per field that can point at ``content_type``, in
        label order, including those with nothing to do
    :raises ValueError: ``content_type`` is not of a remote project
    """
    if not content_type.is_remote:
        raise ValueError(
            f"{content_type.natural_key()} is a local content type: local deletions "
            "follow Django's on_delete, not on_remote_delete."
        )
    using = using or content_type._state.db or DEFAULT_DB_ALIAS
    keys = parse_keys(content_type, object_ids)
    with transaction.atomic(using=using):
        return [
            apply_policy(referrer, references(referrer, content_type, keys, using))
            for referrer in referrers()
            if referrer.can_point_at(content_type)
        ]


def parse_keys(content_type: GenericContentType, object_ids: Iterable[Any]) -> set[Any]:
    """Return ``object_ids`` as keys of ``content_type``; ids that cannot be keys are left out."""
    label = _label(content_type)
    keys: set[Any] = set()
    for object_id in object_ids:
        try:
            keys.add(parse_remote_id(label, content_type.pk_type, object_id))
        except InvalidId:
            continue
    return keys


def apply_policy(referrer: Referrer, rows: QuerySet) -> RemoteDeletionResult:
    """Apply one field's policy to ``rows``, its references to deleted remote objects.

    :param rows: a queryset of ``referrer.model`` that filters on the
        reference's columns (as ``references()`` makes it), so that counting
        it afterwards gives the references still pointing there
    """
    policy = referrer.policy
    if policy is models.DO_NOTHING:
        affected = 0
    elif policy is models.CASCADE:
        _total, per_model = rows.delete()
        affected = per_model.get(referrer.model._meta.label, 0)
    elif policy is models.SET_NULL:
        cleared = {referrer.id_column.attname: None}
        if referrer.ct_attname is not None:
            cleared[referrer.ct_attname] = None
        affected = rows.update(**cleared)
    else:
        pks = list(rows.values_list("pk", flat=True))
        affected = len(pks)
        if pks:  # a callable is not called for nothing
            policy(referrer.field, _manager(referrer, rows.db).filter(pk__in=pks))
    return RemoteDeletionResult(referrer.label, policy_name(policy), affected, rows.count())


def references(
    referrer: Referrer, content_type: GenericContentType, keys: set[Any], using: str
) -> QuerySet:
    """Return the rows of ``referrer`` that point at ``keys`` of ``content_type``.

    The queryset filters on the columns themselves, so it is evaluated anew
    each time: after a policy ran, it holds what still points there.
    """
    rows = _manager(referrer, using)
    if referrer.ct_attname is not None:
        rows = rows.filter(**{referrer.ct_attname: content_type.pk})
    column = referrer.id_column
    lookup = f"{column.attname}__in"
    if not keys:
        return rows.none()
    native = _native_values(column, content_type.pk_type, keys, using)
    if native is not None:
        return rows.filter(**{lookup: native})
    # A text column of integer or UUID keys: "07" is 7, as the check reads it.
    label = _label(content_type)
    pks: list[Any] = []
    values: set[Any] = set()
    stored = rows.exclude(**{f"{column.attname}__isnull": True}).values_list("pk", column.attname)
    for pk, value in stored.iterator(chunk_size=_CHUNK):
        try:
            key = parse_remote_id(label, content_type.pk_type, value)
        except InvalidId:
            continue
        if key in keys:
            pks.append(pk)
            values.add(value)
    return rows.filter(pk__in=pks, **{lookup: list(values)})


def _native_values(
    column: models.Field, pk_type: str, keys: set[Any], using: str
) -> list[Any] | None:
    """The keys as values of ``column``, if it stores them as they are; else None."""
    internal = column.get_internal_type()
    if internal not in _NATIVE.get(pk_type, ()):
        return None
    if pk_type == "str":
        # No text column holds a NUL character (PostgreSQL refuses it in a query).
        return [key for key in keys if "\x00" not in key]
    if pk_type == "int":
        low, high = connections[using].ops.integer_field_range(internal)
        return [
            key for key in keys if (low is None or key >= low) and (high is None or key <= high)
        ]
    return list(keys)


def _manager(referrer: Referrer, using: str) -> QuerySet:
    return referrer.model._base_manager.using(using).all()


def _label(content_type: GenericContentType) -> str:
    """The type as messages about its ids name it (``"shop_b books.book"``)."""
    project, app_label, model = content_type.natural_key()
    return f"{project} {app_label}.{model}"
